//! Flows domain values that carry rules: meter serials, prepay tokens,
//! tariffs and the meter's money unit. Pure Rust; the extension wraps these
//! as PostgreSQL types, the worker and the simulator use them directly.

pub mod money;
pub mod serial;
pub mod tariff;
pub mod time;
pub mod token;

pub use money::MeterMoney;
pub use serial::MeterSerial;
pub use tariff::{Tariff, TariffError, TariffField};
pub use token::PrepayToken;

/// A value refused by one of the domain rules. `field` names what was wrong,
/// `rule` says what the value must be, so messages read
/// `invalid meter serial "X": must be EML followed by 10 digits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub what: &'static str,
    pub value: String,
    pub rule: String,
    pub hint: Option<&'static str>,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {} \"{}\": {}", self.what, self.value, self.rule)
    }
}

impl std::error::Error for RuleError {}

/// Shorten what we echo back in an error so a pasted megabyte stays out of logs.
pub(crate) fn echo(input: &str) -> String {
    const MAX: usize = 40;
    if input.chars().count() <= MAX {
        input.to_string()
    } else {
        let head: String = input.chars().take(MAX).collect();
        format!("{head}…")
    }
}
