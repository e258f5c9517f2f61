//! The Velero CSI plugin host: the native binary Velero launches.
//!
//! Data path: Velero starts the binary ([`cli`], [`goplugin::handshake`]) and calls its gRPC
//! services ([`goplugin::services`], [`velero`]); each call is routed by plugin name to the
//! CSI actions component ([`wasm`]; operator [`modules`] may override it action by action),
//! which runs sandboxed and reaches the cluster only
//! through the capability-checked `kube` import, served by [`kubeapi`]. Logs go to stderr as hclog JSON
//! ([`logging`]). [`client`] drives the binary the way Velero does, for tests, benchmarks
//! and tools; [`demo`] runs the main job end to end on the embedded simulated cluster;
//! [`inspect`], [`precompile`] and [`version`] are the operator's commands.

pub mod cli;
pub mod client;
pub mod demo;
pub mod goplugin;
pub mod inspect;
pub mod kubeapi;
pub mod logging;
pub mod modules;
pub mod precompile;
pub mod proto;
pub mod velero;
pub mod version;
pub mod wasm;
