//! Read operations without arguments: one `readElement` each, or the
//! reference's composite sequences (hardware, registers, tariffs), reported
//! as exact values (decimal strings, ISO 8601 UTC, names of enum members).

use super::{codes, decimal_text, three_phase_kwh, Ctx, Failure};
use flows_emop::composite::THREE_PHASE_TOTALS;
use flows_emop::enums::{WireEnum, BACKLIGHT_SETTING, LOAD_SWITCH_SETTING};
use flows_emop::hardware::{is_three_phase, is_twin_element};
use flows_emop::records::Registers;
use flows_emop::time::EPOCH_2000_UNIX;
use flows_emop::{to_hex, ObjectId, Record};
use serde_json::{json, Map, Value};

/// The tariff keys the platform stores (DOMAIN: tariff JSON).
pub(crate) const TARIFF_KEYS: [&str; 6] = [
    "standing_charge",
    "unit_rate_element_a",
    "unit_rate_element_b",
    "prepayment_emergency_credit",
    "prepayment_ecredit_availability",
    "prepayment_debt_recovery_rate",
];
pub(crate) const ACTIVATION_KEY: &str = "activation_datetime";

pub(super) async fn run(ctx: &Ctx<'_>, operation: &str) -> Result<Value, Failure> {
    match operation {
        "csq" => {
            let csq = ctx.read(ObjectId::CSQ_NET_OP).await?.csq();
            Ok(json!({ "csq": csq.expect("csq layout") }))
        }
        "serial" => {
            let serial = ctx.read(ObjectId::SERIAL).await?.serial();
            Ok(json!({ "serial": serial.expect("serial layout") }))
        }
        "clock" => clock(ctx).await,
        "voltage" => {
            // Single phase: reported unscaled, its unit is not established.
            let raw = ctx
                .read(ObjectId::INSTANTANEOUS_VOLTAGE)
                .await?
                .voltage_raw();
            Ok(json!({ "voltage": raw.expect("voltage layout").to_string() }))
        }
        "three_phase_voltage" => {
            let mut result = Map::new();
            for (key, id) in [
                ("l1", ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L1),
                ("l2", ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L2),
                ("l3", ObjectId::THREE_PHASE_INSTANTANEOUS_VOLTAGE_L3),
            ] {
                let raw = ctx.read(id).await?.voltage_raw().expect("voltage layout");
                // Three-phase voltages come in 0.1 V.
                result.insert(key.to_string(), json!(decimal_text(u64::from(raw), 1)));
            }
            Ok(Value::Object(result))
        }
        "registers" => registers(ctx).await,
        "three_phase_registers" => three_phase_registers(ctx).await,
        "prepay_balance" => {
            let balance = ctx.read(ObjectId::PREPAY_BALANCE).await?.money();
            Ok(json!({ "balance": balance.expect("balance layout").to_string() }))
        }
        "prepay_enabled" => {
            let flag = ctx.read(ObjectId::PREPAY_ENABLED_FLAG).await?.flag();
            Ok(json!({ "prepay_enabled": flag.expect("flag layout") }))
        }
        "tariffs_active" => {
            let all = ctx.composite("tariffs_active_read").await?;
            Ok(json!({ "tariff": pick(&all, &TARIFF_KEYS, None) }))
        }
        "tariffs_future" => {
            let all = ctx.composite("tariffs_future_read").await?;
            Ok(json!({ "tariff": pick(&all, &TARIFF_KEYS, Some(ACTIVATION_KEY)) }))
        }
        // Always from the meter: this is how the registry learns it.
        "hardware" => Ok(json!({ "hardware": ctx.composite("hardware").await? })),
        "firmware" => {
            let record = ctx.read(ObjectId::FIRMWARE_VERSION).await?;
            let text = record
                .firmware()
                .expect("firmware layout")
                .map_err(|e| Failure::bad_payload(&e))?;
            Ok(json!({ "firmware": text }))
        }
        "transaction_count" => Ok(json!({ "transaction_count": transaction_count(ctx).await? })),
        "backlight" => match ctx.read(ObjectId::BACKLIGHT).await? {
            Record::Backlight(v) => Ok(json!({ "setting": setting_json(&BACKLIGHT_SETTING, v) })),
            other => unreachable!("backlight decodes as Backlight, got {other:?}"),
        },
        "load_switch" => match ctx.read(ObjectId::LOAD_SWITCH).await? {
            Record::LoadSwitch(v) => {
                Ok(json!({ "setting": setting_json(&LOAD_SWITCH_SETTING, v) }))
            }
            other => unreachable!("load_switch decodes as LoadSwitch, got {other:?}"),
        },
        "daylight_savings_correction" => {
            let flag = ctx
                .read(ObjectId::DAYLIGHT_SAVINGS_CORRECTION_FLAG)
                .await?
                .flag();
            Ok(json!({ "enabled": flag.expect("flag layout") }))
        }
        other => unreachable!("{other} has arguments or is not a read; args::parse routes it"),
    }
}

