//! Read payloads: which record layout each object id uses, and the decoded
//! record with its raw fields (named as the reference parser names them).
//! Fixed-size records read from the start of the payload and ignore any
//! surplus; a shorter payload is an error, as in the reference.

use crate::bytes::{i32le, to_hex, u16le, u32le};
use crate::enums::{
    BACKLIGHT_SETTING, DAY_OF_WEEK, LOAD_SWITCH_SETTING, THREE_PHASE_FITTED_FLAG,
    THREE_PHASE_METER_TYPE, THREE_PHASE_MIDDLE_OUTPUT,
};
use crate::error::CodecError;
use crate::ids::ObjectId;
use crate::money::Money;
use crate::time::{DateTime, TimeRecord};
use serde_json::{json, Map, Value};

/// The record layouts of the reference parser (section 6 of the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Opaque bytes: ids the client does not interpret, unnamed ids, and any
    /// id read through `obis_read`.
    Raw,
    Firmware,
    ThreePhaseHardwareConfiguration,
    InstantaneousActivePower,
    InstantaneousVoltage,
    ThreePhaseInstantaneousVoltage(u8),
    U4leValue,
    U1Value,
    TariffTimeSwitchSettings,
    Serial,
    Hardware,
    Time,
    PrepayBalance,
    PrepayTokenSend,
    MonetaryInfoTransactionCount,
    MonetaryInfoTransactionDetails,
    CsqNetOp,
    Flag,
    Backlight,
    LoadSwitch,
    TariffThresholdValues,
    TariffThresholdMask,
    Reading,
}

impl Layout {
    pub fn of(id: ObjectId) -> Layout {
        use Layout as L;
        match id {
            ObjectId::FIRMWARE_VERSION => L::Firmware,
            ObjectId::THREE_PHASE_HARDWARE_CONFIGURATION => L::ThreePhaseHardwareConfiguration,
            ObjectId::INSTANTANEOUS_ACTIVE_POWER
            | ObjectId::ELEMENT_A_INSTANTANEOUS_ACTIVE_POWER_IMPORT
            | ObjectId::ELEMENT_B_INSTANTANEOUS_ACTIVE_POWER_IMPORT => L::InstantaneousActivePower,
            ObjectId::INSTANTANEOUS_VOLTAGE => L::InstantaneousVoltage,
            ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L1 => L::ThreePhaseInstantaneousVoltage(1),
            ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L2 => L::ThreePhaseInstantaneousVoltage(2),
            ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L3 => L::ThreePhaseInstantaneousVoltage(3),
            ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT
            | ObjectId::THREE_PHASE_TOTAL_ACTIVE_EXPORT
            | ObjectId::THREE_PHASE_TOTAL_REACTIVE_IMPORT
            | ObjectId::THREE_PHASE_TOTAL_REACTIVE_EXPORT
            | ObjectId::THREE_PHASE_TOTAL_APPARENT_IMPORT
            | ObjectId::THREE_PHASE_TOTAL_APPARENT_EXPORT
            | ObjectId::TARIFF_FUTURE_ACTIVATION_DATETIME => L::U4leValue,
            id if is_money(id) => L::U4leValue,
            ObjectId::TARIFF_ACTIVE_TOU_RATE
            | ObjectId::TARIFF_ACTIVE_BLOCK_RATE
            | ObjectId::TARIFF_ACTIVE_PRICE_INDEX_CURRENT
            | ObjectId::TARIFF_ACTIVE_ELEMENT_B_TOU_RATE
            | ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE_INDEX_CURRENT
            | ObjectId::TARIFF_FUTURE_TOU_FLAG => L::U1Value,
            ObjectId::TARIFF_TIME_SWITCH_ELEMENT_A_OR_SINGLE
            | ObjectId::TARIFF_TIME_SWITCH_ELEMENT_B => L::TariffTimeSwitchSettings,
            ObjectId::SERIAL | ObjectId::THREE_PHASE_SERIAL => L::Serial,
            ObjectId::HARDWARE_VERSION => L::Hardware,
            ObjectId::TIME => L::Time,
            ObjectId::PREPAY_BALANCE => L::PrepayBalance,
            ObjectId::PREPAY_TOKEN_SEND => L::PrepayTokenSend,
            ObjectId::MONETARY_INFO_TRANSACTION_COUNT => L::MonetaryInfoTransactionCount,
            ObjectId::MONETARY_INFO_TRANSACTION_DETAILS => L::MonetaryInfoTransactionDetails,
            ObjectId::CSQ_NET_OP => L::CsqNetOp,
            ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG
            | ObjectId::PREPAY_ENABLED_FLAG
            | ObjectId::PREPAY_NO_DEBT_RECOVERY_WHEN_EMERGENCY_CREDIT_FLAG
            | ObjectId::PREPAY_NO_STANDING_CHARGE_WHEN_POWER_FAIL_FLAG => L::Flag,
            ObjectId::BACKLIGHT => L::Backlight,
            ObjectId::LOAD_SWITCH => L::LoadSwitch,
            ObjectId::TARIFF_ACTIVE_THRESHOLD_VALUES | ObjectId::TARIFF_FUTURE_THRESHOLD_VALUES => {
                L::TariffThresholdValues
            }
            ObjectId::TARIFF_ACTIVE_THRESHOLD_MASK | ObjectId::TARIFF_FUTURE_THRESHOLD_MASK => {
                L::TariffThresholdMask
            }
            ObjectId::READ_ELEMENT_A | ObjectId::READ_ELEMENT_B => L::Reading,
            _ => L::Raw,
        }
    }

