//! Rule 12, the aggregate "energy from reads over a grouping": over one
//! channel's reads, deduplicated and sorted, the sum of rule-4 advances, first
//! and last read, rollover and reversal counts. Arrival order never changes the
//! answer; an ordered state keeps O(1) memory, a buffered state takes any order.

use crate::advance::{advance, RegisterSpec, Step};
use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::{Instant, MicroKwh, Point};

/// Serialization version of both [`EnergyAgg`] and [`EnergySummary`].
pub const VERSION: u8 = 1;

/// A run of time-ordered, distinct reads, summarised in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    first: Point,
    last: Point,
    advance: MicroKwh,
    rollovers: u64,
    reversals: u64,
    reads: u64,
}

impl Run {
    #[inline]
    fn single(p: Point) -> Run {
        Run {
            first: p,
            last: p,
            advance: 0,
            rollovers: 0,
            reversals: 0,
            reads: 1,
        }
    }

    /// Adds the step from `self.last` to `p`; `p.ts > self.last.ts`.
    #[inline]
    fn append(&mut self, spec: RegisterSpec, p: Point) -> Result<()> {
        match advance(spec, self.last.value, p.value) {
            Step::Forward(e) => {
                self.advance = self.advance.checked_add(e).ok_or(Error::Overflow)?;
            }
            Step::Rollover(e) => {
                self.advance = self.advance.checked_add(e).ok_or(Error::Overflow)?;
                self.rollovers += 1;
            }
            Step::Reversal => self.reversals += 1,
        }
        self.last = p;
        self.reads += 1;
        Ok(())
    }

    /// `self` followed by `next`, where `self.last.ts ≤ next.first.ts`.
    fn join(self, spec: RegisterSpec, next: Run) -> Result<Run> {
        debug_assert!(self.last.ts <= next.first.ts);
        let mut out = self;
        if self.last.ts == next.first.ts {
            // The shared read counts once: `next.reads - 1` below skips it.
            if self.last.value != next.first.value {
                return Err(conflict(self.last.ts, self.last.value, next.first.value));
            }
        } else {
            out.append(spec, next.first)?;
        }
        out.advance = out
            .advance
            .checked_add(next.advance)
            .ok_or(Error::Overflow)?;
        out.rollovers += next.rollovers;
        out.reversals += next.reversals;
        out.reads += next.reads - 1;
        out.last = next.last;
        Ok(out)
    }
}

fn conflict(at: Instant, a: MicroKwh, b: MicroKwh) -> Error {
    Error::Conflict {
        at,
        first: a.min(b),
        second: a.max(b),
    }
}

/// Merges two runs if their time ranges do not interleave. A run's interior
/// reads are gone, so a read of one strictly inside the other is refused.
fn merge_runs(spec: RegisterSpec, a: Run, b: Run) -> Result<Run> {
    let (a, b) = if (b.first.ts, b.last.ts) < (a.first.ts, a.last.ts) {
        (b, a)
    } else {
        (a, b)
    };
    if a.last.ts <= b.first.ts {
        a.join(spec, b)
    } else {
        Err(Error::Overlap)
    }
}

/// Builds a run from sorted, distinct points.
fn run_of(spec: RegisterSpec, pts: &[Point]) -> Result<Option<Run>> {
    let Some((&first, rest)) = pts.split_first() else {
        return Ok(None);
    };
    let mut run = Run::single(first);
    for &p in rest {
        run.append(spec, p)?;
    }
    Ok(Some(run))
}

