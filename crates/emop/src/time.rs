//! Time on the wire: seconds since 2000-01-01T00:00:00Z (the EMOP epoch) as
//! u4 numbers, and the 7-byte clock record (year−2000, month, day, hour,
//! minute, second, day of week with 0 = Sunday). Civil-date arithmetic is
//! done by hand (proleptic Gregorian, days from civil).

use crate::error::CodecError;
use std::fmt;

pub use flows_core::time::{civil_from_days, days_from_civil, days_in_month, EPOCH_2000_UNIX};
const MICROS: i64 = 1_000_000;

/// An ISO 8601 date-time with its UTC offset, fields kept as written (the
/// clock record is filled from the fields, the u4 timestamps from the
/// instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
    /// Offset east of UTC in seconds.
    pub offset_seconds: i32,
}

impl DateTime {
    /// `YYYY-MM-DDTHH:MM[:SS[.ffffff]]` followed by `Z`, `±HH`, `±HHMM` or
    /// `±HH:MM` (a space may replace the `T`, as PostgreSQL prints it). A
    /// bare date `YYYY-MM-DD` is midnight UTC. A date-time without an
    /// offset is refused: meters keep UTC and we will not guess.
    pub fn parse(field: &str, text: &str) -> Result<DateTime, CodecError> {
        let fail = |rule: &str| CodecError::InvalidDateTime {
            field: field.to_string(),
            value: text.to_string(),
            rule: rule.to_string(),
        };
        let s = text.trim();
        let b = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<u32> {
            let part = s.get(from..from + len)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        if !s.is_ascii() {
            return Err(fail("ISO 8601 text is ASCII"));
        }
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(fail("expected YYYY-MM-DD"));
        }
        let year = i64::from(num(0, 4).ok_or_else(|| fail("bad year"))?);
        let month = num(5, 2).ok_or_else(|| fail("bad month"))?;
        let day = num(8, 2).ok_or_else(|| fail("bad day"))?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(fail("no such calendar date"));
        }
        let mut dt = DateTime {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
            micros: 0,
            offset_seconds: 0,
        };
        if b.len() == 10 {
            return Ok(dt);
        }
        if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
            return Err(fail("expected T between date and time"));
        }
        let mut i = 11;
        dt.hour = num(i, 2).ok_or_else(|| fail("bad hour"))?;
        if b.get(i + 2) != Some(&b':') {
            return Err(fail("expected HH:MM"));
        }
        dt.minute = num(i + 3, 2).ok_or_else(|| fail("bad minute"))?;
        i += 5;
        if b.get(i) == Some(&b':') {
            dt.second = num(i + 1, 2).ok_or_else(|| fail("bad second"))?;
            i += 3;
            if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && b[end].is_ascii_digit() {
                    end += 1;
                }
                if end == start {
                    return Err(fail("empty fraction of a second"));
                }
                // Microseconds, further digits truncated like Python does.
                let mut frac: String = s[start..end].chars().take(6).collect();
                while frac.len() < 6 {
                    frac.push('0');
                }
                dt.micros = frac.parse().map_err(|_| fail("bad fraction"))?;
                i = end;
            }
        }
        if dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
            return Err(fail("time of day out of range"));
        }
        let rest = &s[i..];
        dt.offset_seconds = match rest {
            "Z" | "z" => 0,
            "" => return Err(fail("a UTC offset (Z or ±HH:MM) is required")),
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return Err(fail("expected Z or ±HH:MM after the time")),
                };
                let body = &rest[1..];
                let (h, m) = match body.len() {
                    2 => (body, "00"),
                    4 => (&body[..2], &body[2..]),
                    5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
                    _ => return Err(fail("bad UTC offset")),
                };
                let h: i32 = h.parse().map_err(|_| fail("bad UTC offset"))?;
                let m: i32 = m.parse().map_err(|_| fail("bad UTC offset"))?;
                if h > 23 || m > 59 {
                    return Err(fail("UTC offset out of range"));
                }
                sign * (h * 3600 + m * 60)
            }
        };
        Ok(dt)
    }

    /// Microseconds since the EMOP epoch of this instant (offset applied).
    pub fn micros_since_2000(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let local = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        let utc = local - i64::from(self.offset_seconds) - EPOCH_2000_UNIX;
        utc * MICROS + i64::from(self.micros)
    }

    /// Seconds since 2000 as a u4 on the wire: offset applied, fraction
    /// truncated, refused outside 2000-01-01 … 2136-02-07T06:28:15Z.
    pub fn emop_seconds(&self, field: &str) -> Result<u32, CodecError> {
        emop_seconds_from_micros(field, self.micros_since_2000())
    }

    /// This instant expressed in UTC.
    pub fn to_utc(self) -> DateTime {
        let micros = self.micros_since_2000();
        let mut dt = utc_from_seconds_since_2000(micros.div_euclid(MICROS));
        dt.micros = micros.rem_euclid(MICROS) as u32;
        dt
    }

    /// 0 = Sunday … 6 = Saturday, of the date as written.
    pub fn day_of_week(&self) -> u8 {
        // 1970-01-01 was a Thursday.
        (days_from_civil(self.year, self.month, self.day) + 4).rem_euclid(7) as u8
    }
}

