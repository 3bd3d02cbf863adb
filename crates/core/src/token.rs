//! Prepay top-up tokens: exactly 20 digits. Held as a 128-bit number stored
//! big-endian, so byte order = numeric order = text order; shown masked
//! (all but the last 4 digits) everywhere except to the worker.

use crate::{echo, RuleError};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrepayToken(u128);

pub const TOKEN_DIGITS: usize = 20;
const RULE: &str =
    "a prepay token is exactly 20 digits (spaces or hyphens between digit groups are ignored)";
const MASK_CHAR: char = '*';

impl PrepayToken {
    pub fn parse(input: &str) -> Result<Self, RuleError> {
        let mut digits = String::with_capacity(TOKEN_DIGITS);
        let mut masked = false;
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' if !digits.is_empty() => {}
                MASK_CHAR => masked = true,
                _ => {
                    digits.clear();
                    break;
                }
            }
        }
        let trailing_separator = input.trim().ends_with([' ', '-']);
        if masked {
            return Err(RuleError {
                what: "prepay token",
                value: echo(input),
                rule: "a masked token cannot be turned back into a token".to_string(),
                hint: Some(
                    "token columns print masked; dump and restore with PGOPTIONS='-c flows.reveal_tokens=on' as a superuser",
                ),
            });
        }
        if digits.len() != TOKEN_DIGITS || trailing_separator {
            return Err(RuleError {
                what: "prepay token",
                value: Self::mask_text(input.trim()),
                rule: RULE.to_string(),
                hint: None,
            });
        }
        Ok(PrepayToken(
            digits.parse().expect("20 ASCII digits fit in u128"),
        ))
    }

    /// All 20 digits: only for the worker that sends the token to the meter.
    pub fn digits(&self) -> String {
        format!("{:020}", self.0)
    }

    /// The form shown to people: `****************7890`.
    pub fn masked(&self) -> String {
        Self::mask_text(&self.digits())
    }

    /// Even in error messages a near-token must not leak in full.
    fn mask_text(s: &str) -> String {
        let n = s.chars().count();
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if i + 4 < n && c.is_ascii_digit() {
                    MASK_CHAR
                } else {
                    c
                }
            })
            .collect::<String>()
            .chars()
            .take(48)
            .collect()
    }

    pub fn to_be_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_be_bytes(bytes: [u8; 16]) -> Option<Self> {
        let n = u128::from_be_bytes(bytes);
        (n < 10u128.pow(TOKEN_DIGITS as u32)).then_some(PrepayToken(n))
    }
}

/// Debug never shows the digits either: tokens end up in logs via `{:?}`.
impl std::fmt::Debug for PrepayToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrepayToken({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_and_grouped() {
        let t = PrepayToken::parse("12345678901234567890").unwrap();
        assert_eq!(t.digits(), "12345678901234567890");
        assert_eq!(t.masked(), "****************7890");
        let g = PrepayToken::parse(" 1234 5678-9012 3456 7890 ").unwrap();
        assert_eq!(g, t);
        assert_eq!(format!("{t:?}"), "PrepayToken(****************7890)");
    }

    #[test]
    fn keeps_leading_zeros() {
        let t = PrepayToken::parse("00000000000000000001").unwrap();
        assert_eq!(t.digits(), "00000000000000000001");
    }

    #[test]
    fn refuses_wrong_length_and_letters_without_echoing_digits() {
        for bad in [
            "1234567890123456789",
            "123456789012345678901",
            "1234567890123456789x",
            "-12345678901234567890",
            "12345678901234567890-",
            "",
        ] {
            let e = PrepayToken::parse(bad).unwrap_err();
            assert!(e.rule.contains("exactly 20 digits"), "{bad}: {e}");
            assert!(!e.to_string().contains("123456789"), "{bad} leaked: {e}");
        }
    }

    #[test]
    fn refuses_masked_text_with_a_hint() {
        let e = PrepayToken::parse("****************7890").unwrap_err();
        assert!(e.hint.unwrap().contains("flows.reveal_tokens"));
    }

    proptest! {
        #[test]
        fn bytes_round_trip_and_order(a in 0u128..10u128.pow(20), b in 0u128..10u128.pow(20)) {
            let ta = PrepayToken::parse(&format!("{a:020}")).unwrap();
            let tb = PrepayToken::parse(&format!("{b:020}")).unwrap();
            prop_assert_eq!(PrepayToken::from_be_bytes(ta.to_be_bytes()), Some(ta));
            prop_assert_eq!(ta.to_be_bytes().cmp(&tb.to_be_bytes()), ta.digits().cmp(&tb.digits()));
        }
    }
}
