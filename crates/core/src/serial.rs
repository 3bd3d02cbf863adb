//! Emlite meter serials: `EML` followed by exactly 10 digits, stored
//! upper-case. Held as the 10-digit number so it fits a pass-by-value int8
//! datum and sorts like the text form (fixed width, so numeric order = text order).

use crate::{echo, RuleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MeterSerial(u64);

const PREFIX: &str = "EML";
const DIGITS: usize = 10;
const RULE: &str = "a meter serial is EML followed by exactly 10 digits, e.g. EML2137580826";

impl MeterSerial {
    /// Parses user input: surrounding white space is ignored and the prefix
    /// may be in any case (`' eml2137580826 '` → `EML2137580826`).
    pub fn parse(input: &str) -> Result<Self, RuleError> {
        let err = || RuleError {
            what: "meter serial",
            value: echo(input),
            rule: RULE.to_string(),
            hint: None,
        };
        let s = input.trim();
        if s.len() != PREFIX.len() + DIGITS || !s.is_char_boundary(PREFIX.len()) {
            return Err(err());
        }
        let (prefix, digits) = s.split_at(PREFIX.len());
        if !prefix.eq_ignore_ascii_case(PREFIX) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        Ok(MeterSerial(digits.parse().map_err(|_| err())?))
    }

    /// The number after `EML`, as stored in the int8 datum.
    pub fn number(self) -> u64 {
        self.0
    }

    /// Rebuilds a serial from a stored datum; refuses numbers that no serial has.
    pub fn from_number(n: u64) -> Option<Self> {
        (n < 10u64.pow(DIGITS as u32)).then_some(MeterSerial(n))
    }
}

impl std::fmt::Display for MeterSerial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{:010}", self.0)
    }
}

impl std::str::FromStr for MeterSerial {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_upper_cases() {
        let s = MeterSerial::parse(" eml2137580826 ").unwrap();
        assert_eq!(s.to_string(), "EML2137580826");
        assert_eq!(s.number(), 2137580826);
    }

    #[test]
    fn keeps_leading_zeros() {
        let s = MeterSerial::parse("EML0000000042").unwrap();
        assert_eq!(s.to_string(), "EML0000000042");
    }

    #[test]
    fn refuses_what_is_not_a_serial() {
        for bad in [
            "",
            "EML",
            "EML123",
            "EML21375808260",
            "XYZ2137580826",
            "EML213758082a",
            "EML 2137580826",
            "EML-137580826",
            "EML+137580826",
            "2137580826",
            "EMLé137580826",
        ] {
            let e = MeterSerial::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("EML followed by exactly 10 digits"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn from_number_refuses_eleven_digits() {
        assert!(MeterSerial::from_number(9_999_999_999).is_some());
        assert!(MeterSerial::from_number(10_000_000_000).is_none());
    }

    proptest! {
        #[test]
        fn text_round_trips_and_order_matches_text(a in 0u64..10_000_000_000, b in 0u64..10_000_000_000) {
            let sa = MeterSerial::from_number(a).unwrap();
            let sb = MeterSerial::from_number(b).unwrap();
            prop_assert_eq!(MeterSerial::parse(&sa.to_string()).unwrap(), sa);
            prop_assert_eq!(sa.cmp(&sb), sa.to_string().cmp(&sb.to_string()));
        }
    }
}
