//! The Velero CSI plugin host: the native binary Velero launches.
//!
//! The data path, top to bottom:
//!
//! 1. [`wire`]: Velero starts the binary ([`cli`]), go-plugin's handshake announces the
//!    socket, and Velero calls the gRPC services; each call's messages are converted and
//!    handed on by plugin name and kind.
//! 2. [`router`]: turns (plugin name, kind) into a route: the embedded component or the
//!    operator module serving the action, with the action's capability grants; only the
//!    actions of the active name set (`VELERO_CSI_NAMES`) are listed and routed; it owns
//!    the words Velero sees for names it does not serve.
//! 3. [`sandbox`]: runs the call in a fresh instance of that component under wasmtime, within
//!    its deadline, memory and the bound on instances running at once.
//! 4. [`imports`]: what the guest may call back: `kube` behind the capability check, `log`,
//!    `clock`.
//! 5. [`kubeapi`]: the Kubernetes API, reached through kube-rs.
//!
//! Beside the path: [`bindings`] (the WIT contract), [`proto`] (the protocol messages),
//! [`logging`] (hclog JSON on stderr, library diagnostics included), [`client`] (drives the
//! binary the way Velero does, for tests, benchmarks and the demo) and [`operator`] (the
//! commands an operator runs by hand).

pub mod bindings;
pub mod cli;
pub mod client;
pub mod imports;
pub mod kubeapi;
pub mod logging;
pub mod operator;
pub mod proto;
pub mod router;
pub mod sandbox;
pub mod wire;
