//! `--state-file`: the fleet's mutable state as JSON, written atomically
//! after every write call and at shutdown, read at start, so a restarted
//! simulator keeps balances, tariffs and used tokens (no token is applied
//! twice across a restart).

use crate::hardware::Hardware;
use crate::meter::{default_objects, Event, MeterSpec, MeterState};
use flows_emop::{from_hex, to_hex};
use serde_json::{json, Map, Value};
use std::path::Path;

pub const VERSION: u64 = 1;

/// The persisted part of a meter: everything not derived from its serial,
/// and of the stored objects only those that differ from a new meter's (so
/// a large, mostly untouched fleet saves quickly).
pub fn meter_to_json(m: &MeterState) -> Value {
    let defaults = default_objects(m.hardware);
    let objects: Map<String, Value> = m
        .objects
        .iter()
        .filter(|(id, b)| defaults.get(*id) != Some(*b))
        .map(|(id, b)| (format!("{id:06x}"), json!(to_hex(b))))
        .collect();
    let events: Vec<Value> = m
        .injected_events
        .iter()
        .map(|e| json!([e.timestamp, e.event_id, e.event_set]))
        .collect();
    json!({
        "serial": m.serial,
        "hardware": m.hardware.as_str(),
        "esco": m.esco,
        "name": m.name,
        "commissioned": m.demand.commissioned,
        "offsets": m.offsets,
        "balance_units": m.balance_units,
        "pending_cost": m.pending_cost,
        "settled_at": m.settled_at,
        "drift_seconds": m.drift_seconds,
        "csq": m.csq,
        "voltage": m.voltage,
        "objects": objects,
        "activation_armed": m.activation_armed,
        "activations": m.activations,
        "accepted_tokens": m.accepted_tokens,
        "tokens_received": m.tokens_received,
        "transaction_count": m.transaction_count,
        "last_payment": m.last_payment,
        "last_token": m.last_token,
        "injected_events": events,
        "calls": m.calls,
    })
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a Value, String> {
    v.get(key)
        .ok_or_else(|| format!("state file: meter without {key:?}"))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(field(v, key)?.clone()).map_err(|e| format!("state file: {key}: {e}"))
}

/// Rebuilds a meter from its persisted state; `scale` comes from the
/// current command line.
pub fn meter_from_json(v: &Value, scale: f64) -> Result<MeterState, String> {
    let hardware: Hardware = parse::<String>(v, "hardware")?.parse()?;
    let spec = MeterSpec {
        serial: parse(v, "serial")?,
        hardware,
        esco: parse(v, "esco")?,
        name: parse(v, "name")?,
        balance: None,
        drift_seconds: Some(parse(v, "drift_seconds")?),
        csq: Some(parse(v, "csq")?),
    };
    let settled_at: f64 = parse(v, "settled_at")?;
    let mut m = MeterState::new(&spec, scale, parse(v, "commissioned")?, settled_at);
    m.offsets = parse(v, "offsets")?;
    m.balance_units = parse(v, "balance_units")?;
    m.pending_cost = parse(v, "pending_cost")?;
    m.voltage = parse(v, "voltage")?;
    let objects: Map<String, Value> = parse(v, "objects")?;
    for (id, hex) in objects {
        let id =
            u32::from_str_radix(&id, 16).map_err(|_| format!("state file: object id {id:?}"))?;
        let bytes = hex
            .as_str()
            .and_then(from_hex)
            .ok_or_else(|| format!("state file: object {id:06x} is not hex"))?;
        m.objects.insert(id, bytes);
    }
    m.activation_armed = parse(v, "activation_armed")?;
    m.activations = parse(v, "activations")?;
    m.accepted_tokens = parse(v, "accepted_tokens")?;
    m.tokens_received = parse(v, "tokens_received")?;
    m.transaction_count = parse(v, "transaction_count")?;
    m.last_payment = parse(v, "last_payment")?;
    m.last_token = parse(v, "last_token")?;
    let events: Vec<(u32, u8, u8)> = parse(v, "injected_events")?;
    m.injected_events = events
        .into_iter()
        .map(|(timestamp, event_id, event_set)| Event {
            timestamp,
            event_id,
            event_set,
        })
        .collect();
    m.calls = parse(v, "calls")?;
    Ok(m)
}

/// Reads a state file; `None` if it does not exist yet.
pub fn load(path: &Path, scale: f64) -> Result<Option<Vec<MeterState>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if doc.get("version").and_then(Value::as_u64) != Some(VERSION) {
        return Err(format!(
            "{}: not a version {VERSION} state file",
            path.display()
        ));
    }
    let meters = doc
        .get("meters")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{}: no meters list", path.display()))?;
    meters
        .iter()
        .map(|m| meter_from_json(m, scale))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Writes the document next to `path` and renames it into place, so a
/// crash mid-write leaves the previous state intact.
pub fn write(path: &Path, meters: Vec<Value>) -> Result<(), String> {
    let doc = json!({"version": VERSION, "meters": meters});
    let text = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flows_emop::{Money, ObjectId};

    #[test]
    fn round_trip() {
        let spec = MeterSpec {
            serial: "EML2200000009".to_string(),
            hardware: Hardware::C1w,
            esco: "wlce".to_string(),
            name: Some("plot 9".to_string()),
            balance: Some(Money::from_gbp(3)),
            drift_seconds: Some(-12),
            csq: Some(9),
        };
        let t = 850_000_000.0;
        let mut m = MeterState::new(&spec, 0.0, 757_382_400.0, t);
        m.write(ObjectId::PREPAY_TOKEN_SEND, b"11112222333344445555", t)
            .unwrap();
        m.write(ObjectId::TARIFF_FUTURE_STANDING_CHARGE, &[1, 2, 3, 4], t)
            .unwrap();
        m.inject_event(t, 4, 1);
        m.set_register(t, "import_a", 123_456).unwrap();
        let path = std::env::temp_dir().join(format!("sim-state-{}.json", std::process::id()));
        write(&path, vec![meter_to_json(&m)]).unwrap();
        let mut back = load(&path, 0.0).unwrap().unwrap().remove(0);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.balance(t), m.balance(t));
        assert_eq!(back.accepted_tokens, m.accepted_tokens);
        assert_eq!(
            back.object(ObjectId::TARIFF_FUTURE_STANDING_CHARGE),
            Some(&[1, 2, 3, 4][..])
        );
        assert_eq!(back.registers(t), m.registers(t));
        assert_eq!(back.injected_events, m.injected_events);
        assert_eq!(
            (back.drift_seconds, back.csq, back.name.clone()),
            (-12, 9, m.name.clone())
        );
        // The token is still used up after the restart.
        assert!(back
            .write(ObjectId::PREPAY_TOKEN_SEND, b"11112222333344445555", t)
            .unwrap()
            .contains("already used"));
    }
}
