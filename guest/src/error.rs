//! The errors an action can return, and their form at the component boundary.

use crate::bindings::exports::velero::csi::actions as wit;

/// Why an action call failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No action of the called kind is registered under this name.
    #[error("{kind} plugin: {name} was not found or has an invalid name format")]
    UnknownAction { kind: &'static str, name: String },
    /// The name is registered, but under another kind.
    #[error("{name} is not a {expected}")]
    WrongKind {
        name: String,
        expected: &'static str,
    },
    /// Malformed item, Backup or Restore JSON.
    #[error("{0}")]
    InvalidInput(String),
    /// An operation ID that is empty or cannot be parsed.
    #[error("operation ID {0} is invalid")]
    InvalidOperationId(String),
}

impl From<ActionError> for wit::ActionError {
    fn from(error: ActionError) -> Self {
        let message = error.to_string();
        match error {
            ActionError::UnknownAction { .. } | ActionError::WrongKind { .. } => {
                wit::ActionError::UnknownAction(message)
            }
            ActionError::InvalidInput(_) => wit::ActionError::InvalidInput(message),
            ActionError::InvalidOperationId(_) => wit::ActionError::InvalidOperationId(message),
        }
    }
}
