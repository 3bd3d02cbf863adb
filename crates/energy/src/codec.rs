//! Compact binary encoding shared by the serialized aggregate states: a version
//! byte first, then LEB128 varints (zig-zag for signed). Decoding never panics
//! and never allocates more than the input can describe.

use crate::error::{Error, Result};

pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(version: u8) -> Writer {
        Writer { buf: vec![version] }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn uvar(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub(crate) fn ivar(&mut self, v: i64) {
        self.uvar(((v << 1) ^ (v >> 63)) as u64);
    }

    pub(crate) fn i128var(&mut self, v: i128) {
        let z = ((v << 1) ^ (v >> 127)) as u128;
        let mut z = z;
        while z >= 0x80 {
            self.buf.push((z as u8) | 0x80);
            z >>= 7;
        }
        self.buf.push(z as u8);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the version byte against the one version this build writes.
    pub(crate) fn new(buf: &'a [u8], version: u8) -> Result<Reader<'a>> {
        match buf.first() {
            None => Err(Error::Truncated),
            Some(&v) if v != version => Err(Error::UnknownVersion { found: v }),
            Some(_) => Ok(Reader { buf, pos: 1 }),
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(Error::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Corrupt("boolean byte")),
        }
    }

    pub(crate) fn uvar(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Error::Corrupt("varint overflow"));
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::Corrupt("varint too long"))
    }

    pub(crate) fn ivar(&mut self) -> Result<i64> {
        let z = self.uvar()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub(crate) fn i128var(&mut self) -> Result<i128> {
        let mut z: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.u8()?;
            let bits = u128::from(b & 0x7f);
            if shift == 126 && bits > 3 {
                return Err(Error::Corrupt("varint overflow"));
            }
            z |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i128) ^ -((z & 1) as i128));
            }
        }
        Err(Error::Corrupt("varint too long"))
    }

    /// A count of items that each take at least `min_bytes`: refuses counts the
    /// remaining input cannot hold, so a corrupt count cannot force a huge
    /// allocation.
    pub(crate) fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.uvar()?;
        let max = (self.remaining() / min_bytes.max(1)) as u64;
        if n > max {
            return Err(Error::Truncated);
        }
        Ok(n as usize)
    }

    pub(crate) fn end(self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(Error::Corrupt("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(a in any::<u64>(), b in any::<i64>(), c in any::<i128>()) {
            let mut w = Writer::new(7);
            w.uvar(a);
            w.ivar(b);
            w.i128var(c);
            let bytes = w.finish();
            let mut r = Reader::new(&bytes, 7).unwrap();
            prop_assert_eq!(r.uvar().unwrap(), a);
            prop_assert_eq!(r.ivar().unwrap(), b);
            prop_assert_eq!(r.i128var().unwrap(), c);
            r.end().unwrap();
            // Every strict prefix is refused as truncated, never misread.
            for cut in 1..bytes.len() {
                let mut r = Reader::new(&bytes[..cut], 7).unwrap();
                let res = r.uvar().and_then(|_| r.ivar()).and_then(|_| r.i128var());
                prop_assert_eq!(res, Err(Error::Truncated));
            }
        }
    }

    #[test]
    fn version_byte_is_checked() {
        assert_eq!(Reader::new(&[], 1).err(), Some(Error::Truncated));
        assert_eq!(
            Reader::new(&[2, 0], 1).err(),
            Some(Error::UnknownVersion { found: 2 })
        );
    }
}
