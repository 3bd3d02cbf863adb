//! Profile logs over `sendRawMessage`: half-hourly records. Log 1 carries
//! the import registers (4 records a reply); log 2 export, reactive and
//! voltage (2 twin-element or 3 single-element records a reply; the reply
//! does not say which, the caller must). Requests and the echoed request
//! timestamp are big-endian; record numbers are little-endian.

use crate::bytes::{u16le, u32be, u32le};
use crate::data_field::{FORMAT_PROFILE_LOG_1, FORMAT_PROFILE_LOG_2};
use crate::error::CodecError;
use crate::time::{days_from_civil, utc_iso_from_seconds_since_2000, EPOCH_2000_UNIX};
use serde_json::{json, Map, Value};

pub const LOG_1_RECORDS: usize = 4;
pub const LOG_1_RECORD_LEN: usize = 14;
pub const LOG_2_TWIN_RECORDS: usize = 2;
pub const LOG_2_TWIN_RECORD_LEN: usize = 34;
pub const LOG_2_SINGLE_RECORDS: usize = 3;
pub const LOG_2_SINGLE_RECORD_LEN: usize = 22;

/// `03` + timestamp u4be.
pub fn profile_log_1_request(seconds_since_2000: u32) -> [u8; 5] {
    request(FORMAT_PROFILE_LOG_1, seconds_since_2000)
}

/// `04` + timestamp u4be.
pub fn profile_log_2_request(seconds_since_2000: u32) -> [u8; 5] {
    request(FORMAT_PROFILE_LOG_2, seconds_since_2000)
}

fn request(format: u8, t: u32) -> [u8; 5] {
    let b = t.to_be_bytes();
    [format, b[0], b[1], b[2], b[3]]
}

/// The two status bytes of a profile record, as a u16le.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordStatus(pub u16);

