//! How failures reach Velero: gRPC statuses with the codes of the Go framework (UNKNOWN for
//! errors, ABORTED for a guest fault), RESOURCE_EXHAUSTED for a guest stopped at a sandbox
//! limit, each naming the action and the problem.

use tonic::Status;

use crate::logging::chain;
use crate::router::RouterError;
use crate::sandbox::CallError;

/// Status messages travel in an HTTP/2 header; keep them well below header limits (an
/// error may quote a whole item).
const MAX_MESSAGE: usize = 8 * 1024;

/// The status for a failed call into `action`.
pub fn call_failed(action: &str, error: CallError) -> Status {
    match error {
        CallError::Action(_) => Status::unknown(bounded(format!("{action}: {}", chain(&error)))),
        CallError::Trap(_) => Status::aborted(bounded(format!(
            "plugin panicked: {action}: {}",
            chain(&error)
        ))),
        CallError::Limit(_) => {
            Status::resource_exhausted(bounded(format!("{action}: {}", chain(&error))))
        }
    }
}

/// The status for a call the router could not route (its component failed to load, or the
/// name is not served under the kind called), in the words of Velero's Go framework.
pub fn unrouted(error: RouterError) -> Status {
    Status::unknown(chain(&error))
}

/// The status for a request field that is not UTF-8 text.
pub fn not_text(action: &str, field: &str, error: std::str::Utf8Error) -> Status {
    Status::unknown(format!("{action}: {field}: invalid JSON: {error}"))
}

fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str(" …[truncated]");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::ActionError;

    #[test]
    fn action_errors_are_unknown_and_name_the_action() {
        let status = call_failed(
            "velero.io/a",
            CallError::Action(ActionError::InvalidInput("item: bad".into())),
        );
        assert_eq!(status.code(), tonic::Code::Unknown);
        assert_eq!(status.message(), "velero.io/a: item: bad");
    }

    #[test]
    fn traps_are_aborted() {
        let status = call_failed(
            "velero.io/a",
            CallError::Trap(wasmtime::Error::msg("unreachable")),
        );
        assert_eq!(status.code(), tonic::Code::Aborted);
        assert!(
            status
                .message()
                .starts_with("plugin panicked: velero.io/a: the action trapped: unreachable")
        );
    }

    #[test]
    fn limits_are_resource_exhausted_and_name_the_action() {
        let status = call_failed(
            "velero.io/a",
            CallError::Limit(crate::sandbox::LimitExceeded::Deadline(
                std::time::Duration::from_secs(2),
            )),
        );
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "velero.io/a: the action exceeded the sandbox's limits: it executed for longer \
             than its deadline of 2s and was stopped"
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let status = call_failed(
            "a/b",
            CallError::Action(ActionError::Failed("é".repeat(10_000))),
        );
        assert!(status.message().len() < MAX_MESSAGE + 32);
        assert!(status.message().ends_with("…[truncated]"));
    }
}