    /// Bytes the record consumes; `None` = the whole payload.
    pub fn size(self) -> Option<usize> {
        use Layout as L;
        Some(match self {
            L::Raw | L::Firmware | L::Serial | L::Hardware => return None,
            L::ThreePhaseHardwareConfiguration | L::U4leValue | L::PrepayBalance => 4,
            L::InstantaneousActivePower
            | L::InstantaneousVoltage
            | L::ThreePhaseInstantaneousVoltage(_)
            | L::MonetaryInfoTransactionCount => 2,
            L::U1Value
            | L::CsqNetOp
            | L::Flag
            | L::Backlight
            | L::LoadSwitch
            | L::TariffThresholdMask => 1,
            L::TariffTimeSwitchSettings => 80,
            L::Time => TimeRecord::LEN,
            L::PrepayTokenSend => 20,
            L::MonetaryInfoTransactionDetails => 16,
            L::TariffThresholdValues => 14,
            L::Reading => 16,
        })
    }

    /// The reference parser's type name (`U4leValueRec`, …), for
    /// conformance checks and diagnostics.
    pub fn reference_name(self) -> &'static str {
        use Layout as L;
        match self {
            L::Raw => "DefaultRec",
            L::Firmware => "FirmwareRec",
            L::ThreePhaseHardwareConfiguration => "ThreePhaseHardwareConfigurationRec",
            L::InstantaneousActivePower => "InstantaneousActivePowerRec",
            L::InstantaneousVoltage => "InstantaneousVoltageRec",
            L::ThreePhaseInstantaneousVoltage(1) => "ThreePhaseInstantaneousVoltageL1Rec",
            L::ThreePhaseInstantaneousVoltage(2) => "ThreePhaseInstantaneousVoltageL2Rec",
            L::ThreePhaseInstantaneousVoltage(_) => "ThreePhaseInstantaneousVoltageL3Rec",
            L::U4leValue => "U4leValueRec",
            L::U1Value => "U1ValueRec",
            L::TariffTimeSwitchSettings => "TariffTimeSwitchSettingsRec",
            L::Serial => "SerialRec",
            L::Hardware => "HardwareRec",
            L::Time => "TimeRec",
            L::PrepayBalance => "PrepayBalanceRec",
            L::PrepayTokenSend => "PrepayTokenSendRec",
            L::MonetaryInfoTransactionCount => "MonetaryInfoTransactionCountRec",
            L::MonetaryInfoTransactionDetails => "MonetaryInfoTransactionDetailsRec",
            L::CsqNetOp => "CsqNetOpRec",
            L::Flag => "FlagRec",
            L::Backlight => "BacklightRec",
            L::LoadSwitch => "LoadSwitchRec",
            L::TariffThresholdValues => "TariffThresholdValuesRec",
            L::TariffThresholdMask => "TariffThresholdMaskRec",
            L::Reading => "ReadingRec",
        }
    }
}

