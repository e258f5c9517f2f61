//! Virtual or real time for the simulation.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// 2024-05-01T09:30:00Z: where virtual time starts (the scenarios' frozen clock, [scenarios §5.0](../../docs/scenarios.md#50-shared-fixtures)).
const VIRTUAL_EPOCH: u64 = 1_714_555_800;

pub(crate) enum Clock {
    Virtual { now: Duration },
    Real { start: Instant, skew: Duration },
}

impl Clock {
    pub(crate) fn virtual_time() -> Self {
        Clock::Virtual {
            now: Duration::ZERO,
        }
    }

    pub(crate) fn real_time() -> Self {
        Clock::Real {
            start: Instant::now(),
            skew: Duration::ZERO,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual { .. })
    }

    /// Time since the simulation started.
    pub(crate) fn now(&self) -> Duration {
        match self {
            Clock::Virtual { now } => *now,
            Clock::Real { start, skew } => start.elapsed() + *skew,
        }
    }

    /// Moves time forward to `to` (never backwards).
    pub(crate) fn set(&mut self, to: Duration) {
        match self {
            Clock::Virtual { now } => *now = (*now).max(to),
            Clock::Real { start, skew } => *skew += to.saturating_sub(start.elapsed() + *skew),
        }
    }

    /// The current time as an RFC 3339 UTC timestamp.
    pub(crate) fn rfc3339(&self) -> String {
        let seconds = match self {
            Clock::Virtual { now } => VIRTUAL_EPOCH + now.as_secs(),
            Clock::Real { skew, .. } => {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    + skew.as_secs()
            }
        };
        format_utc(i64::try_from(seconds).unwrap_or(i64::MAX))
    }
}

pub use csi_common::civil::format_utc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_starts_at_the_frozen_clock() {
        let mut clock = Clock::virtual_time();
        assert_eq!(clock.rfc3339(), "2024-05-01T09:30:00Z");
        clock.set(Duration::from_secs(90));
        assert_eq!(clock.rfc3339(), "2024-05-01T09:31:30Z");
        clock.set(Duration::from_secs(10));
        assert_eq!(clock.now(), Duration::from_secs(90), "time never goes back");
    }
}
