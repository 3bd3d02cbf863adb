//! Half-hourly rows per channel (rules 1, 3, 5–8, 10): cumulative reads and
//! authoritative profile points, cut at a meter exchange, become spans whose
//! rule-4 advances are apportioned over UTC half hours. Derivation of a window
//! equals the full derivation restricted to it, given the window's context.

use crate::advance::{advance, Event, RegisterSpec};
use crate::apportion::shares;
use crate::error::{Error, Result};
use crate::settlement::{
    ceil_half_hour, check_instant, day_start, floor_half_hour, is_half_hour_boundary, Date,
};
use crate::{Instant, MicroKwh, Point, HALF_HOUR};

/// Quality of an HH row (rule 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    /// The period is bounded by two profile points.
    Actual,
    Estimated,
}

/// One channel's energy in one half hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HhRow {
    /// Period start, on a :00/:30 UTC boundary.
    pub start: Instant,
    pub energy: MicroKwh,
    /// Spans cover only part of the period (a channel's first or last period).
    pub partial: bool,
    pub quality: Quality,
}

/// A meter exchange at `at`. Pass the same value as `removed_by` when deriving
/// the old register and as `installed_by` for the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub at: Instant,
    /// The old register's final value: a read at `at` for the old register.
    pub old_final: Option<MicroKwh>,
    /// The new register's initial value: a read at `at` for the new register.
    pub new_initial: Option<MicroKwh>,
}

/// Everything that determines one channel (one register, one direction).
/// Reads and profile points may be in any order and may repeat.
#[derive(Clone, Copy, Debug)]
pub struct ChannelInput<'a> {
    pub register: RegisterSpec,
    pub reads: &'a [Point],
    /// Authoritative cumulative values on half-hour boundaries (profile logs).
    pub profile: &'a [Point],
    /// This register replaced another at `installed_by.at`: no point before it.
    pub installed_by: Option<Exchange>,
    /// This register was replaced at `removed_by.at`: no point after it.
    pub removed_by: Option<Exchange>,
}

impl<'a> ChannelInput<'a> {
    pub fn new(register: RegisterSpec, reads: &'a [Point]) -> ChannelInput<'a> {
        ChannelInput {
            register,
            reads,
            profile: &[],
            installed_by: None,
            removed_by: None,
        }
    }
}

/// Periods whose start lies in `[start, end)`; both ends on boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    /// The periods starting in `[start, end)`; ends are rounded up to the grid.
    pub fn new(start: Instant, end: Instant) -> Result<Window> {
        check_instant(start)?;
        check_instant(end)?;
        if end < start {
            return Err(Error::InvalidRange);
        }
        Ok(Window {
            start: ceil_half_hour(start),
            end: ceil_half_hour(end),
        })
    }

    /// The periods of settlement dates `from..=to`.
    pub fn for_dates(from: Date, to: Date) -> Result<Window> {
        if to < from {
            return Err(Error::InvalidRange);
        }
        Window::new(day_start(from), day_start(to.add_days(1)?))
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn end(&self) -> Instant {
        self.end
    }

    /// The data a window derivation needs, `(lo, hi)`: for reads and for
    /// profile points *separately*, every point with `lo ≤ ts ≤ hi`, plus that
    /// source's last point before `lo` and first point after `hi`. Why this is
    /// enough: supersession of a read depends only on the profile points at
    /// the two ends of its period, and the spans that touch the window end at
    /// the nearest effective points outside it, which are among these.
    pub fn context(&self) -> (Instant, Instant) {
        (self.start, self.end)
    }
}

/// Rows (time order, one per period) and events (time order) of a derivation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Derivation {
    pub rows: Vec<HhRow>,
    pub events: Vec<Event>,
}

/// Where an effective point came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Read,
    Profile,
}

/// A point that survives deduplication, the exchange cut and profile
/// supersession: the channel's timeline is the spans between these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectivePoint {
    pub point: Point,
    pub source: Source,
}

/// Sorts, checks and deduplicates points keyed by instant (rule 3). A conflict
/// reports the earliest conflicting instant with its smallest and largest value.
fn sorted_unique(mut v: Vec<Point>) -> Result<Vec<Point>> {
    for p in &v {
        check_instant(p.ts)?;
        if p.value < 0 {
            return Err(Error::NegativeRead {
                at: p.ts,
                value: p.value,
            });
        }
    }
    v.sort_unstable();
    let mut out: Vec<Point> = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let mut j = i + 1;
        while j < v.len() && v[j].ts == v[i].ts {
            j += 1;
        }
        if v[j - 1].value != v[i].value {
            return Err(Error::Conflict {
                at: v[i].ts,
                first: v[i].value,
                second: v[j - 1].value,
            });
        }
        out.push(v[i]);
        i = j;
    }
    Ok(out)
}

