//! Object ids: the 24-bit addresses of meter registers. Any 24-bit value is
//! representable (obis_write may address ids outside the reference enum);
//! the 213 named ones come from the generated table.

mod table;

use crate::error::CodecError;
use std::fmt;

/// A 3-byte object id, big-endian on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(u32);

impl ObjectId {
    pub const MAX: u32 = 0x00ff_ffff;

    pub const fn from_u32(raw: u32) -> Option<ObjectId> {
        if raw <= Self::MAX {
            Some(ObjectId(raw))
        } else {
            None
        }
    }

    pub const fn from_bytes(b: [u8; 3]) -> ObjectId {
        ObjectId((b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32)
    }

    pub const fn to_bytes(self) -> [u8; 3] {
        [(self.0 >> 16) as u8, (self.0 >> 8) as u8, self.0 as u8]
    }

    /// The plain integer the gRPC `objectId` field carries.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// Six lowercase hex digits, the vectors' and SQL's spelling.
    pub fn hex(self) -> String {
        format!("{:06x}", self.0)
    }

    /// The reference enum name, if the id is one of the 213.
    pub fn name(self) -> Option<&'static str> {
        table::NAMED
            .binary_search_by_key(&self, |&(_, id)| id)
            .ok()
            .map(|i| table::NAMED[i].0)
    }

    /// The name if known, else `0x…` the way the reference client prints an
    /// unnamed id in its error messages (Python `hex()`, no padding).
    pub fn describe(self) -> String {
        match self.name() {
            Some(name) => name.to_string(),
            None => format!("{:#x}", self.0),
        }
    }

    pub fn from_name(name: &str) -> Result<ObjectId, CodecError> {
        table::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, id)| id)
            .ok_or_else(|| CodecError::UnknownObjectName(name.to_string()))
    }

    /// Six hex digits, either case, optionally prefixed `0x`.
    pub fn from_hex(text: &str) -> Result<ObjectId, CodecError> {
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CodecError::InvalidObjectId(text.to_string()));
        }
        u32::from_str_radix(digits, 16)
            .map(ObjectId)
            .map_err(|_| CodecError::InvalidObjectId(text.to_string()))
    }

    /// A reference name or six hex digits. No name is six hex digits, so the
    /// two spellings cannot collide.
    pub fn parse(text: &str) -> Result<ObjectId, CodecError> {
        if let Ok(id) = ObjectId::from_hex(text) {
            return Ok(id);
        }
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CodecError::InvalidObjectId(text.to_string()));
        }
        ObjectId::from_name(text)
    }

    /// `a.b.c` → `a<<16 | b<<8 | c`, the reference's OBIS-triplet addressing.
    pub fn from_obis(triplet: &str) -> Result<ObjectId, CodecError> {
        let bad = || CodecError::InvalidObis(triplet.to_string());
        let parts: Vec<&str> = triplet.split('.').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let mut raw = 0u32;
        for part in parts {
            if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let byte: u8 = part.parse().map_err(|_| bad())?;
            raw = raw << 8 | u32::from(byte);
        }
        Ok(ObjectId(raw))
    }

    /// All named ids, sorted by id.
    pub fn all_named() -> impl Iterator<Item = (&'static str, ObjectId)> {
        table::NAMED.iter().copied()
    }

    /// `tariff_{active,future}_block_{b}_rate_{r}` for b, r in 1..=8.
    pub fn tariff_block_rate(active: bool, block: u8, rate: u8) -> Option<ObjectId> {
        if !(1..=8).contains(&block) || !(1..=8).contains(&rate) {
            return None;
        }
        let base = if active { 0xfff900 } else { 0xfff800 };
        Some(ObjectId(base + 8 * u32::from(block - 1) + u32::from(rate)))
    }

    /// `tariff_{active,future}_element_b_tou_rate_{n}` for n in 1..=4.
    pub fn tariff_element_b_tou_rate(active: bool, n: u8) -> Option<ObjectId> {
        if !(1..=4).contains(&n) {
            return None;
        }
        let base = if active { 0xfff700 } else { 0xfff600 };
        Some(ObjectId(base + u32::from(n)))
    }

    /// One of the 136 block / element-B tou price ids.
    pub fn is_tariff_block_or_tou_rate(self) -> bool {
        matches!(self.0, 0xfff801..=0xfff840 | 0xfff901..=0xfff940 | 0xfff601..=0xfff604 | 0xfff701..=0xfff704)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06x}", self.0)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "ObjectId({:06x} {name})", self.0),
            None => write!(f, "ObjectId({:06x})", self.0),
        }
    }
}
