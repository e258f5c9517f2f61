//! Times and durations in the formats Velero and the Go plugin use.

use std::time::Duration;

use csi_common::civil::{days_from_civil, format_local};

use crate::bindings::velero::csi::types::Datetime;

/// RFC 3339 with second precision and a numeric offset, or `Z` for UTC
/// (`2024-05-01T09:30:00Z`, `2024-05-01T17:30:00+08:00`).
pub fn format_rfc3339(time: &Datetime) -> String {
    let offset = i64::from(time.utc_offset_seconds);
    let zone = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        format!(
            "{sign}{:02}:{:02}",
            offset.abs() / 3600,
            offset.abs() % 3600 / 60
        )
    };
    format!("{}{zone}", format_local(time.seconds + offset))
}

/// Parses RFC 3339 (fractional seconds allowed; `Z` or a numeric offset), as Go's
/// `time.Parse(time.RFC3339, …)` does.
pub fn parse_rfc3339(text: &str) -> Result<Datetime, String> {
    let error =
        || format!("parsing time {text:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {text:?}");
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = text.get(range).ok_or_else(error)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| error())
        } else {
            Err(error())
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(error());
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(error());
    }
    let mut rest = &text[19..];
    let mut nanos = 0_u32;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(error());
        }
        let padded = format!("{:0<9}", &fraction[..digits.min(9)]);
        nanos = padded.parse().map_err(|_| error())?;
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && zone.is_ascii()
            && matches!(&zone[0..1], "+" | "-")
            && &zone[3..4] == ":" =>
        {
            let hours = num(text.len() - 5..text.len() - 3)?;
            let minutes = num(text.len() - 2..text.len())?;
            let magnitude = hours * 3600 + minutes * 60;
            if zone.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return Err(error()),
    };
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Ok(Datetime {
        seconds: local - offset,
        nanos,
        utc_offset_seconds: i32::try_from(offset).map_err(|_| error())?,
    })
}

/// Parses a Go duration (`10m0s`, `1h`, `500ms`, `1h2m3.5s`). Negative durations and
/// anything unparsable give `None`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    let mut total = 0_f64;
    while !rest.is_empty() {
        let number_len = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .bytes()
            .take_while(|c| !(c.is_ascii_digit() || *c == b'.'))
            .count();
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROZEN: i64 = 1_714_555_800; // 2024-05-01T09:30:00Z

    #[test]
    fn formats_utc_and_offsets() {
        let utc = Datetime {
            seconds: FROZEN,
            nanos: 0,
            utc_offset_seconds: 0,
        };
        assert_eq!(format_rfc3339(&utc), "2024-05-01T09:30:00Z");
        let plus8 = Datetime {
            seconds: FROZEN,
            nanos: 0,
            utc_offset_seconds: 8 * 3600,
        };
        assert_eq!(format_rfc3339(&plus8), "2024-05-01T17:30:00+08:00");
    }

    #[test]
    fn parses_what_it_formats_and_go_variants() {
        for text in [
            "2024-05-01T09:30:00Z",
            "2024-05-01T17:30:00+08:00",
            "2024-05-01T04:30:00-05:00",
        ] {
            assert_eq!(parse_rfc3339(text).unwrap().seconds, FROZEN, "{text}");
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T09:30:00.25Z").unwrap().nanos,
            250_000_000
        );
        for bad in [
            "notatime",
            "2024-05-01",
            "2024-05-01T09:30:00",
            "2024-13-01T09:30:00Z",
            "2024-05-01T09:30:00+8",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        assert!(
            parse_rfc3339("notatime")
                .unwrap_err()
                .starts_with("parsing time \"notatime\"")
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m0s"), Some(Duration::from_secs(600)));
        assert_eq!(parse_go_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_millis(3_723_500))
        );
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        for bad in ["", "10", "-1s", "1x", "abc"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }
}