/// Sorts and deduplicates in place; equal instants with different values are
/// a conflict (the earliest such instant, smallest and largest value).
fn normalize(pts: &mut Vec<Point>, sorted: &mut bool) -> Result<()> {
    if !*sorted {
        pts.sort_unstable();
        *sorted = true;
    }
    let mut i = 0;
    while i + 1 < pts.len() {
        if pts[i + 1].ts == pts[i].ts {
            let at = pts[i].ts;
            let run = pts[i..].iter().take_while(|p| p.ts == at);
            let (lo, hi) = run.fold((MicroKwh::MAX, MicroKwh::MIN), |(lo, hi), p| {
                (lo.min(p.value), hi.max(p.value))
            });
            if lo != hi {
                return Err(Error::Conflict {
                    at,
                    first: lo,
                    second: hi,
                });
            }
        }
        i += 1;
    }
    pts.dedup();
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Body {
    /// O(1): the reads so far form one run.
    Ordered(Option<Run>),
    /// Every read pushed, in arrival order until normalized.
    Buffered { pts: Vec<Point>, sorted: bool },
}

/// The transition state of `energy_agg` for one channel.
///
/// * [`EnergyAgg::ordered`]: O(1) memory. Reads must arrive in time order
///   (ascending; a read before the first or equal to an end is also fine);
///   a read strictly inside the range already summarised is refused with
///   [`Error::OutOfOrder`] — never a wrong answer.
/// * [`EnergyAgg::buffered`]: any arrival order, any split; keeps every read
///   (16 bytes each) until finalize, where it sorts only if needed.
///
/// `combine` is exact whenever the result is determined: buffered with
/// buffered always; with an ordered state as long as no read of one side lies
/// strictly inside the other's summarised range ([`Error::Overlap`] otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnergyAgg {
    spec: RegisterSpec,
    body: Body,
}

impl EnergyAgg {
    pub fn ordered(spec: RegisterSpec) -> EnergyAgg {
        EnergyAgg {
            spec,
            body: Body::Ordered(None),
        }
    }

    pub fn buffered(spec: RegisterSpec) -> EnergyAgg {
        EnergyAgg {
            spec,
            body: Body::Buffered {
                pts: Vec::new(),
                sorted: true,
            },
        }
    }

    pub fn register(&self) -> RegisterSpec {
        self.spec
    }

    /// True for an O(1) (ordered) state.
    pub fn is_ordered(&self) -> bool {
        matches!(self.body, Body::Ordered(_))
    }

    /// Adds one read (cumulative micro-kWh at an instant).
    #[inline]
    pub fn push(&mut self, ts: Instant, value: MicroKwh) -> Result<()> {
        if value < 0 {
            return Err(Error::NegativeRead { at: ts, value });
        }
        let p = Point { ts, value };
        match &mut self.body {
            Body::Ordered(Some(run)) if ts > run.last.ts => run.append(self.spec, p),
            Body::Buffered { pts, sorted } => {
                if let Some(last) = pts.last() {
                    *sorted &= last.ts <= ts;
                }
                pts.push(p);
                Ok(())
            }
            Body::Ordered(run) => push_ordered_slow(self.spec, run, p),
        }
    }

    /// Merges another partial state into this one.
    pub fn combine(&mut self, other: EnergyAgg) -> Result<()> {
        if self.spec != other.spec {
            return Err(Error::Mismatch("registers"));
        }
        let spec = self.spec;
        let body = std::mem::replace(&mut self.body, Body::Ordered(None));
        self.body = match (body, other.body) {
            (
                Body::Buffered {
                    pts: mut a,
                    sorted: sa,
                },
                Body::Buffered { pts: b, sorted: sb },
            ) => {
                let sorted = sa
                    && sb
                    && match (a.last(), b.first()) {
                        (Some(x), Some(y)) => x.ts <= y.ts,
                        _ => true,
                    };
                a.extend(b);
                Body::Buffered { pts: a, sorted }
            }
            (Body::Ordered(None), b) | (b, Body::Ordered(None)) => b,
            (Body::Ordered(Some(a)), Body::Ordered(Some(b))) => {
                Body::Ordered(Some(merge_runs(spec, a, b)?))
            }
            (
                Body::Ordered(Some(run)),
                Body::Buffered {
                    mut pts,
                    mut sorted,
                },
            )
            | (
                Body::Buffered {
                    mut pts,
                    mut sorted,
                },
                Body::Ordered(Some(run)),
            ) => {
                normalize(&mut pts, &mut sorted)?;
                Body::Ordered(Some(absorb(spec, run, &pts)?))
            }
        };
        Ok(())
    }

