//! What an action may ask of its host.
//!
//! Inside the component these calls go to the imported `log`, `clock` and `kube`
//! interfaces; natively they go to [`crate::sim_host::SimHost`], backed by the simulated
//! cluster.

pub use crate::bindings::velero::csi::log::Level;
pub use crate::bindings::velero::csi::types::Datetime;
use crate::kube::Kube;

/// The capabilities available to an action while it runs.
pub trait Host: Kube {
    /// Writes one record to Velero's log of the current operation.
    fn log(&self, level: Level, message: &str);

    /// The wall clock.
    fn now(&self) -> Datetime;
}
