//! Three-phase interval profiles over `sendRawMessage` (format `14`): the
//! request ranges (at most 4 h per request, at most 24 h in all), the reply
//! block (start, interval length, channel ids, intervals of per-channel
//! u4le values) and the assembly of several blocks into one series.

use crate::bytes::{to_hex, u32le};
use crate::data_field::FORMAT_THREE_PHASE_INTERVALS;
use crate::error::CodecError;
use crate::ids::ObjectId;
use crate::time::{emop_seconds_from_micros, utc_iso_from_seconds_since_2000, DateTime};
use serde_json::{json, Map, Value};

pub const PROFILE_0: u8 = 0x00;
pub const PROFILE_1: u8 = 0x01;
pub const PROFILE_RESET: u8 = 0xff;

const HOUR_MICROS: i64 = 3_600_000_000;
/// The reference asks for at most 4 h per request so a reply fits the
/// mediator's single 512-byte read.
pub const MAX_REQUEST_HOURS: i64 = 4;
pub const MAX_RANGE_HOURS: i64 = 24;

/// `14`, profile, start u4be, end u4be, `ffffffff`.
pub fn request(profile: u8, start: u32, end: u32) -> [u8; 14] {
    let mut r = [0xff; 14];
    r[0] = FORMAT_THREE_PHASE_INTERVALS;
    r[1] = profile;
    r[2..6].copy_from_slice(&start.to_be_bytes());
    r[6..10].copy_from_slice(&end.to_be_bytes());
    r
}

/// The (start, end) pairs, seconds since 2000, the reference requests for a
/// `day` (00:00–23:30 UTC of that calendar date) or for start/end (checked
/// with the reference's messages), split into pieces of at most 4 h.
pub fn request_ranges(
    day: Option<&DateTime>,
    start: Option<&DateTime>,
    end: Option<&DateTime>,
) -> Result<Vec<(u32, u32)>, CodecError> {
    let (start, end) = match (day, start, end) {
        (Some(d), _, _) => {
            let midnight = DateTime {
                hour: 0,
                minute: 0,
                second: 0,
                micros: 0,
                offset_seconds: 0,
                ..*d
            };
            let s = midnight.micros_since_2000();
            (s, s + 23 * HOUR_MICROS + HOUR_MICROS / 2)
        }
        (None, Some(s), Some(e)) => {
            let (s, e) = (s.micros_since_2000(), e.micros_since_2000());
            if s >= e {
                return Err(CodecError::InvalidTimeRange(
                    "start_time must come before end_time",
                ));
            }
            if e > s + MAX_RANGE_HOURS * HOUR_MICROS {
                return Err(CodecError::InvalidTimeRange(
                    "max range between start_time and end_time is 24 hours",
                ));
            }
            (s, e)
        }
        _ => {
            return Err(CodecError::InvalidTimeRange(
                "start_time and end_time must be provided",
            ))
        }
    };
    let mut ranges = Vec::new();
    let mut current = start;
    while current < end {
        let piece_end = end.min(current + MAX_REQUEST_HOURS * HOUR_MICROS);
        ranges.push((
            emop_seconds_from_micros("start_time", current)?,
            emop_seconds_from_micros("end_time", piece_end)?,
        ));
        current = piece_end;
    }
    Ok(ranges)
}

/// Interval status: byte 0 bit 7 phase 1 voltage failure … bit 0 log reset;
/// byte 1 bit 7 valid data, bit 6 power fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalStatus(pub [u8; 2]);

impl IntervalStatus {
    const BYTE0: [&'static str; 8] = [
        "phase_1_voltage_failure",
        "phase_2_voltage_failure",
        "phase_3_voltage_failure",
        "security_access",
        "md_reset",
        "time_update",
        "unused_7",
        "log_reset",
    ];
    const BYTE1: [&'static str; 8] = [
        "valid_data",
        "power_fail",
        "unused_1",
        "unused_2",
        "unused_3",
        "unused_4",
        "unused_5",
        "unused_6",
    ];
    /// Flags in the order the reference's CSV lists them.
    pub const CSV_FLAGS: [&'static str; 9] = [
        "valid_data",
        "power_fail",
        "phase_1_voltage_failure",
        "phase_2_voltage_failure",
        "phase_3_voltage_failure",
        "security_access",
        "md_reset",
        "time_update",
        "log_reset",
    ];

