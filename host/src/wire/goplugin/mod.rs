//! The hashicorp go-plugin side of the protocol: the handshake on stdout, the Unix socket,
//! the infrastructure services, and serving until Velero asks the process to stop.

pub mod authority;
pub mod handshake;
mod serve;
pub mod services;

pub use serve::{ServeError, serve};
