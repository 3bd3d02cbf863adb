//! Write operations as exact sequences of `writeElement` calls (object id +
//! payload), validated completely before the first call is planned: a plan
//! either exists whole or not at all. The sequences and payload bytes are
//! the reference client's (contract §7.3, §7.4).

use crate::bytes::from_hex;
use crate::data_field::MAX_WRITE_PAYLOAD;
use crate::enums::{BACKLIGHT_SETTING, LOAD_SWITCH_SETTING};
use crate::error::CodecError;
use crate::ids::ObjectId;
use crate::money::{encode_amount_u4le, validate_rate, Decimal, Money};
use crate::time::{DateTime, TimeRecord};
use serde_json::{Map, Value};

/// Ordered `writeElement` calls.
pub type WritePlan = Vec<(ObjectId, Vec<u8>)>;

/// The operations `write_plan` knows, by the reference client's names.
pub const OPERATIONS: [&str; 10] = [
    "tariffs_future_write",
    "prepay_send_token",
    "clock_time_write",
    "prepay_enabled_write",
    "backlight_write",
    "load_switch_write",
    "daylight_savings_correction_enabled_write",
    "tariffs_time_switches_element_a_or_single_write",
    "tariffs_time_switches_element_b_write",
    "obis_write",
];

/// The balance (GBP) below which prepay mode may not be enabled: a meter
/// switched to prepay with less would cut the supply.
pub const PREPAY_ENABLE_MIN_BALANCE: Money = Money::from_gbp(10);

const TIME_SWITCH_BLOCK_LEN: usize = 80;

/// Plans the writes of `operation` from JSON `args` (backs
/// `flows.emop_write_plan`). Arguments by operation:
///
/// * `tariffs_future_write`: `activation_datetime` (ISO 8601 with offset),
///   `standing_charge`, `unit_rate_element_a`, optional
///   `unit_rate_element_b` (defaults to element A's rate),
///   `prepayment_emergency_credit`, `prepayment_ecredit_availability`,
///   `prepayment_debt_recovery_rate` (decimal strings, or numbers).
/// * `prepay_send_token`: `token` (20 digits).
/// * `clock_time_write`: `now` (ISO 8601 with offset; written as UTC).
/// * `prepay_enabled_write`: `enabled`, and when enabling, `balance` (the
///   `prepay_balance` just read, GBP) — see [`reads_before_write`].
/// * `backlight_write`, `load_switch_write`: `setting` (byte value or
///   enum member name).
/// * `daylight_savings_correction_enabled_write`: `enabled`.
/// * the two `tariffs_time_switches_*_write`: no arguments (an all-zero block).
/// * `obis_write`: `obis` (`a.b.c`) and `payload_hex`.
///
/// Unknown argument names are refused, so a misspelt optional argument
/// cannot silently fall back to its default.
pub fn write_plan(operation: &str, args: &Value) -> Result<WritePlan, CodecError> {
    let a = Args::new(operation, args)?;
    match operation {
        "tariffs_future_write" => Ok(FutureTariff::from_args(&a)?.plan()),
        "prepay_send_token" => {
            a.only(&["token"])?;
            let token = a.string("token")?;
            Ok(vec![(ObjectId::PREPAY_TOKEN_SEND, token_payload(token)?)])
        }
        "clock_time_write" => {
            a.only(&["now"])?;
            let now = DateTime::parse("now", a.string("now")?)?;
            let record = TimeRecord::from_fields("now", &now.to_utc())?;
            Ok(vec![(ObjectId::TIME, record.to_bytes().to_vec())])
        }
        "prepay_enabled_write" => {
            a.only(&["enabled", "balance"])?;
            let enabled = a.bool("enabled")?;
            if enabled {
                let balance = match a.get("balance") {
                    Some(v) => Money::parse_exact("balance", v)?,
                    None => {
                        return Err(CodecError::MissingArgument {
                            operation: operation.to_string(),
                            field: "balance".to_string(),
                            rule: "enabling prepay needs the prepay_balance (ffc802) read just before, in GBP",
                        })
                    }
                };
                check_prepay_enable_balance(balance)?;
            }
            Ok(vec![(
                ObjectId::PREPAY_ENABLED_FLAG,
                vec![u8::from(enabled)],
            )])
        }
        "backlight_write" => {
            a.only(&["setting"])?;
            let byte = BACKLIGHT_SETTING.member_from_json("setting", a.required("setting")?)?;
            Ok(vec![(ObjectId::BACKLIGHT, vec![byte])])
        }
        "load_switch_write" => {
            a.only(&["setting"])?;
            let byte = LOAD_SWITCH_SETTING.member_from_json("setting", a.required("setting")?)?;
            Ok(vec![(ObjectId::LOAD_SWITCH, vec![byte])])
        }
        "daylight_savings_correction_enabled_write" => {
            a.only(&["enabled"])?;
            let enabled = a.bool("enabled")?;
            Ok(vec![(
                ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG,
                vec![u8::from(enabled)],
            )])
        }
        "tariffs_time_switches_element_a_or_single_write" => {
            a.only(&[])?;
            Ok(vec![(
                ObjectId::TARIFF_TIME_SWITCH_ELEMENT_A_OR_SINGLE,
                vec![0; TIME_SWITCH_BLOCK_LEN],
            )])
        }
        "tariffs_time_switches_element_b_write" => {
            a.only(&[])?;
            Ok(vec![(
                ObjectId::TARIFF_TIME_SWITCH_ELEMENT_B,
                vec![0; TIME_SWITCH_BLOCK_LEN],
            )])
        }
        "obis_write" => {
            a.only(&["obis", "payload_hex"])?;
            let id = ObjectId::from_obis(a.string("obis")?)?;
            let text = a.string("payload_hex")?;
            let payload = from_hex(text).ok_or_else(|| CodecError::InvalidArgument {
                field: "payload_hex".to_string(),
                value: text.to_string(),
                rule: "must be hex digits, two per byte".to_string(),
            })?;
            if payload.len() > MAX_WRITE_PAYLOAD {
                return Err(CodecError::InvalidArgument {
                    field: "payload_hex".to_string(),
                    value: format!("{} bytes", payload.len()),
                    rule: format!(
                        "a write payload fits one frame: at most {MAX_WRITE_PAYLOAD} bytes"
                    ),
                });
            }
            Ok(vec![(id, payload)])
        }
        _ => Err(CodecError::UnknownOperation(operation.to_string())),
    }
}

