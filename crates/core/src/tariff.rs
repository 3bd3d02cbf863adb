//! The tariff a meter holds: standing charge, a unit rate per element and the
//! prepayment amounts, all in meter money; a future tariff also has an
//! activation instant. Only values a meter can store are representable, so a
//! `Tariff` that exists can always be written.

use crate::money::{AmountError, MeterMoney};
use crate::time::{self, TimeError, EPOCH_2000_UNIX};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TariffField {
    StandingCharge,
    UnitRateElementA,
    UnitRateElementB,
    PrepaymentEmergencyCredit,
    PrepaymentEcreditAvailability,
    PrepaymentDebtRecoveryRate,
    ActivationDatetime,
}

impl TariffField {
    pub const AMOUNTS: [TariffField; 6] = [
        TariffField::StandingCharge,
        TariffField::UnitRateElementA,
        TariffField::UnitRateElementB,
        TariffField::PrepaymentEmergencyCredit,
        TariffField::PrepaymentEcreditAvailability,
        TariffField::PrepaymentDebtRecoveryRate,
    ];

    pub fn key(self) -> &'static str {
        match self {
            TariffField::StandingCharge => "standing_charge",
            TariffField::UnitRateElementA => "unit_rate_element_a",
            TariffField::UnitRateElementB => "unit_rate_element_b",
            TariffField::PrepaymentEmergencyCredit => "prepayment_emergency_credit",
            TariffField::PrepaymentEcreditAvailability => "prepayment_ecredit_availability",
            TariffField::PrepaymentDebtRecoveryRate => "prepayment_debt_recovery_rate",
            TariffField::ActivationDatetime => "activation_datetime",
        }
    }

    fn from_key(key: &str) -> Option<TariffField> {
        Self::AMOUNTS
            .into_iter()
            .chain([TariffField::ActivationDatetime])
            .find(|f| f.key() == key)
    }

    /// Rates and the standing charge cannot exceed 1 GBP (what the reference
    /// validates); the prepayment amounts are bounded only by the u32.
    pub fn max(self) -> MeterMoney {
        match self {
            TariffField::StandingCharge
            | TariffField::UnitRateElementA
            | TariffField::UnitRateElementB => MeterMoney::ONE_GBP,
            _ => MeterMoney::MAX,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TariffError {
    NotAnObject(String),
    UnknownField(String),
    MissingField(TariffField),
    Amount {
        field: TariffField,
        value: String,
        problem: AmountError,
    },
    Activation {
        value: String,
        problem: TimeError,
    },
    ActivationOutOfRange {
        value: String,
    },
}

impl std::fmt::Display for TariffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TariffError::NotAnObject(why) => write!(f, "a tariff must be a JSON object: {why}"),
            TariffError::UnknownField(k) => write!(f, "tariff field \"{}\" is not a tariff field", crate::echo(k)),
            TariffError::MissingField(k) => write!(f, "tariff field \"{}\" is required", k.key()),
            TariffError::Amount { field, value, problem } => {
                write!(f, "tariff field \"{}\" = {}: {problem}", field.key(), crate::echo(value))
            }
            TariffError::Activation { value, problem } => {
                write!(f, "tariff field \"activation_datetime\" = {}: {problem}", crate::echo(value))
            }
            TariffError::ActivationOutOfRange { value } => write!(
                f,
                "tariff field \"activation_datetime\" = {}: meters store instants from 2000-01-01 to 2136-02-07 UTC",
                crate::echo(value)
            ),
        }
    }
}

impl std::error::Error for TariffError {}

