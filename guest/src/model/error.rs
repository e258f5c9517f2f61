//! The errors an action can return, and their form at the component boundary.

use crate::bindings::exports::velero::csi::actions as wit;
use crate::model::kube::{self, KubeError};

/// Why an action call failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No action of the kind the call needs is registered under this name. The host routes
    /// every call by name and kind first (and words Velero's refusal); this is the guest's
    /// defence.
    #[error("this component has no {kind} named {name}")]
    Unroutable {
        /// The name the call was made with.
        name: String,
        /// The kind of action the call needs, in prose (`backup item action (v2)`).
        kind: &'static str,
    },
    /// Malformed item, Backup or Restore JSON.
    #[error("{0}")]
    InvalidInput(String),
    /// An operation ID that is empty or cannot be parsed.
    #[error("operation ID {0} is invalid")]
    InvalidOperationId(String),
    /// A Kubernetes call failed while the action was doing `context` (in the Go plugin's
    /// words, e.g. `error getting storage class`).
    #[error("{context}: {}", kube::message(.error))]
    Kube { context: String, error: KubeError },
    /// Any other failure, with the Go plugin's message.
    #[error("{0}")]
    Failed(String),
    /// Modern mode: a volume-policy ConfigMap (`<ns>/<name>`, quoted) cannot be used.
    #[error("volume policy ConfigMap {configmap}: {source}")]
    PolicyConfigMap {
        configmap: String,
        #[source]
        source: crate::csi::routing::PolicySourceError,
    },
    /// Modern mode: the volume policies cannot be evaluated for an item (quoted).
    #[error("cannot evaluate the volume policies for {item}: {source}")]
    PolicyEvaluation {
        item: String,
        #[source]
        source: volume_policy::EvalError,
    },
}

/// Longest piece of input quoted in an error message, in characters.
pub const QUOTE_LIMIT: usize = 256;

/// `text` for an error message: in double quotes, cut to [`QUOTE_LIMIT`] characters (with
/// `…` when cut), control characters escaped.
pub fn quoted(text: &str) -> String {
    let mut cut: String = text.chars().take(QUOTE_LIMIT).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// `text` for an error message where the Go plugin prints it bare (an operation ID): whole
/// when it is short and has no control characters, otherwise cut to [`QUOTE_LIMIT`]
/// characters (with `…`) and its control characters escaped.
pub fn clipped(text: &str) -> std::borrow::Cow<'_, str> {
    let short = text.chars().nth(QUOTE_LIMIT).is_none();
    if short && !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut cut = String::new();
    for c in text.chars().take(QUOTE_LIMIT) {
        if c.is_control() {
            cut.extend(c.escape_default());
        } else {
            cut.push(c);
        }
    }
    if !short {
        cut.push('…');
    }
    cut.into()
}

impl ActionError {
    /// An operation ID the action cannot use, clipped for the message.
    pub fn invalid_operation_id(operation_id: &str) -> Self {
        ActionError::InvalidOperationId(clipped(operation_id).into_owned())
    }

    /// A failed Kubernetes call, described by `context`.
    pub fn kube(context: impl Into<String>, error: KubeError) -> Self {
        ActionError::Kube {
            context: context.into(),
            error,
        }
    }

    /// Wraps the error's whole message in `context`, as Go's `errors.Wrap` does.
    pub fn wrap(self, context: &str) -> Self {
        match self {
            ActionError::Kube {
                context: inner,
                error,
            } => ActionError::Kube {
                context: format!("{context}: {inner}"),
                error,
            },
            other => ActionError::Failed(format!("{context}: {other}")),
        }
    }
}

impl From<ActionError> for wit::ActionError {
    fn from(error: ActionError) -> Self {
        let message = error.to_string();
        match error {
            ActionError::Unroutable { .. } => wit::ActionError::UnknownAction(message),
            ActionError::InvalidInput(_) => wit::ActionError::InvalidInput(message),
            ActionError::InvalidOperationId(_) => wit::ActionError::InvalidOperationId(message),
            ActionError::Kube { context, error } => {
                wit::ActionError::Kube(wit::KubeFailure { context, error })
            }
            ActionError::Failed(_)
            | ActionError::PolicyConfigMap { .. }
            | ActionError::PolicyEvaluation { .. } => wit::ActionError::Failed(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_bounded() {
        assert_eq!(quoted("velero/pol"), "\"velero/pol\"");
        let long = "x".repeat(1000);
        let q = quoted(&long);
        assert_eq!(q.chars().count(), QUOTE_LIMIT + 3);
        assert!(q.ends_with("…\""));
        assert_eq!(quoted("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn clipping_keeps_short_ids_and_bounds_long_ones() {
        assert_eq!(
            clipped("ns/vs/2024-01-01T00:00:00Z"),
            "ns/vs/2024-01-01T00:00:00Z"
        );
        assert_eq!(clipped("a\nb"), "a\\nb");
        let long = "x".repeat(9000);
        let cut = clipped(&long);
        assert_eq!(cut.chars().count(), QUOTE_LIMIT + 1);
        assert!(cut.ends_with('…'));
        let error = ActionError::invalid_operation_id(&long).to_string();
        assert!(error.len() < 300, "{}", error.len());
    }
}