/// Reads the caller must make (and pass on as arguments) before planning
/// `operation`: enabling prepay needs the balance.
pub fn reads_before_write(operation: &str, args: &Value) -> Result<Vec<ObjectId>, CodecError> {
    if !OPERATIONS.contains(&operation) {
        return Err(CodecError::UnknownOperation(operation.to_string()));
    }
    let enabling =
        operation == "prepay_enabled_write" && args.get("enabled") == Some(&Value::Bool(true));
    Ok(if enabling {
        vec![ObjectId::PREPAY_BALANCE]
    } else {
        vec![]
    })
}

/// The precondition of enabling prepay mode: a balance of at least 10 GBP
/// (exactly 10 is allowed). The message is the reference's.
pub fn check_prepay_enable_balance(balance: Money) -> Result<(), CodecError> {
    if balance < PREPAY_ENABLE_MIN_BALANCE {
        return Err(CodecError::BalanceTooLow {
            balance: balance.to_string(),
        });
    }
    Ok(())
}

/// A top-up token goes as its ASCII bytes, unpadded; tokens are 20 digits.
fn token_payload(token: &str) -> Result<Vec<u8>, CodecError> {
    if token.len() != 20 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodecError::InvalidArgument {
            field: "token".to_string(),
            value: format!("{token:?}"),
            rule: "a prepay token is exactly 20 digits".to_string(),
        });
    }
    Ok(token.as_bytes().to_vec())
}

/// A future tariff, validated whole: rates ≤ 1 GBP with ≤ 5 places as
/// written, the prepayment amounts encodable (0 to 42949.67295 after
/// truncation), the activation time inside the EMOP epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureTariff {
    /// Seconds since 2000 (UTC).
    pub activation: u32,
    pub standing_charge: [u8; 4],
    pub unit_rate_element_a: [u8; 4],
    pub unit_rate_element_b: [u8; 4],
    pub prepayment_emergency_credit: [u8; 4],
    pub prepayment_ecredit_availability: [u8; 4],
    pub prepayment_debt_recovery_rate: [u8; 4],
}

impl FutureTariff {
    pub const ARGUMENTS: [&'static str; 7] = [
        "activation_datetime",
        "standing_charge",
        "unit_rate_element_a",
        "unit_rate_element_b",
        "prepayment_emergency_credit",
        "prepayment_ecredit_availability",
        "prepayment_debt_recovery_rate",
    ];

