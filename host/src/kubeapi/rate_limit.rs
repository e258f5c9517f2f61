//! Client-side rate limiting: a token bucket in front of every request the client sends,
//! like client-go's (Velero's `--client-qps` and `--client-burst`).
//!
//! The bucket holds up to `burst` tokens and gains `qps` tokens a second; a request takes
//! one token, and waits for it when the bucket is empty. Retries are requests too: they
//! take their tokens like any other.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep};
use tower::{Layer, Service};

/// How fast the plugin may call the API server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    qps: f32,
    burst: u32,
}

impl RateLimit {
    /// Velero's defaults: 20 requests a second, bursts of 30.
    pub const VELERO_DEFAULT: Self = Self {
        qps: 20.0,
        burst: 30,
    };

    /// `qps` requests a second on average, up to `burst` at once; `None` unless `qps` is a
    /// positive finite number and `burst` at least 1.
    pub fn new(qps: f32, burst: u32) -> Option<Self> {
        (qps.is_finite() && qps > 0.0 && burst >= 1).then_some(Self { qps, burst })
    }

    /// Requests a second on average.
    pub fn qps(&self) -> f32 {
        self.qps
    }

    /// Requests at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// The tokens left, refilled as time passes.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    refilled: Instant,
}

impl Bucket {
    /// A full bucket.
    fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            tokens: limit.burst.into(),
            capacity: limit.burst.into(),
            per_second: limit.qps.into(),
            refilled: now,
        }
    }

    /// Takes a token at `now`; when there is none, how long until there is one.
    fn take(&mut self, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        let wait = (1.0 - self.tokens) / self.per_second;
        Some(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
    }
}

/// A tower layer that makes every request wait for a token of one shared bucket.
#[derive(Debug, Clone)]
pub(crate) struct RateLimitLayer {
    bucket: Arc<Mutex<Bucket>>,
}

impl RateLimitLayer {
    /// A layer whose bucket starts full.
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            bucket: Arc::new(Mutex::new(Bucket::new(limit, Instant::now()))),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimited {
            inner,
            bucket: self.bucket.clone(),
            permit: Permit::None,
        }
    }
}

/// Where a [`RateLimited`] service is in getting its next request's token.
#[derive(Debug)]
enum Permit {
    /// No token yet.
    None,
    /// The bucket was empty: waiting until it has a token.
    Waiting(Pin<Box<Sleep>>),
    /// A token is taken for the next request.
    Held,
}

/// A service that is ready only once the bucket gave it a token for the next request.
#[derive(Debug)]
pub(crate) struct RateLimited<S> {
    inner: S,
    bucket: Arc<Mutex<Bucket>>,
    permit: Permit,
}

impl<S, Request> Service<Request> for RateLimited<S>
where
    S: Service<Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        loop {
            match &mut self.permit {
                Permit::Held => return self.inner.poll_ready(cx),
                Permit::Waiting(wait) => {
                    ready!(wait.as_mut().poll(cx));
                    self.permit = Permit::None;
                }
                Permit::None => {
                    let now = Instant::now();
                    let wait = self
                        .bucket
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .take(now);
                    self.permit = match wait {
                        None => Permit::Held,
                        Some(wait) => Permit::Waiting(Box::pin(sleep(wait))),
                    };
                }
            }
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The token taken by `poll_ready` is spent on this request.
        self.permit = Permit::None;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_need_a_positive_rate_and_burst() {
        assert_eq!(RateLimit::VELERO_DEFAULT.qps(), 20.0);
        assert_eq!(RateLimit::VELERO_DEFAULT.burst(), 30);
        assert!(RateLimit::new(0.5, 1).is_some());
        assert_eq!(RateLimit::new(0.0, 1), None);
        assert_eq!(RateLimit::new(-1.0, 1), None);
        assert_eq!(RateLimit::new(f32::NAN, 1), None);
        assert_eq!(RateLimit::new(f32::INFINITY, 1), None);
        assert_eq!(RateLimit::new(10.0, 0), None);
    }

    #[test]
    fn the_bucket_allows_a_burst_then_refills_at_the_rate() {
        let start = Instant::now();
        let limit = RateLimit::new(10.0, 2).unwrap();
        let mut bucket = Bucket::new(limit, start);
        assert_eq!(bucket.take(start), None);
        assert_eq!(bucket.take(start), None);
        let wait = bucket.take(start).unwrap();
        assert!(
            (wait.as_secs_f64() - 0.1).abs() < 1e-6,
            "the third request waits a tenth of a second: {wait:?}"
        );
        assert_eq!(bucket.take(start + Duration::from_millis(100)), None);
        assert!(bucket.take(start + Duration::from_millis(100)).is_some());
        // An idle bucket refills to its burst, no further.
        let later = start + Duration::from_secs(60);
        assert_eq!(bucket.take(later), None);
        assert_eq!(bucket.take(later), None);
        assert!(bucket.take(later).is_some());
    }
}
