//! Kubernetes resource quantities (`10Gi`, `500M`, `1.5e3`, `100m`), parsed and compared exactly
//! as Kubernetes' apimachinery does: arbitrary size, values with digits below 10⁻⁹ rounded up
//! (away from zero) to the next nano, binary-suffixed values capped at 2⁶³−1.

use std::cmp::Ordering;

/// Why a quantity string was refused, worded as Kubernetes words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text does not have the shape `<number><suffix>`.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// The numeric part has no digits where a precise value is needed.
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not a known decimal, binary or exponent suffix.
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// An exact quantity: `(-1)^negative × digits × 10^exponent`, with `digits` (values 0–9)
/// holding no leading or trailing zeros, and empty for zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quantity {
    negative: bool,
    digits: Vec<u8>,
    exponent: i64,
}

/// How a suffix scales the number.
enum Scale {
    /// `× 10^n`; `exponent_form` for `e3`/`E3` suffixes.
    Decimal(i32),
    /// `× 2^n`.
    Binary(u32),
}

impl Quantity {
    /// Zero.
    pub fn zero() -> Self {
        Self::default()
    }

    /// Whether the quantity is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Parses a quantity string (no surrounding whitespace) as Kubernetes does.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::Format);
        }
        let parts = split(text)?;
        let scale = interpret_suffix(parts.suffix)?;
        let mut digits: Vec<u8> = parts
            .num
            .bytes()
            .chain(parts.denom.bytes())
            .map(|b| b - b'0')
            .collect();
        let denom_len = parts.denom.len() as i32;
        let mut value = match scale {
            Scale::Decimal(exponent) => {
                let precision = 18 - (parts.num.len() + parts.denom.len()) as i64;
                let fast_scale = exponent.wrapping_sub(denom_len);
                let exponent10 = if precision >= 0 && fast_scale >= -9 {
                    i64::from(fast_scale)
                } else {
                    if !parts.value_has_digits {
                        return Err(QuantityError::Numeric);
                    }
                    // The precise path keeps the scale in 32 bits too.
                    -i64::from(denom_len.wrapping_add(exponent.wrapping_neg()))
                };
                Self::normalized(!parts.positive, digits, exponent10)
            }
            Scale::Binary(exponent) => {
                for _ in 0..exponent {
                    double(&mut digits);
                }
                Self::normalized(!parts.positive, digits, -i64::from(denom_len))
            }
        };
        value.round_up_to_nano();
        if matches!(scale, Scale::Binary(_)) {
            let max = Self::normalized(false, digits_of(i64::MAX.unsigned_abs()), 0);
            if value.cmp_magnitude(&max) == Ordering::Greater {
                value = Self {
                    negative: value.negative,
                    ..max
                };
            }
        }
        Ok(value)
    }

    fn normalized(negative: bool, mut digits: Vec<u8>, mut exponent: i64) -> Self {
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            exponent = exponent.saturating_add(1);
        }
        if digits.is_empty() {
            return Self::zero();
        }
        Self {
            negative,
            digits,
            exponent,
        }
    }

    /// Rounds away from zero to a multiple of 10⁻⁹.
    fn round_up_to_nano(&mut self) {
        if self.is_zero() || self.exponent >= -9 {
            return;
        }
        let below = (-9i64).saturating_sub(self.exponent).unsigned_abs();
        let keep = (self.digits.len() as u64).saturating_sub(below) as usize;
        let mut kept = self.digits[..keep].to_vec();
        kept.insert(0, 0);
        // Something non-zero was cut (digits are normalized): add one nano.
        let mut at = kept.len();
        loop {
            at -= 1;
            if kept[at] == 9 {
                kept[at] = 0;
            } else {
                kept[at] += 1;
                break;
            }
        }
        *self = Self::normalized(self.negative, kept, -9);
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let order = |q: &Self| i128::from(q.exponent) + q.digits.len() as i128;
        order(self).cmp(&order(other)).then_with(|| {
            let len = self.digits.len().max(other.digits.len());
            (0..len)
                .map(|i| {
                    let a = self.digits.get(i).copied().unwrap_or(0);
                    let b = other.digits.get(i).copied().unwrap_or(0);
                    a.cmp(&b)
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |q: &Self| match (q.is_zero(), q.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) < 0 => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            unequal => unequal,
        }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn digits_of(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n > 0 {
        out.push((n % 10) as u8);
        n /= 10;
    }
    out.reverse();
    out
}

fn double(digits: &mut Vec<u8>) {
    let mut carry = 0;
    for d in digits.iter_mut().rev() {
        let v = *d * 2 + carry;
        *d = v % 10;
        carry = v / 10;
    }
    if carry > 0 {
        digits.insert(0, carry);
    }
}

struct Parts<'a> {
    positive: bool,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
    /// Whether the number before the suffix has at least one digit.
    value_has_digits: bool,
}

/// Splits `[+-]digits[.digits]suffix`, with leading zeros of the integer part dropped.
fn split(text: &str) -> Result<Parts<'_>, QuantityError> {
    let bytes = text.as_bytes();
    let end = bytes.len();
    let mut pos = 0;
    let mut positive = true;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let sign_end = pos;
    while pos < end && bytes[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Parts {
            positive,
            num: "0",
            denom: "",
            suffix: "",
            value_has_digits: true,
        });
    }
    let num_start = pos;
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let num = if pos == num_start {
        "0"
    } else {
        &text[num_start..pos]
    };
    let mut denom = "";
    if pos < end && bytes[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &text[start..pos];
    }
    let value_has_digits = text[sign_end..pos].bytes().any(|b| b.is_ascii_digit());
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < end && matches!(bytes[pos], b'-' | b'+') {
        pos += 1;
    }
    while pos < end && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::Format);
    }
    Ok(Parts {
        positive,
        num,
        denom,
        suffix: &text[suffix_start..],
        value_has_digits,
    })
}

