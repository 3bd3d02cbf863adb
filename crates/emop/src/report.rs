//! What the reference client reports for a read: the decoded record scaled
//! and shaped per object id (prices as exact decimal text, Wh → kWh and W →
//! kW as floats, three-phase volts ÷ 10, timestamps as ISO text, flags as
//! booleans). These JSON shapes are the reference's; the typed accessors on
//! `Record` are the exact values for the platform.

use crate::bytes::to_hex;
use crate::enums::{BACKLIGHT_SETTING, LOAD_SWITCH_SETTING};
use crate::error::CodecError;
use crate::hardware;
use crate::ids::ObjectId;
use crate::money::Money;
use crate::records::{is_money, python_strip, Record, Registers};
use crate::time::utc_iso_from_seconds_since_2000;
use serde_json::{json, Value};

/// The reported value of one read. Three-phase totals scale by the hardware
/// (`P1.cx` ÷ 10 000, anything else ÷ 1000). A blank `hardware_version`
/// reports `null`: the registry string then needs the three-phase
/// configuration read (see [`hardware::registry_string`]).
pub fn reported_value(
    id: ObjectId,
    record: &Record,
    hardware_string: Option<&str>,
) -> Result<Value, CodecError> {
    Ok(match record {
        Record::Raw(p) => json!(to_hex(p)),
        Record::Firmware(bytes) => json!(firmware_text(bytes)?),
        Record::ThreePhaseHardwareConfiguration(h) => h.to_json(),
        Record::InstantaneousActivePower(w) => json!(f64::from(*w) / 1000.0),
        Record::InstantaneousVoltage(v) => json!(f64::from(*v)),
        Record::ThreePhaseInstantaneousVoltage { voltage, .. } => json!(f64::from(*voltage) / 10.0),
        Record::U4leValue(v) if id == ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME => {
            json!(utc_iso_from_seconds_since_2000(i64::from(*v)))
        }
        Record::U4leValue(v) if is_money(id) => json!(Money::from_units(i64::from(*v)).to_string()),
        Record::U4leValue(v) => json!(three_phase_total(*v, hardware_string)),
        Record::U1Value(v) => json!(v),
        Record::TariffTimeSwitchSettings(b) => json!(to_hex(b)),
        Record::Serial(s) => json!(python_strip(s)),
        Record::Hardware(s) if s.is_empty() => Value::Null,
        Record::Hardware(s) => json!(hardware::single_phase_registry_string(s)),
        Record::Time(t) => match t.to_utc() {
            Some(dt) => json!(dt.to_string()),
            None => {
                return Err(CodecError::Malformed {
                    what: id.describe(),
                    rule: format!("clock record {:02x?} is not a real date-time", t.to_bytes()),
                })
            }
        },
        Record::PrepayBalance(b) => json!(Money::from_units(i64::from(*b)).to_string()),
        Record::PrepayTokenSend(t) => json!(t),
        Record::MonetaryInfoTransactionCount(c) => json!(c),
        Record::MonetaryInfoTransactionDetails { .. } => record.fields_json(),
        Record::CsqNetOp { csq, .. } => json!(csq),
        Record::Flag(f) => json!(*f == 1),
        Record::Backlight(s) => BACKLIGHT_SETTING.to_json(*s),
        Record::LoadSwitch(s) => LOAD_SWITCH_SETTING.to_json(*s),
        Record::TariffThresholdValues(_) | Record::TariffThresholdMask(_) => record.fields_json(),
        Record::Reading(r) => registers_kwh_json(r),
    })
}

/// Element registers as the reference reports them: Wh ÷ 1000 as floats.
pub fn registers_kwh_json(r: &Registers) -> Value {
    json!({
        "import_active": f64::from(r.import_active) / 1000.0,
        "export_active": f64::from(r.export_active) / 1000.0,
        "import_reactive": f64::from(r.import_reactive) / 1000.0,
        "export_reactive": f64::from(r.export_reactive) / 1000.0,
    })
}

/// A three-phase total in kWh: CT-operated (`P1.cx`) meters count in
/// 0.1 Wh, all others in Wh.
pub fn three_phase_total(raw: u32, hardware_string: Option<&str>) -> f64 {
    let divisor = if hardware_string == Some(hardware::THREE_PHASE_CX) {
        10_000.0
    } else {
        1000.0
    };
    f64::from(raw) / divisor
}

/// Firmware text: four ASCII characters `abcd` become `a_bc_d`; any other
/// length (three-phase meters send two bytes) is lowercase hex.
pub fn firmware_text(bytes: &[u8]) -> Result<String, CodecError> {
    if bytes.len() != 4 {
        return Ok(to_hex(bytes));
    }
    if !bytes.is_ascii() {
        return Err(CodecError::Malformed {
            what: "firmware_version".to_string(),
            rule: "a 4-byte firmware version must be ASCII".to_string(),
        });
    }
    Ok(format_firmware_version(
        std::str::from_utf8(bytes).expect("ascii"),
    ))
}

/// `0203` → `0_20_3`: the reference's formatting of a 4-character version.
pub fn format_firmware_version(ascii: &str) -> String {
    let c: Vec<char> = ascii.chars().collect();
    if c.len() != 4 {
        return ascii.to_string();
    }
    format!("{}_{}{}_{}", c[0], c[1], c[2], c[3])
}
