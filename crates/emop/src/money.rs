//! Money as meters hold it: integers of 1/100 000 GBP (u4le for prices and
//! tariff amounts, s4le for the balance). Decimal text in, exact decimal text
//! out; no floats. Encoding truncates toward zero like the reference, and
//! the rate rules (≤ 1 GBP, ≤ 5 decimal places as *written*) are the
//! reference's.

use crate::error::CodecError;
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

pub const UNITS_PER_GBP: i64 = 100_000;

/// Significant digits we accept in a decimal; beyond u128 would overflow and
/// no meter amount needs more than ten.
const MAX_DIGITS: usize = 38;

/// A decimal as written, Python-`Decimal` style: sign, integer coefficient
/// and exponent, so `0.200000` (exponent −6) and `0.2` (exponent −1) differ
/// even though they are equal. The rate rule counts decimal places from the
/// exponent, so the spelling matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    coefficient: u128,
    exponent: i32,
}

impl Decimal {
    /// Parses `[+-]digits[.digits][e[+-]digits]` (also `.5`, `5.`), with
    /// surrounding whitespace allowed. NaN and infinities are not numbers
    /// here.
    pub fn parse(text: &str) -> Option<Decimal> {
        let s = text.trim();
        let (negative, rest) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty()
            || !all_digits(int_part)
            || !all_digits(frac_part)
        {
            return None;
        }
        let mut exponent: i64 = match exp_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || digits.len() > 6 || !all_digits(digits) {
                    return None;
                }
                e.parse::<i64>().ok()?
            }
        };
        exponent -= frac_part.len() as i64;
        let digits: String = int_part.chars().chain(frac_part.chars()).collect();
        let significant = digits.trim_start_matches('0');
        if significant.len() > MAX_DIGITS {
            return None;
        }
        let coefficient = if significant.is_empty() {
            0
        } else {
            significant.parse().ok()?
        };
        Some(Decimal {
            negative,
            coefficient,
            exponent: i32::try_from(exponent).ok()?,
        })
    }

    /// A decimal argument from JSON: a string (exact, preferred) or a number
    /// (taken by its shortest decimal spelling, which is exact for any
    /// decimal of up to 15 significant digits).
    pub fn from_json(field: &str, v: &Value) -> Result<Decimal, CodecError> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        Decimal::parse(&text).ok_or_else(|| CodecError::NotADecimal {
            field: field.to_string(),
            value: text,
        })
    }

    pub fn from_units(units: i64) -> Decimal {
        Decimal {
            negative: units < 0,
            coefficient: u128::from(units.unsigned_abs()),
            exponent: -5,
        }
    }

    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    pub fn is_zero(&self) -> bool {
        self.coefficient == 0
    }

    /// Decimal places as the reference counts them: `abs(exponent)`. (So a
    /// zero written `0E+6` has "6 places"; harmless, and faithful.)
    pub fn places_as_written(&self) -> u32 {
        self.exponent.unsigned_abs()
    }

    /// Compares the value with an integer number of GBP.
    pub fn cmp_whole(&self, whole: i64) -> Ordering {
        let units = self.exact_units_rounded_down();
        // Scale the integer instead of the decimal when possible: exact.
        match units {
            Some((u, exact)) => {
                let target = i128::from(whole) * i128::from(UNITS_PER_GBP);
                match u.cmp(&target) {
                    Ordering::Equal if !exact => Ordering::Greater,
                    o => o,
                }
            }
            // Too large to scale: its sign decides against any i64 GBP.
            None => {
                if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
        }
    }

    /// value × 100 000 rounded toward −∞, and whether that was exact.
    fn exact_units_rounded_down(&self) -> Option<(i128, bool)> {
        let (magnitude, exact) = self.magnitude_units()?;
        let m = i128::try_from(magnitude).ok()?;
        Some(if self.negative {
            (if exact { -m } else { -m - 1 }, exact)
        } else {
            (m, exact)
        })
    }

    /// |value| × 100 000 truncated, and whether nothing was cut off.
    fn magnitude_units(&self) -> Option<(u128, bool)> {
        let shift = i64::from(self.exponent) + 5;
        if shift >= 0 {
            let factor = 10u128.checked_pow(u32::try_from(shift).ok()?)?;
            Some((self.coefficient.checked_mul(factor)?, true))
        } else {
            let down = u32::try_from(-shift).ok()?;
            match 10u128.checked_pow(down) {
                Some(divisor) => Some((
                    self.coefficient / divisor,
                    self.coefficient.is_multiple_of(divisor),
                )),
                // More than 38 places down: nothing of the coefficient is left.
                None => Some((0, self.coefficient == 0)),
            }
        }
    }

    /// value × 100 000 truncated toward zero (the reference's `int()`).
    pub fn truncated_units(&self) -> Option<i128> {
        let (m, _) = self.magnitude_units()?;
        let m = i128::try_from(m).ok()?;
        Some(if self.negative { -m } else { m })
    }

    /// The exact amount in meter units, if the value has at most 5 decimal
    /// places (whatever its spelling) and fits.
    pub fn to_money_exact(&self) -> Option<Money> {
        let (m, exact) = self.magnitude_units()?;
        if !exact {
            return None;
        }
        let m = i64::try_from(m).ok()?;
        Some(Money(if self.negative { -m } else { m }))
    }
}

