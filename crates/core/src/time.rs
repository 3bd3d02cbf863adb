//! Instants as whole seconds since the EMOP epoch (2000-01-01T00:00:00Z),
//! the resolution a meter stores, with strict ISO 8601 text in and out.

/// Seconds between 1970-01-01 and 2000-01-01.
pub const EPOCH_2000_UNIX: i64 = 946_684_800;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Why a timestamp text was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Format,
    FractionalSeconds,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Format => write!(
                f,
                "must be an ISO 8601 timestamp with a UTC offset, e.g. 2025-04-01T00:00:00Z"
            ),
            TimeError::FractionalSeconds => write!(
                f,
                "meters store whole seconds; fractions of a second are not allowed"
            ),
        }
    }
}

/// Parses `YYYY-MM-DD[T ]HH:MM[:SS[.fff]](Z|±HH[:MM|MM])` to Unix seconds.
/// The offset is required: an activation time without one is ambiguous.
pub fn parse_iso8601_unix(text: &str) -> Result<i64, TimeError> {
    let s = text.trim().as_bytes();
    let num = |a: usize, b: usize| -> Result<i64, TimeError> {
        let part = s.get(a..b).ok_or(TimeError::Format)?;
        if part.iter().all(u8::is_ascii_digit) {
            Ok(std::str::from_utf8(part).unwrap().parse().unwrap())
        } else {
            Err(TimeError::Format)
        }
    };
    let expect = |i: usize, c: &[u8]| -> Result<(), TimeError> {
        if s.get(i).is_some_and(|b| c.contains(b)) {
            Ok(())
        } else {
            Err(TimeError::Format)
        }
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)? as u32, num(8, 10)? as u32);
    expect(4, b"-")?;
    expect(7, b"-")?;
    expect(10, b"Tt ")?;
    let (hour, minute) = (num(11, 13)?, num(14, 16)?);
    expect(13, b":")?;
    let mut i = 16;
    let mut second = 0;
    let mut fractional = false;
    if s.get(i) == Some(&b':') {
        second = num(17, 19)?;
        i = 19;
        if s.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                fractional |= s[i] != b'0';
                i += 1;
            }
            if i == start {
                return Err(TimeError::Format);
            }
        }
    }
    let offset = match s.get(i) {
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, i + 3)?;
            let om = match s.len() - (i + 3) {
                0 => 0,
                2 => num(i + 3, i + 5)?,
                3 if s[i + 3] == b':' => num(i + 4, i + 6)?,
                _ => return Err(TimeError::Format),
            };
            if oh > 15 || om > 59 {
                return Err(TimeError::Format);
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return Err(TimeError::Format),
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(TimeError::Format);
    }
    if fractional {
        return Err(TimeError::FractionalSeconds);
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `2024-04-01T00:00:00+00:00`, the form PostgreSQL's `to_jsonb(timestamptz)` and the reference print.
pub fn format_iso8601_unix(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let sod = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_offsets_and_separators() {
        let april = 765_244_800 + EPOCH_2000_UNIX;
        for t in [
            "2024-04-01T00:00:00Z",
            "2024-04-01 00:00:00+00",
            "2024-04-01T01:00:00+01:00",
            "2024-04-01T01:00+0100",
            "2024-03-31T23:00:00.000-01:00",
        ] {
            assert_eq!(parse_iso8601_unix(t), Ok(april), "{t}");
        }
        assert_eq!(format_iso8601_unix(april), "2024-04-01T00:00:00+00:00");
    }

    #[test]
    fn refuses_bad_text() {
        for t in [
            "",
            "2024-04-01",
            "2024-04-01T00:00:00",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-01T24:00:00Z",
            "2024-04-01T00:00:00Zjunk",
            "tomorrow",
        ] {
            assert_eq!(parse_iso8601_unix(t), Err(TimeError::Format), "{t}");
        }
        assert_eq!(
            parse_iso8601_unix("2024-04-01T00:00:00.5Z"),
            Err(TimeError::FractionalSeconds)
        );
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in -200_000i64..200_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn format_parses_back(unix in 0i64..5_000_000_000) {
            prop_assert_eq!(parse_iso8601_unix(&format_iso8601_unix(unix)), Ok(unix));
        }
    }
}