/// Python `isoformat()` spelling: fraction only when non-zero, `+00:00`.
impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.micros != 0 {
            write!(f, ".{:06}", self.micros)?;
        }
        let sign = if self.offset_seconds < 0 { '-' } else { '+' };
        let off = self.offset_seconds.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", off / 3600, off % 3600 / 60)
    }
}

pub(crate) fn emop_seconds_from_micros(field: &str, micros: i64) -> Result<u32, CodecError> {
    let seconds = micros.div_euclid(MICROS);
    u32::try_from(seconds).map_err(|_| CodecError::TimeOutOfRange {
        field: field.to_string(),
        value: utc_iso_from_seconds_since_2000(seconds),
        rule: "EMOP timestamps are u4 seconds since 2000-01-01T00:00:00Z",
    })
}

/// The UTC date-time `seconds` after the EMOP epoch.
pub fn utc_from_seconds_since_2000(seconds: i64) -> DateTime {
    let unix = seconds + EPOCH_2000_UNIX;
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let sod = unix.rem_euclid(86_400);
    DateTime {
        year,
        month,
        day,
        hour: (sod / 3600) as u32,
        minute: (sod % 3600 / 60) as u32,
        second: (sod % 60) as u32,
        micros: 0,
        offset_seconds: 0,
    }
}

/// ISO text of an EMOP timestamp: `2024-04-01T00:00:00+00:00`.
pub fn utc_iso_from_seconds_since_2000(seconds: i64) -> String {
    utc_from_seconds_since_2000(seconds).to_string()
}

/// The 7-byte clock record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRecord {
    /// Years since 2000.
    pub year: u8,
    pub month: u8,
    pub date: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// 0 = Sunday … 6 = Saturday; other bytes are kept as read.
    pub day_of_week: u8,
}

impl TimeRecord {
    pub const LEN: usize = 7;

    /// Fills the record from the fields of `dt` as written (the reference
    /// does not convert; callers that mean UTC pass `dt.to_utc()`).
    pub fn from_fields(field: &str, dt: &DateTime) -> Result<TimeRecord, CodecError> {
        let year = u8::try_from(dt.year - 2000).map_err(|_| CodecError::TimeOutOfRange {
            field: field.to_string(),
            value: dt.to_string(),
            rule: "the clock record holds years 2000 to 2255",
        })?;
        Ok(TimeRecord {
            year,
            month: dt.month as u8,
            date: dt.day as u8,
            hour: dt.hour as u8,
            minute: dt.minute as u8,
            second: dt.second as u8,
            day_of_week: dt.day_of_week(),
        })
    }

    pub fn to_bytes(self) -> [u8; 7] {
        [
            self.year,
            self.month,
            self.date,
            self.hour,
            self.minute,
            self.second,
            self.day_of_week,
        ]
    }

    pub fn from_bytes(b: &[u8; 7]) -> TimeRecord {
        TimeRecord {
            year: b[0],
            month: b[1],
            date: b[2],
            hour: b[3],
            minute: b[4],
            second: b[5],
            day_of_week: b[6],
        }
    }

    /// The UTC date-time the record names, day of week ignored (as the
    /// reference reads the clock); `None` if it is not a real date-time.
    pub fn to_utc(self) -> Option<DateTime> {
        let year = 2000 + i64::from(self.year);
        let (month, day) = (u32::from(self.month), u32::from(self.date));
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return None;
        }
        Some(DateTime {
            year,
            month,
            day,
            hour: u32::from(self.hour),
            minute: u32::from(self.minute),
            second: u32::from(self.second),
            micros: 0,
            offset_seconds: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_weekday() {
        let dt = DateTime::parse("t", "2000-01-01T00:00:00+00:00").unwrap();
        assert_eq!(dt.emop_seconds("t").unwrap(), 0);
        assert_eq!(dt.day_of_week(), 6); // Saturday
        let dt = DateTime::parse("t", "2024-04-01T01:00:00+01:00").unwrap();
        assert_eq!(dt.emop_seconds("t").unwrap(), 765_244_800);
    }

    #[test]
    fn offsets_and_fractions() {
        let dt = DateTime::parse("t", "2025-02-24T20:20:15-05:00").unwrap();
        assert_eq!(dt.to_utc().to_string(), "2025-02-25T01:20:15+00:00");
        let dt = DateTime::parse("t", "2024-04-01 00:00:30.999999+00").unwrap();
        assert_eq!(dt.emop_seconds("t").unwrap(), 765_244_830);
        assert!(DateTime::parse("t", "2024-04-01T00:00:00").is_err());
        assert!(DateTime::parse("t", "2024-02-30T00:00:00Z").is_err());
        assert!(DateTime::parse("t", "2024-01-01T00:00+0é0").is_err());
        assert!(
            DateTime::parse("t", "2024-01-01T00:00:00+01")
                .unwrap()
                .offset_seconds
                == 3600
        );
        assert!(DateTime::parse("t", "1999-12-31T23:59:59Z")
            .unwrap()
            .emop_seconds("t")
            .is_err());
    }

    #[test]
    fn round_trip_days() {
        for days in [-800_000, -1, 0, 1, 10_957, 60_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
