//! The meter's money unit: an unsigned 32-bit count of 1/100000 GBP. Parsing
//! is exact decimal (never floats): a value a meter cannot hold is refused,
//! not rounded.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MeterMoney(pub u32);

pub const SCALE: u32 = 5;
pub const UNITS_PER_GBP: u64 = 100_000;

/// Why a decimal text is not a meter amount; the caller adds the field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    NotANumber,
    Negative,
    TooPrecise,
    TooLarge { max: MeterMoney },
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmountError::NotANumber => write!(f, "must be a decimal number of GBP"),
            AmountError::Negative => write!(f, "must not be negative"),
            AmountError::TooPrecise => write!(f, "meters store at most 5 decimal places of GBP"),
            AmountError::TooLarge { max } => write!(f, "must be at most {max} GBP"),
        }
    }
}

impl MeterMoney {
    pub const MAX: MeterMoney = MeterMoney(u32::MAX);
    pub const ONE_GBP: MeterMoney = MeterMoney(100_000);

    /// Parses a plain decimal (`0.0865`, `15`, `1.50000`, `2e-2`). Trailing
    /// zeros beyond 5 places are fine: the value, not its spelling, must fit.
    pub fn parse_decimal(text: &str, max: MeterMoney) -> Result<MeterMoney, AmountError> {
        let (negative, units) = parse_scaled(text.trim())?;
        if negative && units != 0 {
            return Err(AmountError::Negative);
        }
        if units > u128::from(max.0) {
            return Err(AmountError::TooLarge { max });
        }
        Ok(MeterMoney(units as u32))
    }

    pub fn units(self) -> u32 {
        self.0
    }
}

/// Exact decimal text → units of 1e-5, refusing anything finer.
fn parse_scaled(s: &str) -> Result<(bool, u128), AmountError> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = body[i + 1..].parse().map_err(|_| AmountError::NotANumber)?;
            (&body[..i], exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(AmountError::NotANumber);
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    // value = digits × 10^(exponent - frac_len); we need it × 10^5 to be whole.
    let shift = i64::from(exponent) - frac_part.len() as i64 + i64::from(SCALE);
    let significant = digits.trim_end_matches('0');
    let trailing_zeros = (digits.len() - significant.len()) as i64;
    if significant.is_empty() {
        return Ok((negative, 0));
    }
    if shift + trailing_zeros < 0 {
        return Err(AmountError::TooPrecise);
    }
    let power = shift + trailing_zeros;
    if significant.len() as i64 + power > 38 {
        return Err(AmountError::TooLarge {
            max: MeterMoney::MAX,
        });
    }
    let mut units: u128 = significant.parse().map_err(|_| AmountError::NotANumber)?;
    for _ in 0..power {
        units = units.checked_mul(10).ok_or(AmountError::TooLarge {
            max: MeterMoney::MAX,
        })?;
    }
    Ok((negative, units))
}

/// Exact, no trailing zeros, no point for whole pounds: 8650 → `0.0865`,
/// 1500000 → `15` (the form the reference client reports).
impl std::fmt::Display for MeterMoney {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = u64::from(self.0) / UNITS_PER_GBP;
        let frac = u64::from(self.0) % UNITS_PER_GBP;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let frac = format!("{frac:05}");
            write!(f, "{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<u32, AmountError> {
        MeterMoney::parse_decimal(s, MeterMoney::MAX).map(|m| m.0)
    }

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(p("0.0865"), Ok(8650));
        assert_eq!(p("15"), Ok(1_500_000));
        assert_eq!(p("0.00001"), Ok(1));
        assert_eq!(p("0.200000"), Ok(20_000));
        assert_eq!(p("2e-2"), Ok(2000));
        assert_eq!(p("1.5E1"), Ok(1_500_000));
        assert_eq!(p("42949.67295"), Ok(u32::MAX));
        assert_eq!(p("-0"), Ok(0));
        assert_eq!(p(".5"), Ok(50_000));
    }

    #[test]
    fn refuses_what_a_meter_cannot_hold() {
        assert_eq!(p("0.123456"), Err(AmountError::TooPrecise));
        assert_eq!(p("1e-6"), Err(AmountError::TooPrecise));
        assert_eq!(p("-0.01"), Err(AmountError::Negative));
        assert!(matches!(
            p("42949.67296"),
            Err(AmountError::TooLarge { .. })
        ));
        assert!(matches!(p("1e40"), Err(AmountError::TooLarge { .. })));
        for bad in [
            "", "abc", "1.2.3", "0x10", "1e", ".", "NaN", "Infinity", "1,5",
        ] {
            assert_eq!(p(bad), Err(AmountError::NotANumber), "{bad}");
        }
        assert_eq!(
            MeterMoney::parse_decimal("1.00001", MeterMoney::ONE_GBP),
            Err(AmountError::TooLarge {
                max: MeterMoney::ONE_GBP
            })
        );
        assert_eq!(
            MeterMoney::parse_decimal("1.00000", MeterMoney::ONE_GBP),
            Ok(MeterMoney::ONE_GBP)
        );
    }

    #[test]
    fn displays_like_the_reference() {
        for (units, text) in [
            (12345, "0.12345"),
            (8650, "0.0865"),
            (2000, "0.02"),
            (1_500_000, "15"),
            (100_000, "1"),
            (0, "0"),
            (1, "0.00001"),
        ] {
            assert_eq!(MeterMoney(units).to_string(), text);
        }
    }

    proptest! {
        #[test]
        fn display_parses_back(units: u32) {
            let m = MeterMoney(units);
            prop_assert_eq!(MeterMoney::parse_decimal(&m.to_string(), MeterMoney::MAX), Ok(m));
        }
    }
}
