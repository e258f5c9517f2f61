//! What an action may ask of its host.
//!
//! Inside the component these calls go to the imported `log` (and, for the actions that
//! need them, `kube` and `clock`) interfaces; in native tests they go to a recording fake.

pub use crate::bindings::velero::csi::log::Level;

/// The capabilities available to an action while it runs.
pub trait Host {
    /// Writes one record to Velero's log of the current operation.
    fn log(&self, level: Level, message: &str);
}

/// A host for native tests that records what the action logged.
#[cfg(test)]
pub mod testing {
    use std::cell::RefCell;

    use super::{Host, Level};

    /// Records every log call.
    #[derive(Default)]
    pub struct RecordingHost {
        records: RefCell<Vec<(Level, String)>>,
    }

    impl RecordingHost {
        /// The records logged so far.
        pub fn records(&self) -> Vec<(Level, String)> {
            self.records.borrow().clone()
        }
    }

    impl Host for RecordingHost {
        fn log(&self, level: Level, message: &str) {
            self.records.borrow_mut().push((level, message.to_owned()));
        }
    }
}