fn interpret_suffix(suffix: &str) -> Result<Scale, QuantityError> {
    Ok(match suffix {
        "n" => Scale::Decimal(-9),
        "u" => Scale::Decimal(-6),
        "m" => Scale::Decimal(-3),
        "" => Scale::Decimal(0),
        "k" => Scale::Decimal(3),
        "M" => Scale::Decimal(6),
        "G" => Scale::Decimal(9),
        "T" => Scale::Decimal(12),
        "P" => Scale::Decimal(15),
        "E" => Scale::Decimal(18),
        "Ki" => Scale::Binary(10),
        "Mi" => Scale::Binary(20),
        "Gi" => Scale::Binary(30),
        "Ti" => Scale::Binary(40),
        "Pi" => Scale::Binary(50),
        "Ei" => Scale::Binary(60),
        _ => {
            let rest = suffix
                .strip_prefix(['e', 'E'])
                .filter(|r| !r.is_empty())
                .ok_or(QuantityError::Suffix)?;
            let parsed: i64 = rest.parse().map_err(|_| QuantityError::Suffix)?;
            // Kubernetes keeps the exponent in 32 bits.
            Scale::Decimal(parsed as i32)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_and_compares() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("1G"), q("1e9"));
        assert_eq!(q("1.5Gi"), q("1536Mi"));
        assert!(q("10Gi") > q("10G"));
        assert!(q("-1") < q("0"));
        assert!(q("-2") < q("-1"));
        assert_eq!(q("0.0000000001"), q("1n"));
        assert_eq!(q("-0.0000000001"), q("-1n"));
        assert_eq!(q("100Ei"), q("9223372036854775807"));
        assert!(q("1e30") > q("100Ei"));
        assert!(q("000").is_zero());
        assert!(q(".").is_zero());
        assert_eq!(q("+1k"), q("1000"));
        assert_eq!(q("1.Gi"), q("1Gi"));
    }

    #[test]
    fn refuses_like_kubernetes() {
        assert_eq!(Quantity::parse(""), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1 Gi"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1GB"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1Gib"), Err(QuantityError::Format));
        assert_eq!(Quantity::parse("1K"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("1e"), Err(QuantityError::Suffix));
        assert_eq!(Quantity::parse("abc"), Err(QuantityError::Format));
    }
}
