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

/// Unix seconds as an RFC 3339 UTC timestamp (`2024-05-01T09:30:00Z`).
pub fn format_utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    // Days since 1970-01-01 → civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

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