/// The channel's effective points in time order (rules 3, 7, 8).
pub fn effective_points(input: &ChannelInput<'_>) -> Result<Vec<EffectivePoint>> {
    let lo = input.installed_by.map(|x| x.at);
    let hi = input.removed_by.map(|x| x.at);
    for t in lo.iter().chain(hi.iter()) {
        check_instant(*t)?;
    }
    if let (Some(lo), Some(hi)) = (lo, hi) {
        if lo > hi {
            return Err(Error::InvalidExchange);
        }
    }
    let alive = |t: Instant| lo.is_none_or(|lo| t >= lo) && hi.is_none_or(|hi| t <= hi);

    let profile = sorted_unique(
        input
            .profile
            .iter()
            .copied()
            .filter(|p| alive(p.ts))
            .collect(),
    )?;
    if let Some(p) = profile.iter().find(|p| !is_half_hour_boundary(p.ts)) {
        return Err(Error::NotOnBoundary { at: p.ts });
    }
    let exchange_reads = input
        .installed_by
        .and_then(|x| x.new_initial.map(|v| Point::new(x.at, v)))
        .into_iter()
        .chain(
            input
                .removed_by
                .and_then(|x| x.old_final.map(|v| Point::new(x.at, v))),
        );
    let reads = sorted_unique(
        input
            .reads
            .iter()
            .copied()
            .filter(|p| alive(p.ts))
            .chain(exchange_reads)
            .collect(),
    )?;

    let has_profile = |t: Instant| profile.binary_search_by_key(&t, |p| p.ts).is_ok();
    let superseded = |t: Instant| {
        if is_half_hour_boundary(t) {
            has_profile(t)
        } else {
            let f = floor_half_hour(t);
            has_profile(f) && has_profile(f + HALF_HOUR)
        }
    };

    let mut out = Vec::with_capacity(profile.len() + reads.len());
    let mut pi = profile.iter().peekable();
    for r in reads.iter().filter(|r| !superseded(r.ts)) {
        while let Some(p) = pi.next_if(|p| p.ts < r.ts) {
            out.push(EffectivePoint {
                point: *p,
                source: Source::Profile,
            });
        }
        out.push(EffectivePoint {
            point: *r,
            source: Source::Read,
        });
    }
    out.extend(pi.map(|p| EffectivePoint {
        point: *p,
        source: Source::Profile,
    }));
    Ok(out)
}

/// Derives the channel's HH rows and events. With a window, only rows of
/// periods starting in it and events stamped in it are returned, and they
/// equal those of the full derivation provided `input` holds the window's
/// context (see [`Window::context`]); any further points are harmless.
pub fn derive(input: &ChannelInput<'_>, window: Option<Window>) -> Result<Derivation> {
    let pts = effective_points(input)?;
    let (ws, we) = window.map_or((Instant::MIN, Instant::MAX), |w| (w.start, w.end));
    let mut rows: Vec<HhRow> = Vec::new();
    let mut covered = 0i64; // of the last row
    for pair in pts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let step = advance(input.register, a.point.value, b.point.value);
        if b.point.ts <= ws || a.point.ts >= we {
            continue;
        }
        let bounded = a.source == Source::Profile
            && b.source == Source::Profile
            && b.point.ts - a.point.ts == HALF_HOUR;
        for s in shares(step.energy(), a.point.ts, b.point.ts, ws, we) {
            match rows.last_mut() {
                Some(r) if r.start == s.start => {
                    r.energy = r.energy.checked_add(s.energy).ok_or(Error::Overflow)?;
                    covered += s.covered;
                    r.partial = covered < HALF_HOUR;
                    // Two spans in one period: not bounded by profile points.
                    r.quality = Quality::Estimated;
                }
                _ => {
                    covered = s.covered;
                    rows.push(HhRow {
                        start: s.start,
                        energy: s.energy,
                        partial: covered < HALF_HOUR,
                        quality: if bounded && a.point.ts == s.start {
                            Quality::Actual
                        } else {
                            Quality::Estimated
                        },
                    });
                }
            }
        }
    }
    let events = events_of(input, &pts, ws, we);
    Ok(Derivation { rows, events })
}

/// The events of [`derive`] alone (no apportioning): what a caller that
/// already has the rows needs.
pub fn derive_events(input: &ChannelInput<'_>, window: Option<Window>) -> Result<Vec<Event>> {
    let pts = effective_points(input)?;
    let (ws, we) = window.map_or((Instant::MIN, Instant::MAX), |w| (w.start, w.end));
    Ok(events_of(input, &pts, ws, we))
}