/// Python's `str(Decimal)`, so messages echo a value the way the reference
/// does (`0.200000`, `1E+1`, `-13.25197`).
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.coefficient.to_string();
        let n = digits.len() as i64;
        let exp = i64::from(self.exponent);
        let left_digits = exp + n;
        let dot_place = if exp <= 0 && left_digits > -6 {
            left_digits
        } else {
            1
        };
        let (int_part, frac_part) = if dot_place <= 0 {
            (
                "0".to_string(),
                format!(".{}{}", "0".repeat((-dot_place) as usize), digits),
            )
        } else if dot_place >= n {
            (
                format!("{}{}", digits, "0".repeat((dot_place - n) as usize)),
                String::new(),
            )
        } else {
            let (a, b) = digits.split_at(dot_place as usize);
            (a.to_string(), format!(".{b}"))
        };
        let exp_part = if left_digits == dot_place {
            String::new()
        } else {
            format!("E{:+}", left_digits - dot_place)
        };
        let sign = if self.negative { "-" } else { "" };
        write!(f, "{sign}{int_part}{frac_part}{exp_part}")
    }
}

/// An amount in the meter's unit, 1/100 000 GBP. Signed because the prepay
/// balance goes negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);
    /// Largest amount a u4le price or tariff amount can hold: 42949.67295.
    pub const MAX_U4: Money = Money(u32::MAX as i64);

    pub const fn from_units(units: i64) -> Money {
        Money(units)
    }

    pub const fn from_gbp(gbp: i64) -> Money {
        Money(gbp * UNITS_PER_GBP)
    }

    pub const fn units(self) -> i64 {
        self.0
    }

    /// The u4le bytes of this amount, if it fits (0 to 42949.67295).
    pub fn to_u4le(self) -> Option<[u8; 4]> {
        u32::try_from(self.0).ok().map(u32::to_le_bytes)
    }

    /// Parses a decimal that must be exactly representable (≤ 5 places by
    /// value), e.g. a balance handed back by a caller.
    pub fn parse_exact(field: &str, v: &Value) -> Result<Money, CodecError> {
        let d = Decimal::from_json(field, v)?;
        d.to_money_exact()
            .ok_or_else(|| CodecError::InvalidArgument {
                field: field.to_string(),
                value: d.to_string(),
                rule: "must be GBP with at most 5 decimal places".to_string(),
            })
    }
}

