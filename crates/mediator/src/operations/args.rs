//! Operation arguments: parsed and checked completely before any call, with
//! messages of the form `operation: field: rule`. Unknown operations and
//! unknown argument names are refused; a token is never echoed.

use flows_emop::time::DateTime;
use flows_emop::write_plan::{write_plan, WritePlan};
use flows_emop::{Money, ObjectId};
use serde_json::{Map, Value};
use std::fmt;

/// A command's arguments, ready to run.
pub(crate) enum Parsed {
    /// Reads that take no arguments.
    NoArgs,
    EventLog(EventLogArgs),
    ProfileLog(ProfileLogArgs),
    ClockWrite,
    PrepayEnabledWrite {
        enabled: bool,
    },
    SettingWrite {
        object: ObjectId,
        byte: u8,
    },
    DaylightSavingsWrite {
        enabled: bool,
    },
    TariffWrite {
        plan: WritePlan,
    },
    Token {
        token: Token,
        verify: Option<Verify>,
    },
}

pub(crate) struct EventLogArgs {
    /// First page (0 = newest events).
    pub from_index: u8,
    /// Pages to read at most.
    pub count: u8,
    /// Only events strictly after this (seconds since 2000); paging stops
    /// at the first page that reaches back to it.
    pub after: Option<u32>,
}

pub(crate) struct ProfileLogArgs {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Seconds since 2000 of the day's 00:00 UTC.
    pub day_start: u32,
    /// Also walk profile log 2 (export registers).
    pub export: bool,
}

/// A 20-digit top-up token. Its Debug output hides the digits.
pub(crate) struct Token(String);

impl Token {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// What the caller saw before a token send whose outcome is unknown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verify {
    pub balance_before: Money,
    pub transaction_count_before: u16,
}

pub(crate) const TOKEN_DIGITS: usize = 20;