/// A setting by its member name, or the bare number when the byte is not a
/// member (as the reference reports it).
pub(crate) fn setting_json(e: &WireEnum, value: u8) -> Value {
    e.name_of(value)
        .map_or_else(|| json!(value), |name| json!(name))
}

/// Seconds since 2000 now, by this machine's clock (UTC).
pub(crate) fn now_since_2000() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    unix - EPOCH_2000_UNIX
}

async fn clock(ctx: &Ctx<'_>) -> Result<Value, Failure> {
    let record = ctx.read(ObjectId::TIME).await?;
    // Taken when the reply is in: the mediator reads the meter at the end
    // of the call (after any lock wait and spacing), so this is the closest
    // local instant to the meter's.
    let now = now_since_2000();
    match record.clock().expect("time layout") {
        Some(meter_time) => {
            let meter = meter_time.micros_since_2000().div_euclid(1_000_000);
            Ok(json!({
                "meter_time": meter_time.to_string(),
                "clock_time_diff_seconds": meter - now,
            }))
        }
        None => {
            let bytes = match &record {
                Record::Time(t) => to_hex(&t.to_bytes()),
                _ => String::new(),
            };
            Err(Failure::permanent(
                codes::BAD_PAYLOAD,
                format!("time: the meter's clock record {bytes} is not a real date-time"),
            ))
        }
    }
}

pub(crate) async fn transaction_count(ctx: &Ctx<'_>) -> Result<u16, Failure> {
    match ctx.read(ObjectId::MONETARY_INFO_TRANSACTION_COUNT).await? {
        Record::MonetaryInfoTransactionCount(count) => Ok(count),
        other => unreachable!("transaction count decodes as a count, got {other:?}"),
    }
}

/// The reference `read`: element A, and B on twin-element meters. On a
/// three-phase meter the active import/export totals take element A's place
/// (only those two are read; `three_phase_registers` has all six).
async fn registers(ctx: &Ctx<'_>) -> Result<Value, Failure> {
    let hw = ctx.hardware().await?;
    if is_three_phase(&hw) {
        let mut totals = Vec::new();
        for id in [
            ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT,
            ObjectId::THREE_PHASE_TOTAL_ACTIVE_EXPORT,
        ] {
            let raw = ctx.read(id).await?.u32_value().expect("u4le layout");
            totals.push(three_phase_kwh(raw, &hw));
        }
        return Ok(json!({
            "import_a": totals[0], "export_a": totals[1],
            "import_b": null, "export_b": null,
        }));
    }
    let a = ctx
        .read(ObjectId::READ_ELEMENT_A)
        .await?
        .registers()
        .expect("reading layout");
    let b = if is_twin_element(&hw) {
        let record = ctx
            .read(ObjectId::READ_ELEMENT_B)
            .await
            .map_err(|f| f.with_partial(element_json("a", &a)))?;
        Some(record.registers().expect("reading layout"))
    } else {
        None
    };
    let mut result = element_json("a", &a);
    let b_json = match &b {
        Some(b) => element_json("b", b),
        None => json!({"import_b": null, "export_b": null}),
    };
    if let (Value::Object(r), Value::Object(extra)) = (&mut result, b_json) {
        r.extend(extra);
    }
    Ok(result)
}

/// `{"import_x", "export_x"}` in kWh (registers count Wh).
fn element_json(suffix: &str, r: &Registers) -> Value {
    json!({
        format!("import_{suffix}"): Registers::kwh_text(r.import_active),
        format!("export_{suffix}"): Registers::kwh_text(r.export_active),
    })
}

/// The six totals of `three_phase_read`. As in the reference a total whose
/// reply does not decode is `null`; unlike it, a failed call fails the
/// operation (a mediator that is down would otherwise give six nulls).
async fn three_phase_registers(ctx: &Ctx<'_>) -> Result<Value, Failure> {
    let hw = ctx.hardware().await?;
    if !is_three_phase(&hw) {
        return Err(Failure::permanent(
            codes::UNSUPPORTED_HARDWARE,
            format!(
                "three_phase_registers: meter hardware is {hw}, not three phase; use registers"
            ),
        ));
    }
    let mut result = Map::new();
    for (id, key) in THREE_PHASE_TOTALS {
        let payload = ctx
            .m
            .read_element(ctx.serial, id)
            .await
            .map_err(|e| Failure::from(e).with_partial(Value::Object(result.clone())))?;
        let value = match flows_emop::decode(id, &payload) {
            Ok(record) => json!(three_phase_kwh(
                record.u32_value().expect("u4le layout"),
                &hw
            )),
            Err(_) => Value::Null,
        };
        result.insert(key.to_string(), value);
    }
    Ok(Value::Object(result))
}

/// The platform's tariff keys out of a reference tariff result.
pub(crate) fn pick(all: &Value, keys: &[&str], extra: Option<&str>) -> Value {
    let mut tariff = Map::new();
    for key in keys.iter().copied().chain(extra) {
        tariff.insert(
            key.to_string(),
            all.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(tariff)
}