/// Ids whose u4le value is an amount of money (prices, standing charges,
/// prepayment amounts, gas, block and tou rates).
pub fn is_money(id: ObjectId) -> bool {
    id.is_tariff_block_or_tou_rate()
        || matches!(
            id,
            ObjectId::TARIFF_ACTIVE_PREPAYMENT_EMERGENCY_CREDIT
                | ObjectId::TARIFF_ACTIVE_PREPAYMENT_ECREDIT_AVAILABILITY
                | ObjectId::TARIFF_ACTIVE_PREPAYMENT_DEBT_RECOVERY_RATE
                | ObjectId::TARIFF_FUTURE_PREPAYMENT_EMERGENCY_CREDIT
                | ObjectId::TARIFF_FUTURE_PREPAYMENT_ECREDIT_AVAILABILITY
                | ObjectId::TARIFF_FUTURE_PREPAYMENT_DEBT_RECOVERY_RATE
                | ObjectId::TARIFF_ACTIVE_GAS
                | ObjectId::TARIFF_FUTURE_GAS
                | ObjectId::TARIFF_ACTIVE_STANDING_CHARGE
                | ObjectId::TARIFF_FUTURE_STANDING_CHARGE
                | ObjectId::TARIFF_ACTIVE_PRICE
                | ObjectId::TARIFF_ACTIVE_ELEMENT_B_PRICE
        )
}

/// Cumulative registers of one element, in Wh (varh for reactive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    pub import_active: u32,
    pub export_active: u32,
    pub import_reactive: u32,
    pub export_reactive: u32,
}

impl Registers {
    /// Exact kWh text of a Wh register (`1234567` → `1234.567`), for
    /// storing without floats.
    pub fn kwh_text(wh: u32) -> String {
        let frac = format!("{:03}", wh % 1000);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{}", wh / 1000)
        } else {
            format!("{}.{frac}", wh / 1000)
        }
    }
}

/// Three-phase meter build (byte 0 of `three_phase_hardware_configuration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreePhaseHardware {
    pub byte0: u8,
    pub unused: [u8; 3],
}

impl ThreePhaseHardware {
    /// Whole-current (ax) when bit 7 is set, CT-operated (cx) when clear.
    pub fn is_whole_current(self) -> bool {
        self.byte0 & 0x80 != 0
    }

    fn bit(self, n: u8) -> u8 {
        (self.byte0 >> n) & 1
    }

    pub fn to_json(self) -> Value {
        json!({
            "meter_type": THREE_PHASE_METER_TYPE.to_json(self.bit(7)),
            "middle_output_terminals": THREE_PHASE_MIDDLE_OUTPUT.to_json(self.bit(6)),
            "disconnect_switch": THREE_PHASE_FITTED_FLAG.to_json(self.bit(5)),
            "gsm_communications": THREE_PHASE_FITTED_FLAG.to_json(self.bit(4)),
            "real_time_clock": THREE_PHASE_FITTED_FLAG.to_json(self.bit(3)),
            "magnetic_detection": THREE_PHASE_FITTED_FLAG.to_json(self.bit(2)),
            "terminal_cover_tamper_switch": THREE_PHASE_FITTED_FLAG.to_json(self.bit(1)),
            "top_cover_tamper_switch": THREE_PHASE_FITTED_FLAG.to_json(self.bit(0)),
            "unused": to_hex(&self.unused),
        })
    }
}

/// A decoded read payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Raw(Vec<u8>),
    Firmware(Vec<u8>),
    ThreePhaseHardwareConfiguration(ThreePhaseHardware),
    InstantaneousActivePower(u16),
    InstantaneousVoltage(u16),
    ThreePhaseInstantaneousVoltage {
        line: u8,
        voltage: u16,
    },
    U4leValue(u32),
    U1Value(u8),
    TariffTimeSwitchSettings(Vec<u8>),
    /// Serial numbers, as ASCII text (untrimmed).
    Serial(String),
    /// The hardware string, untrimmed; empty on three-phase meters.
    Hardware(String),
    Time(TimeRecord),
    PrepayBalance(i32),
    PrepayTokenSend(String),
    MonetaryInfoTransactionCount(u16),
    MonetaryInfoTransactionDetails {
        undecoded: [u8; 8],
        payment_time: u32,
        payment_value: i32,
    },
    CsqNetOp {
        network_operator: u8,
        csq: u8,
    },
    Flag(u8),
    Backlight(u8),
    LoadSwitch(u8),
    TariffThresholdValues([u16; 7]),
    TariffThresholdMask(u8),
    Reading(Registers),
}

/// Decodes a `readElement` payload by the layout of its object id.
pub fn decode(id: ObjectId, payload: &[u8]) -> Result<Record, CodecError> {
    decode_as(Layout::of(id), id, payload)
}

