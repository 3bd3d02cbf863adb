//! Rule 11: completeness of one channel's HH rows over a range of settlement
//! dates — present rows (partial and 0 kWh included) ÷ expected periods, a
//! strict variant without partial rows, and the maximal runs of missing periods.
//! The state is also the stored summary (two-step aggregate): serialized in its
//! canonical form (sorted, one row per period) as runs of present periods.

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::settlement::{check_instant, day_start, is_half_hour_boundary, periods_in_day, Date};
use crate::{Instant, HALF_HOUR};

/// Written by `to_bytes`: runs of consecutive present periods plus the list
/// of partial ones. Version 1 (one entry per row) is still read.
pub const VERSION: u8 = 2;
const VERSION_ROWS: u8 = 1;
/// Periods a summary read from text or bytes may expand to (about 228 years
/// of one channel): a hostile input cannot make us allocate without bound.
pub const MAX_PERIODS: u64 = 4_000_000;

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

    /// Canonical form: sorted by period, one row per period (full if any
    /// row for it is). Equal inputs give equal states and equal bytes.
    pub fn normalize(&mut self) {
        if !self.is_normalized() {
            // Full (partial = false) sorts first, so dedup keeps it.
            self.rows.sort_unstable();
            self.rows.dedup_by_key(|r| r.0);
        }
    }

    fn is_normalized(&self) -> bool {
        self.rows.windows(2).all(|w| w[0].0 < w[1].0)
    }

    /// Number of distinct periods with a row.
    pub fn periods(&self) -> usize {
        let mut c = self.clone();
        c.normalize();
        c.rows.len()
    }

    /// Maximal runs `[start, end)` of consecutive periods with a row, in
    /// time order, and the starts of the periods whose rows are all partial.
    pub fn runs(&self) -> (Vec<(Instant, Instant)>, Vec<Instant>) {
        let mut c = self.clone();
        c.normalize();
        let mut runs: Vec<(Instant, Instant)> = Vec::new();
        let mut partial = Vec::new();
        for &(start, p) in &c.rows {
            match runs.last_mut() {
                Some(r) if r.1 == start => r.1 = start + HALF_HOUR,
                _ => runs.push((start, start + HALF_HOUR)),
            }
            if p {
                partial.push(start);
            }
        }
        (runs, partial)
    }

    /// The state whose rows are the periods of `runs` (`[start, end)` on
    /// half-hour boundaries), partial at the starts in `partial`, which must
    /// lie inside the runs.
    pub fn from_runs(runs: &[(Instant, Instant)], partial: &[Instant]) -> Result<CompletenessAgg> {
        let mut agg = CompletenessAgg::new();
        let mut total = 0u64;
        for &(start, end) in runs {
            check_instant(start)?;
            check_instant(end)?;
            if end <= start {
                return Err(Error::InvalidRange);
            }
            if !is_half_hour_boundary(end) {
                return Err(Error::NotOnBoundary { at: end });
            }
            total += ((end - start) / HALF_HOUR) as u64;
            if total > MAX_PERIODS {
                return Err(Error::TooManyPeriods { max: MAX_PERIODS });
            }
            let mut t = start;
            while t < end {
                agg.push(t, false)?;
                t += HALF_HOUR;
            }
        }
        agg.normalize();
        for &p in partial {
            match agg.rows.binary_search_by_key(&p, |r| r.0) {
                Ok(i) => agg.rows[i].1 = true,
                Err(_) => return Err(Error::RowOutsideRange { at: p }),
            }
        }
        Ok(agg)
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
        self.normalize();
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

    /// Version 2: the runs of present periods as (gap, length) in periods,
    /// then the partial periods as deltas. A day of rows takes a few bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (runs, partial) = self.runs();
        let mut w = Writer::new(VERSION);
        w.uvar(runs.len() as u64);
        let mut prev = 0i64;
        for (start, end) in runs {
            w.ivar(start / HALF_HOUR - prev);
            w.uvar(((end - start) / HALF_HOUR) as u64);
            prev = end / HALF_HOUR;
        }
        w.uvar(partial.len() as u64);
        let mut prev = 0i64;
        for p in partial {
            w.ivar(p / HALF_HOUR - prev);
            prev = p / HALF_HOUR;
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CompletenessAgg> {
        match bytes.first() {
            Some(&VERSION_ROWS) => Self::from_bytes_v1(bytes),
            _ => Self::from_bytes_v2(bytes),
        }
    }

    fn from_bytes_v2(bytes: &[u8]) -> Result<CompletenessAgg> {
        let corrupt = |_| Error::Corrupt("period");
        let period = |p: i64| p.checked_mul(HALF_HOUR).ok_or(Error::Corrupt("period"));
        let mut r = Reader::new(bytes, VERSION)?;
        let n = r.count(2)?;
        let mut runs = Vec::with_capacity(n);
        let mut prev = 0i64;
        for _ in 0..n {
            let start = prev
                .checked_add(r.ivar()?)
                .ok_or(Error::Corrupt("period"))?;
            let len = i64::try_from(r.uvar()?).map_err(|_| Error::Corrupt("run"))?;
            let end = start.checked_add(len).ok_or(Error::Corrupt("run"))?;
            // Runs are maximal and in order: a gap of at least one period.
            if len == 0 || (!runs.is_empty() && start <= prev) {
                return Err(Error::Corrupt("run"));
            }
            // Bounded before expanding, so a corrupt length cannot allocate.
            check_instant(period(start)?).map_err(corrupt)?;
            check_instant(period(end)?).map_err(corrupt)?;
            runs.push((period(start)?, period(end)?));
            prev = end;
        }
        let n = r.count(1)?;
        let mut partial = Vec::with_capacity(n);
        let mut prev = 0i64;
        for i in 0..n {
            let p = prev
                .checked_add(r.ivar()?)
                .ok_or(Error::Corrupt("period"))?;
            if i > 0 && p <= prev {
                return Err(Error::Corrupt("partial period"));
            }
            partial.push(period(p)?);
            prev = p;
        }
        r.end()?;
        CompletenessAgg::from_runs(&runs, &partial).map_err(|e| match e {
            Error::TooManyPeriods { .. } => e,
            _ => Error::Corrupt("run"),
        })
    }

    /// Version 1: one (period delta, partial byte) per row, as pushed.
    fn from_bytes_v1(bytes: &[u8]) -> Result<CompletenessAgg> {
        let mut r = Reader::new(bytes, VERSION_ROWS)?;
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
    use proptest::prelude::*;

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
    fn serialization_round_trips_in_canonical_form_and_reads_version_1() {
        let mut agg = CompletenessAgg::new();
        for (t, partial) in [
            (5 * HOUR, true),
            (-HOUR, false),
            (HALF_HOUR, false),
            (HOUR, false),
            (HOUR, true),
        ] {
            agg.push(t, partial).unwrap();
        }
        let bytes = agg.to_bytes();
        assert_eq!(bytes[0], VERSION);
        let mut canonical = agg.clone();
        canonical.normalize();
        assert_eq!(CompletenessAgg::from_bytes(&bytes), Ok(canonical.clone()));
        assert_eq!(
            agg.runs(),
            (
                vec![
                    (-HOUR, -HALF_HOUR),
                    (HALF_HOUR, HOUR + HALF_HOUR),
                    (5 * HOUR, 5 * HOUR + HALF_HOUR)
                ],
                vec![5 * HOUR]
            )
        );
        assert_eq!(
            CompletenessAgg::from_bytes(&bytes[..bytes.len() - 1]),
            Err(Error::Truncated)
        );
        assert_eq!(
            CompletenessAgg::from_bytes(&[0]),
            Err(Error::UnknownVersion { found: 0 })
        );
        // Version 1 wrote one (period delta, partial) per row, as pushed.
        let mut v1 = Writer::new(VERSION_ROWS);
        v1.uvar(2);
        v1.ivar(2);
        v1.u8(1);
        v1.ivar(-4);
        v1.u8(0);
        let old = CompletenessAgg::from_bytes(&v1.finish()).unwrap();
        assert_eq!(
            old.runs(),
            (
                vec![(-HOUR, -HALF_HOUR), (HOUR, HOUR + HALF_HOUR)],
                vec![HOUR]
            )
        );
    }

    #[test]
    fn a_day_of_rows_serializes_to_a_few_bytes() {
        let d = date(2024, 10, 27);
        let mut agg = CompletenessAgg::new();
        for p in 1..=50 {
            agg.push(period_start(d, p).unwrap(), p == 50).unwrap();
        }
        assert!(agg.to_bytes().len() <= 16, "{:?}", agg.to_bytes());
    }

    #[test]
    fn runs_read_back_are_checked() {
        let bad = [
            (vec![(HOUR, HOUR)], vec![]),
            (vec![(0, HOUR + 1)], vec![]),
            (vec![(0, HOUR)], vec![2 * HOUR]),
        ];
        for (runs, partial) in bad {
            assert!(
                CompletenessAgg::from_runs(&runs, &partial).is_err(),
                "{runs:?} {partial:?}"
            );
        }
        let huge = [(0, (MAX_PERIODS as i64 + 1) * HALF_HOUR)];
        assert_eq!(
            CompletenessAgg::from_runs(&huge, &[]),
            Err(Error::TooManyPeriods { max: MAX_PERIODS })
        );
        // Overlapping runs are one set of periods.
        let a = CompletenessAgg::from_runs(&[(0, 2 * HOUR), (HOUR, 3 * HOUR)], &[HOUR]).unwrap();
        assert_eq!(a.runs(), (vec![(0, 3 * HOUR)], vec![HOUR]));
    }

    proptest! {
        /// Any split of the rows, combined in any order and through bytes,
        /// gives the same summary and the same completeness.
        #[test]
        fn any_split_combines_to_the_same_result(
            rows in proptest::collection::vec((0i64..400, any::<bool>()), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..4),
        ) {
            let rows: Vec<(Instant, bool)> = rows.into_iter().map(|(p, b)| (p * HALF_HOUR, b)).collect();
            let mut whole = CompletenessAgg::new();
            for &(t, p) in &rows {
                whole.push(t, p).unwrap();
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(rows.len())).collect();
            cuts.push(0);
            cuts.push(rows.len());
            cuts.sort_unstable();
            let mut parts: Vec<CompletenessAgg> = cuts.windows(2).map(|w| {
                let mut a = CompletenessAgg::new();
                for &(t, p) in &rows[w[0]..w[1]] {
                    a.push(t, p).unwrap();
                }
                CompletenessAgg::from_bytes(&a.to_bytes()).unwrap()
            }).collect();
            parts.reverse();
            let mut combined = CompletenessAgg::new();
            for p in parts {
                combined.combine(p);
            }
            prop_assert_eq!(combined.to_bytes(), whole.to_bytes());
            let (from, to) = (date(2000, 1, 1), date(2000, 1, 9));
            prop_assert_eq!(combined.finalize(from, to), whole.finalize(from, to));
            let c = whole.finalize(from, to).unwrap();
            let missing: u64 = c.missing.iter().map(MissingRun::periods).sum();
            prop_assert_eq!(missing, c.expected - c.present);
        }
    }
}
