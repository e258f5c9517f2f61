//! Retrying failed requests: which failures are worth another attempt, and when to make it.
//!
//! A call gets at most [`MAX_ATTEMPTS`] attempts, spaced by an exponential backoff (50 ms
//! doubling, capped at 1 s, with "equal jitter": half the delay fixed, half random), and no
//! retry starts once [`CALL_DEADLINE`] has passed since the call began. A server that names
//! a delay (`Status.details.retryAfterSeconds`, which the API server sets with `Retry-After`)
//! is waited for at least that long. Only the failures [`is_transient`] (and, for merge
//! patches, [`is_conflict`]) are retried; every other error is returned at once.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use tokio::time::{Instant, sleep};

/// The delay before the first retry; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_millis(50);
/// The longest backoff between two attempts (a server's `Retry-After` may ask for more).
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Attempts per call, the first one included.
pub(super) const MAX_ATTEMPTS: u32 = 5;
/// No retry starts (and no backoff ends) later than this after a call began.
pub(super) const CALL_DEADLINE: Duration = Duration::from_secs(30);

/// The retries left to one call: attempts within a deadline.
pub(super) struct Backoff {
    /// Failed attempts so far.
    failures: u32,
    deadline: Instant,
    /// A randomly keyed hasher: the jitter's source, without a random-number crate.
    jitter: RandomState,
}

impl Backoff {
    /// The budget of a call that starts now.
    pub(super) fn new() -> Self {
        Self {
            failures: 0,
            deadline: Instant::now() + CALL_DEADLINE,
            jitter: RandomState::new(),
        }
    }

    /// Waits before the next attempt after a failure with `error`; `false` (at once) when
    /// the call has no attempt left or the wait would end past its deadline.
    pub(super) async fn pause(&mut self, error: &kube::Error) -> bool {
        match self.next_delay(Instant::now(), retry_after(error)) {
            Some(delay) => {
                sleep(delay).await;
                true
            }
            None => false,
        }
    }

    /// The delay before the next attempt at `now`, at least `hint`, if there is one.
    fn next_delay(&mut self, now: Instant, hint: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        if self.failures >= MAX_ATTEMPTS {
            return None;
        }
        let doubled = FIRST_DELAY.saturating_mul(2u32.saturating_pow(self.failures - 1));
        let half = doubled.min(MAX_DELAY) / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let random = self.jitter.hash_one(self.failures) % spread.saturating_add(1);
        let delay = (half + Duration::from_nanos(random)).max(hint.unwrap_or_default());
        (now + delay <= self.deadline).then_some(delay)
    }
}

/// Runs `attempt` until it succeeds, fails with an error `retryable` refuses, or the
/// call's retries run out; returns the last outcome.
pub(super) async fn retrying<T, Fut>(
    retryable: impl Fn(&kube::Error) -> bool,
    mut attempt: impl FnMut() -> Fut,
) -> Result<T, kube::Error>
where
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut backoff = Backoff::new();
    loop {
        match attempt().await {
            Err(error) if retryable(&error) && backoff.pause(&error).await => {}
            outcome => return outcome,
        }
    }
}

/// Whether a request failed for a passing reason: the server is overloaded or unavailable
/// (429, 500, 502, 503, 504) or the connection failed. The request may or may not have
/// been carried out, so only idempotent requests may simply be sent again.
pub(super) fn is_transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => true,
        _ => false,
    }
}

/// Whether a request lost a race with another writer (409 Conflict, not AlreadyExists).
pub(super) fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409 && status.reason != "AlreadyExists")
}

/// Whether a create failed because the object exists.
pub(super) fn is_already_exists(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.reason == "AlreadyExists")
}

/// Whether a request failed because the object does not exist.
pub(super) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404 || status.reason == "NotFound")
}

/// The delay the server asked for, if any.
fn retry_after(error: &kube::Error) -> Option<Duration> {
    match error {
        kube::Error::Api(status) => status
            .details
            .as_ref()
            .map(|details| details.retry_after_seconds)
            .filter(|seconds| *seconds > 0)
            .map(|seconds| Duration::from_secs(seconds.into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, retry_after_seconds: u32) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            status: None,
            code,
            message: String::new(),
            metadata: None,
            reason: reason.to_owned(),
            details: Some(kube::core::response::StatusDetails {
                name: String::new(),
                group: String::new(),
                kind: String::new(),
                uid: String::new(),
                causes: Vec::new(),
                retry_after_seconds,
            }),
        }))
    }

    #[test]
    fn delays_double_with_jitter_up_to_the_attempt_limit() {
        let mut backoff = Backoff::new();
        let now = Instant::now();
        for base in [50, 100, 200, 400] {
            let delay = backoff.next_delay(now, None).unwrap();
            let base = Duration::from_millis(base);
            assert!(delay >= base / 2 && delay <= base, "{delay:?} for {base:?}");
        }
        assert_eq!(backoff.next_delay(now, None), None, "five attempts at most");
    }

    #[test]
    fn the_server_delay_is_honoured_within_the_deadline() {
        let mut backoff = Backoff::new();
        let now = Instant::now();
        let asked = Duration::from_secs(2);
        assert_eq!(backoff.next_delay(now, Some(asked)), Some(asked));
        assert_eq!(
            backoff.next_delay(now, Some(CALL_DEADLINE * 2)),
            None,
            "no wait past the call's deadline"
        );
        let mut late = Backoff::new();
        assert_eq!(late.next_delay(now + CALL_DEADLINE, None), None);
        assert_eq!(
            retry_after(&status(429, "TooManyRequests", 3)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(retry_after(&status(503, "ServiceUnavailable", 0)), None);
    }

    #[test]
    fn failures_are_classified() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_transient(&status(code, "", 0)), "{code}");
        }
        for code in [400, 403, 404, 409, 410, 422, 501] {
            assert!(!is_transient(&status(code, "", 0)), "{code}");
        }
        let dropped = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(is_transient(&kube::Error::Service(Box::new(dropped))));
        assert!(is_conflict(&status(409, "Conflict", 0)));
        assert!(!is_conflict(&status(409, "AlreadyExists", 0)));
        assert!(is_already_exists(&status(409, "AlreadyExists", 0)));
        assert!(is_not_found(&status(404, "NotFound", 0)));
    }
}