/// Rollovers and reversals stamped in `[ws, we)`, then the exchange.
fn events_of(input: &ChannelInput<'_>, pts: &[EffectivePoint], ws: Instant, we: Instant) -> Vec<Event> {
    let mut events = Vec::new();
    for pair in pts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if ws <= b.point.ts && b.point.ts < we {
            let step = advance(input.register, a.point.value, b.point.value);
            events.extend(Event::of_step(a.point, b.point, step));
        }
    }
    if let Some(x) = input.removed_by {
        if ws <= x.at && x.at < we {
            events.push(Event::Exchange {
                at: x.at,
                old_final: x.old_final,
                new_initial: x.new_initial,
            });
        }
    }
    events
}

/// Energy of the channel between two instants (rule 10): additive, and on
/// period boundaries equal to the sum of the rows between them. Time outside
/// the channel's spans contributes nothing.
pub fn energy_between(input: &ChannelInput<'_>, from: Instant, to: Instant) -> Result<MicroKwh> {
    check_instant(from)?;
    check_instant(to)?;
    let pts = effective_points(input)?;
    let upto = |t: Instant| -> i128 {
        pts.windows(2)
            .map(|w| {
                let e = advance(input.register, w[0].point.value, w[1].point.value).energy();
                i128::from(crate::apportion::cumulative(
                    e,
                    w[0].point.ts,
                    w[1].point.ts,
                    t,
                ))
            })
            .sum()
    };
    MicroKwh::try_from(upto(to) - upto(from)).map_err(|_| Error::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::group_sum;
    use crate::settlement::{period_start, periods_in_day, settlement_period};
    use crate::{MICRO_PER_KWH as KWH, MINUTE};

    const M: i64 = MINUTE;

    fn reads(spec: RegisterSpec, pts: &[Point]) -> Derivation {
        derive(&ChannelInput::new(spec, pts), None).unwrap()
    }

    fn row(start_min: i64, energy: MicroKwh, partial: bool, quality: Quality) -> HhRow {
        HhRow {
            start: start_min * M,
            energy,
            partial,
            quality,
        }
    }

    use Quality::{Actual as A, Estimated as E};

    #[test]
    fn a_span_inside_two_periods_is_split_by_time_and_marked_partial() {
        // 10 kWh at 00:10, 11 kWh at 00:40: 20 min then 10 min of 1 kWh.
        let d = reads(
            RegisterSpec::NO_ROLLOVER,
            &[Point::new(10 * M, 10 * KWH), Point::new(40 * M, 11 * KWH)],
        );
        assert_eq!(
            d.rows,
            vec![row(0, 666_667, true, E), row(30, 333_333, true, E)]
        );
        assert!(d.events.is_empty());
    }

    #[test]
    fn a_read_on_a_boundary_belongs_to_the_period_starting_there() {
        let d = reads(
            RegisterSpec::NO_ROLLOVER,
            &[Point::new(0, 0), Point::new(30 * M, KWH)],
        );
        assert_eq!(d.rows, vec![row(0, KWH, false, E)]);
        let d = reads(
            RegisterSpec::NO_ROLLOVER,
            &[Point::new(0, 0), Point::new(60 * M, 2 * KWH)],
        );
        assert_eq!(d.rows, vec![row(0, KWH, false, E), row(30, KWH, false, E)]);
    }

    #[test]
    fn only_the_first_and_last_periods_are_partial() {
        // 00:10 → 00:50 → 01:20 → 02:40, 1 kWh per 10 minutes throughout.
        let pts = [
            Point::new(10 * M, 0),
            Point::new(50 * M, 4 * KWH),
            Point::new(80 * M, 7 * KWH),
            Point::new(160 * M, 15 * KWH),
        ];
        let d = reads(RegisterSpec::NO_ROLLOVER, &pts);
        assert_eq!(
            d.rows,
            vec![
                row(0, 2 * KWH, true, E),
                row(30, 3 * KWH, false, E),
                row(60, 3 * KWH, false, E),
                row(90, 3 * KWH, false, E),
                row(120, 3 * KWH, false, E),
                row(150, KWH, true, E),
            ]
        );
    }

    #[test]
    fn rollover_is_apportioned_and_reported() {
        let spec = RegisterSpec::new(999_999 * KWH + 999_999, 1000 * KWH).unwrap();
        let a = Point::new(0, 999_999 * KWH + 500_000);
        let b = Point::new(60 * M, 500_000);
        let d = reads(spec, &[b, a]);
        // (max − prev) + new = 0.499999 + 0.5 = 0.999999 kWh over two periods;
        // half of it, 499999.5, rounds up at the boundary.
        assert_eq!(
            d.rows,
            vec![row(0, 500_000, false, E), row(30, 499_999, false, E)]
        );
        assert_eq!(
            d.events,
            vec![Event::Rollover {
                prev: a,
                new: b,
                advance: 999_999
            }]
        );
    }

    #[test]
    fn reversal_gives_zero_rows_and_later_advances_start_from_the_new_value() {
        let pts = [
            Point::new(0, 100 * KWH),
            Point::new(30 * M, 50 * KWH),
            Point::new(60 * M, 51 * KWH),
        ];
        let d = reads(RegisterSpec::NO_ROLLOVER, &pts);
        assert_eq!(d.rows, vec![row(0, 0, false, E), row(30, KWH, false, E)]);
        assert_eq!(
            d.events,
            vec![Event::Reversal {
                prev: pts[0],
                new: pts[1]
            }]
        );
    }

    #[test]
    fn duplicates_collapse_conflicts_are_refused_and_order_does_not_matter() {
        let base = [
            Point::new(0, 0),
            Point::new(45 * M, 3 * KWH),
            Point::new(90 * M, 4 * KWH),
        ];
        let expected = reads(RegisterSpec::NO_ROLLOVER, &base);
        let noisy = [base[2], base[0], base[1], base[2], base[0]];
        assert_eq!(reads(RegisterSpec::NO_ROLLOVER, &noisy), expected);
        let bad = [base[0], base[1], Point::new(45 * M, 2 * KWH)];
        assert_eq!(
            derive(&ChannelInput::new(RegisterSpec::NO_ROLLOVER, &bad), None),
            Err(Error::Conflict {
                at: 45 * M,
                first: 2 * KWH,
                second: 3 * KWH
            })
        );
    }

    #[test]
    fn profile_points_supersede_reads_and_neighbours_are_apportioned_against_them() {
        // Profile 100 kWh at 00:00 and 101 at 00:30 bound period 00:00: the read
        // at 00:15 (bogus 150) and the read at 00:30 (200) are superseded. No
        // profile at 01:00: the read at 00:45 stands, and the span to the
        // profile point at 01:30 (1.5 kWh over 45 min) is apportioned.
        let profile = [
            Point::new(0, 100 * KWH),
            Point::new(30 * M, 101 * KWH),
            Point::new(90 * M, 103 * KWH),
        ];
        let rd = [
            Point::new(15 * M, 150 * KWH),
            Point::new(30 * M, 200 * KWH),
            Point::new(45 * M, 101 * KWH + 500_000),
        ];
        let input = ChannelInput {
            profile: &profile,
            ..ChannelInput::new(RegisterSpec::NO_ROLLOVER, &rd)
        };
        let d = derive(&input, None).unwrap();
        assert_eq!(
            d.rows,
            vec![
                row(0, KWH, false, A),
                row(30, KWH, false, E),
                row(60, KWH, false, E)
            ]
        );
        assert!(d.events.is_empty());
        let off = [Point::new(10 * M, 0)];
        let input = ChannelInput {
            profile: &off,
            ..ChannelInput::new(RegisterSpec::NO_ROLLOVER, &[])
        };
        assert_eq!(
            derive(&input, None),
            Err(Error::NotOnBoundary { at: 10 * M })
        );
    }

    #[test]
    fn meter_exchange_cuts_both_registers_and_circuits_see_the_sum() {
        let t = 70 * M;
        let x = Exchange {
            at: t,
            old_final: Some(12 * KWH + 500_000),
            new_initial: Some(0),
        };
        // Old register: the read at 02:00 comes after the exchange and is ignored.
        let old_reads = [
            Point::new(0, 10 * KWH),
            Point::new(60 * M, 12 * KWH),
            Point::new(120 * M, 99 * KWH),
        ];
        let old = ChannelInput {
            removed_by: Some(x),
            ..ChannelInput::new(RegisterSpec::NO_ROLLOVER, &old_reads)
        };
        let new_reads = [Point::new(0, 77 * KWH), Point::new(120 * M, KWH)];
        let new = ChannelInput {
            installed_by: Some(x),
            ..ChannelInput::new(RegisterSpec::NO_ROLLOVER, &new_reads)
        };
        let o = derive(&old, None).unwrap();
        let n = derive(&new, None).unwrap();
        assert_eq!(
            o.rows,
            vec![
                row(0, KWH, false, E),
                row(30, KWH, false, E),
                row(60, 500_000, true, E)
            ]
        );
        // New: 1 kWh over 01:10–02:00, 20 min then 30 min.
        assert_eq!(
            n.rows,
            vec![row(60, 400_000, true, E), row(90, 600_000, false, E)]
        );
        assert_eq!(
            o.events,
            vec![Event::Exchange {
                at: t,
                old_final: x.old_final,
                new_initial: x.new_initial
            }]
        );
        assert!(
            n.events.is_empty(),
            "one exchange event per direction, from the old side"
        );
        let g = group_sum(o.rows.iter().chain(n.rows.iter()).copied()).unwrap();
        assert_eq!(g[2].energy, 900_000);
        assert_eq!(g[2].rows, 2);

        // Without final/initial values the energy in between is unknown.
        let x = Exchange {
            at: t,
            old_final: None,
            new_initial: None,
        };
        let o = derive(
            &ChannelInput {
                removed_by: Some(x),
                ..old
            },
            None,
        )
        .unwrap();
        let n = derive(
            &ChannelInput {
                installed_by: Some(x),
                ..new
            },
            None,
        )
        .unwrap();
        assert_eq!(o.rows.last().unwrap().start, 30 * M);
        assert!(
            n.rows.is_empty(),
            "a single point after the exchange makes no span"
        );
        let both = ChannelInput {
            installed_by: Some(Exchange { at: 2 * t, ..x }),
            removed_by: Some(x),
            ..old
        };
        assert_eq!(derive(&both, None), Err(Error::InvalidExchange));
    }

    #[test]
    fn clock_change_days_get_46_and_50_settlement_periods_of_rows() {
        for (y, m, d) in [(2024, 3, 31), (2024, 10, 27)] {
            let date = Date::from_ymd(y, m, d).unwrap();
            let n = periods_in_day(date) as i64;
            let (lo, hi) = (day_start(date), day_start(date.add_days(1).unwrap()));
            // One kWh per half hour of real time, read at local midnights.
            let pts = [Point::new(lo, 0), Point::new(hi, n * KWH)];
            let rows = reads(RegisterSpec::NO_ROLLOVER, &pts).rows;
            assert_eq!(rows.len() as i64, n);
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(r.energy, KWH);
                let sp = settlement_period(r.start).unwrap();
                assert_eq!((sp.date, sp.period), (date, i as u32 + 1));
                assert_eq!(period_start(date, i as u32 + 1).unwrap(), r.start);
            }
        }
    }

    #[test]
    fn energy_between_boundaries_equals_the_rows_between_them() {
        let pts = [
            Point::new(7 * M, 0),
            Point::new(100 * M, 3 * KWH + 17),
            Point::new(200 * M, 5 * KWH),
        ];
        let input = ChannelInput::new(RegisterSpec::NO_ROLLOVER, &pts);
        let rows = derive(&input, None).unwrap().rows;
        let sum = |a: i64, b: i64| {
            rows.iter()
                .filter(|r| a <= r.start && r.start < b)
                .map(|r| r.energy)
                .sum::<i64>()
        };
        assert_eq!(
            energy_between(&input, 60 * M, 180 * M).unwrap(),
            sum(60 * M, 180 * M)
        );
        assert_eq!(
            energy_between(&input, 0, 210 * M).unwrap(),
            5 * KWH + 17 - 17
        );
        // Additive at any instant, boundary or not.
        let (a, b, c) = (13 * M + 5, 77 * M, 155 * M + 3);
        assert_eq!(
            energy_between(&input, a, c).unwrap(),
            energy_between(&input, a, b).unwrap() + energy_between(&input, b, c).unwrap()
        );
    }

    #[test]
    fn window_derivation_returns_only_the_window() {
        let pts = [
            Point::new(7 * M, 0),
            Point::new(100 * M, 3 * KWH),
            Point::new(200 * M, 4 * KWH),
            Point::new(230 * M, KWH),
        ];
        let input = ChannelInput::new(RegisterSpec::NO_ROLLOVER, &pts);
        let full = derive(&input, None).unwrap();
        let w = Window::new(61 * M, 180 * M).unwrap();
        assert_eq!((w.start(), w.end()), (90 * M, 180 * M));
        let part = derive(&input, Some(w)).unwrap();
        let expect: Vec<HhRow> = full
            .rows
            .iter()
            .filter(|r| (90 * M..180 * M).contains(&r.start))
            .copied()
            .collect();
        assert_eq!(part.rows, expect);
        assert!(part.events.is_empty());
        let late = derive(&input, Some(Window::new(200 * M, 240 * M).unwrap())).unwrap();
        assert_eq!(late.events.len(), 1);
        assert_eq!(Window::new(10, 5), Err(Error::InvalidRange));
    }
}
