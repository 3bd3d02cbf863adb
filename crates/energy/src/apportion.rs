//! Rule 5: a span's advance spread linearly in real time over the half-hour
//! periods it overlaps, rounded by cumulative boundary: the energy from the
//! span's start to each instant is rounded to 1 micro-kWh (half up) and a
//! period's share is a difference, so shares sum exactly to the advance.

use crate::settlement::floor_half_hour;
use crate::{Instant, MicroKwh, HALF_HOUR};

/// Energy of the span `[t0, t1)` (advance `advance`) accrued from `t0` up to
/// `t`, clamped to the span, rounded half up. `cumulative(t0) = 0` and
/// `cumulative(t1) = advance`.
#[inline]
pub fn cumulative(advance: MicroKwh, t0: Instant, t1: Instant, t: Instant) -> MicroKwh {
    debug_assert!(t0 < t1);
    if t <= t0 {
        return 0;
    }
    if t >= t1 {
        return advance;
    }
    let num = 2 * i128::from(advance) * i128::from(t - t0) + i128::from(t1 - t0);
    let den = 2 * i128::from(t1 - t0);
    num.div_euclid(den) as MicroKwh
}

/// One period's share of a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// Period start (a :00/:30 boundary).
    pub start: Instant,
    pub energy: MicroKwh,
    /// Microseconds of the period the span covers (`HALF_HOUR` = all of it).
    pub covered: i64,
}

/// Shares of span `[t0, t1)` for the periods it overlaps whose start lies in
/// `[from, to)` (pass `Instant::MIN, Instant::MAX` for all), in time order.
pub fn shares(
    advance: MicroKwh,
    t0: Instant,
    t1: Instant,
    from: Instant,
    to: Instant,
) -> impl Iterator<Item = Share> {
    let first = floor_half_hour(from.max(t0));
    // Last period the span touches: the one containing t1 − 1 µs.
    let last = floor_half_hour(t1 - 1);
    let mut p = first;
    std::iter::from_fn(move || {
        if p > last || p >= to || t0 >= t1 {
            return None;
        }
        let lo = t0.max(p);
        let hi = t1.min(p + HALF_HOUR);
        let share = Share {
            start: p,
            energy: cumulative(advance, t0, t1, hi) - cumulative(advance, t0, t1, lo),
            covered: hi - lo,
        };
        p += HALF_HOUR;
        Some(share)
    })
    .filter(move |s| s.start >= from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MINUTE;
    use proptest::prelude::*;

    #[test]
    fn one_kwh_over_00_10_to_00_40_splits_two_thirds_one_third() {
        // 1 kWh over 30 minutes: 20 minutes in the first period (0.6666667 kWh,
        // rounded to 0.666667), 10 in the second.
        let s: Vec<Share> =
            shares(1_000_000, 10 * MINUTE, 40 * MINUTE, i64::MIN, i64::MAX).collect();
        assert_eq!(
            s,
            vec![
                Share {
                    start: 0,
                    energy: 666_667,
                    covered: 20 * MINUTE
                },
                Share {
                    start: 30 * MINUTE,
                    energy: 333_333,
                    covered: 10 * MINUTE
                },
            ]
        );
    }

    #[test]
    fn three_micro_kwh_over_three_periods_is_one_each() {
        let s: Vec<MicroKwh> = shares(3, 0, 90 * MINUTE, i64::MIN, i64::MAX)
            .map(|s| s.energy)
            .collect();
        assert_eq!(s, vec![1, 1, 1]);
        // 2 µkWh over 3 periods: boundaries at 0.67 → 1 and 1.33 → 1.
        let s: Vec<MicroKwh> = shares(2, 0, 90 * MINUTE, i64::MIN, i64::MAX)
            .map(|s| s.energy)
            .collect();
        assert_eq!(s, vec![1, 0, 1]);
    }

    #[test]
    fn window_clips_periods_but_not_the_arithmetic() {
        let all: Vec<Share> =
            shares(1_000_001, 7 * MINUTE, 200 * MINUTE, i64::MIN, i64::MAX).collect();
        let clipped: Vec<Share> = shares(
            1_000_001,
            7 * MINUTE,
            200 * MINUTE,
            60 * MINUTE,
            120 * MINUTE,
        )
        .collect();
        assert_eq!(clipped.len(), 2);
        assert_eq!(&all[2..4], &clipped[..]);
    }

    proptest! {
        #[test]
        fn shares_sum_to_the_advance_and_cover_the_span(
            advance in 0i64..10_000_000_000,
            t0 in -1_000_000_000_000i64..1_000_000_000_000,
            len in 1i64..200_000_000_000,
        ) {
            let t1 = t0 + len;
            let s: Vec<Share> = shares(advance, t0, t1, i64::MIN, i64::MAX).collect();
            prop_assert_eq!(s.iter().map(|x| x.energy).sum::<i64>(), advance);
            prop_assert_eq!(s.iter().map(|x| x.covered).sum::<i64>(), len);
            for x in &s {
                prop_assert!(x.energy >= 0);
                prop_assert_eq!(x.start.rem_euclid(HALF_HOUR), 0);
                // Each share is within 1 µkWh of the exact proportional value.
                let exact = advance as f64 * x.covered as f64 / len as f64;
                prop_assert!((x.energy as f64 - exact).abs() <= 1.0 + exact * 1e-12);
            }
            for w in s.windows(2) {
                prop_assert_eq!(w[1].start, w[0].start + HALF_HOUR);
            }
        }

        /// The cumulative curve runs from 0 to the advance and never goes back.
        #[test]
        fn cumulative_is_monotone_from_zero_to_the_advance(
            advance in 0i64..10_000_000_000,
            len in 1i64..200_000_000_000,
            a in 0.0f64..1.0, b in 0.0f64..1.0, c in 0.0f64..1.0,
        ) {
            let mut cuts = [a, b, c].map(|f| (f * len as f64) as i64);
            cuts.sort();
            let e = |t| cumulative(advance, 0, len, t);
            prop_assert_eq!(e(0), 0);
            prop_assert_eq!(e(len), advance);
            prop_assert!(e(cuts[0]) <= e(cuts[1]) && e(cuts[1]) <= e(cuts[2]));
        }
    }
}