    fn from_args(a: &Args) -> Result<FutureTariff, CodecError> {
        a.only(&Self::ARGUMENTS)?;
        // Same order of checks as the reference (standing charge, then unit
        // rate), then what the reference only finds out mid-sequence.
        let rate = |field: &str| -> Result<[u8; 4], CodecError> {
            let d = a.decimal(field)?;
            validate_rate(field, &d)?;
            encode_amount_u4le(field, &d)
        };
        let amount = |field: &str| -> Result<[u8; 4], CodecError> {
            encode_amount_u4le(field, &a.decimal(field)?)
        };
        let standing_charge = rate("standing_charge")?;
        let unit_rate_element_a = rate("unit_rate_element_a")?;
        let unit_rate_element_b = match a.get("unit_rate_element_b") {
            Some(_) => rate("unit_rate_element_b")?,
            None => unit_rate_element_a,
        };
        Ok(FutureTariff {
            standing_charge,
            unit_rate_element_a,
            unit_rate_element_b,
            prepayment_emergency_credit: amount("prepayment_emergency_credit")?,
            prepayment_ecredit_availability: amount("prepayment_ecredit_availability")?,
            prepayment_debt_recovery_rate: amount("prepayment_debt_recovery_rate")?,
            activation: DateTime::parse("activation_datetime", a.string("activation_datetime")?)?
                .emop_seconds("activation_datetime")?,
        })
    }

    /// The 11 writes, in the reference's order: thresholds and tou flag
    /// cleared, element A's rate into block 8 rate 1, element B's into tou
    /// rate 1, the prepayment amounts, gas zero, standing charge, and the
    /// activation time last.
    pub fn plan(&self) -> WritePlan {
        vec![
            (ObjectId::TARIFF_FUTURE_THRESHOLD_MASK, vec![0]),
            (ObjectId::TARIFF_FUTURE_THRESHOLD_VALUES, vec![0; 14]),
            (ObjectId::TARIFF_FUTURE_TOU_FLAG, vec![0]),
            (
                ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1,
                self.unit_rate_element_a.to_vec(),
            ),
            (
                ObjectId::TARIFF_FUTURE_ELEMENT_B_TOU_RATE_1,
                self.unit_rate_element_b.to_vec(),
            ),
            (
                ObjectId::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT,
                self.prepayment_emergency_credit.to_vec(),
            ),
            (
                ObjectId::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY,
                self.prepayment_ecredit_availability.to_vec(),
            ),
            (
                ObjectId::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE,
                self.prepayment_debt_recovery_rate.to_vec(),
            ),
            (ObjectId::TARIFF_FUTURE_GAS, vec![0; 4]),
            (
                ObjectId::TARIFF_FUTURE_STANDING_CHARGE,
                self.standing_charge.to_vec(),
            ),
            (
                ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME,
                self.activation.to_le_bytes().to_vec(),
            ),
        ]
    }
}

/// The JSON arguments of one operation, with field-naming errors.
struct Args<'a> {
    operation: &'a str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    fn new(operation: &'a str, args: &'a Value) -> Result<Args<'a>, CodecError> {
        match args {
            Value::Object(map) => Ok(Args {
                operation,
                map: Some(map),
            }),
            Value::Null => Ok(Args {
                operation,
                map: None,
            }),
            other => Err(CodecError::InvalidArgument {
                field: format!("{operation} arguments"),
                value: other.to_string(),
                rule: "must be a JSON object".to_string(),
            }),
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), CodecError> {
        for key in self.map.into_iter().flat_map(|m| m.keys()) {
            if !allowed.contains(&key.as_str()) {
                return Err(CodecError::UnknownArgument {
                    operation: self.operation.to_string(),
                    field: key.clone(),
                });
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value, CodecError> {
        self.get(key).ok_or_else(|| CodecError::MissingArgument {
            operation: self.operation.to_string(),
            field: key.to_string(),
            rule: "required",
        })
    }

    fn string(&self, key: &str) -> Result<&'a str, CodecError> {
        let v = self.required(key)?;
        v.as_str().ok_or_else(|| CodecError::InvalidArgument {
            field: key.to_string(),
            value: v.to_string(),
            rule: "must be a string".to_string(),
        })
    }

    fn bool(&self, key: &str) -> Result<bool, CodecError> {
        let v = self.required(key)?;
        v.as_bool().ok_or_else(|| CodecError::InvalidArgument {
            field: key.to_string(),
            value: v.to_string(),
            rule: "must be true or false".to_string(),
        })
    }

    fn decimal(&self, key: &str) -> Result<Decimal, CodecError> {
        Decimal::from_json(key, self.required(key)?)
    }
}
