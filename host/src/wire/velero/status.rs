//! How failures reach Velero: gRPC statuses with the codes of the Go framework (UNKNOWN for
//! errors, ABORTED for a guest fault), RESOURCE_EXHAUSTED for a guest stopped at a sandbox
//! limit, each naming the action and the problem.

use tonic::Status;

use crate::logging::chain;
use crate::router::RouterError;
use crate::sandbox::CallError;

/// Status messages travel percent-encoded in the `grpc-message` HTTP/2 header; gRPC clients
/// other than Go's refuse header lists over 8 KiB, and an error may quote a whole request
/// field. A message is cut so that its encoded form stays within this many bytes.
const MAX_ENCODED_MESSAGE: usize = 1900;

/// What a cut message ends with.
const CUT: &str = " …[truncated]";

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
    Status::unknown(bounded(chain(&error)))
}

/// The status for a request field that is not UTF-8 text.
pub fn not_text(action: &str, field: &str, error: std::str::Utf8Error) -> Status {
    Status::unknown(bounded(format!("{action}: {field}: invalid JSON: {error}")))
}

/// `message`, cut at a character boundary (and marked) where its percent-encoded form would
/// exceed [`MAX_ENCODED_MESSAGE`].
fn bounded(mut message: String) -> String {
    if encoded_len(&message) <= MAX_ENCODED_MESSAGE {
        return message;
    }
    let budget = MAX_ENCODED_MESSAGE - encoded_len(CUT);
    let mut used = 0;
    let mut end = 0;
    for (at, c) in message.char_indices() {
        used += encoded_char_len(c);
        if used > budget {
            break;
        }
        end = at + c.len_utf8();
    }
    message.truncate(end);
    message.push_str(CUT);
    message
}

/// The length of `text` in `grpc-message`, counting every byte tonic may percent-encode as
/// three.
fn encoded_len(text: &str) -> usize {
    text.chars().map(encoded_char_len).sum()
}

fn encoded_char_len(c: char) -> usize {
    if c.is_ascii_alphanumeric() || "-._~/:,;=()[]*+!$&'@".contains(c) {
        1
    } else {
        3 * c.len_utf8()
    }
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
    fn long_messages_are_cut_to_a_bounded_header() {
        for text in ["é".repeat(10_000), "a".repeat(10_000), "% \"".repeat(5_000)] {
            let status = call_failed("a/b", CallError::Action(ActionError::Failed(text)));
            assert!(status.message().ends_with("…[truncated]"));
            let mut headers = http::HeaderMap::new();
            status.add_header(&mut headers).expect("status headers");
            let header = headers.get("grpc-message").expect("grpc-message");
            assert!(header.len() <= MAX_ENCODED_MESSAGE, "{}", header.len());
            assert!(header.len() > MAX_ENCODED_MESSAGE - 16, "{}", header.len());
        }
    }

    #[test]
    fn short_messages_are_whole() {
        let status = call_failed(
            "a/b",
            CallError::Action(ActionError::Failed("é".repeat(300))),
        );
        assert_eq!(status.message(), format!("a/b: {}", "é".repeat(300)));
    }
}
