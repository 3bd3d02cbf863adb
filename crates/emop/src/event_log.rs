//! The meter event log over `sendRawMessage`: ten pages (index 0–9) of ten
//! events each; index 0 holds the newest events, newest first.

use crate::bytes::{to_hex, u32le};
use crate::data_field::FORMAT_EVENT_LOG;
use crate::enums::{EVENT_ID, READ_WRITE_FLAGS};
use crate::error::CodecError;
use crate::ids::ObjectId;
use serde_json::{json, Value};

pub const EVENTS_PER_PAGE: usize = 10;
const EVENT_LEN: usize = 6;
const PARSED_LEN: usize = 4 + EVENTS_PER_PAGE * EVENT_LEN;

/// `05` + `ffff49` + index, refusing indexes outside 0–9 before any call.
pub fn event_log_request(log_idx: i64) -> Result<[u8; 5], CodecError> {
    let idx = u8::try_from(log_idx)
        .ok()
        .filter(|i| *i <= 9)
        .ok_or(CodecError::InvalidLogIndex(log_idx))?;
    let id = ObjectId::EVENT_LOG.to_bytes();
    Ok([FORMAT_EVENT_LOG, id[0], id[1], id[2], idx])
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Seconds since 2000.
    pub timestamp: u32,
    /// `EventIdType` member, or a raw number outside it (the reference sync
    /// job drops id 0).
    pub event_id: u8,
    /// Meaning not established.
    pub event_set: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogPage {
    pub object_id: ObjectId,
    /// The byte after the object id, parsed by the reference as a
    /// read/write flag; the vectors echo the index there.
    pub read_write: u8,
    pub events: Vec<Event>,
}

/// Decodes a reply message: object id, one byte, ten 6-byte events; extra
/// bytes ignored.
pub fn decode_event_log(message: &[u8]) -> Result<EventLogPage, CodecError> {
    if message.len() < PARSED_LEN {
        return Err(CodecError::Malformed {
            what: "event_log".to_string(),
            rule: format!(
                "reply of {} bytes is shorter than the {PARSED_LEN} bytes parsed",
                message.len()
            ),
        });
    }
    let events = (0..EVENTS_PER_PAGE)
        .map(|i| {
            let at = 4 + i * EVENT_LEN;
            Event {
                timestamp: u32le(message, at),
                event_id: message[at + 4],
                event_set: message[at + 5],
            }
        })
        .collect();
    Ok(EventLogPage {
        object_id: ObjectId::from_bytes([message[0], message[1], message[2]]),
        read_write: message[3],
        events,
    })
}

impl EventLogPage {
    pub fn to_json(&self) -> Value {
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                json!({
                    "timestamp": e.timestamp,
                    "event_id": EVENT_ID.to_json(e.event_id),
                    "event_set": e.event_set,
                })
            })
            .collect();
        json!({
            "object_id": to_hex(&self.object_id.to_bytes()),
            "read_write": READ_WRITE_FLAGS.to_json(self.read_write),
            "events": events,
        })
    }
}
