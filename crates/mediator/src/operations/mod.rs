//! The meter operations the worker executes: each validates its arguments
//! up front, makes the reference's exact sequence of mediator calls, and
//! ends as an `Outcome` (JSON result, or a classified failure with whatever
//! was learnt before it in `partial`). Messages never carry token digits.

mod args;
mod logs;
mod reads;
mod writes;

use crate::classify::{sanitize, CallError, FailureClass};
use crate::client::Mediator;
use args::Parsed;
use flows_emop::{hardware, CodecError, CompositeRead, ObjectId, Record, Step};
use serde_json::{json, Map, Value};

/// One queued meter command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub serial: String,
    pub operation: String,
    pub args: Value,
    /// The registry's hardware string (`C1.w`, `B1.w`, `P1.cx`, …). When
    /// absent, operations that depend on it read it from the meter first,
    /// as the reference does.
    pub hardware: Option<String>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Value),
    Failed {
        class: FailureClass,
        /// gRPC code name, or one of this module's codes (`BAD_ARGUMENT`,
        /// `BAD_PAYLOAD`, …).
        code: String,
        message: String,
        /// What is known despite the failure (always a JSON object).
        partial: Value,
    },
}

impl Outcome {
    pub fn is_succeeded(&self) -> bool {
        matches!(self, Outcome::Succeeded(_))
    }

    /// `{"status":"succeeded","result":…}` or `{"status":"failed","class",
    /// "code","message","partial"}`, for storing as one JSON value.
    pub fn to_json(&self) -> Value {
        match self {
            Outcome::Succeeded(result) => json!({"status": "succeeded", "result": result}),
            Outcome::Failed {
                class,
                code,
                message,
                partial,
            } => json!({
                "status": "failed",
                "class": class.as_str(),
                "code": code,
                "message": message,
                "partial": partial,
            }),
        }
    }
}

/// Failure codes of the operations themselves (besides gRPC code names).
pub mod codes {
    /// Arguments refused before any call.
    pub const BAD_ARGUMENT: &str = "BAD_ARGUMENT";
    /// The meter's reply could not be decoded.
    pub const BAD_PAYLOAD: &str = "BAD_PAYLOAD";
    /// The operation does not apply to this meter's hardware.
    pub const UNSUPPORTED_HARDWARE: &str = "UNSUPPORTED_HARDWARE";
    /// Prepay mode refused: balance below 10 GBP.
    pub const BALANCE_TOO_LOW: &str = "BALANCE_TOO_LOW";
    /// The future tariff read back is not what was written.
    pub const READ_BACK_DIFFERS: &str = "READ_BACK_DIFFERS";
    /// The token was accepted by the mediator but neither the balance nor
    /// the transaction count rose.
    pub const TOKEN_NOT_APPLIED: &str = "TOKEN_NOT_APPLIED";
}

/// Whether an operation changes meter state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    /// Sets absolute values: repeating it after an unknown outcome leaves
    /// the meter as one successful run would.
    IdempotentWrite,
    /// Adds credit: must never be repeated without verification.
    TokenWrite,
}

const OPERATIONS: [(&str, Kind); 26] = [
    ("csq", Kind::Read),
    ("serial", Kind::Read),
    ("clock", Kind::Read),
    ("voltage", Kind::Read),
    ("three_phase_voltage", Kind::Read),
    ("registers", Kind::Read),
    ("three_phase_registers", Kind::Read),
    ("prepay_balance", Kind::Read),
    ("prepay_enabled", Kind::Read),
    ("tariffs_active", Kind::Read),
    ("tariffs_future", Kind::Read),
    ("hardware", Kind::Read),
    ("firmware", Kind::Read),
    ("transaction_count", Kind::Read),
    ("backlight", Kind::Read),
    ("load_switch", Kind::Read),
    ("daylight_savings_correction", Kind::Read),
    ("event_log", Kind::Read),
    ("profile_log", Kind::Read),
    ("clock_time_write", Kind::IdempotentWrite),
    ("prepay_enabled_write", Kind::IdempotentWrite),
    ("backlight_write", Kind::IdempotentWrite),
    ("load_switch_write", Kind::IdempotentWrite),
    (
        "daylight_savings_correction_enabled_write",
        Kind::IdempotentWrite,
    ),
    ("tariffs_future_write", Kind::IdempotentWrite),
    ("prepay_send_token", Kind::TokenWrite),
];

