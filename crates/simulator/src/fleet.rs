//! The simulated meters: the registry (serial → meter), each meter's
//! exchange lock and state, and where the meters come from (a meters file in
//! JSON lines or CSV, or `--generate N`).

use crate::fault::Fault;
use crate::hardware::Hardware;
use crate::meter::{MeterSpec, MeterState};
use flows_emop::Money;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::time::Instant;

/// One meter as the mediator sees it.
#[derive(Debug)]
pub struct Meter {
    pub serial: String,
    /// Held for a whole exchange, so calls for one meter are serial; holds
    /// when the last successful exchange finished, for the spacing rule.
    pub exchange: tokio::sync::Mutex<Option<Instant>>,
    /// Locked only briefly, never across an await.
    state: Mutex<MeterState>,
}

impl Meter {
    pub fn new(state: MeterState) -> Meter {
        Meter {
            serial: state.serial.clone(),
            exchange: tokio::sync::Mutex::new(None),
            state: Mutex::new(state),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, MeterState> {
        // A panic while holding the lock leaves the state usable (every
        // mutation is a plain field update), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, Default)]
pub struct Fleet {
    meters: RwLock<BTreeMap<String, Arc<Meter>>>,
    /// A fault for every meter (`fault * …`); a meter's own fault wins.
    global_fault: Mutex<Option<Fault>>,
}

impl Fleet {
    pub fn get(&self, serial: &str) -> Option<Arc<Meter>> {
        self.meters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(serial)
            .cloned()
    }

    pub fn insert(&self, state: MeterState) -> Result<(), String> {
        let mut meters = self.meters.write().unwrap_or_else(|p| p.into_inner());
        if meters.contains_key(&state.serial) {
            return Err(format!("meter {} already exists", state.serial));
        }
        meters.insert(state.serial.clone(), Arc::new(Meter::new(state)));
        Ok(())
    }

    pub fn remove(&self, serial: &str) -> bool {
        self.meters
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(serial)
            .is_some()
    }

    pub fn contains(&self, serial: &str) -> bool {
        self.get(serial).is_some()
    }

    /// All meters, in serial order.
    pub fn all(&self) -> Vec<Arc<Meter>> {
        self.meters
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.meters.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn global_fault(&self) -> MutexGuard<'_, Option<Fault>> {
        self.global_fault.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The fault that hits this call, used up by one if counted: the
    /// meter's own fault, else the fleet-wide one. After-write faults only
    /// hit (and are only used up by) writes.
    pub fn take_fault(&self, meter: &Meter, is_write: bool) -> Option<Fault> {
        let mut state = meter.state();
        if let Some(f) = state.fault.as_mut() {
            if !f.kind.applies_to(is_write) {
                return None;
            }
            let hit = *f;
            if f.consume() {
                state.fault = None;
            }
            return Some(hit);
        }
        drop(state);
        let mut global = self.global_fault();
        let f = global.as_mut()?;
        if !f.kind.applies_to(is_write) {
            return None;
        }
        let hit = *f;
        if f.consume() {
            *global = None;
        }
        Some(hit)
    }
}

fn check_serial(serial: &str) -> Result<(), String> {
    if serial.is_empty() || serial.chars().any(|c| c.is_whitespace() || c == ',') {
        return Err(format!("bad serial {serial:?}"));
    }
    Ok(())
}

/// `count` meters numbered from the prefix padded with zeros to 13
/// characters: `EML22000000` → EML2200000001, EML2200000002, … Hardware
/// cycles through `hardware`.
pub fn generate(
    count: usize,
    prefix: &str,
    hardware: &[Hardware],
    esco: &str,
    balance: Option<Money>,
) -> Result<Vec<MeterSpec>, String> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let letters: String = prefix.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let digits = &prefix[letters.len()..];
    if !digits.bytes().all(|b| b.is_ascii_digit()) || letters.len() >= 13 {
        return Err(format!(
            "serial prefix {prefix:?} must be letters then digits, e.g. EML22000000"
        ));
    }
    let width = 13 - letters.len();
    let base: u64 = format!("{digits:0<width$}")
        .parse()
        .map_err(|_| format!("serial prefix {prefix:?} too long"))?;
    let hardware = if hardware.is_empty() {
        &[Hardware::C1w][..]
    } else {
        hardware
    };
    (1..=count as u64)
        .map(|i| {
            let number = base + i;
            let text = format!("{number:0width$}");
            if text.len() > width {
                return Err(format!("{count} meters do not fit after prefix {prefix:?}"));
            }
            Ok(MeterSpec {
                serial: format!("{letters}{text}"),
                hardware: hardware[(i as usize - 1) % hardware.len()],
                esco: esco.to_string(),
                name: None,
                balance,
                drift_seconds: None,
                csq: None,
            })
        })
        .collect()
}

/// Meters from a file: JSON lines (or one JSON array) of objects with
/// `serial`, `hardware` and optional `balance` (GBP), `esco`, `name`,
/// `drift_seconds`, `csq`; or CSV with those columns, a header line naming
/// them, or without header `serial,hardware[,balance[,esco]]`.
pub fn load_file(path: &Path, default_esco: &str) -> Result<Vec<MeterSpec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let at = |line: usize, e: String| format!("{}:{line}: {e}", path.display());
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let items: Vec<Value> =
            serde_json::from_str(trimmed).map_err(|e| format!("{}: {e}", path.display()))?;
        return items
            .iter()
            .enumerate()
            .map(|(i, v)| spec_from_json(v, default_esco).map_err(|e| at(i + 1, e)))
            .collect();
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if trimmed.starts_with('{') {
        return lines
            .iter()
            .map(|&(n, l)| {
                let v: Value = serde_json::from_str(l).map_err(|e| at(n, e.to_string()))?;
                spec_from_json(&v, default_esco).map_err(|e| at(n, e))
            })
            .collect();
    }
    let mut columns = vec!["serial", "hardware", "balance", "esco"];
    let mut rows = lines.as_slice();
    let header: Vec<String>;
    if let Some(&(_, first)) = rows.first() {
        if first
            .split(',')
            .next()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("serial"))
        {
            header = first
                .split(',')
                .map(|f| f.trim().to_ascii_lowercase())
                .collect();
            columns = header.iter().map(String::as_str).collect();
            rows = &rows[1..];
        }
    }
    rows.iter()
        .map(|&(n, l)| {
            let mut obj = serde_json::Map::new();
            for (name, field) in columns.iter().zip(l.split(',')) {
                let field = field.trim();
                if !field.is_empty() {
                    obj.insert(name.to_string(), Value::String(field.to_string()));
                }
            }
            spec_from_json(&Value::Object(obj), default_esco).map_err(|e| at(n, e))
        })
        .collect()
}

fn spec_from_json(v: &Value, default_esco: &str) -> Result<MeterSpec, String> {
    let obj = v.as_object().ok_or("expected an object")?;
    for key in obj.keys() {
        if ![
            "serial",
            "hardware",
            "balance",
            "esco",
            "name",
            "drift_seconds",
            "csq",
        ]
        .contains(&key.as_str())
        {
            return Err(format!("unknown field {key:?}"));
        }
    }
    let text = |key: &str| -> Option<String> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let serial = text("serial").ok_or("serial missing")?;
    check_serial(&serial)?;
    let hardware = text("hardware").ok_or("hardware missing")?.parse()?;
    let balance = match obj.get("balance") {
        None | Some(Value::Null) => None,
        Some(b) => Some(Money::parse_exact("balance", b).map_err(|e| e.to_string())?),
    };
    let int = |key: &str| -> Result<Option<i64>, String> {
        text(key)
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| format!("{key} must be an integer, got {t:?}"))
            })
            .transpose()
    };
    Ok(MeterSpec {
        serial,
        hardware,
        esco: text("esco").unwrap_or_else(|| default_esco.to_string()),
        name: text("name"),
        balance,
        drift_seconds: int("drift_seconds")?,
        csq: int("csq")?.map(|c| c.clamp(0, 31) as u8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_serials() {
        let specs = generate(
            3,
            "EML22000000",
            &[Hardware::C1w, Hardware::B1w],
            "sim",
            None,
        )
        .unwrap();
        let serials: Vec<&str> = specs.iter().map(|s| s.serial.as_str()).collect();
        assert_eq!(serials, ["EML2200000001", "EML2200000002", "EML2200000003"]);
        assert_eq!(specs[1].hardware, Hardware::B1w);
        let many = generate(1000, "EML22000000", &[], "sim", None).unwrap();
        assert_eq!(many[999].serial, "EML2200001000");
        assert!(generate(10, "EML9999999995", &[], "sim", None).is_err());
    }

    #[test]
    fn files() {
        let dir = std::env::temp_dir().join(format!("sim-fleet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("m.csv");
        std::fs::write(
            &csv,
            "serial,hardware,balance\nEML2200000001,C1.w,3.50\nEML2200000002,P1.cx,\n",
        )
        .unwrap();
        let specs = load_file(&csv, "sim").unwrap();
        assert_eq!(specs[0].balance, Some(Money::from_units(350_000)));
        assert_eq!(specs[1].hardware, Hardware::P1cx);
        assert_eq!(specs[1].balance, None);
        let plain = dir.join("p.csv");
        std::fs::write(&plain, "EML2200000003,B1.w,1,wlce\n").unwrap();
        assert_eq!(load_file(&plain, "sim").unwrap()[0].esco, "wlce");
        let jsonl = dir.join("m.jsonl");
        std::fs::write(
            &jsonl,
            "{\"serial\":\"EML2200000004\",\"hardware\":\"EMA1.w\",\"balance\":12.5}\n",
        )
        .unwrap();
        assert_eq!(
            load_file(&jsonl, "sim").unwrap()[0].balance,
            Some(Money::from_units(1_250_000))
        );
        std::fs::write(
            &jsonl,
            "{\"serial\":\"EML2200000004\",\"hardware\":\"X\"}\n",
        )
        .unwrap();
        assert!(load_file(&jsonl, "sim").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