impl TariffError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            TariffError::UnknownField(_) | TariffError::MissingField(_) | TariffError::NotAnObject(_) => Some(
                "a tariff has standing_charge, unit_rate_element_a, unit_rate_element_b, prepayment_emergency_credit, prepayment_ecredit_availability, prepayment_debt_recovery_rate and, for a future tariff, activation_datetime",
            ),
            TariffError::Amount { problem: AmountError::TooPrecise, .. } => Some("amounts are stored in units of 0.00001 GBP"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tariff {
    pub standing_charge: MeterMoney,
    pub unit_rate_element_a: MeterMoney,
    pub unit_rate_element_b: MeterMoney,
    pub prepayment_emergency_credit: MeterMoney,
    pub prepayment_ecredit_availability: MeterMoney,
    pub prepayment_debt_recovery_rate: MeterMoney,
    /// Seconds since 2000-01-01Z, as the meter stores it; `None` for an active tariff.
    pub activation: Option<u32>,
}

/// Size of the binary form: version, flags, six u32 amounts, u32 activation.
pub const TARIFF_BYTES: usize = 32;
const BINARY_VERSION: u8 = 1;

impl Tariff {
    fn amount_mut(&mut self, f: TariffField) -> &mut MeterMoney {
        match f {
            TariffField::StandingCharge => &mut self.standing_charge,
            TariffField::UnitRateElementA => &mut self.unit_rate_element_a,
            TariffField::UnitRateElementB => &mut self.unit_rate_element_b,
            TariffField::PrepaymentEmergencyCredit => &mut self.prepayment_emergency_credit,
            TariffField::PrepaymentEcreditAvailability => &mut self.prepayment_ecredit_availability,
            TariffField::PrepaymentDebtRecoveryRate => &mut self.prepayment_debt_recovery_rate,
            TariffField::ActivationDatetime => unreachable!("activation is not an amount"),
        }
    }

    pub fn amount(&self, f: TariffField) -> MeterMoney {
        let mut copy = *self;
        *copy.amount_mut(f)
    }

    /// Parses the tariff JSON of DOMAIN.md. Amounts may be JSON numbers or
    /// numeric strings (the reference client reports decimal strings); every
    /// amount is required, `activation_datetime` is optional (null = absent).
    pub fn from_json(text: &str) -> Result<Tariff, TariffError> {
        let map: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(text).map_err(|e| TariffError::NotAnObject(e.to_string()))?;
        let mut tariff = Tariff::default();
        let mut seen = Vec::with_capacity(7);
        for (key, raw) in &map {
            let field =
                TariffField::from_key(key).ok_or_else(|| TariffError::UnknownField(key.clone()))?;
            let raw = raw.get();
            if field == TariffField::ActivationDatetime {
                if raw != "null" {
                    tariff.activation = Some(parse_activation(raw)?);
                }
            } else {
                let literal = json_scalar_text(raw);
                let amount = match literal {
                    Some(t) => MeterMoney::parse_decimal(t, field.max()),
                    None => Err(AmountError::NotANumber),
                }
                .map_err(|problem| TariffError::Amount {
                    field,
                    value: raw.to_string(),
                    problem,
                })?;
                *tariff.amount_mut(field) = amount;
            }
            seen.push(field);
        }
        if let Some(missing) = TariffField::AMOUNTS.into_iter().find(|f| !seen.contains(f)) {
            return Err(TariffError::MissingField(missing));
        }
        Ok(tariff)
    }

    /// Canonical JSON: exact decimals as JSON numbers, keys in DOMAIN.md order.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        for (i, f) in TariffField::AMOUNTS.into_iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("\"{}\": {}", f.key(), self.amount(f)));
        }
        if let Some(a) = self.activation {
            out.push_str(&format!(
                ", \"activation_datetime\": \"{}\"",
                time::format_iso8601_unix(i64::from(a) + EPOCH_2000_UNIX)
            ));
        }
        out.push('}');
        out
    }

    pub fn activation_unix(&self) -> Option<i64> {
        self.activation.map(|a| i64::from(a) + EPOCH_2000_UNIX)
    }

    pub fn to_bytes(&self) -> [u8; TARIFF_BYTES] {
        let mut b = [0u8; TARIFF_BYTES];
        b[0] = BINARY_VERSION;
        b[1] = u8::from(self.activation.is_some());
        for (i, f) in TariffField::AMOUNTS.into_iter().enumerate() {
            b[4 + 4 * i..8 + 4 * i].copy_from_slice(&self.amount(f).0.to_le_bytes());
        }
        b[28..32].copy_from_slice(&self.activation.unwrap_or(0).to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8]) -> Result<Tariff, String> {
        if b.len() != TARIFF_BYTES {
            return Err(format!(
                "a stored tariff is {TARIFF_BYTES} bytes, got {}",
                b.len()
            ));
        }
        if b[0] != BINARY_VERSION {
            return Err(format!("unknown stored tariff version {}", b[0]));
        }
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
        let mut t = Tariff::default();
        for (i, f) in TariffField::AMOUNTS.into_iter().enumerate() {
            *t.amount_mut(f) = MeterMoney(u32_at(4 + 4 * i));
        }
        t.activation = (b[1] & 1 == 1).then(|| u32_at(28));
        Ok(t)
    }
}

impl Default for Tariff {
    fn default() -> Self {
        Tariff {
            standing_charge: MeterMoney(0),
            unit_rate_element_a: MeterMoney(0),
            unit_rate_element_b: MeterMoney(0),
            prepayment_emergency_credit: MeterMoney(0),
            prepayment_ecredit_availability: MeterMoney(0),
            prepayment_debt_recovery_rate: MeterMoney(0),
            activation: None,
        }
    }
}

/// The text of a JSON number, or the contents of a JSON string; `None` for
/// anything else (objects, arrays, booleans, null).
fn json_scalar_text(raw: &str) -> Option<&str> {
    match raw.as_bytes().first()? {
        b'"' => {
            let inner = &raw[1..raw.len() - 1];
            (!inner.contains('\\')).then_some(inner)
        }
        b'-' | b'0'..=b'9' => Some(raw),
        _ => None,
    }
}

