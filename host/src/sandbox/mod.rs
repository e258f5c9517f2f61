//! The sandbox: the wasmtime engine and its configuration, the limits of every call, and
//! the runtime that runs each call in a fresh component instance.

mod engine;
pub mod engine_config;
mod errors;
mod limits;
mod runtime;
mod store;

pub use engine::{GuestEngine, default_max_instances};
pub use errors::{CallError, LoadError};
pub use limits::{GuestLimits, LimitExceeded};
pub use runtime::GuestRuntime;