    /// The summary, or `None` when no read was pushed. Sorts a buffered state
    /// in place (idempotent; the state stays usable).
    pub fn finalize(&mut self) -> Result<Option<EnergySummary>> {
        let run = match &mut self.body {
            Body::Ordered(run) => *run,
            Body::Buffered { pts, sorted } => {
                normalize(pts, sorted)?;
                run_of(self.spec, pts)?
            }
        };
        Ok(run.map(|r| EnergySummary::from_run(self.spec, r)))
    }

    /// Versioned compact bytes (first byte = [`VERSION`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(VERSION);
        match &self.body {
            Body::Ordered(None) => w.u8(0),
            Body::Ordered(Some(_)) => w.u8(1),
            Body::Buffered { .. } => w.u8(2),
        }
        w.ivar(self.spec.max());
        w.ivar(self.spec.margin());
        match &self.body {
            Body::Ordered(None) => {}
            Body::Ordered(Some(run)) => write_run(&mut w, run),
            Body::Buffered { pts, .. } => {
                w.uvar(pts.len() as u64);
                let mut prev = Point::new(0, 0);
                for p in pts {
                    w.ivar(p.ts.wrapping_sub(prev.ts));
                    w.ivar(p.value.wrapping_sub(prev.value));
                    prev = *p;
                }
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<EnergyAgg> {
        let mut r = Reader::new(bytes, VERSION)?;
        let tag = r.u8()?;
        let spec = read_spec(&mut r)?;
        let body = match tag {
            0 => Body::Ordered(None),
            1 => Body::Ordered(Some(read_run(&mut r)?)),
            2 => {
                let n = r.count(2)?;
                let mut pts = Vec::with_capacity(n);
                let mut prev = Point::new(0, 0);
                let mut sorted = true;
                for _ in 0..n {
                    let ts = prev.ts.wrapping_add(r.ivar()?);
                    let value = prev.value.wrapping_add(r.ivar()?);
                    if value < 0 {
                        return Err(Error::Corrupt("negative read"));
                    }
                    if !pts.is_empty() && ts < prev.ts {
                        sorted = false;
                    }
                    prev = Point { ts, value };
                    pts.push(prev);
                }
                Body::Buffered { pts, sorted }
            }
            _ => return Err(Error::Corrupt("unknown state kind")),
        };
        r.end()?;
        Ok(EnergyAgg { spec, body })
    }
}

#[cold]
fn push_ordered_slow(spec: RegisterSpec, slot: &mut Option<Run>, p: Point) -> Result<()> {
    let Some(run) = slot else {
        *slot = Some(Run::single(p));
        return Ok(());
    };
    if p.ts == run.last.ts || p.ts == run.first.ts {
        let known = if p.ts == run.last.ts {
            run.last
        } else {
            run.first
        };
        return if known.value == p.value {
            Ok(())
        } else {
            Err(conflict(p.ts, known.value, p.value))
        };
    }
    if p.ts < run.first.ts {
        *run = Run::single(p).join(spec, *run)?;
        return Ok(());
    }
    Err(Error::OutOfOrder {
        at: p.ts,
        first: run.first.ts,
        last: run.last.ts,
    })
}

/// A run merged with sorted, distinct points that lie outside its interior.
fn absorb(spec: RegisterSpec, run: Run, pts: &[Point]) -> Result<Run> {
    let before = pts.partition_point(|p| p.ts < run.first.ts);
    let after = pts.partition_point(|p| p.ts <= run.last.ts);
    for p in &pts[before..after] {
        let known = if p.ts == run.first.ts {
            run.first
        } else if p.ts == run.last.ts {
            run.last
        } else {
            return Err(Error::Overlap);
        };
        if known.value != p.value {
            return Err(conflict(p.ts, known.value, p.value));
        }
    }
    let mut out = run;
    if let Some(head) = run_of(spec, &pts[..before])? {
        out = head.join(spec, out)?;
    }
    if let Some(tail) = run_of(spec, &pts[after..])? {
        out = out.join(spec, tail)?;
    }
    Ok(out)
}

fn write_run(w: &mut Writer, run: &Run) {
    w.ivar(run.first.ts);
    w.ivar(run.first.value);
    w.ivar(run.last.ts);
    w.ivar(run.last.value);
    w.ivar(run.advance);
    w.uvar(run.rollovers);
    w.uvar(run.reversals);
    w.uvar(run.reads);
}

fn read_spec(r: &mut Reader<'_>) -> Result<RegisterSpec> {
    let max = r.ivar()?;
    let margin = r.ivar()?;
    RegisterSpec::new(max, margin).map_err(|_| Error::Corrupt("register"))
}

fn read_run(r: &mut Reader<'_>) -> Result<Run> {
    let run = Run {
        first: Point::new(r.ivar()?, r.ivar()?),
        last: Point::new(r.ivar()?, r.ivar()?),
        advance: r.ivar()?,
        rollovers: r.uvar()?,
        reversals: r.uvar()?,
        reads: r.uvar()?,
    };
    let single = run.reads == 1;
    let valid = run.reads >= 1
        && run.first.ts <= run.last.ts
        && single == (run.first.ts == run.last.ts)
        && (!single || run.first.value == run.last.value)
        && run.first.value >= 0
        && run.last.value >= 0
        && run.advance >= 0
        && run
            .rollovers
            .checked_add(run.reversals)
            .is_some_and(|n| n < run.reads);
    if valid {
        Ok(run)
    } else {
        Err(Error::Corrupt("summary fields"))
    }
}

/// The finalized aggregate: what the SQL summary type holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnergySummary {
    pub register: RegisterSpec,
    pub first: Point,
    pub last: Point,
    /// Sum of rule-4 advances between consecutive reads (micro-kWh, ≥ 0).
    pub advance: MicroKwh,
    pub rollovers: u64,
    pub reversals: u64,
    /// Distinct reads.
    pub reads: u64,
}

impl EnergySummary {
    fn from_run(register: RegisterSpec, r: Run) -> EnergySummary {
        EnergySummary {
            register,
            first: r.first,
            last: r.last,
            advance: r.advance,
            rollovers: r.rollovers,
            reversals: r.reversals,
            reads: r.reads,
        }
    }