/// Parses `args` for `operation`; `null` counts as no arguments.
pub(crate) fn parse(operation: &str, args: &Value) -> Result<Parsed, String> {
    super::kind(operation).ok_or_else(|| {
        format!(
            "unknown operation {operation:?}; known operations: {}",
            super::operation_names().join(", ")
        )
    })?;
    let empty = Map::new();
    let map = match args {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => return Err(format!("{operation}: arguments must be a JSON object")),
    };
    let a = Args { operation, map };
    match operation {
        "event_log" => {
            a.only(&["from_index", "count", "after"])?;
            let from_index = a.int_in("from_index", 0, 9)?.unwrap_or(0);
            let count = a.int_in("count", 1, 10)?.unwrap_or(1);
            if from_index + count > 10 {
                return Err(a.field_error(
                    "count",
                    &format!(
                        "pages {from_index}..{} go past the last page, 9",
                        from_index + count - 1
                    ),
                ));
            }
            let after = match a.get("after") {
                None => None,
                Some(v) => {
                    let text = v.as_str().ok_or_else(|| {
                        a.field_error("after", "must be an ISO 8601 date-time string with offset")
                    })?;
                    let dt = DateTime::parse("after", text).map_err(|e| a.wrap(&e.to_string()))?;
                    Some(
                        dt.emop_seconds("after")
                            .map_err(|e| a.wrap(&e.to_string()))?,
                    )
                }
            };
            Ok(Parsed::EventLog(EventLogArgs {
                from_index: from_index as u8,
                count: count as u8,
                after,
            }))
        }
        "profile_log" => {
            a.only(&["date", "export"])?;
            let text = a
                .get("date")
                .ok_or_else(|| a.field_error("date", "required (YYYY-MM-DD, a UTC day)"))?
                .as_str()
                .ok_or_else(|| a.field_error("date", "must be a YYYY-MM-DD string"))?;
            if text.len() != 10 {
                return Err(a.field_error("date", "must be YYYY-MM-DD (a UTC day)"));
            }
            let dt = DateTime::parse("date", text).map_err(|e| a.wrap(&e.to_string()))?;
            let day_start = dt
                .emop_seconds("date")
                .map_err(|e| a.wrap(&e.to_string()))?;
            // The walk asks for times up to 22:30 of the day.
            if day_start.checked_add(86_400).is_none() {
                return Err(a.field_error("date", "is past the EMOP time range"));
            }
            Ok(Parsed::ProfileLog(ProfileLogArgs {
                year: dt.year,
                month: dt.month,
                day: dt.day,
                day_start,
                export: a.bool_opt("export")?.unwrap_or(true),
            }))
        }
        "clock_time_write" => {
            // The time written is taken when the command runs; a time
            // fixed at queueing would be stale by then.
            a.only(&[])?;
            Ok(Parsed::ClockWrite)
        }
        "prepay_enabled_write" => {
            // The balance check reads the meter itself; it is not an input.
            a.only(&["enabled"])?;
            Ok(Parsed::PrepayEnabledWrite {
                enabled: a.bool_required("enabled")?,
            })
        }
        "backlight_write" | "load_switch_write" => {
            let plan = write_plan(operation, args).map_err(|e| a.wrap(&e.to_string()))?;
            let [(object, payload)] = <[_; 1]>::try_from(plan).expect("one write");
            Ok(Parsed::SettingWrite {
                object,
                byte: payload[0],
            })
        }
        "daylight_savings_correction_enabled_write" => {
            a.only(&["enabled"])?;
            Ok(Parsed::DaylightSavingsWrite {
                enabled: a.bool_required("enabled")?,
            })
        }
        "tariffs_future_write" => {
            let plan = write_plan(operation, args).map_err(|e| a.wrap(&e.to_string()))?;
            Ok(Parsed::TariffWrite { plan })
        }
        "prepay_send_token" => {
            a.only(&["token", "verify"])?;
            let token = match a.get("token") {
                None => return Err(a.field_error("token", "required (20 digits)")),
                Some(Value::String(t)) if is_token(t) => Token(t.clone()),
                // Never echo the value: it may be a real token mistyped.
                Some(_) => {
                    return Err(a.field_error("token", "must be a string of exactly 20 digits"))
                }
            };
            let verify = match a.get("verify") {
                None => None,
                Some(Value::Object(v)) => Some(parse_verify(&a, v)?),
                Some(_) => {
                    return Err(a.field_error(
                        "verify",
                        "must be an object {balance_before, transaction_count_before}",
                    ))
                }
            };
            Ok(Parsed::Token { token, verify })
        }
        _ => {
            a.only(&[])?;
            Ok(Parsed::NoArgs)
        }
    }
}

fn is_token(t: &str) -> bool {
    t.len() == TOKEN_DIGITS && t.bytes().all(|b| b.is_ascii_digit())
}

fn parse_verify(a: &Args, v: &Map<String, Value>) -> Result<Verify, String> {
    for key in v.keys() {
        if key != "balance_before" && key != "transaction_count_before" {
            return Err(a.field_error(&format!("verify.{key}"), "unknown argument"));
        }
    }
    let balance = v
        .get("balance_before")
        .filter(|b| !b.is_null())
        .ok_or_else(|| {
            a.field_error(
                "verify.balance_before",
                "required (GBP, as returned in partial)",
            )
        })?;
    let balance_before =
        Money::parse_exact("verify.balance_before", balance).map_err(|e| a.wrap(&e.to_string()))?;
    let transaction_count_before = v
        .get("transaction_count_before")
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            a.field_error(
                "verify.transaction_count_before",
                "required, an integer 0 to 65535",
            )
        })?;
    Ok(Verify {
        balance_before,
        transaction_count_before,
    })
}

struct Args<'a> {
    operation: &'a str,
    map: &'a Map<String, Value>,
}

