//! What an action may ask of its host: the component's imports, as one trait.
//!
//! Inside the component these calls go to the imported `log`, `clock` and `kube`
//! interfaces (`adapter::component`); natively they go to `adapter::sim::SimImports`
//! (feature `sim`), backed by the simulated cluster.

pub use crate::bindings::velero::csi::log::Level;
pub use crate::bindings::velero::csi::server::ServerSettings;
pub use crate::bindings::velero::csi::types::Datetime;
use crate::model::kube::Kube;

/// The capabilities available to an action while it runs.
pub trait Imports: Kube {
    /// Writes one record to Velero's log of the current operation.
    fn log(&self, level: Level, message: &str);

    /// The wall clock.
    fn now(&self) -> Datetime;

    /// What the Velero server passed the plugin process on its command line.
    fn settings(&self) -> ServerSettings;
}

/// `--features` names Velero's `EnableCSI`: core's built-in CSI actions are on.
pub fn core_csi_enabled(settings: &ServerSettings) -> bool {
    settings.features.iter().any(|f| f == "EnableCSI")
}
