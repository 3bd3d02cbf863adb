//! Property tests over the public API against a small reference model written
//! from DOMAIN.md's rules (not from the crate's code): conservation, order and
//! split independence, rollup, incremental = full derivation, completeness.

use std::collections::BTreeMap;

use flows_energy::completeness::completeness;
use flows_energy::hh::{derive, derive_events, energy_between, ChannelInput, Exchange, Quality, Window};
use flows_energy::settlement::{day_start, settlement_date, Date};
use flows_energy::{
    EnergyAgg, EnergySummary, Error, Event, Point, RegisterSpec, HALF_HOUR, MICRO_PER_KWH, MINUTE,
};
use proptest::prelude::*;

const KWH: i64 = MICRO_PER_KWH;

/// SplitMix64: the cases are drawn from a proptest seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[derive(Clone, Debug)]
struct Case {
    spec: RegisterSpec,
    reads: Vec<Point>,
    profile: Vec<Point>,
    installed_by: Option<Exchange>,
    removed_by: Option<Exchange>,
}

impl Case {
    fn input(&self) -> ChannelInput<'_> {
        ChannelInput {
            register: self.spec,
            reads: &self.reads,
            profile: &self.profile,
            installed_by: self.installed_by,
            removed_by: self.removed_by,
        }
    }
}

/// Reads walking up with rollovers, reversals and repeats; optional profile
/// points and exchange. Never a conflict (values are keyed by instant).
fn gen_case(seed: u64, with_profile: bool, with_exchange: bool) -> Case {
    let mut rng = Rng(seed);
    let max = rng.range(50, 500) * KWH - 1;
    let margin = if rng.chance(20) { 0 } else { max / 10 };
    let spec = RegisterSpec::new(max, margin).unwrap();
    let n = rng.below(40) as usize;
    let mut t = rng.range(-100_000, 100_000) * MINUTE;
    if rng.chance(50) {
        t += rng.range(0, 60_000_000);
    }
    let mut v = rng.range(0, max);
    let mut by_ts: BTreeMap<i64, i64> = BTreeMap::new();
    let mut reads = Vec::new();
    for _ in 0..n {
        let gap = match rng.below(10) {
            0..=4 => rng.range(1, 30) * MINUTE,
            5..=7 => rng.range(30, 240) * MINUTE,
            8 => HALF_HOUR * rng.range(1, 6),
            _ => rng.range(1, 3 * 24 * 60) * MINUTE + rng.range(0, 60_000_000),
        };
        t += gap;
        v = match rng.below(10) {
            0 => v / 2,                             // drop: reversal (or rollover near max)
            1 => max - rng.range(0, margin.max(1)), // near the maximum
            _ => {
                let nv = v + rng.range(0, 3 * KWH);
                if nv > max {
                    nv - max - 1
                } else {
                    nv
                }
            }
        };
        by_ts.insert(t, v);
        reads.push(Point::new(t, v));
        if rng.chance(10) {
            reads.push(Point::new(t, v));
        }
    }
    let mut profile = Vec::new();
    if with_profile && !reads.is_empty() {
        let lo = reads[0].ts - reads[0].ts.rem_euclid(HALF_HOUR) - 2 * HALF_HOUR;
        let hi = t + 4 * HALF_HOUR;
        let density = rng.range(10, 95) as u64;
        let mut pv = rng.range(0, max);
        let mut b = lo;
        while b <= hi && profile.len() < 400 {
            if rng.chance(density) {
                pv = if rng.chance(5) {
                    pv / 3
                } else {
                    (pv + rng.range(0, KWH)) % (max + 1)
                };
                profile.push(Point::new(b, pv));
                if rng.chance(10) {
                    profile.push(Point::new(b, pv));
                }
            }
            b += HALF_HOUR;
        }
    }
    let (mut installed_by, mut removed_by) = (None, None);
    if with_exchange && !reads.is_empty() && rng.chance(70) {
        let (first, last) = (reads[0].ts, t);
        let mut at = rng.range(first - HALF_HOUR, last + HALF_HOUR);
        if rng.chance(30) {
            at -= at.rem_euclid(HALF_HOUR);
        }
        let value = by_ts
            .get(&at)
            .copied()
            .or_else(|| rng.chance(70).then(|| rng.range(0, max)));
        let x = Exchange {
            at,
            old_final: value,
            new_initial: value,
        };
        if rng.chance(50) {
            removed_by = Some(x);
        } else {
            installed_by = Some(x);
        }
    }
    rng.shuffle(&mut reads);
    rng.shuffle(&mut profile);
    Case {
        spec,
        reads,
        profile,
        installed_by,
        removed_by,
    }
}

