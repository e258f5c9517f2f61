//! The Velero CSI item actions, written against a capability-limited host.
//!
//! This crate compiles to one WebAssembly component (`wasm32-wasip2`) that exports the
//! `velero:csi/actions` interface of `wit/csi.wit`. Every action is pure logic over the
//! JSON it is given and the host calls it may make ([`host::Host`]); it has no filesystem,
//! network or clock of its own. The same code also builds natively, so that the actions
//! can be tested without a WebAssembly runtime.
//!
//! Data path: `component` (built for `wasm32` only) receives a call → [`actions`] finds the registered action →
//! the action reads and edits the [`item::Item`] JSON in place → the result goes back
//! through `component` to the host.

pub mod actions;
#[cfg(target_arch = "wasm32")]
pub mod component;
pub mod datamover;
pub mod dispatch;
pub mod error;
pub mod finalize;
pub mod fs_backup;
pub mod host;
pub mod item;
pub mod json;
pub mod keys;
pub mod kube;
pub mod labels;
pub mod quantity;
pub mod restore_claim;
#[cfg(not(target_arch = "wasm32"))]
pub mod sim_host;
pub mod snapshot_class;
pub mod snapshots;
pub mod time;
pub mod velero;
pub mod volumes;

/// Bindings generated from `wit/csi.wit`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "csi-plugin",
        generate_all,
        additional_derives: [PartialEq, Eq],
    });
}