/// The reference's scaled text: exact, no trailing zeros, no point for whole
/// numbers (`0.0865`, `15`, `-13.25197`, `0`).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let whole = magnitude / UNITS_PER_GBP as u64;
        let frac = magnitude % UNITS_PER_GBP as u64;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let frac = format!("{frac:05}");
            write!(f, "{sign}{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// Encodes an amount for a write: × 100 000 truncated toward zero, u4le.
/// Negative results and results above u32 are refused (the reference fails
/// with a struct packing error at the same point).
pub fn encode_amount_u4le(field: &str, amount: &Decimal) -> Result<[u8; 4], CodecError> {
    amount
        .truncated_units()
        .and_then(|u| u32::try_from(u).ok())
        .map(u32::to_le_bytes)
        .ok_or_else(|| CodecError::AmountOutOfRange {
            field: field.to_string(),
            value: amount.to_string(),
        })
}

/// The reference's rule for rates (standing charge, unit rates): at most
/// 1 GBP, and at most 5 decimal places as written.
pub fn validate_rate(field: &str, rate: &Decimal) -> Result<(), CodecError> {
    if rate.cmp_whole(1) == Ordering::Greater {
        return Err(CodecError::RateAboveOneGbp {
            field: field.to_string(),
            value: rate.to_string(),
        });
    }
    if rate.places_as_written() > 5 {
        return Err(CodecError::RateTooPrecise {
            field: field.to_string(),
            value: rate.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn python_str_spellings() {
        for (input, shown) in [
            ("0.200000", "0.200000"),
            ("1E+1", "1E+1"),
            ("1e1", "1E+1"),
            (".5", "0.5"),
            ("+0012.50", "12.50"),
            ("-0", "-0"),
            ("0.00", "0.00"),
            ("0.0000001", "1E-7"),
            ("0.000001", "0.000001"),
            ("15.00", "15.00"),
            ("1.05", "1.05"),
        ] {
            assert_eq!(d(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn truncation_toward_zero() {
        assert_eq!(d("0.123456").truncated_units(), Some(12345));
        assert_eq!(d("0.000019").truncated_units(), Some(1));
        assert_eq!(d("-0.000001").truncated_units(), Some(0));
        assert_eq!(d("-0.1").truncated_units(), Some(-10000));
        assert_eq!(d("1E+1").truncated_units(), Some(1_000_000));
    }

    #[test]
    fn encode_range() {
        assert_eq!(
            encode_amount_u4le("x", &d("42949.67295")).unwrap(),
            [0xff; 4]
        );
        assert!(encode_amount_u4le("x", &d("42949.67296")).is_err());
        assert!(encode_amount_u4le("x", &d("-1")).is_err());
        assert!(encode_amount_u4le("x", &d("1e40")).is_err());
        // truncates to zero, which fits: the reference packs it too
        assert_eq!(encode_amount_u4le("x", &d("-0.000001")).unwrap(), [0; 4]);
    }

    #[test]
    fn rate_rules() {
        assert!(validate_rate("r", &d("1")).is_ok());
        assert!(validate_rate("r", &d("1.00000")).is_ok());
        assert!(matches!(
            validate_rate("r", &d("1.00001")),
            Err(CodecError::RateAboveOneGbp { .. })
        ));
        assert!(matches!(
            validate_rate("r", &d("0.200000")),
            Err(CodecError::RateTooPrecise { .. })
        ));
        assert!(matches!(
            validate_rate("r", &d("1.000001")),
            Err(CodecError::RateAboveOneGbp { .. })
        ));
        assert!(validate_rate("r", &d("-0.5")).is_ok());
        let e = validate_rate("unit_rate_element_a", &d("0.812067"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "unit_rate_element_a: Invalid rate 0.812067. Emlite meters can only store up to 5 decimal places."
        );
    }

    #[test]
    fn compare_with_whole() {
        assert_eq!(d("9.99999").cmp_whole(10), Ordering::Less);
        assert_eq!(d("10.000000001").cmp_whole(10), Ordering::Greater);
        assert_eq!(d("10.0").cmp_whole(10), Ordering::Equal);
        assert_eq!(d("-10.5").cmp_whole(-10), Ordering::Less);
        assert_eq!(d("1e30").cmp_whole(1), Ordering::Greater);
    }

    #[test]
    fn not_numbers() {
        for bad in [
            "", "-", ".", "abc", "1..2", "NaN", "Infinity", "1e", "1e+", "0x10", "1 2",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn money_text() {
        for (units, text) in [
            (0, "0"),
            (1, "0.00001"),
            (8650, "0.0865"),
            (1_500_000, "15"),
            (-5, "-0.00005"),
        ] {
            assert_eq!(Money::from_units(units).to_string(), text);
        }
    }
}
