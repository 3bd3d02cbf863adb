//! The EMOP data field: a format byte and a message. For the default format
//! the message is object id (3 bytes, big-endian) + read/write flag +
//! payload; raw formats (profile logs, event log, three-phase intervals)
//! carry their own message layouts (see those modules).

use crate::error::CodecError;
use crate::ids::ObjectId;

pub const FORMAT_DEFAULT: u8 = 0x01;
pub const FORMAT_PROFILE_LOG_1: u8 = 0x03;
pub const FORMAT_PROFILE_LOG_2: u8 = 0x04;
pub const FORMAT_EVENT_LOG: u8 = 0x05;
pub const FORMAT_THREE_PHASE_INTERVALS: u8 = 0x14;

pub const FLAG_READ: u8 = 0x00;
pub const FLAG_WRITE: u8 = 0x01;

/// Largest data field a frame can carry (its length byte counts 12 more).
pub const MAX_DATA_FIELD: usize = 243;
/// Largest payload of a default-format write: 243 − format − id − flag.
pub const MAX_WRITE_PAYLOAD: usize = MAX_DATA_FIELD - 5;

/// `01` + id + `00`: the data field of a `readElement`.
pub fn read_request(id: ObjectId) -> Vec<u8> {
    let mut df = vec![FORMAT_DEFAULT];
    df.extend_from_slice(&id.to_bytes());
    df.push(FLAG_READ);
    df
}

/// `01` + id + `01` + payload: the data field of a `writeElement`.
pub fn write_request(id: ObjectId, payload: &[u8]) -> Result<Vec<u8>, CodecError> {
    if payload.len() > MAX_WRITE_PAYLOAD {
        return Err(CodecError::Frame(format!(
            "write payload of {} bytes exceeds {MAX_WRITE_PAYLOAD} (one frame)",
            payload.len()
        )));
    }
    let mut df = vec![FORMAT_DEFAULT];
    df.extend_from_slice(&id.to_bytes());
    df.push(FLAG_WRITE);
    df.extend_from_slice(payload);
    Ok(df)
}

/// A meter's answer to a read, as the vectors' fake meter sends it:
/// `01` + id + `00` + payload. (What a real meter puts in the flag byte is
/// not established; the mediator ignores it.)
pub fn read_reply(id: ObjectId, payload: &[u8]) -> Vec<u8> {
    let mut df = read_request(id);
    df.extend_from_slice(payload);
    df
}

/// A write acknowledgement as the vectors' fake meter sends it: `01` + id +
/// `01`, no payload. The mediator accepts any parsable frame.
pub fn write_ack(id: ObjectId) -> Vec<u8> {
    let mut df = vec![FORMAT_DEFAULT];
    df.extend_from_slice(&id.to_bytes());
    df.push(FLAG_WRITE);
    df
}

/// A data field split into its format byte and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataField<'a> {
    pub format: u8,
    pub message: &'a [u8],
}

impl<'a> DataField<'a> {
    pub fn parse(df: &'a [u8]) -> Result<DataField<'a>, CodecError> {
        match df.split_first() {
            Some((&format, message)) => Ok(DataField { format, message }),
            None => Err(CodecError::Frame(
                "empty data field: no format byte".to_string(),
            )),
        }
    }

    /// The default-format message: object id, flag, payload.
    pub fn element(&self) -> Result<ElementMessage<'a>, CodecError> {
        if self.format != FORMAT_DEFAULT {
            return Err(CodecError::Frame(format!(
                "format {:#04x} is not the default (object) format",
                self.format
            )));
        }
        if self.message.len() < 4 {
            return Err(CodecError::Frame(format!(
                "default message of {} bytes: needs object id (3) and flag (1)",
                self.message.len()
            )));
        }
        Ok(ElementMessage {
            object_id: ObjectId::from_bytes([self.message[0], self.message[1], self.message[2]]),
            flag: self.message[3],
            payload: &self.message[4..],
        })
    }
}

/// The default-format message of a data field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementMessage<'a> {
    pub object_id: ObjectId,
    /// `00` read, `01` write.
    pub flag: u8,
    pub payload: &'a [u8],
}