const NAMES: [&str; OPERATIONS.len()] = {
    let mut names = [""; OPERATIONS.len()];
    let mut i = 0;
    while i < OPERATIONS.len() {
        names[i] = OPERATIONS[i].0;
        i += 1;
    }
    names
};

/// Every operation `execute` knows.
pub fn operation_names() -> &'static [&'static str] {
    &NAMES
}

/// Read, idempotent write or token write; `None` for unknown names.
pub fn kind(operation: &str) -> Option<Kind> {
    OPERATIONS
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, kind)| *kind)
}

/// Checks an operation and its arguments without any call (what SQL runs
/// before queueing). The message names the offending field.
pub fn validate(operation: &str, args: &Value) -> Result<(), String> {
    args::parse(operation, args).map(|_| ())
}

/// Runs one command against the mediator.
pub async fn execute(m: &Mediator, cmd: &Command) -> Outcome {
    let parsed = match args::parse(&cmd.operation, &cmd.args) {
        Ok(parsed) => parsed,
        Err(message) => {
            let partial = if cmd.operation == "prepay_send_token" {
                json!({"sent": false})
            } else {
                json!({})
            };
            return Outcome::Failed {
                class: FailureClass::Permanent,
                code: codes::BAD_ARGUMENT.to_string(),
                message: sanitize(&message),
                partial,
            };
        }
    };
    if cmd.serial.trim().is_empty() {
        return Failure::permanent(codes::BAD_ARGUMENT, "serial: meter serial is empty").into();
    }
    let ctx = Ctx {
        m,
        serial: &cmd.serial,
        hardware: cmd
            .hardware
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty()),
    };
    let result = match &parsed {
        Parsed::NoArgs => reads::run(&ctx, &cmd.operation).await,
        Parsed::EventLog(a) => logs::event_log(&ctx, a).await,
        Parsed::ProfileLog(a) => logs::profile_log(&ctx, a).await,
        Parsed::ClockWrite => writes::clock(&ctx).await,
        Parsed::PrepayEnabledWrite { enabled } => writes::prepay_enabled(&ctx, *enabled).await,
        Parsed::SettingWrite { object, byte } => writes::setting(&ctx, *object, *byte).await,
        Parsed::DaylightSavingsWrite { enabled } => writes::daylight_savings(&ctx, *enabled).await,
        Parsed::TariffWrite { plan } => writes::future_tariff(&ctx, plan).await,
        Parsed::Token { token, verify } => writes::token(&ctx, token, verify.as_ref()).await,
    };
    match result {
        Ok(value) => Outcome::Succeeded(value),
        Err(failure) => failure.into(),
    }
}

/// A failed operation, before it becomes an `Outcome`.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    class: FailureClass,
    code: String,
    message: String,
    partial: Map<String, Value>,
}

impl Failure {
    fn permanent(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            class: FailureClass::Permanent,
            code: code.to_string(),
            message: message.into(),
            partial: Map::new(),
        }
    }

    /// A reply that does not decode: the meter answered, so repeating the
    /// read would most likely get the same bytes.
    fn bad_payload(e: &CodecError) -> Failure {
        Failure::permanent(codes::BAD_PAYLOAD, e.to_string())
    }

    /// Adds keys to `partial` (keys already there win: the earliest
    /// knowledge is kept).
    fn with_partial(mut self, extra: Value) -> Failure {
        if let Value::Object(map) = extra {
            for (k, v) in map {
                self.partial.entry(k).or_insert(v);
            }
        }
        self
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Failure {
        Failure {
            class: e.class,
            message: e.to_string(),
            code: e.code,
            partial: Map::new(),
        }
    }
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Outcome {
        Outcome::Failed {
            class: f.class,
            code: f.code,
            message: sanitize(&f.message),
            partial: Value::Object(f.partial),
        }
    }
}