impl RecordStatus {
    const NAMES: [(&'static str, u8); 16] = [
        ("reset", 0),
        ("unused_10", 1),
        ("unused_9", 2),
        ("unused_8", 3),
        ("unused_7", 4),
        ("unused_6", 5),
        ("unused_5", 6),
        ("unused_4", 7),
        ("unused_3", 8),
        ("unused_2", 9),
        ("unused_1", 10),
        ("comms_error", 11),
        ("major_time_error", 12),
        ("minor_time_error", 13),
        ("power_fail", 14),
        ("valid_data", 15),
    ];

    fn bit(self, n: u8) -> bool {
        self.0 >> n & 1 == 1
    }

    pub fn valid_data(self) -> bool {
        self.bit(15)
    }
    pub fn power_fail(self) -> bool {
        self.bit(14)
    }
    pub fn minor_time_error(self) -> bool {
        self.bit(13)
    }
    pub fn major_time_error(self) -> bool {
        self.bit(12)
    }
    pub fn comms_error(self) -> bool {
        self.bit(11)
    }
    pub fn reset(self) -> bool {
        self.bit(0)
    }

    pub fn to_json(self) -> Value {
        let map: Map<String, Value> = Self::NAMES
            .iter()
            .map(|&(name, bit)| (name.to_string(), json!(self.bit(bit))))
            .collect();
        Value::Object(map)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Log1Record {
    pub timestamp: u32,
    pub status: RecordStatus,
    /// Cumulative import registers of elements A and B, reported raw (Wh by
    /// the reference's downstream use).
    pub import_a: u32,
    pub import_b: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log1Response {
    /// The request timestamp echoed by the meter (big-endian on the wire).
    pub request_timestamp: u32,
    pub records: Vec<Log1Record>,
}

/// Element-B values of a twin-element log-2 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Log2ElementB {
    pub active_export_b: u32,
    pub reactive_import_b: u32,
    pub reactive_export_b: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Log2Record {
    pub timestamp: u32,
    pub status: RecordStatus,
    pub active_export_a: u32,
    pub reactive_import_a: u32,
    pub reactive_export_a: u32,
    /// Reported raw; its unit is not established.
    pub voltage: u32,
    pub element_b: Option<Log2ElementB>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log2Response {
    pub is_twin_element: bool,
    pub request_timestamp: u32,
    pub records: Vec<Log2Record>,
}

fn need(message: &[u8], len: usize, what: &str) -> Result<(), CodecError> {
    if message.len() < len {
        return Err(CodecError::Malformed {
            what: what.to_string(),
            rule: format!(
                "reply of {} bytes is shorter than the {len} bytes parsed",
                message.len()
            ),
        });
    }
    Ok(())
}

/// Decodes a log-1 reply (the message, without the format byte): 4 records
/// exactly, extra bytes ignored.
pub fn decode_log_1(message: &[u8]) -> Result<Log1Response, CodecError> {
    need(
        message,
        4 + LOG_1_RECORDS * LOG_1_RECORD_LEN,
        "profile_log_1",
    )?;
    let records = (0..LOG_1_RECORDS)
        .map(|i| {
            let at = 4 + i * LOG_1_RECORD_LEN;
            Log1Record {
                timestamp: u32le(message, at),
                status: RecordStatus(u16le(message, at + 4)),
                import_a: u32le(message, at + 6),
                import_b: u32le(message, at + 10),
            }
        })
        .collect();
    Ok(Log1Response {
        request_timestamp: u32be(message, 0),
        records,
    })
}

/// Decodes a log-2 reply: 2 records of 34 bytes for twin-element meters, 3
/// of 22 for single-element ones.
pub fn decode_log_2(message: &[u8], is_twin_element: bool) -> Result<Log2Response, CodecError> {
    let (count, len) = if is_twin_element {
        (LOG_2_TWIN_RECORDS, LOG_2_TWIN_RECORD_LEN)
    } else {
        (LOG_2_SINGLE_RECORDS, LOG_2_SINGLE_RECORD_LEN)
    };
    need(message, 4 + count * len, "profile_log_2")?;
    let records = (0..count)
        .map(|i| {
            let at = 4 + i * len;
            Log2Record {
                timestamp: u32le(message, at),
                status: RecordStatus(u16le(message, at + 4)),
                active_export_a: u32le(message, at + 6),
                reactive_import_a: u32le(message, at + 10),
                reactive_export_a: u32le(message, at + 14),
                voltage: u32le(message, at + 18),
                element_b: is_twin_element.then(|| Log2ElementB {
                    active_export_b: u32le(message, at + 22),
                    reactive_import_b: u32le(message, at + 26),
                    reactive_export_b: u32le(message, at + 30),
                }),
            }
        })
        .collect();
    Ok(Log2Response {
        is_twin_element,
        request_timestamp: u32be(message, 0),
        records,
    })
}

impl Log1Response {
    pub fn to_json(&self) -> Value {
        let records: Vec<Value> = self
            .records
            .iter()
            .map(|r| {
                json!({
                    "timestamp": r.timestamp,
                    "status": r.status.to_json(),
                    "import_a": r.import_a,
                    "import_b": r.import_b,
                    "timestamp_datetime": utc_iso_from_seconds_since_2000(i64::from(r.timestamp)),
                })
            })
            .collect();
        json!({"request_timestamp": self.request_timestamp, "records": records})
    }
}

impl Log2Response {
    pub fn to_json(&self) -> Value {
        let records: Vec<Value> = self
            .records
            .iter()
            .map(|r| {
                let mut v = json!({
                    "is_twin_element": self.is_twin_element,
                    "timestamp": r.timestamp,
                    "status": r.status.to_json(),
                    "active_export_a": r.active_export_a,
                    "reactive_import_a": r.reactive_import_a,
                    "reactive_export_a": r.reactive_export_a,
                    "voltage": r.voltage,
                    "timestamp_datetime": utc_iso_from_seconds_since_2000(i64::from(r.timestamp)),
                });
                if let Some(b) = r.element_b {
                    v["active_export_b"] = json!(b.active_export_b);
                    v["reactive_import_b"] = json!(b.reactive_import_b);
                    v["reactive_export_b"] = json!(b.reactive_export_b);
                }
                v
            })
            .collect();
        json!({
            "is_twin_element": self.is_twin_element,
            "request_timestamp": self.request_timestamp,
            "records": records,
        })
    }
}

/// Request timestamps that walk one UTC day the way the reference
/// downloader does: log 1 every 2 h (4 records each), log 2 every 1 h for
/// twin element (2 records) or every 1 h 30 for single element (3 records).
/// Times outside the EMOP epoch are left out. The caller stops early when
/// a reply's first record is past the day (the meter then answers with its
/// next data, possibly months ahead).
pub fn day_request_times(
    year: i64,
    month: u32,
    day: u32,
    log: u8,
    is_twin_element: bool,
) -> Vec<u32> {
    let start = days_from_civil(year, month, day) * 86_400 - EPOCH_2000_UNIX;
    let step = match (log, is_twin_element) {
        (1, _) => 2 * 3600,
        (_, true) => 3600,
        (_, false) => 5400,
    };
    (0..86_400 / step)
        .filter_map(|i| u32::try_from(start + i * step).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_a_day() {
        let log1 = day_request_times(2024, 1, 3, 1, false);
        assert_eq!(log1.len(), 12);
        assert_eq!(
            profile_log_1_request(log1[0] + 3600),
            [0x03, 0x2d, 0x27, 0x6e, 0x10]
        );
        assert_eq!(day_request_times(2024, 1, 3, 2, true).len(), 24);
        let single = day_request_times(2024, 1, 3, 2, false);
        assert_eq!((single.len(), single[1] - single[0]), (16, 5400));
        assert!(day_request_times(1999, 12, 31, 1, false).is_empty());
    }

    #[test]
    fn short_replies_are_refused() {
        assert!(decode_log_1(&[0; 59]).is_err());
        assert!(decode_log_1(&[0; 61]).is_ok());
        assert!(decode_log_2(&[0; 71], true).is_err());
        assert!(decode_log_2(&[0; 70], false).is_ok());
    }
}