    fn run(&self) -> Run {
        Run {
            first: self.first,
            last: self.last,
            advance: self.advance,
            rollovers: self.rollovers,
            reversals: self.reversals,
            reads: self.reads,
        }
    }

    /// Summaries of adjacent, non-overlapping time ranges (any order) as one:
    /// adds the advance (and any rollover/reversal) between the last read of
    /// one and the first of the next, so it equals the aggregate over the
    /// union. Ranges sharing an end instant must agree on its value.
    pub fn rollup<I: IntoIterator<Item = EnergySummary>>(
        parts: I,
    ) -> Result<Option<EnergySummary>> {
        let mut parts: Vec<EnergySummary> = parts.into_iter().collect();
        let Some(register) = parts.first().map(|s| s.register) else {
            return Ok(None);
        };
        if parts.iter().any(|s| s.register != register) {
            return Err(Error::Mismatch("registers"));
        }
        parts.sort_unstable_by_key(|s| (s.first.ts, s.last.ts));
        let mut acc = parts[0].run();
        for s in &parts[1..] {
            acc = merge_runs(register, acc, s.run())?;
        }
        Ok(Some(EnergySummary::from_run(register, acc)))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(VERSION);
        w.ivar(self.register.max());
        w.ivar(self.register.margin());
        write_run(&mut w, &self.run());
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<EnergySummary> {
        let mut r = Reader::new(bytes, VERSION)?;
        let register = read_spec(&mut r)?;
        let run = read_run(&mut r)?;
        r.end()?;
        Ok(EnergySummary::from_run(register, run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HOUR, MICRO_PER_KWH as KWH};

    fn spec() -> RegisterSpec {
        RegisterSpec::new(100_000 * KWH - 1, 100 * KWH).unwrap()
    }

    fn feed(mut agg: EnergyAgg, reads: &[(i64, i64)]) -> Result<EnergyAgg> {
        for &(ts, v) in reads {
            agg.push(ts * HOUR, v)?;
        }
        Ok(agg)
    }

    #[test]
    fn advances_rollovers_and_reversals_are_counted() {
        // 10 → 12 (+2) → 99999.5 (+99987.5) → 1 (rollover: 0.499999 + 1)
        // → 0.5 (reversal: 0) → 3 (+2.5)
        let reads = [
            (0, 10 * KWH),
            (1, 12 * KWH),
            (2, 99_999 * KWH + 500_000),
            (3, KWH),
            (4, 500_000),
            (5, 3 * KWH),
        ];
        for agg in [EnergyAgg::ordered(spec()), EnergyAgg::buffered(spec())] {
            let s = feed(agg, &reads).unwrap().finalize().unwrap().unwrap();
            assert_eq!(
                s.advance,
                2 * KWH + 99_987 * KWH + 500_000 + 499_999 + KWH + 2_500_000
            );
            assert_eq!((s.rollovers, s.reversals, s.reads), (1, 1, 6));
            assert_eq!(s.first, Point::new(0, 10 * KWH));
            assert_eq!(s.last, Point::new(5 * HOUR, 3 * KWH));
        }
    }

    #[test]
    fn duplicates_count_once_and_conflicts_are_refused() {
        let reads = [(0, 5), (1, 7), (1, 7), (0, 5), (2, 9)];
        let s = feed(EnergyAgg::buffered(spec()), &reads)
            .unwrap()
            .finalize()
            .unwrap()
            .unwrap();
        assert_eq!((s.advance, s.reads), (4, 3));
        // Ordered: a repeat of either end is recognised without buffering.
        let s = feed(
            EnergyAgg::ordered(spec()),
            &[(0, 5), (0, 5), (1, 7), (1, 7), (0, 5)],
        )
        .unwrap()
        .finalize()
        .unwrap()
        .unwrap();
        assert_eq!((s.advance, s.reads), (2, 2));

        let conflict = Err(Error::Conflict {
            at: HOUR,
            first: 7,
            second: 8,
        });
        assert_eq!(
            feed(EnergyAgg::ordered(spec()), &[(0, 5), (1, 8), (1, 7)]).err(),
            conflict.clone().err()
        );
        let mut b = feed(EnergyAgg::buffered(spec()), &[(1, 8), (0, 5), (1, 7)]).unwrap();
        assert_eq!(b.finalize(), conflict);
    }

    #[test]
    fn ordered_state_accepts_reads_before_its_range_but_refuses_inside() {
        let mut agg = feed(EnergyAgg::ordered(spec()), &[(5, 50), (6, 60)]).unwrap();
        agg.push(HOUR, 10).unwrap();
        let s = agg.finalize().unwrap().unwrap();
        assert_eq!((s.first.ts, s.advance, s.reads), (HOUR, 50, 3));
        assert_eq!(
            agg.push(3 * HOUR, 30),
            Err(Error::OutOfOrder {
                at: 3 * HOUR,
                first: HOUR,
                last: 6 * HOUR
            })
        );
    }

    #[test]
    fn combine_of_interleaving_ordered_states_is_refused() {
        let a = feed(EnergyAgg::ordered(spec()), &[(0, 0), (2, 20)]).unwrap();
        let b = feed(EnergyAgg::ordered(spec()), &[(1, 10), (3, 30)]).unwrap();
        let mut x = a.clone();
        assert_eq!(x.combine(b), Err(Error::Overlap));
        // A buffered partial whose reads fall outside an ordered run is fine.
        let c = feed(EnergyAgg::buffered(spec()), &[(3, 30), (-1, 0), (2, 20)]).unwrap();
        let mut y = a.clone();
        y.combine(c).unwrap();
        let s = y.finalize().unwrap().unwrap();
        assert_eq!((s.advance, s.reads, s.reversals), (30, 4, 0));
        let mut z = a;
        let inside = feed(EnergyAgg::buffered(spec()), &[(1, 10)]).unwrap();
        assert_eq!(z.combine(inside), Err(Error::Overlap));
        let mut m = EnergyAgg::ordered(spec());
        assert_eq!(
            m.combine(EnergyAgg::ordered(RegisterSpec::NO_ROLLOVER)),
            Err(Error::Mismatch("registers"))
        );
    }

    #[test]
    fn straddling_pair_belongs_to_neither_group_but_rollup_restores_it() {
        // Rule 12: groups [0,1] and [2,3]; the advance 12 → 20 belongs to neither.
        let g1 = feed(EnergyAgg::ordered(spec()), &[(0, 10), (1, 12)])
            .unwrap()
            .finalize()
            .unwrap()
            .unwrap();
        let g2 = feed(EnergyAgg::ordered(spec()), &[(2, 20), (3, 25)])
            .unwrap()
            .finalize()
            .unwrap()
            .unwrap();
        assert_eq!(g1.advance + g2.advance, 7);
        let all = EnergySummary::rollup([g2, g1]).unwrap().unwrap();
        assert_eq!((all.advance, all.reads), (15, 4));
        assert_eq!(EnergySummary::rollup([g1, g1]), Err(Error::Overlap));
        assert_eq!(EnergySummary::rollup([]), Ok(None));
    }

    #[test]
    fn negative_reads_are_refused() {
        assert_eq!(
            EnergyAgg::ordered(spec()).push(0, -1),
            Err(Error::NegativeRead { at: 0, value: -1 })
        );
    }

    #[test]
    fn serialization_round_trips_and_refuses_bad_input() {
        let reads = [(3, 30), (0, 0), (1, 10), (7, 5)];
        let states = [
            EnergyAgg::ordered(spec()),
            feed(EnergyAgg::ordered(spec()), &reads[1..3]).unwrap(),
            feed(EnergyAgg::buffered(spec()), &reads).unwrap(),
            EnergyAgg::buffered(RegisterSpec::NO_ROLLOVER),
        ];
        for s in states {
            let bytes = s.to_bytes();
            assert_eq!(bytes[0], VERSION);
            assert_eq!(EnergyAgg::from_bytes(&bytes).unwrap(), s);
            for cut in 0..bytes.len() {
                assert!(EnergyAgg::from_bytes(&bytes[..cut]).is_err());
            }
            let mut other = bytes.clone();
            other[0] = 2;
            assert_eq!(
                EnergyAgg::from_bytes(&other),
                Err(Error::UnknownVersion { found: 2 })
            );
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                EnergyAgg::from_bytes(&longer),
                Err(Error::Corrupt("trailing bytes"))
            );
        }
        let summary = feed(EnergyAgg::ordered(spec()), &reads[1..])
            .unwrap()
            .finalize()
            .unwrap()
            .unwrap();
        let bytes = summary.to_bytes();
        assert_eq!(EnergySummary::from_bytes(&bytes), Ok(summary));
        assert_eq!(
            EnergySummary::from_bytes(&bytes[..bytes.len() - 1]),
            Err(Error::Truncated)
        );
        assert_eq!(
            EnergySummary::from_bytes(&[9]),
            Err(Error::UnknownVersion { found: 9 })
        );
        // A state claiming a billion reads in a few bytes is refused up front.
        let mut w = Writer::new(VERSION);
        w.u8(2);
        w.ivar(10);
        w.ivar(0);
        w.uvar(1_000_000_000);
        assert_eq!(EnergyAgg::from_bytes(&w.finish()), Err(Error::Truncated));
    }
}