/// What every operation needs: the mediator, the meter, and the registry's
/// hardware string if known.
pub(crate) struct Ctx<'a> {
    m: &'a Mediator,
    serial: &'a str,
    hardware: Option<&'a str>,
}

impl Ctx<'_> {
    /// One `readElement`, decoded by the object's layout.
    async fn read(&self, id: ObjectId) -> Result<Record, Failure> {
        let payload = self.m.read_element(self.serial, id).await?;
        flows_emop::decode(id, &payload).map_err(|e| Failure::bad_payload(&e))
    }

    async fn write(&self, id: ObjectId, payload: &[u8]) -> Result<(), CallError> {
        self.m.write_element(self.serial, id, payload).await
    }

    async fn raw(&self, data_field: &[u8]) -> Result<Vec<u8>, Failure> {
        Ok(self.m.send_raw_message(self.serial, data_field).await?)
    }

    /// A reference composite read (contract §7), driven call by call; the
    /// first failed call ends it.
    async fn composite(&self, operation: &str) -> Result<Value, Failure> {
        let mut read = CompositeRead::new(operation, &json!({}))
            .expect("composite operations used here take no arguments");
        loop {
            match read.step() {
                Step::Read(id) => {
                    let payload = self.m.read_element(self.serial, id).await?;
                    read.supply(id, Ok(payload))
                        .expect("the reply answers the read just asked for");
                }
                Step::Done(result) => return result.map_err(|e| Failure::bad_payload(&e)),
            }
        }
    }

    /// The registry string: as registered, or read from the meter
    /// (`hardware_version`, and the three-phase configuration if blank).
    async fn hardware(&self) -> Result<String, Failure> {
        match self.hardware {
            Some(h) => Ok(h.to_string()),
            None => match self.composite("hardware").await? {
                Value::String(h) => Ok(h),
                other => unreachable!("the hardware composite yields a string, got {other}"),
            },
        }
    }
}

/// `raw / 10^decimals` as exact decimal text without trailing zeros
/// (`1234567, 3` → `1234.567`; `2410, 1` → `241`).
pub(crate) fn decimal_text(raw: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let (whole, frac) = (raw / scale, raw % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = decimals as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Three-phase totals are in 0.1 Wh on CT-operated (`P1.cx`) meters and in
/// Wh on all others (contract §6.2); kWh has 4 or 3 decimals.
pub(crate) fn three_phase_kwh(raw: u32, hardware_string: &str) -> String {
    let decimals = if hardware_string == hardware::THREE_PHASE_CX {
        4
    } else {
        3
    };
    decimal_text(u64::from(raw), decimals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_texts() {
        assert_eq!(decimal_text(1_234_567, 3), "1234.567");
        assert_eq!(decimal_text(1_234_500, 3), "1234.5");
        assert_eq!(decimal_text(2410, 1), "241");
        assert_eq!(decimal_text(5, 4), "0.0005");
        assert_eq!(decimal_text(0, 3), "0");
        assert_eq!(decimal_text(241, 0), "241");
        assert_eq!(three_phase_kwh(123_456, "P1.cx"), "12.3456");
        assert_eq!(three_phase_kwh(123_456, "P1.ax"), "123.456");
    }

    #[test]
    fn names_and_kinds() {
        assert_eq!(operation_names().len(), OPERATIONS.len());
        assert!(operation_names().iter().all(|n| kind(n).is_some()));
        assert_eq!(kind("prepay_send_token"), Some(Kind::TokenWrite));
        assert_eq!(kind("nope"), None);
    }
}
