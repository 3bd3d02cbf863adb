//! Rule 11: completeness of one channel's HH rows over a range of settlement
//! dates — present rows (partial and 0 kWh included) ÷ expected periods, a
//! strict variant without partial rows, and the maximal runs of missing periods.

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::settlement::{check_instant, day_start, is_half_hour_boundary, periods_in_day, Date};
use crate::{Instant, HALF_HOUR};

pub const VERSION: u8 = 1;

/// `[start, end)`: a maximal run of expected periods without a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingRun {
    pub start: Instant,
    pub end: Instant,
}

impl MissingRun {
    pub fn periods(&self) -> u64 {
        ((self.end - self.start) / HALF_HOUR) as u64
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completeness {
    /// Settlement periods in the range (46/48/50 a day).
    pub expected: u64,
    /// Periods with a row, partial or not.
    pub present: u64,
    /// Periods with a non-partial row.
    pub present_full: u64,
    /// In time order; their periods add up to `expected − present`.
    pub missing: Vec<MissingRun>,
}

impl Completeness {
    pub fn ratio(&self) -> f64 {
        self.present as f64 / self.expected as f64
    }

    /// Strict variant: partial rows do not count.
    pub fn strict_ratio(&self) -> f64 {
        self.present_full as f64 / self.expected as f64
    }
}

/// Aggregate state: the period starts seen (one channel's rows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompletenessAgg {
    rows: Vec<(Instant, bool)>,
}

impl CompletenessAgg {
    pub fn new() -> CompletenessAgg {
        CompletenessAgg::default()
    }

    /// One HH row: its period start and partial flag.
    pub fn push(&mut self, start: Instant, partial: bool) -> Result<()> {
        check_instant(start)?;
        if !is_half_hour_boundary(start) {
            return Err(Error::NotOnBoundary { at: start });
        }
        self.rows.push((start, partial));
        Ok(())
    }

    pub fn combine(&mut self, other: CompletenessAgg) {
        self.rows.extend(other.rows);
    }

