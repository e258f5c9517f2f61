//! What faces the WebAssembly boundary and the host.
//!
//! - [`imports`]: the [`Imports`](imports::Imports) trait, everything an action may ask of
//!   its host (log, clock, the Kubernetes API);
//! - [`dispatch`]: every exported call, from raw request text to result, over any
//!   `Imports`;
//! - `component` (built for `wasm32` only): the component's exports, run through
//!   [`dispatch`] with the WIT imports as `Imports`;
//! - `sim` (native, feature `sim`): `Imports` over the simulated cluster, for tests.

#[cfg(target_arch = "wasm32")]
pub mod component;
pub mod dispatch;
pub mod imports;
#[cfg(all(feature = "sim", not(target_arch = "wasm32")))]
pub mod sim;