impl Args<'_> {
    fn field_error(&self, field: &str, rule: &str) -> String {
        format!("{}: {field}: {rule}", self.operation)
    }

    /// A codec message (which names the field itself), under the operation.
    fn wrap(&self, message: &str) -> String {
        if message.starts_with(self.operation) {
            message.to_string()
        } else {
            format!("{}: {message}", self.operation)
        }
    }

    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(key) if allowed.is_empty() => {
                Err(self.field_error(key, "unknown argument (this operation takes none)"))
            }
            Some(key) => Err(self.field_error(
                key,
                &format!("unknown argument (allowed: {})", allowed.join(", ")),
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn int_in(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| {
                    self.field_error(key, &format!("must be an integer {min} to {max}"))
                }),
        }
    }

    fn bool_opt(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.field_error(key, "must be true or false")),
        }
    }

    fn bool_required(&self, key: &str) -> Result<bool, String> {
        self.bool_opt(key)?
            .ok_or_else(|| self.field_error(key, "required, true or false"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(op: &str, args: Value) -> String {
        match parse(op, &args) {
            Ok(_) => panic!("{op} {args} accepted"),
            Err(message) => message,
        }
    }

    #[test]
    fn messages_name_the_field() {
        assert!(refused("nope", json!({})).starts_with("unknown operation \"nope\""));
        assert_eq!(
            refused("csq", json!({"x": 1})),
            "csq: x: unknown argument (this operation takes none)"
        );
        assert!(refused("csq", json!([1])).contains("JSON object"));
        assert!(refused("event_log", json!({"from_index": 10})).contains("from_index"));
        assert!(refused("event_log", json!({"from_index": 5, "count": 6})).contains("count"));
        assert!(refused("event_log", json!({"after": "yesterday"})).contains("after"));
        assert!(refused("profile_log", json!({})).contains("date"));
        assert!(refused("profile_log", json!({"date": "2024-02-30"})).contains("date"));
        assert!(refused("profile_log", json!({"date": "2024-02-01T00:00Z"})).contains("date"));
        assert!(refused("profile_log", json!({"date": "1999-12-31"})).contains("date"));
        assert!(refused("clock_time_write", json!({"now": "2024-01-01T00:00Z"})).contains("now"));
        assert!(refused("prepay_enabled_write", json!({})).contains("enabled"));
        assert!(refused(
            "prepay_enabled_write",
            json!({"enabled": true, "balance": "20"})
        )
        .contains("balance"));
        assert!(refused("backlight_write", json!({"setting": 93})).contains("setting"));
        assert!(refused("load_switch_write", json!({})).contains("setting"));
        assert!(refused(
            "daylight_savings_correction_enabled_write",
            json!({"enabled": 1})
        )
        .contains("enabled"));
        assert!(refused("prepay_send_token", json!({"token": 123})).contains("token"));
        assert!(refused(
            "prepay_send_token",
            json!({"token": "12345678901234567890", "verify": {"balance_before": "1"}})
        )
        .contains("verify.transaction_count_before"));
        assert!(refused(
            "prepay_send_token",
            json!({"token": "12345678901234567890", "verify": {"balance_before": "x", "transaction_count_before": 1}})
        )
        .contains("verify.balance_before"));
    }

    #[test]
    fn a_bad_token_is_never_echoed() {
        for bad in [
            "1234567890123456789",
            "123456789012345678901",
            "1234567890123456789x",
        ] {
            let message = refused("prepay_send_token", json!({ "token": bad }));
            assert!(!message.contains("1234567890"), "{message}");
            assert!(message.contains("token"));
        }
    }

    #[test]
    fn accepted() {
        for (op, args) in [
            ("csq", json!(null)),
            ("csq", json!({})),
            (
                "event_log",
                json!({"from_index": 2, "count": 8, "after": "2024-01-01T00:00:00Z"}),
            ),
            (
                "profile_log",
                json!({"date": "2024-01-03", "export": false}),
            ),
            ("clock_time_write", json!({})),
            ("prepay_enabled_write", json!({"enabled": false})),
            ("backlight_write", json!({"setting": "always_on_sp"})),
            ("load_switch_write", json!({"setting": 0x88})),
            (
                "daylight_savings_correction_enabled_write",
                json!({"enabled": true}),
            ),
            (
                "prepay_send_token",
                json!({"token": "09227256751756268534"}),
            ),
        ] {
            assert!(parse(op, &args).is_ok(), "{op} {args}");
        }
    }
}