/// Decodes with an explicit layout (`Layout::Raw` is what `obis_read` gets).
pub fn decode_as(layout: Layout, id: ObjectId, payload: &[u8]) -> Result<Record, CodecError> {
    if let Some(needed) = layout.size() {
        if payload.len() < needed {
            return Err(CodecError::PayloadTooShort {
                object: id.describe(),
                layout: layout.reference_name(),
                needed,
                got: payload.len(),
            });
        }
    }
    let p = payload;
    let ascii = |bytes: &[u8]| -> Result<String, CodecError> {
        if bytes.is_ascii() {
            Ok(bytes.iter().map(|&b| b as char).collect())
        } else {
            Err(CodecError::Malformed {
                what: id.describe(),
                rule: "text payload must be ASCII".to_string(),
            })
        }
    };
    use Layout as L;
    Ok(match layout {
        L::Raw => Record::Raw(p.to_vec()),
        L::Firmware => Record::Firmware(p.to_vec()),
        L::ThreePhaseHardwareConfiguration => {
            Record::ThreePhaseHardwareConfiguration(ThreePhaseHardware {
                byte0: p[0],
                unused: [p[1], p[2], p[3]],
            })
        }
        L::InstantaneousActivePower => Record::InstantaneousActivePower(u16le(p, 0)),
        L::InstantaneousVoltage => Record::InstantaneousVoltage(u16le(p, 0)),
        L::ThreePhaseInstantaneousVoltage(line) => Record::ThreePhaseInstantaneousVoltage {
            line,
            voltage: u16le(p, 0),
        },
        L::U4leValue => Record::U4leValue(u32le(p, 0)),
        L::U1Value => Record::U1Value(p[0]),
        L::TariffTimeSwitchSettings => Record::TariffTimeSwitchSettings(p[..80].to_vec()),
        L::Serial => Record::Serial(ascii(p)?),
        L::Hardware => Record::Hardware(ascii(p)?),
        L::Time => Record::Time(TimeRecord::from_bytes(
            p[..7].try_into().expect("length checked"),
        )),
        L::PrepayBalance => Record::PrepayBalance(i32le(p, 0)),
        L::PrepayTokenSend => Record::PrepayTokenSend(ascii(&p[..20])?),
        L::MonetaryInfoTransactionCount => Record::MonetaryInfoTransactionCount(u16le(p, 0)),
        L::MonetaryInfoTransactionDetails => Record::MonetaryInfoTransactionDetails {
            undecoded: p[..8].try_into().expect("length checked"),
            payment_time: u32le(p, 8),
            payment_value: i32le(p, 12),
        },
        L::CsqNetOp => Record::CsqNetOp {
            network_operator: p[0] >> 5,
            csq: p[0] & 0x1f,
        },
        L::Flag => Record::Flag(p[0]),
        L::Backlight => Record::Backlight(p[0]),
        L::LoadSwitch => Record::LoadSwitch(p[0]),
        L::TariffThresholdValues => {
            Record::TariffThresholdValues(std::array::from_fn(|i| u16le(p, 2 * i)))
        }
        L::TariffThresholdMask => Record::TariffThresholdMask(p[0]),
        L::Reading => Record::Reading(Registers {
            import_active: u32le(p, 0),
            export_active: u32le(p, 4),
            import_reactive: u32le(p, 8),
            export_reactive: u32le(p, 12),
        }),
    })
}