fn parse_activation(raw: &str) -> Result<u32, TariffError> {
    let err = |problem| TariffError::Activation {
        value: raw.to_string(),
        problem,
    };
    let text: String = serde_json::from_str(raw).map_err(|_| err(TimeError::Format))?;
    let unix = time::parse_iso8601_unix(&text).map_err(err)?;
    u32::try_from(unix - EPOCH_2000_UNIX).map_err(|_| TariffError::ActivationOutOfRange {
        value: raw.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FUTURE: &str = r#"{"standing_charge": 0.5, "unit_rate_element_a": "0.2345", "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00Z"}"#;

    #[test]
    fn parses_and_prints_canonical_json() {
        let t = Tariff::from_json(FUTURE).unwrap();
        assert_eq!(t.unit_rate_element_a, MeterMoney(23_450));
        assert_eq!(t.prepayment_emergency_credit, MeterMoney(1_500_000));
        assert_eq!(
            t.to_json(),
            r#"{"standing_charge": 0.5, "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00+00:00"}"#
        );
        assert_eq!(Tariff::from_json(&t.to_json()), Ok(t));
    }

    #[test]
    fn active_tariff_has_no_activation() {
        let active = FUTURE.replace(r#", "activation_datetime": "2025-04-01T00:00:00Z""#, "");
        let t = Tariff::from_json(&active).unwrap();
        assert_eq!(t.activation, None);
        assert!(!t.to_json().contains("activation"));
        let with_null = active.replace('}', r#", "activation_datetime": null}"#);
        assert_eq!(Tariff::from_json(&with_null), Ok(t));
    }

    fn err_of(field: &str, value: &str) -> String {
        let json = FUTURE.replacen(
            &format!("\"{field}\": "),
            &format!("\"{field}\": {value}, \"_old_{field}\": "),
            1,
        );
        Tariff::from_json(&json).unwrap_err().to_string()
    }

    #[test]
    fn refuses_what_a_meter_cannot_store_naming_the_field() {
        let e = Tariff::from_json(&FUTURE.replace("0.5", "1.5"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "tariff field \"standing_charge\" = 1.5: must be at most 1 GBP"
        );
        let e = Tariff::from_json(&FUTURE.replace("\"0.2345\"", "0.123456"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"unit_rate_element_a\"") && e.contains("5 decimal places"),
            "{e}"
        );
        let e = Tariff::from_json(&FUTURE.replace("0.25", "-0.25"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"prepayment_debt_recovery_rate\"") && e.contains("negative"),
            "{e}"
        );
        let e = Tariff::from_json(&FUTURE.replace("15", "\"lots\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"prepayment_emergency_credit\"") && e.contains("decimal number"),
            "{e}"
        );
        let e = Tariff::from_json(&FUTURE.replace("15", "true"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("decimal number"), "{e}");
        let e = Tariff::from_json(&FUTURE.replace("15", "50000"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 42949.67295 GBP"), "{e}");
        assert!(err_of("standing_charge", "1").contains("_old_standing_charge"));
    }

    #[test]
    fn refuses_unknown_missing_and_malformed() {
        let e =
            Tariff::from_json(&FUTURE.replace("standing_charge", "standing_chrage")).unwrap_err();
        assert_eq!(e, TariffError::UnknownField("standing_chrage".into()));
        assert!(e.hint().is_some());
        let e = Tariff::from_json(r#"{"standing_charge": 0.5}"#).unwrap_err();
        assert_eq!(e, TariffError::MissingField(TariffField::UnitRateElementA));
        assert!(matches!(
            Tariff::from_json("[1,2]"),
            Err(TariffError::NotAnObject(_))
        ));
        assert!(matches!(
            Tariff::from_json("{"),
            Err(TariffError::NotAnObject(_))
        ));
        let e = Tariff::from_json(&FUTURE.replace("2025-04-01T00:00:00Z", "next tuesday"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("activation_datetime") && e.contains("ISO 8601"),
            "{e}"
        );
        let e = Tariff::from_json(&FUTURE.replace("2025-04-01T00:00:00Z", "1999-12-31T23:59:59Z"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2000-01-01"), "{e}");
    }

    #[test]
    fn binary_form_refuses_other_versions_and_lengths() {
        let t = Tariff::from_json(FUTURE).unwrap();
        let mut b = t.to_bytes();
        assert_eq!(Tariff::from_bytes(&b), Ok(t));
        b[0] = 9;
        assert!(Tariff::from_bytes(&b).unwrap_err().contains("version 9"));
        assert!(Tariff::from_bytes(&b[..10]).is_err());
    }

    proptest! {
        #[test]
        fn json_and_binary_round_trip(a: [u32; 6], act in proptest::option::of(any::<u32>())) {
            let cap = |x: u32, f: TariffField| MeterMoney(x % (f.max().0.saturating_add(1)).max(1));
            let mut t = Tariff { activation: act, ..Tariff::default() };
            for (i, f) in TariffField::AMOUNTS.into_iter().enumerate() {
                *t.amount_mut(f) = if f.max() == MeterMoney::MAX { MeterMoney(a[i]) } else { cap(a[i], f) };
            }
            prop_assert_eq!(Tariff::from_json(&t.to_json()), Ok(t));
            prop_assert_eq!(Tariff::from_bytes(&t.to_bytes()), Ok(t));
        }
    }
}