    /// Completeness over settlement dates `from..=to`. Rows outside the range
    /// are ignored; two rows for one period count once (full if either is).
    pub fn finalize(&mut self, from: Date, to: Date) -> Result<Completeness> {
        if to < from {
            return Err(Error::InvalidRange);
        }
        let lo = day_start(from);
        let hi = day_start(to.add_days(1)?);
        let mut expected = 0u64;
        let mut d = from;
        while d <= to {
            expected += u64::from(periods_in_day(d));
            d = d.add_days(1)?;
        }
        // Full (partial = false) sorts first, so dedup keeps it.
        self.rows.sort_unstable();
        self.rows.dedup_by_key(|r| r.0);
        let mut present = 0;
        let mut present_full = 0;
        let mut missing = Vec::new();
        let mut cursor = lo;
        for &(start, partial) in self.rows.iter().filter(|r| lo <= r.0 && r.0 < hi) {
            present += 1;
            present_full += u64::from(!partial);
            if start > cursor {
                missing.push(MissingRun {
                    start: cursor,
                    end: start,
                });
            }
            cursor = start + HALF_HOUR;
        }
        if cursor < hi {
            missing.push(MissingRun {
                start: cursor,
                end: hi,
            });
        }
        Ok(Completeness {
            expected,
            present,
            present_full,
            missing,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(VERSION);
        w.uvar(self.rows.len() as u64);
        let mut prev = 0i64;
        for &(start, partial) in &self.rows {
            let period = start / HALF_HOUR;
            w.ivar(period - prev);
            w.u8(u8::from(partial));
            prev = period;
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CompletenessAgg> {
        let mut r = Reader::new(bytes, VERSION)?;
        let n = r.count(2)?;
        let mut agg = CompletenessAgg {
            rows: Vec::with_capacity(n),
        };
        let mut prev = 0i64;
        for _ in 0..n {
            let period = prev
                .checked_add(r.ivar()?)
                .ok_or(Error::Corrupt("period"))?;
            let partial = r.bool()?;
            let start = period
                .checked_mul(HALF_HOUR)
                .ok_or(Error::Corrupt("period"))?;
            agg.push(start, partial)
                .map_err(|_| Error::Corrupt("period"))?;
            prev = period;
        }
        r.end()?;
        Ok(agg)
    }
}

/// One-shot completeness of rows `(period start, partial)`.
pub fn completeness<I: IntoIterator<Item = (Instant, bool)>>(
    rows: I,
    from: Date,
    to: Date,
) -> Result<Completeness> {
    let mut agg = CompletenessAgg::new();
    for (start, partial) in rows {
        agg.push(start, partial)?;
    }
    agg.finalize(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::period_start;
    use crate::HOUR;

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    #[test]
    fn full_and_empty_days_including_clock_changes() {
        for (d, n) in [
            (date(2024, 3, 31), 46),
            (date(2024, 10, 27), 50),
            (date(2024, 6, 1), 48),
        ] {
            let all: Vec<(Instant, bool)> = (1..=n)
                .map(|p| (period_start(d, p).unwrap(), false))
                .collect();
            let c = completeness(all, d, d).unwrap();
            assert_eq!(
                (c.expected, c.present, c.present_full),
                (n as u64, n as u64, n as u64)
            );
            assert!(c.missing.is_empty());
            assert_eq!(c.ratio(), 1.0);
            let none = completeness([], d, d).unwrap();
            assert_eq!(
                none.missing,
                vec![MissingRun {
                    start: day_start(d),
                    end: day_start(d.add_days(1).unwrap())
                }]
            );
            assert_eq!(none.missing[0].periods(), n as u64);
        }
    }

    #[test]
    fn partial_rows_count_only_in_the_loose_ratio_and_gaps_are_maximal() {
        let d = date(2024, 1, 10);
        let p = |n| period_start(d, n).unwrap();
        // Periods 1–10 present (1 and 10 partial), 11–20 missing, 21 present,
        // 22–48 missing; a duplicate of 5 and a row on another day are ignored.
        let mut rows: Vec<(Instant, bool)> = (1..=10).map(|n| (p(n), n == 1 || n == 10)).collect();
        rows.push((p(21), false));
        rows.push((p(5), true));
        rows.push((p(5) + 3 * 24 * HOUR, false));
        let c = completeness(rows, d, d).unwrap();
        assert_eq!((c.expected, c.present, c.present_full), (48, 11, 9));
        assert_eq!(
            c.missing,
            vec![
                MissingRun {
                    start: p(11),
                    end: p(21)
                },
                MissingRun {
                    start: p(22),
                    end: p(48) + HALF_HOUR
                },
            ]
        );
        assert!((c.ratio() - 11.0 / 48.0).abs() < 1e-12);
        assert!((c.strict_ratio() - 9.0 / 48.0).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut agg = CompletenessAgg::new();
        assert_eq!(
            agg.push(HOUR + 1, false),
            Err(Error::NotOnBoundary { at: HOUR + 1 })
        );
        assert_eq!(
            agg.finalize(date(2024, 1, 2), date(2024, 1, 1)),
            Err(Error::InvalidRange)
        );
    }

    #[test]
    fn serialization_round_trips() {
        let mut agg = CompletenessAgg::new();
        for (t, partial) in [(5 * HOUR, true), (-HOUR, false), (HALF_HOUR, false)] {
            agg.push(t, partial).unwrap();
        }
        let bytes = agg.to_bytes();
        assert_eq!(CompletenessAgg::from_bytes(&bytes), Ok(agg));
        assert_eq!(
            CompletenessAgg::from_bytes(&bytes[..bytes.len() - 1]),
            Err(Error::Truncated)
        );
        assert_eq!(
            CompletenessAgg::from_bytes(&[0]),
            Err(Error::UnknownVersion { found: 0 })
        );
    }
}