    /// A flag by its reference name (MSB first within each byte).
    pub fn flag(self, name: &str) -> Option<bool> {
        for (byte, names) in [(self.0[0], Self::BYTE0), (self.0[1], Self::BYTE1)] {
            if let Some(i) = names.iter().position(|n| *n == name) {
                return Some(byte >> (7 - i) & 1 == 1);
            }
        }
        None
    }

    pub fn valid_data(self) -> bool {
        self.0[1] & 0x80 != 0
    }

    pub fn power_fail(self) -> bool {
        self.0[1] & 0x40 != 0
    }

    pub fn to_json(self) -> Value {
        let map: Map<String, Value> = Self::BYTE0
            .iter()
            .chain(Self::BYTE1.iter())
            .map(|n| (n.to_string(), json!(self.flag(n).expect("own name"))))
            .collect();
        Value::Object(map)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub status: IntervalStatus,
    /// One value per channel id, W (ax meters) or 0.1 W (cx meters).
    pub channel_data: Vec<u32>,
}

/// One reply: header bytes and the block they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub block_is_last: bool,
    pub block_number: u8,
    pub frame_is_last: bool,
    pub frame_number: u8,
    /// Seconds since 2000.
    pub block_start_time: u32,
    /// Minutes.
    pub interval_duration: u8,
    pub channel_ids: Vec<ObjectId>,
    pub intervals: Vec<Interval>,
}

/// Decodes a reply message: 2 header bytes, block start (u4le), interval
/// minutes, channel count, channel ids (3 bytes big-endian each), then as
/// many complete intervals as fit.
pub fn decode_block(message: &[u8]) -> Result<Block, CodecError> {
    let short = |need: usize| CodecError::Malformed {
        what: "three_phase_intervals".to_string(),
        rule: format!(
            "reply of {} bytes is shorter than its {need}-byte header",
            message.len()
        ),
    };
    if message.len() < 8 {
        return Err(short(8));
    }
    let n = usize::from(message[7]);
    let header = 8 + 3 * n;
    if message.len() < header {
        return Err(short(header));
    }
    let channel_ids = (0..n)
        .map(|i| {
            let at = 8 + 3 * i;
            ObjectId::from_bytes([message[at], message[at + 1], message[at + 2]])
        })
        .collect();
    let interval_len = 2 + 4 * n;
    let intervals = message[header..]
        .chunks_exact(interval_len)
        .map(|c| Interval {
            status: IntervalStatus([c[0], c[1]]),
            channel_data: (0..n).map(|i| u32le(c, 2 + 4 * i)).collect(),
        })
        .collect();
    Ok(Block {
        block_is_last: message[0] & 0x80 != 0,
        block_number: message[0] & 0x7f,
        frame_is_last: message[1] & 0x80 != 0,
        frame_number: message[1] & 0x7f,
        block_start_time: u32le(message, 2),
        interval_duration: message[6],
        channel_ids,
        intervals,
    })
}

/// The series of one or more replies, timed from the first block's start
/// (interval i starts at start + i × duration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreePhaseIntervals {
    pub block_start_time: u32,
    pub interval_duration: u8,
    pub channel_ids: Vec<ObjectId>,
    pub intervals: Vec<Interval>,
}

impl ThreePhaseIntervals {
    /// Concatenates the intervals of `blocks` in order; header fields come
    /// from the first block.
    pub fn assemble(blocks: &[Block]) -> Result<ThreePhaseIntervals, CodecError> {
        let first = blocks.first().ok_or_else(|| CodecError::Malformed {
            what: "three_phase_intervals".to_string(),
            rule: "no reply block to assemble".to_string(),
        })?;
        Ok(ThreePhaseIntervals {
            block_start_time: first.block_start_time,
            interval_duration: first.interval_duration,
            channel_ids: first.channel_ids.clone(),
            intervals: blocks
                .iter()
                .flat_map(|b| b.intervals.iter().cloned())
                .collect(),
        })
    }

    /// Start of interval `i`, seconds since 2000.
    pub fn interval_start(&self, i: usize) -> i64 {
        i64::from(self.block_start_time) + i as i64 * 60 * i64::from(self.interval_duration)
    }

