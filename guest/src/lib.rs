//! The Velero CSI item actions, written against a capability-limited host.
//!
//! This crate compiles to one WebAssembly component (`wasm32-wasip2`) that exports the
//! `velero:csi/actions` interface of `wit/csi.wit`. Every action is pure logic over the
//! JSON it is given and the host calls it may make ([`adapter::imports::Imports`]); it has
//! no filesystem, network or clock of its own. The same code also builds natively, so that
//! the actions can be tested without a WebAssembly runtime (with the `sim` feature, against
//! the simulated cluster).
//!
//! Data path: the host calls an export of `adapter::component` (built for `wasm32` only)
//! → [`adapter::dispatch`] parses the request text into [`model`] values and finds the
//! action through the kind-checked lookup of [`registry`] → the action (one file each in
//! [`actions`], using the CSI helpers of [`csi`]) reads and edits the [`model::item::Item`]
//! JSON in place, calling the host through [`adapter::imports::Imports`] → the result goes
//! back through `adapter::component` to the host.
//!
//! Layout: [`adapter`] faces the WebAssembly boundary and the host; [`registry`] holds the
//! action traits and the registry; [`actions`] the ten actions; [`csi`] the CSI domain
//! helpers; [`model`] the data types, JSON access and errors.

pub mod actions;
pub mod adapter;
pub mod csi;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod model;
pub mod registry;

/// Bindings generated from `wit/csi.wit`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "csi-plugin",
        generate_all,
        additional_derives: [PartialEq, Eq],
    });
}
