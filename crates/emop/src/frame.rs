//! Complete EMOP frames on TCP (mediator ↔ meter): delimiter `7e`, length,
//! addresses, control, data field, CRC-16/CCITT-FALSE sent high byte first.
//! No byte stuffing. Built the way the mediator builds requests; parsed the
//! way it parses replies (length checked, CRC reported but not enforced).

use crate::bytes::to_hex;
use crate::data_field::MAX_DATA_FIELD;
use crate::error::CodecError;

pub const DELIMITER: u8 = 0x7e;
/// Bytes between the length byte and the data field, plus the length byte
/// and the CRC: the length byte is 12 + data-field length.
pub const OVERHEAD: usize = 12;
/// The mediator's source address (2207298) and control byte.
pub const MEDIATOR_SOURCE_ADDRESS: [u8; 3] = [0x21, 0xae, 0x42];
pub const MEDIATOR_CONTROL: u8 = 0x05;

/// CRC-16/CCITT-FALSE: poly 0x1021, init 0xffff, no reflection, no xor-out.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xffff;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                crc << 1 ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub destination_device_type: u8,
    pub destination_address: [u8; 3],
    pub source_device_type: u8,
    pub source_address: [u8; 3],
    pub control: u8,
    /// Format byte + message.
    pub data_field: Vec<u8>,
}

/// A frame read off the wire, with its CRC as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFrame {
    pub frame: Frame,
    pub crc: u16,
    /// Bytes of the input the frame occupied (anything after is ignored).
    pub consumed: usize,
}

impl ParsedFrame {
    pub fn crc_ok(&self) -> bool {
        self.crc == self.frame.computed_crc()
    }
}

impl Frame {
    /// A frame with the mediator's header: destination all zero, source
    /// `00 21ae42`, control `05`. Meters' replies in the vectors use the
    /// same header, so a simulator can answer with it too.
    pub fn from_mediator(data_field: Vec<u8>) -> Frame {
        Frame {
            destination_device_type: 0,
            destination_address: [0; 3],
            source_device_type: 0,
            source_address: MEDIATOR_SOURCE_ADDRESS,
            control: MEDIATOR_CONTROL,
            data_field,
        }
    }

    /// The frame length byte: bytes after the delimiter.
    pub fn length_byte(&self) -> usize {
        OVERHEAD + self.data_field.len()
    }

    /// Control bit 0.
    pub fn seq_num(&self) -> u8 {
        self.control & 0x01
    }

    /// Control bit 7 (0 = ok); nothing in the mediator looks at it.
    pub fn ack_nak(&self) -> u8 {
        self.control & 0x80
    }

    /// The format byte (0 for a frame built without a data field, which
    /// `encode` refuses anyway).
    pub fn format(&self) -> u8 {
        self.data_field.first().copied().unwrap_or(0)
    }

    pub fn message(&self) -> &[u8] {
        self.data_field.get(1..).unwrap_or(&[])
    }

    /// Length byte through the end of the data field: what the CRC covers.
    fn covered(&self) -> Vec<u8> {
        let mut c = Vec::with_capacity(self.length_byte() - 2);
        c.push(self.length_byte() as u8);
        c.push(self.destination_device_type);
        c.extend_from_slice(&self.destination_address);
        c.push(self.source_device_type);
        c.extend_from_slice(&self.source_address);
        c.push(self.control);
        c.extend_from_slice(&self.data_field);
        c
    }

    pub fn computed_crc(&self) -> u16 {
        crc16(&self.covered())
    }

    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        if self.data_field.is_empty() || self.data_field.len() > MAX_DATA_FIELD {
            return Err(CodecError::Frame(format!(
                "data field of {} bytes: must be 1 to {MAX_DATA_FIELD}",
                self.data_field.len()
            )));
        }
        let covered = self.covered();
        let mut out = Vec::with_capacity(covered.len() + 3);
        out.push(DELIMITER);
        out.extend_from_slice(&covered);
        out.extend_from_slice(&crc16(&covered).to_be_bytes());
        Ok(out)
    }

    /// Parses one frame from the start of `bytes`. The length byte must not
    /// promise more than was received and must leave room for a format
    /// byte; the CRC is returned, not enforced (the mediator does not check
    /// it either; see `ParsedFrame::crc_ok`).
    pub fn parse(bytes: &[u8]) -> Result<ParsedFrame, CodecError> {
        if bytes.len() < 2 {
            return Err(CodecError::Frame(format!(
                "{} bytes is too short for a frame",
                bytes.len()
            )));
        }
        if bytes[0] != DELIMITER {
            return Err(CodecError::Frame(format!(
                "starts with {:#04x}, not the 7e delimiter",
                bytes[0]
            )));
        }
        let length = usize::from(bytes[1]);
        if length < OVERHEAD + 1 {
            return Err(CodecError::Frame(format!(
                "length byte {length} leaves no data field"
            )));
        }
        if bytes.len() < length + 1 {
            return Err(CodecError::Frame(format!(
                "length byte promises {} bytes, {} received",
                length + 1,
                bytes.len()
            )));
        }
        let b = &bytes[..length + 1];
        let data_end = length - 1;
        Ok(ParsedFrame {
            frame: Frame {
                destination_device_type: b[2],
                destination_address: [b[3], b[4], b[5]],
                source_device_type: b[6],
                source_address: [b[7], b[8], b[9]],
                control: b[10],
                data_field: b[11..data_end].to_vec(),
            },
            crc: u16::from_be_bytes([b[data_end], b[data_end + 1]]),
            consumed: length + 1,
        })
    }

    /// A one-line description for logs and simulators.
    pub fn describe(&self) -> String {
        format!(
            "dst {:02x}/{} src {:02x}/{} ctl {:02x} fmt {:02x} msg {}",
            self.destination_device_type,
            to_hex(&self.destination_address),
            self.source_device_type,
            to_hex(&self.source_address),
            self.control,
            self.format(),
            to_hex(self.message())
        )
    }
}