impl Record {
    /// The raw fields, named as in the reference parser (`vectors.json`
    /// `fields`): bytes as hex, enums as `{enum,name,value}` or the number.
    pub fn fields_json(&self) -> Value {
        match self {
            Record::Raw(p) => json!({"payload": to_hex(p)}),
            Record::Firmware(b) => json!({"version_bytes": b}),
            Record::ThreePhaseHardwareConfiguration(h) => h.to_json(),
            Record::InstantaneousActivePower(power) => json!({"power": power}),
            Record::InstantaneousVoltage(v)
            | Record::ThreePhaseInstantaneousVoltage { voltage: v, .. } => {
                json!({"voltage": v})
            }
            Record::U4leValue(v) => json!({"value": v}),
            Record::U1Value(v) => json!({"value": v}),
            Record::TariffTimeSwitchSettings(b) => json!({"switch_settings": to_hex(b)}),
            Record::Serial(s) => json!({"serial": s}),
            Record::Hardware(s) => json!({"hardware": s}),
            Record::Time(t) => json!({
                "year": t.year, "month": t.month, "date": t.date, "hour": t.hour,
                "minute": t.minute, "second": t.second,
                "day_of_week": DAY_OF_WEEK.to_json(t.day_of_week),
            }),
            Record::PrepayBalance(b) => json!({"balance": b}),
            Record::PrepayTokenSend(t) => json!({"token": t}),
            Record::MonetaryInfoTransactionCount(c) => json!({"count": c}),
            Record::MonetaryInfoTransactionDetails {
                undecoded,
                payment_time,
                payment_value,
            } => json!({
                "undecoded": to_hex(undecoded),
                "payment_time": payment_time,
                "payment_value": payment_value,
            }),
            Record::CsqNetOp {
                network_operator,
                csq,
            } => json!({"network_operator": network_operator, "csq": csq}),
            Record::Flag(f) => json!({"enabled_flag": f}),
            Record::Backlight(s) => json!({"setting": BACKLIGHT_SETTING.to_json(*s)}),
            Record::LoadSwitch(s) => json!({"setting": LOAD_SWITCH_SETTING.to_json(*s)}),
            Record::TariffThresholdValues(th) => {
                let map: Map<String, Value> = th
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("th{}", i + 1), json!(v)))
                    .collect();
                Value::Object(map)
            }
            Record::TariffThresholdMask(m) => threshold_mask_json(*m),
            Record::Reading(r) => json!({
                "import_active": r.import_active,
                "export_active": r.export_active,
                "import_reactive": r.import_reactive,
                "export_reactive": r.export_reactive,
            }),
        }
    }

    // Typed accessors for the values the platform stores. Each answers
    // `None` when the record is of another kind.

    /// Prepay balance, or any u4le amount (the caller knows the id is money;
    /// see [`is_money`]).
    pub fn money(&self) -> Option<Money> {
        match self {
            Record::PrepayBalance(b) => Some(Money::from_units(i64::from(*b))),
            Record::U4leValue(v) => Some(Money::from_units(i64::from(*v))),
            _ => None,
        }
    }

    /// Signal quality 0–31.
    pub fn csq(&self) -> Option<u8> {
        match self {
            Record::CsqNetOp { csq, .. } => Some(*csq),
            _ => None,
        }
    }

    pub fn registers(&self) -> Option<Registers> {
        match self {
            Record::Reading(r) => Some(*r),
            _ => None,
        }
    }

    /// A flag is set only when the byte is exactly 1.
    pub fn flag(&self) -> Option<bool> {
        match self {
            Record::Flag(f) => Some(*f == 1),
            _ => None,
        }
    }

    /// The raw voltage number: single-phase unscaled, three-phase in 0.1 V.
    pub fn voltage_raw(&self) -> Option<u16> {
        match self {
            Record::InstantaneousVoltage(v)
            | Record::ThreePhaseInstantaneousVoltage { voltage: v, .. } => Some(*v),
            _ => None,
        }
    }

    /// The meter clock as a UTC date-time; `Some(None)` when the record does
    /// not name a real date-time.
    pub fn clock(&self) -> Option<Option<DateTime>> {
        match self {
            Record::Time(t) => Some(t.to_utc()),
            _ => None,
        }
    }

    /// Serial text trimmed the way the reference trims it.
    pub fn serial(&self) -> Option<String> {
        match self {
            Record::Serial(s) => Some(python_strip(s).to_string()),
            _ => None,
        }
    }

    /// A u4le value as a number (totals, timestamps, amounts in units).
    pub fn u32_value(&self) -> Option<u32> {
        match self {
            Record::U4leValue(v) => Some(*v),
            _ => None,
        }
    }

    /// The `hardware_version` text as read (empty on three-phase meters);
    /// `hardware::registry_string` turns it into the registry string.
    pub fn hardware_text(&self) -> Option<&str> {
        match self {
            Record::Hardware(s) => Some(s),
            _ => None,
        }
    }

    /// Firmware version text (`0_20_3`, or hex for three-phase meters).
    pub fn firmware(&self) -> Option<Result<String, CodecError>> {
        match self {
            Record::Firmware(bytes) => Some(crate::report::firmware_text(bytes)),
            _ => None,
        }
    }

    pub fn three_phase_hardware(&self) -> Option<ThreePhaseHardware> {
        match self {
            Record::ThreePhaseHardwareConfiguration(h) => Some(*h),
            _ => None,
        }
    }
}

pub(crate) fn threshold_mask_json(mask: u8) -> Value {
    let map: Map<String, Value> = (1..=8)
        .rev()
        .map(|rate| (format!("rate{rate}"), json!(mask >> (rate - 1) & 1 == 1)))
        .collect();
    Value::Object(map)
}

/// Python's `str.strip()` on ASCII text: its whitespace includes the
/// information separators 0x1c–0x1f, but not NUL.
pub fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| {
        matches!(
            c,
            ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c' | '\x1c'..='\x1f'
        )
    })
}