// ---- reference model, from the rules' text ----

/// Rule 4: (advance, kind) with kind 0 forward, 1 rollover, 2 reversal.
fn rule4(spec: RegisterSpec, prev: i64, new: i64) -> (i64, u8) {
    if new >= prev {
        (new - prev, 0)
    } else if prev <= spec.max() && spec.max() - prev <= spec.margin() {
        (spec.max() - prev + new, 1)
    } else {
        (0, 2)
    }
}

/// Rules 3, 7, 8: the timeline's points as (ts, value, from_profile).
fn model_points(c: &Case) -> Vec<(i64, i64, bool)> {
    let alive = |ts: i64| {
        c.installed_by.is_none_or(|x| ts >= x.at) && c.removed_by.is_none_or(|x| ts <= x.at)
    };
    let profile: BTreeMap<i64, i64> = c
        .profile
        .iter()
        .filter(|p| alive(p.ts))
        .map(|p| (p.ts, p.value))
        .collect();
    let mut reads: BTreeMap<i64, i64> = c
        .reads
        .iter()
        .filter(|p| alive(p.ts))
        .map(|p| (p.ts, p.value))
        .collect();
    if let Some(x) = c.installed_by {
        if let Some(v) = x.new_initial {
            reads.insert(x.at, v);
        }
    }
    if let Some(x) = c.removed_by {
        if let Some(v) = x.old_final {
            reads.insert(x.at, v);
        }
    }
    let mut all: BTreeMap<i64, (i64, bool)> = BTreeMap::new();
    for (&ts, &v) in &reads {
        let start = ts.div_euclid(HALF_HOUR) * HALF_HOUR;
        let bounded = ts != start
            && profile.contains_key(&start)
            && profile.contains_key(&(start + HALF_HOUR));
        if !bounded {
            all.insert(ts, (v, false));
        }
    }
    for (&ts, &v) in &profile {
        all.insert(ts, (v, true)); // supersedes a read at the same instant
    }
    all.into_iter().map(|(ts, (v, p))| (ts, v, p)).collect()
}

fn model_advance(spec: RegisterSpec, pts: &[(i64, i64, bool)]) -> (i64, u64, u64) {
    let mut total = (0, 0, 0);
    for w in pts.windows(2) {
        let (e, kind) = rule4(spec, w[0].1, w[1].1);
        total.0 += e;
        total.1 += u64::from(kind == 1);
        total.2 += u64::from(kind == 2);
    }
    total
}

fn floor_hh(t: i64) -> i64 {
    t.div_euclid(HALF_HOUR) * HALF_HOUR
}

