//! `velero:csi/clock`: the wall clock, as the host chooses to show it.

use std::time::{SystemTime, UNIX_EPOCH};

use super::CallContext;
use crate::bindings::Datetime;
use crate::bindings::velero::csi::clock::Host;

/// A source of the current time for the guest.
pub trait WallClock: Send + Sync {
    fn now(&self) -> Datetime;
}

/// The system clock, in UTC.
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> Datetime {
        let (seconds, nanos) = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => (
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
                since.subsec_nanos(),
            ),
            Err(before) => (
                -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
                0,
            ),
        };
        Datetime {
            seconds,
            nanos,
            utc_offset_seconds: 0,
        }
    }
}

impl Host for CallContext {
    async fn now(&mut self) -> Datetime {
        self.services.clock.now()
    }
}