    pub fn to_json(&self) -> Value {
        let intervals: Vec<Value> = self
            .intervals
            .iter()
            .map(|iv| {
                json!({
                    "num_channel_data": iv.channel_data.len(),
                    "status": iv.status.to_json(),
                    "channel_data": iv.channel_data,
                })
            })
            .collect();
        json!({
            "block_start_time": utc_iso_from_seconds_since_2000(i64::from(self.block_start_time)),
            "interval_duration": self.interval_duration,
            "num_channel_ids": self.channel_ids.len(),
            "channel_ids": self.channel_ids.iter().map(|id| to_hex(&id.to_bytes())).collect::<Vec<_>>(),
            "intervals": intervals,
        })
    }

    /// The reference's CSV export: `created_at`, one kW column per channel
    /// (W ÷ 1000 for whole-current meters, 0.1 W ÷ 10 000 for CT-operated,
    /// zero written `0`), optionally the status flags as `True`/`False`.
    pub fn to_csv(&self, whole_current: bool, include_statuses: bool) -> String {
        let mut header = vec!["created_at".to_string()];
        header.extend(self.channel_ids.iter().map(|id| channel_name(*id)));
        let with_statuses = include_statuses && !self.intervals.is_empty();
        if with_statuses {
            header.extend(IntervalStatus::CSV_FLAGS.iter().map(|s| s.to_string()));
        }
        let mut out = header.join(",") + "\n";
        let scale_digits = if whole_current { 3 } else { 4 };
        for (i, iv) in self.intervals.iter().enumerate() {
            let mut row = vec![utc_iso_from_seconds_since_2000(self.interval_start(i))];
            row.extend(iv.channel_data.iter().map(|&v| kw_text(v, scale_digits)));
            if with_statuses {
                row.extend(IntervalStatus::CSV_FLAGS.iter().map(|f| {
                    if iv.status.flag(f).expect("own name") {
                        "True".to_string()
                    } else {
                        "False".to_string()
                    }
                }));
            }
            out += &(row.join(",") + "\n");
        }
        out
    }
}

/// Column names the reference gives channel ids; other ids keep their hex.
pub fn channel_name(id: ObjectId) -> String {
    match id.value() {
        0xd79600..=0xd79607 => id.name().expect("demand ids are named").to_string(),
        0x010800 => "total_active_energy_import".to_string(),
        0x020800 => "total_active_energy_export".to_string(),
        0x030800 => "total_reactive_energy_import".to_string(),
        0x040800 => "total_reactive_energy_export".to_string(),
        0x090800 => "total_apparent_energy_import".to_string(),
        0x100800 => "total_apparent_energy_export".to_string(),
        _ => id.hex(),
    }
}

/// `value / 10^digits` spelled as Python prints the float (exact for these
/// magnitudes: `77.19`, `5.0`), zero as `0`.
fn kw_text(value: u32, digits: u32) -> String {
    if value == 0 {
        return "0".to_string();
    }
    let divisor = 10u32.pow(digits);
    let frac = format!("{:0width$}", value % divisor, width = digits as usize);
    let frac = frac.trim_end_matches('0');
    format!(
        "{}.{}",
        value / divisor,
        if frac.is_empty() { "0" } else { frac }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kw_spelling() {
        assert_eq!(kw_text(77190, 3), "77.19");
        assert_eq!(kw_text(5000, 3), "5.0");
        assert_eq!(kw_text(1, 4), "0.0001");
        assert_eq!(kw_text(0, 4), "0");
    }

    #[test]
    fn ranges() {
        let p = |s| DateTime::parse("t", s).unwrap();
        let r = request_ranges(
            None,
            Some(&p("2022-01-09T00:00:00Z")),
            Some(&p("2022-01-09T10:00:00Z")),
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].1 - r[2].0, 7200);
        let e = request_ranges(
            None,
            Some(&p("2022-01-09T00:00:00Z")),
            Some(&p("2022-01-10T00:00:01Z")),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "max range between start_time and end_time is 24 hours"
        );
        let e = request_ranges(
            None,
            Some(&p("2022-01-09T00:00:00Z")),
            Some(&p("2022-01-09T00:00:00Z")),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "start_time must come before end_time"
        );
        assert!(request_ranges(None, None, Some(&p("2022-01-09T00:00:00Z"))).is_err());
    }
}
