//! Civil-date arithmetic (proleptic Gregorian calendar, days counted from 1970-01-01),
//! and RFC 3339 formatting of Unix seconds.

use alloc::format;
use alloc::string::String;

/// Seconds in a day.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 → (year, month, day).
pub const fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Local seconds → `YYYY-MM-DDTHH:MM:SS`, without a zone.
pub fn format_local(seconds: i64) -> String {
    let (days, secs) = (
        seconds.div_euclid(SECONDS_PER_DAY),
        seconds.rem_euclid(SECONDS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2024-05-01T09:30:00Z`).
pub fn format_utc(seconds: i64) -> String {
    format!("{}Z", format_local(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_eras_and_leap_days() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_844, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(1_714_555_800), "2024-05-01T09:30:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
    }
}
