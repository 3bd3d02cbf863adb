//! The command model as the worker sees it: what a claimed command carries
//! and how an attempt's outcome is reported back to SQL, plus retry timing.
//! Pure Rust (serde_json values), so it is unit-tested without a database.

pub mod backoff;

use serde_json::{json, Value};

/// A claimed command, as `flows.worker_claim` returns it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub serial: String,
    pub hardware: Option<String>,
    pub operation: String,
    pub args: Value,
    pub progress: Value,
    pub attempts: u32,
    pub mediator: MediatorRow,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediatorRow {
    pub name: String,
    pub address: String,
    pub tls_ca_pem: Option<String>,
    pub tls_client_cert_pem: Option<String>,
    pub tls_client_key_pem: Option<String>,
    pub tls_server_name: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl Claimed {
    pub fn list_from_json(v: &Value) -> Result<Vec<Claimed>, String> {
        let items = v.as_array().ok_or("worker_claim did not return an array")?;
        items.iter().map(Claimed::from_json).collect()
    }

    fn from_json(v: &Value) -> Result<Claimed, String> {
        let m = v
            .get("mediator")
            .ok_or("claimed command without mediator")?;
        Ok(Claimed {
            id: v
                .get("id")
                .and_then(Value::as_i64)
                .ok_or("claimed command without id")?,
            serial: text(v, "serial").ok_or("claimed command without serial")?,
            hardware: text(v, "hardware"),
            operation: text(v, "operation").ok_or("claimed command without operation")?,
            args: v.get("args").cloned().unwrap_or_else(|| json!({})),
            progress: v.get("progress").cloned().unwrap_or_else(|| json!({})),
            attempts: v.get("attempts").and_then(Value::as_u64).unwrap_or(1) as u32,
            mediator: MediatorRow {
                name: text(m, "name").unwrap_or_default(),
                address: text(m, "address").ok_or("mediator without address")?,
                tls_ca_pem: text(m, "tls_ca_pem"),
                tls_client_cert_pem: text(m, "tls_client_cert_pem"),
                tls_client_key_pem: text(m, "tls_client_key_pem"),
                tls_server_name: text(m, "tls_server_name"),
            },
        })
    }
}

/// How one attempt ended, in the shape `flows.worker_complete` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    Succeeded {
        id: i64,
        result: Value,
    },
    Failed {
        id: i64,
        class: &'static str,
        code: String,
        message: String,
        partial: Value,
        retry_at_unix_ms: Option<i64>,
    },
}

impl Completion {
    pub fn to_json(&self) -> Value {
        match self {
            Completion::Succeeded { id, result } => {
                json!({"id": id, "status": "succeeded", "result": result})
            }
            Completion::Failed {
                id,
                class,
                code,
                message,
                partial,
                retry_at_unix_ms,
            } => {
                let mut o = json!({"id": id, "status": "failed", "class": class, "code": code,
                                   "message": message, "partial": partial});
                if let Some(ms) = retry_at_unix_ms {
                    o["retry_at"] = Value::String(unix_ms_to_iso(*ms));
                }
                o
            }
        }
    }
}

fn unix_ms_to_iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let (y, mo, d) = flows_core::time::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_claimed_command() {
        let v = json!([{"id": 7, "serial": "EML2200000001", "hardware": "C1.w", "operation": "csq", "args": {},
                        "progress": {}, "attempts": 2, "max_attempts": 5,
                        "mediator": {"id": "x", "name": "sim", "address": "127.0.0.1:50051", "tls_ca_pem": null}}]);
        let c = &Claimed::list_from_json(&v).unwrap()[0];
        assert_eq!(
            (c.id, c.attempts, c.serial.as_str()),
            (7, 2, "EML2200000001")
        );
        assert_eq!(c.mediator.address, "127.0.0.1:50051");
        assert_eq!(c.mediator.tls_ca_pem, None);
        assert!(Claimed::list_from_json(&json!([{"id": 1}])).is_err());
    }

    #[test]
    fn failure_json_carries_retry_time() {
        let f = Completion::Failed {
            id: 3,
            class: "retryable",
            code: "RESOURCE_EXHAUSTED".into(),
            message: "busy".into(),
            partial: json!({}),
            retry_at_unix_ms: Some(1_700_000_000_123),
        };
        assert_eq!(f.to_json()["retry_at"], "2023-11-14T22:13:20.123Z");
        assert_eq!(f.to_json()["class"], "retryable");
    }
}
