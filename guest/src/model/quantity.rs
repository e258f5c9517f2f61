//! Kubernetes resource quantities, as far as the actions need them ([behaviour §3.12](../../../docs/behaviour.md#312-pvc-restore-from-a-snapshot)).

/// Formats a byte count as Kubernetes formats a binary-SI quantity: the largest binary
/// suffix that divides it exactly; a plain integer when none does; below 1024, decimal-SI.
pub fn format_bytes(bytes: i64) -> String {
    const BINARY: [(&str, i64); 6] = [
        ("Ei", 1 << 60),
        ("Pi", 1 << 50),
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    const DECIMAL: [(&str, i64); 6] = [
        ("E", 1_000_000_000_000_000_000),
        ("P", 1_000_000_000_000_000),
        ("T", 1_000_000_000_000),
        ("G", 1_000_000_000),
        ("M", 1_000_000),
        ("k", 1_000),
    ];
    let table: &[(&str, i64)] = if bytes.unsigned_abs() < 1024 {
        &DECIMAL
    } else {
        &BINARY
    };
    match table
        .iter()
        .find(|(_, unit)| bytes != 0 && bytes % unit == 0)
    {
        Some((suffix, unit)) => format!("{}{suffix}", bytes / unit),
        None => bytes.to_string(),
    }
}

/// Parses a quantity string into thousand-millionths (10⁻⁹) of its unit, so that any two
/// quantities compare exactly.
pub fn parse_nanos(text: &str) -> Result<i128, String> {
    let invalid = || {
        format!(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text:?}"
        )
    };
    let number_end = text
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '+' || *c == '-'))))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(number_end);
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let mantissa: i128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| invalid())?;
    let fraction_digits = u32::try_from(fraction.len()).map_err(|_| invalid())?;
    // value = mantissa / 10^fraction_digits × num / den; in nanos: × 10^9.
    let (num, den): (i128, i128) = match suffix {
        "" => (1, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        "n" => (1, 1_000_000_000),
        "u" => (1, 1_000_000),
        "m" => (1, 1_000),
        "k" => (1_000, 1),
        "M" => (1_000_000, 1),
        "G" => (1_000_000_000, 1),
        "T" => (1_000_000_000_000, 1),
        "P" => (1_000_000_000_000_000, 1),
        "E" => (1_000_000_000_000_000_000, 1),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: i32 = exponent[1..].parse().map_err(|_| invalid())?;
            if power.unsigned_abs() > 27 {
                return Err(invalid());
            }
            let scale = 10_i128.pow(power.unsigned_abs());
            if power >= 0 { (scale, 1) } else { (1, scale) }
        }
        _ => return Err(invalid()),
    };
    let nanos = mantissa
        .checked_mul(num)
        .and_then(|v| v.checked_mul(1_000_000_000))
        .and_then(|v| v.checked_div(10_i128.checked_pow(fraction_digits)?))
        .and_then(|v| v.checked_div(den))
        .ok_or_else(invalid)?;
    Ok(if negative { -nanos } else { nanos })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [behaviour §3.12.2](../../../docs/behaviour.md#3122-restore-size-annotation-format) examples.
    #[test]
    fn formats_like_kubernetes_binary_si() {
        assert_eq!(format_bytes(10_737_418_240), "10Gi");
        assert_eq!(format_bytes(13_156_352), "12848Ki");
        assert_eq!(format_bytes(1536), "1536");
        assert_eq!(format_bytes(1000), "1k");
        assert_eq!(format_bytes(500), "500");
        assert_eq!(format_bytes(0), "0");
        assert_eq!(format_bytes(1 << 20), "1Mi");
    }

    #[test]
    fn parses_every_suffix_and_compares_exactly() {
        let gi = 1_i128 << 30;
        assert_eq!(parse_nanos("1Gi").unwrap(), gi * 1_000_000_000);
        assert_eq!(parse_nanos("1.5Gi").unwrap(), gi * 1_500_000_000);
        assert_eq!(parse_nanos("100m").unwrap(), 100_000_000);
        assert_eq!(parse_nanos("1e3").unwrap(), parse_nanos("1k").unwrap());
        assert_eq!(
            parse_nanos("10737418240").unwrap(),
            parse_nanos("10Gi").unwrap()
        );
        assert!(parse_nanos("50Mi").unwrap() < parse_nanos("1Gi").unwrap());
        assert_eq!(parse_nanos("-1").unwrap(), -1_000_000_000);
        for bad in ["", "abc", "1Xi", "Gi", "1..2", "1e99"] {
            assert!(parse_nanos(bad).is_err(), "{bad}");
        }
    }
}