/// What a window derivation is documented to need: per source, every point
/// in the context range plus all points at the nearest instant on each side.
fn context_of(points: &[Point], lo: i64, hi: i64) -> Vec<Point> {
    let before = points.iter().filter(|p| p.ts < lo).map(|p| p.ts).max();
    let after = points.iter().filter(|p| p.ts > hi).map(|p| p.ts).min();
    points
        .iter()
        .filter(|p| (lo <= p.ts && p.ts <= hi) || Some(p.ts) == before || Some(p.ts) == after)
        .copied()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Rules 4–8: the rows of a channel carry exactly the energy of the
    /// rule-4 advances along its timeline, with the documented shape.
    #[test]
    fn hh_rows_conserve_energy_and_have_the_documented_shape(
        seed in any::<u64>(), with_profile in any::<bool>(), with_exchange in any::<bool>()
    ) {
        let c = gen_case(seed, with_profile, with_exchange);
        let d = derive(&c.input(), None).unwrap();
        let pts = model_points(&c);
        let (advance, rollovers, reversals) = model_advance(c.spec, &pts);
        prop_assert_eq!(d.rows.iter().map(|r| r.energy).sum::<i64>(), advance);

        // Periods: every one the timeline overlaps, each once, in order.
        let mut expected_starts: Vec<i64> = Vec::new();
        for w in pts.windows(2) {
            let mut p = floor_hh(w[0].0);
            while p < w[1].0 {
                if expected_starts.last() != Some(&p) { expected_starts.push(p); }
                p += HALF_HOUR;
            }
        }
        prop_assert_eq!(d.rows.iter().map(|r| r.start).collect::<Vec<_>>(), expected_starts);

        // Partial only where the timeline starts or ends inside a period.
        let profile_at = |t: i64| pts.iter().any(|p| p.0 == t && p.2);
        for (i, r) in d.rows.iter().enumerate() {
            let (first, last) = (pts[0].0, pts[pts.len() - 1].0);
            let partial = first > r.start || last < r.start + HALF_HOUR;
            prop_assert_eq!(r.partial, partial, "row {}", i);
            prop_assert!(r.energy >= 0);
            let actual = profile_at(r.start) && profile_at(r.start + HALF_HOUR);
            prop_assert_eq!(r.quality == Quality::Actual, actual);
        }

        // Events: one per rollover / reversal, plus the exchange on the old side.
        let count = |k: fn(&Event) -> bool| d.events.iter().filter(|e| k(e)).count() as u64;
        prop_assert_eq!(count(|e| matches!(e, Event::Rollover { .. })), rollovers);
        prop_assert_eq!(count(|e| matches!(e, Event::Reversal { .. })), reversals);
        prop_assert_eq!(count(|e| matches!(e, Event::Exchange { .. })), u64::from(c.removed_by.is_some()));
        prop_assert!(d.events.windows(2).all(|w| w[0].at() <= w[1].at()));

        // Arrival order never matters.
        let mut sorted = c.clone();
        sorted.reads.sort();
        sorted.profile.sort();
        prop_assert_eq!(derive(&sorted.input(), None).unwrap(), d);
    }

    /// Re-deriving a window from its context equals the full derivation there.
    #[test]
    fn window_derivation_equals_full_derivation(
        seed in any::<u64>(), with_profile in any::<bool>(), with_exchange in any::<bool>(),
        a in 0.0f64..1.0, b in 0.0f64..1.0, extra in 0usize..5,
    ) {
        let c = gen_case(seed, with_profile, with_exchange);
        let full = derive(&c.input(), None).unwrap();
        let lo = c.reads.iter().map(|p| p.ts).min().unwrap_or(0) - 3 * HALF_HOUR;
        let hi = c.reads.iter().map(|p| p.ts).max().unwrap_or(0) + 3 * HALF_HOUR;
        let (a, b) = (lo + ((hi - lo) as f64 * a.min(b)) as i64, lo + ((hi - lo) as f64 * a.max(b)) as i64);
        let w = Window::new(a, b).unwrap();
        let (clo, chi) = w.context();
        let mut reads = context_of(&c.reads, clo, chi);
        let mut profile = context_of(&c.profile, clo, chi);
        // Extra points from the full input change nothing.
        let mut rng = Rng(seed ^ 0xABCD);
        for _ in 0..extra {
            if !c.reads.is_empty() { reads.push(c.reads[rng.below(c.reads.len() as u64) as usize]); }
            if !c.profile.is_empty() { profile.push(c.profile[rng.below(c.profile.len() as u64) as usize]); }
        }
        let part = derive(&ChannelInput { reads: &reads, profile: &profile, ..c.input() }, Some(w)).unwrap();
        let rows: Vec<_> = full.rows.iter().filter(|r| w.start() <= r.start && r.start < w.end()).copied().collect();
        let events: Vec<_> = full.events.iter().filter(|e| w.start() <= e.at() && e.at() < w.end()).copied().collect();
        prop_assert_eq!(part.rows, rows);
        prop_assert_eq!(&part.events, &events);
        // The events alone are the derivation's.
        prop_assert_eq!(derive_events(&ChannelInput { reads: &reads, profile: &profile, ..c.input() }, Some(w)).unwrap(), events);
        prop_assert_eq!(derive_events(&c.input(), None).unwrap(), full.events);
    }

    /// Rule 10: energy between boundaries is the sum of the rows between them.
    #[test]
    fn energy_between_boundaries_is_the_sum_of_rows(
        seed in any::<u64>(), with_profile in any::<bool>(), i in 0usize..200, j in 0usize..200,
    ) {
        let c = gen_case(seed, with_profile, true);
        let d = derive(&c.input(), None).unwrap();
        if d.rows.is_empty() {
            // No span: no energy anywhere.
            prop_assert_eq!(energy_between(&c.input(), -HALF_HOUR * i as i64, HALF_HOUR * j as i64).unwrap(), 0);
            return Ok(());
        }
        let starts: Vec<i64> = d.rows.iter().map(|r| r.start).chain([d.rows.last().unwrap().start + HALF_HOUR]).collect();
        let (from, to) = (starts[i % starts.len()].min(starts[j % starts.len()]), starts[i % starts.len()].max(starts[j % starts.len()]));
        let sum: i64 = d.rows.iter().filter(|r| from <= r.start && r.start < to).map(|r| r.energy).sum();
        prop_assert_eq!(energy_between(&c.input(), from, to).unwrap(), sum);
    }

    /// Rule 12 on reads alone: the aggregate's advance is the rows' energy and
    /// the model's, for any split of the reads into buffered partial states
    /// combined in any order, with partials passing through serialization.
    #[test]
    fn energy_agg_any_split_any_order(seed in any::<u64>(), parts in 1usize..6) {
        let c = gen_case(seed, false, false);
        let mut rng = Rng(seed.rotate_left(17));
        let mut states: Vec<EnergyAgg> = (0..parts).map(|_| EnergyAgg::buffered(c.spec)).collect();
        for p in &c.reads {
            let k = rng.below(parts as u64) as usize;
            states[k].push(p.ts, p.value).unwrap();
        }
        rng.shuffle(&mut states);
        let mut acc = states.pop().unwrap();
        for s in states {
            let s = if rng.chance(50) { EnergyAgg::from_bytes(&s.to_bytes()).unwrap() } else { s };
            if rng.chance(50) { acc.combine(s).unwrap(); } else { let mut s = s; s.combine(acc).unwrap(); acc = s; }
        }
        let got = acc.finalize().unwrap();
        let pts = model_points(&c);
        match got {
            None => prop_assert!(pts.is_empty()),
            Some(s) => {
                let (advance, rollovers, reversals) = model_advance(c.spec, &pts);
                prop_assert_eq!((s.advance, s.rollovers, s.reversals, s.reads), (advance, rollovers, reversals, pts.len() as u64));
                prop_assert_eq!((s.first.ts, s.first.value), (pts[0].0, pts[0].1));
                prop_assert_eq!((s.last.ts, s.last.value), (pts[pts.len() - 1].0, pts[pts.len() - 1].1));
                let rows = derive(&c.input(), None).unwrap().rows;
                prop_assert_eq!(rows.iter().map(|r| r.energy).sum::<i64>(), s.advance);
            }
        }
    }

    /// Ordered (O(1)) states: time-ordered input gives the model's answer; any
    /// other arrival order or combine gives it too or is refused with a typed
    /// error — never a different summary.
    #[test]
    fn energy_agg_ordered_is_exact_or_refuses(seed in any::<u64>(), cuts in proptest::collection::vec(0.0f64..1.0, 0..4)) {
        let c = gen_case(seed, false, false);
        let mut sorted = c.reads.clone();
        sorted.sort();
        let mut whole = EnergyAgg::buffered(c.spec);
        for p in &c.reads { whole.push(p.ts, p.value).unwrap(); }
        let want = whole.finalize().unwrap();

        let mut one = EnergyAgg::ordered(c.spec);
        for p in &sorted { one.push(p.ts, p.value).unwrap(); }
        prop_assert_eq!(one.finalize().unwrap(), want);
        // Descending order extends the run at its start: also exact.
        let mut desc = EnergyAgg::ordered(c.spec);
        for p in sorted.iter().rev() { desc.push(p.ts, p.value).unwrap(); }
        prop_assert_eq!(desc.finalize().unwrap(), want);

        // Arbitrary arrival order.
        let mut any = EnergyAgg::ordered(c.spec);
        let res = c.reads.iter().try_for_each(|p| any.push(p.ts, p.value));
        match res {
            Ok(()) => prop_assert_eq!(any.finalize().unwrap(), want),
            Err(e) => prop_assert!(matches!(e, Error::OutOfOrder { .. }), "{:?}", e),
        }

        // Time-contiguous chunks, summarised then combined in time order: exact;
        // in shuffled order: exact or Overlap.
        let mut idx: Vec<usize> = cuts.iter().map(|f| (f * sorted.len() as f64) as usize).collect();
        idx.sort();
        let mut chunks: Vec<EnergyAgg> = Vec::new();
        let mut start = 0;
        for end in idx.into_iter().chain([sorted.len()]) {
            let mut s = EnergyAgg::ordered(c.spec);
            for p in &sorted[start..end] { s.push(p.ts, p.value).unwrap(); }
            chunks.push(EnergyAgg::from_bytes(&s.to_bytes()).unwrap());
            start = end;
        }
        let mut acc = EnergyAgg::ordered(c.spec);
        for s in chunks.clone() { acc.combine(s).unwrap(); }
        prop_assert_eq!(acc.finalize().unwrap(), want);
        Rng(seed).shuffle(&mut chunks);
        let mut acc = EnergyAgg::ordered(c.spec);
        match chunks.into_iter().try_for_each(|s| acc.combine(s)) {
            Ok(()) => prop_assert_eq!(acc.finalize().unwrap(), want),
            Err(e) => prop_assert_eq!(e, Error::Overlap),
        }
    }

    /// Rollup of summaries of adjacent time ranges (any order) equals the
    /// aggregate over their union, which includes the straddling pairs.
    #[test]
    fn rollup_of_adjacent_summaries_is_the_aggregate_of_the_union(
        seed in any::<u64>(), cuts in proptest::collection::vec(0.0f64..1.0, 0..6), shared_end in any::<bool>(),
    ) {
        let c = gen_case(seed, false, false);
        let mut sorted = c.reads.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.is_empty() {
            prop_assert_eq!(EnergySummary::rollup([]).unwrap(), None);
            return Ok(());
        }
        let mut idx: Vec<usize> = cuts.iter().map(|f| 1 + (f * (sorted.len() - 1) as f64) as usize).collect();
        idx.push(sorted.len());
        idx.sort();
        idx.dedup();
        let mut summaries = Vec::new();
        let mut start = 0;
        for end in idx {
            if start >= end { continue; }
            // Ranges may also share their boundary read.
            let from = if shared_end && start > 0 { start - 1 } else { start };
            let mut s = EnergyAgg::ordered(c.spec);
            for p in &sorted[from..end] { s.push(p.ts, p.value).unwrap(); }
            let summary = s.finalize().unwrap().unwrap();
            summaries.push(EnergySummary::from_bytes(&summary.to_bytes()).unwrap());
            start = end;
        }
        let mut all = EnergyAgg::ordered(c.spec);
        for p in &sorted { all.push(p.ts, p.value).unwrap(); }
        let want = all.finalize().unwrap();
        let sum_parts: i64 = summaries.iter().map(|s| s.advance).sum();
        Rng(seed).shuffle(&mut summaries);
        let got = EnergySummary::rollup(summaries).unwrap();
        prop_assert_eq!(got, want);
        // Without the straddling pairs the groups' advances can only be less.
        prop_assert!(sum_parts <= want.unwrap().advance);
    }

    /// Rule 11 bounds: strict ≤ present ≤ expected, and the missing runs are
    /// disjoint, maximal, inside the range and account for every absent period.
    #[test]
    fn completeness_bounds(seed in any::<u64>(), days in 1i32..40) {
        let mut rng = Rng(seed);
        let from = Date::from_pg_days(rng.range(8000, 9500) as i32).unwrap();
        let to = from.add_days(days - 1).unwrap();
        let (lo, hi) = (day_start(from), day_start(to.add_days(1).unwrap()));
        let density = rng.below(101);
        let mut rows = Vec::new();
        let mut p = lo - 4 * HALF_HOUR;
        while p < hi + 4 * HALF_HOUR {
            if rng.chance(density) { rows.push((p, rng.chance(20))); }
            if rng.chance(5) { rows.push((p, rng.chance(50))); }
            p += HALF_HOUR;
        }
        let c = completeness(rows.clone(), from, to).unwrap();
        let mut expected = 0u64;
        let mut d = from;
        while d <= to { expected += flows_energy::settlement::periods_in_day(d) as u64; d = d.add_days(1).unwrap(); }
        prop_assert_eq!(c.expected, expected);
        prop_assert_eq!(c.expected as i64, (hi - lo) / HALF_HOUR);
        prop_assert!(c.present_full <= c.present && c.present <= c.expected);
        prop_assert!((0.0..=1.0).contains(&c.strict_ratio()) && c.strict_ratio() <= c.ratio() && c.ratio() <= 1.0);
        let present: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.0).filter(|t| lo <= *t && *t < hi).collect();
        prop_assert_eq!(c.present, present.len() as u64);
        prop_assert_eq!(c.missing.iter().map(|m| m.periods()).sum::<u64>(), c.expected - c.present);
        for m in &c.missing {
            prop_assert!(lo <= m.start && m.start < m.end && m.end <= hi);
            // Maximal: the periods just outside the run are present or out of range.
            prop_assert!(m.start == lo || present.contains(&(m.start - HALF_HOUR)));
            prop_assert!(m.end == hi || present.contains(&m.end));
            prop_assert!(!present.range(m.start..m.end).any(|_| true));
        }
        prop_assert!(c.missing.windows(2).all(|w| w[0].end < w[1].start));
        // Split into two partial states, combined: the same answer.
        let mut a = flows_energy::CompletenessAgg::new();
        let mut b = flows_energy::CompletenessAgg::new();
        for (i, (t, partial)) in rows.iter().enumerate() {
            if i % 3 == 0 { &mut a } else { &mut b }.push(*t, *partial).unwrap();
        }
        let mut b = flows_energy::CompletenessAgg::from_bytes(&b.to_bytes()).unwrap();
        b.combine(a);
        prop_assert_eq!(b.finalize(from, to).unwrap(), c.clone());
        let _ = settlement_date(lo).unwrap();
    }
}
