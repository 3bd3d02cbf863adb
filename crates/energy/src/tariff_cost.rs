//! Tariff cost over HH rows: a standing charge per settlement day plus unit
//! rates per element (A = day, B = night; SINGLE pays A's rate), with the
//! tariff in force at each instant. Money is i64 of 1/100000 GBP (the meters'
//! unit). Energy × rate is summed exactly (1e-11 GBP) and rounded once, half
//! away from zero, per element at finalize; standing charges are exact.
//! Two states: `TariffCostAgg` holds a known schedule; `JoinedTariffCostAgg`
//! takes each row with the tariff the caller joined to it (SQL's way).

use std::collections::{BTreeMap, BTreeSet};

use crate::codec::{Reader, Writer};
use crate::error::{Error, Result};
use crate::settlement::{check_instant, day_start, is_half_hour_boundary, settlement_date, Date};
use crate::{Instant, MicroKwh};

pub const VERSION: u8 = 1;

/// An amount of 1/100000 GBP.
pub type Money = i64;
pub const MONEY_PER_GBP: Money = 100_000;

/// A tariff and the instant it takes effect (in force until the next one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tariff {
    pub activation: Instant,
    /// Per settlement day.
    pub standing_charge: Money,
    /// Per kWh.
    pub unit_rate_a: Money,
    /// Per kWh.
    pub unit_rate_b: Money,
}

/// Tariffs sorted by activation, at most one per instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TariffSchedule {
    tariffs: Vec<Tariff>,
}

impl TariffSchedule {
    pub fn new(mut tariffs: Vec<Tariff>) -> Result<TariffSchedule> {
        for t in &tariffs {
            check_instant(t.activation)?;
            if t.standing_charge < 0 || t.unit_rate_a < 0 || t.unit_rate_b < 0 {
                return Err(Error::InvalidTariff("negative amount"));
            }
        }
        tariffs.sort_unstable_by_key(|t| t.activation);
        if tariffs
            .windows(2)
            .any(|w| w[0].activation == w[1].activation)
        {
            return Err(Error::InvalidTariff(
                "two tariffs activate at the same instant",
            ));
        }
        Ok(TariffSchedule { tariffs })
    }

    pub fn tariffs(&self) -> &[Tariff] {
        &self.tariffs
    }

    fn index_at(&self, t: Instant) -> Option<usize> {
        self.tariffs
            .partition_point(|x| x.activation <= t)
            .checked_sub(1)
    }

    /// The tariff in force at `t` (the latest activation at or before it).
    pub fn in_force(&self, t: Instant) -> Option<&Tariff> {
        self.index_at(t).map(|i| &self.tariffs[i])
    }
}

/// Which unit rate a register's rows pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Element {
    A,
    B,
    /// Single-rate register: pays element A's rate and counts under A.
    Single,
}

/// The cost of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    pub days: u64,
    pub standing: Money,
    pub unit_a: Money,
    pub unit_b: Money,
    /// `standing + unit_a + unit_b`.
    pub total: Money,
    pub energy_a: MicroKwh,
    pub energy_b: MicroKwh,
}

/// Aggregate state: exact sums of energy and energy × rate per element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TariffCostAgg {
    schedule: TariffSchedule,
    /// Σ µkWh × (1/100000 GBP per kWh) = 1e-11 GBP.
    cost_a: i128,
    cost_b: i128,
    energy_a: i128,
    energy_b: i128,
    rows: u64,
    first: Instant,
    last: Instant,
}

/// `n / d` rounded half away from zero (`d > 0`).
fn round_div(n: i128, d: i128) -> i128 {
    let q = (n.abs() + d / 2) / d;
    if n < 0 {
        -q
    } else {
        q
    }
}

fn to_i64(v: i128) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Overflow)
}

impl TariffCostAgg {
    pub fn new(schedule: TariffSchedule) -> TariffCostAgg {
        TariffCostAgg {
            schedule,
            cost_a: 0,
            cost_b: 0,
            energy_a: 0,
            energy_b: 0,
            rows: 0,
            first: Instant::MAX,
            last: Instant::MIN,
        }
    }

    /// One HH row: period start, element, energy. Its rate is that of the
    /// tariff in force at the period start.
    pub fn push(&mut self, start: Instant, element: Element, energy: MicroKwh) -> Result<()> {
        check_instant(start)?;
        if !is_half_hour_boundary(start) {
            return Err(Error::NotOnBoundary { at: start });
        }
        let tariff = self
            .schedule
            .in_force(start)
            .ok_or(Error::NoTariff { at: start })?;
        let (rate, cost, sum) = match element {
            Element::A | Element::Single => {
                (tariff.unit_rate_a, &mut self.cost_a, &mut self.energy_a)
            }
            Element::B => (tariff.unit_rate_b, &mut self.cost_b, &mut self.energy_b),
        };
        *cost += i128::from(energy) * i128::from(rate);
        *sum += i128::from(energy);
        self.rows += 1;
        self.first = self.first.min(start);
        self.last = self.last.max(start);
        Ok(())
    }

    pub fn combine(&mut self, other: TariffCostAgg) -> Result<()> {
        if self.schedule != other.schedule {
            return Err(Error::Mismatch("tariff schedules"));
        }
        self.cost_a += other.cost_a;
        self.cost_b += other.cost_b;
        self.energy_a += other.energy_a;
        self.energy_b += other.energy_b;
        self.rows += other.rows;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        Ok(())
    }

    /// Cost over settlement dates `from..=to`: one standing charge per date
    /// (the tariff in force at its local midnight) plus the rows' unit costs.
    /// Every row pushed must lie in the range.
    pub fn finalize(&self, from: Date, to: Date) -> Result<Cost> {
        if to < from {
            return Err(Error::InvalidRange);
        }
        let (lo, hi) = (day_start(from), day_start(to.add_days(1)?));
        if self.rows > 0 {
            if self.first < lo {
                return Err(Error::RowOutsideRange { at: self.first });
            }
            if self.last >= hi {
                return Err(Error::RowOutsideRange { at: self.last });
            }
        }
        let mut standing: Money = 0;
        let mut days = 0u64;
        let mut d = from;
        while d <= to {
            let at = day_start(d);
            let t = self.schedule.in_force(at).ok_or(Error::NoTariff { at })?;
            standing = standing
                .checked_add(t.standing_charge)
                .ok_or(Error::Overflow)?;
            days += 1;
            d = d.add_days(1)?;
        }
        let unit_a = to_i64(round_div(self.cost_a, 1_000_000))?;
        let unit_b = to_i64(round_div(self.cost_b, 1_000_000))?;
        let total = standing
            .checked_add(unit_a)
            .and_then(|x| x.checked_add(unit_b))
            .ok_or(Error::Overflow)?;
        Ok(Cost {
            days,
            standing,
            unit_a,
            unit_b,
            total,
            energy_a: to_i64(self.energy_a)?,
            energy_b: to_i64(self.energy_b)?,
        })
    }

    /// Cost over the settlement dates from the first row's to the last row's;
    /// `None` without rows.
    pub fn finalize_spanned(&self) -> Result<Option<Cost>> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.finalize(settlement_date(self.first)?, settlement_date(self.last)?)
            .map(Some)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(VERSION);
        w.uvar(self.schedule.tariffs.len() as u64);
        for t in &self.schedule.tariffs {
            w.ivar(t.activation);
            w.ivar(t.standing_charge);
            w.ivar(t.unit_rate_a);
            w.ivar(t.unit_rate_b);
        }
        for v in [self.cost_a, self.cost_b, self.energy_a, self.energy_b] {
            w.i128var(v);
        }
        w.uvar(self.rows);
        if self.rows > 0 {
            w.ivar(self.first);
            w.ivar(self.last);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TariffCostAgg> {
        let mut r = Reader::new(bytes, VERSION)?;
        let n = r.count(4)?;
        let mut tariffs = Vec::with_capacity(n);
        for _ in 0..n {
            tariffs.push(Tariff {
                activation: r.ivar()?,
                standing_charge: r.ivar()?,
                unit_rate_a: r.ivar()?,
                unit_rate_b: r.ivar()?,
            });
        }
        let schedule = TariffSchedule::new(tariffs).map_err(|_| Error::Corrupt("tariff"))?;
        let mut agg = TariffCostAgg::new(schedule);
        agg.cost_a = r.i128var()?;
        agg.cost_b = r.i128var()?;
        agg.energy_a = r.i128var()?;
        agg.energy_b = r.i128var()?;
        agg.rows = r.uvar()?;
        if agg.rows > 0 {
            agg.first = r.ivar()?;
            agg.last = r.ivar()?;
            if agg.first > agg.last {
                return Err(Error::Corrupt("row range"));
            }
        }
        r.end()?;
        Ok(agg)
    }
}

/// Energy rows priced with one tariff, and when they lie.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Priced {
    tariff: Tariff,
    energy_a: i128,
    energy_b: i128,
    first: Instant,
    last: Instant,
}

pub const JOINED_VERSION: u8 = 1;

/// Aggregate state over HH rows that each carry the tariff in force (the
/// caller joins them to a tariff history). A settlement date pays one
/// standing charge when the group has a row on it — rows without energy
/// count, so a caller charges days without data by adding one such row per
/// day — at the tariff in force at its local midnight. Rows must be priced
/// with the latest tariff active at or before them: finalize refuses a row
/// whose tariff a later one (also given) had replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JoinedTariffCostAgg {
    /// By activation instant.
    tariffs: BTreeMap<Instant, Priced>,
    /// Settlement dates with a row (PostgreSQL day numbers).
    days: BTreeSet<i32>,
}

impl JoinedTariffCostAgg {
    pub fn new() -> JoinedTariffCostAgg {
        JoinedTariffCostAgg::default()
    }

    /// One row: its period start, `Some((element, energy))` or `None` for a
    /// row that only marks its settlement date, and the tariff joined to it
    /// (its `activation` = when it became active, at or before `start`).
    pub fn push(
        &mut self,
        start: Instant,
        energy: Option<(Element, MicroKwh)>,
        tariff: Tariff,
    ) -> Result<()> {
        check_instant(start)?;
        check_instant(tariff.activation)?;
        if !is_half_hour_boundary(start) {
            return Err(Error::NotOnBoundary { at: start });
        }
        if tariff.activation > start {
            return Err(Error::NoTariff { at: start });
        }
        if tariff.standing_charge < 0 || tariff.unit_rate_a < 0 || tariff.unit_rate_b < 0 {
            return Err(Error::InvalidTariff("negative amount"));
        }
        if let Some((_, e)) = energy {
            if e < 0 {
                return Err(Error::NegativeRead {
                    at: start,
                    value: e,
                });
            }
        }
        let priced = self.tariffs.entry(tariff.activation).or_insert(Priced {
            tariff,
            energy_a: 0,
            energy_b: 0,
            first: start,
            last: start,
        });
        if priced.tariff != tariff {
            return Err(Error::TariffConflict {
                from: tariff.activation,
            });
        }
        priced.first = priced.first.min(start);
        priced.last = priced.last.max(start);
        match energy {
            Some((Element::B, e)) => priced.energy_b += i128::from(e),
            Some((_, e)) => priced.energy_a += i128::from(e),
            None => {}
        }
        self.days.insert(settlement_date(start)?.pg_days());
        Ok(())
    }

    pub fn combine(&mut self, other: JoinedTariffCostAgg) -> Result<()> {
        for (from, p) in other.tariffs {
            match self.tariffs.get_mut(&from) {
                None => {
                    self.tariffs.insert(from, p);
                }
                Some(mine) if mine.tariff == p.tariff => {
                    mine.energy_a += p.energy_a;
                    mine.energy_b += p.energy_b;
                    mine.first = mine.first.min(p.first);
                    mine.last = mine.last.max(p.last);
                }
                Some(_) => return Err(Error::TariffConflict { from }),
            }
        }
        self.days.extend(other.days);
        Ok(())
    }

    /// The cost of the rows; `None` without rows.
    pub fn finalize(&self) -> Result<Option<Cost>> {
        if self.days.is_empty() {
            return Ok(None);
        }
        let parts: Vec<&Priced> = self.tariffs.values().collect();
        for w in parts.windows(2) {
            if w[0].last >= w[1].tariff.activation {
                return Err(Error::TariffSuperseded {
                    at: w[0].last,
                    from: w[0].tariff.activation,
                    next: w[1].tariff.activation,
                });
            }
        }
        let mut standing: Money = 0;
        for &d in &self.days {
            let at = day_start(Date::from_pg_days(d)?);
            let (_, p) = self
                .tariffs
                .range(..=at)
                .next_back()
                .ok_or(Error::NoTariff { at })?;
            standing = standing
                .checked_add(p.tariff.standing_charge)
                .ok_or(Error::Overflow)?;
        }
        let (mut cost_a, mut cost_b, mut energy_a, mut energy_b) = (0i128, 0i128, 0i128, 0i128);
        for p in &parts {
            cost_a += p.energy_a * i128::from(p.tariff.unit_rate_a);
            cost_b += p.energy_b * i128::from(p.tariff.unit_rate_b);
            energy_a += p.energy_a;
            energy_b += p.energy_b;
        }
        let unit_a = to_i64(round_div(cost_a, 1_000_000))?;
        let unit_b = to_i64(round_div(cost_b, 1_000_000))?;
        let total = standing
            .checked_add(unit_a)
            .and_then(|x| x.checked_add(unit_b))
            .ok_or(Error::Overflow)?;
        Ok(Some(Cost {
            days: self.days.len() as u64,
            standing,
            unit_a,
            unit_b,
            total,
            energy_a: to_i64(energy_a)?,
            energy_b: to_i64(energy_b)?,
        }))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(JOINED_VERSION);
        w.uvar(self.tariffs.len() as u64);
        for p in self.tariffs.values() {
            w.ivar(p.tariff.activation);
            w.ivar(p.tariff.standing_charge);
            w.ivar(p.tariff.unit_rate_a);
            w.ivar(p.tariff.unit_rate_b);
            w.i128var(p.energy_a);
            w.i128var(p.energy_b);
            w.ivar(p.first);
            w.ivar(p.last);
        }
        w.uvar(self.days.len() as u64);
        let mut prev = 0i64;
        for &d in &self.days {
            w.ivar(i64::from(d) - prev);
            prev = i64::from(d);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<JoinedTariffCostAgg> {
        let mut r = Reader::new(bytes, JOINED_VERSION)?;
        let mut agg = JoinedTariffCostAgg::new();
        let n = r.count(10)?;
        for _ in 0..n {
            let tariff = Tariff {
                activation: r.ivar()?,
                standing_charge: r.ivar()?,
                unit_rate_a: r.ivar()?,
                unit_rate_b: r.ivar()?,
            };
            let p = Priced {
                tariff,
                energy_a: r.i128var()?,
                energy_b: r.i128var()?,
                first: r.ivar()?,
                last: r.ivar()?,
            };
            let valid = tariff.activation <= p.first
                && p.first <= p.last
                && p.energy_a >= 0
                && p.energy_b >= 0
                && tariff.standing_charge >= 0
                && tariff.unit_rate_a >= 0
                && tariff.unit_rate_b >= 0;
            if !valid || agg.tariffs.insert(tariff.activation, p).is_some() {
                return Err(Error::Corrupt("tariff"));
            }
        }
        let n = r.count(1)?;
        let mut prev = 0i64;
        for _ in 0..n {
            let d = prev.checked_add(r.ivar()?).ok_or(Error::Corrupt("day"))?;
            let day = i32::try_from(d).map_err(|_| Error::Corrupt("day"))?;
            Date::from_pg_days(day).map_err(|_| Error::Corrupt("day"))?;
            if !agg.days.insert(day) {
                return Err(Error::Corrupt("day"));
            }
            prev = d;
        }
        r.end()?;
        Ok(agg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::period_start;
    use crate::{HALF_HOUR, MICRO_PER_KWH as KWH};

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    fn tariff(activation: Instant, standing: f64, a: f64, b: f64) -> Tariff {
        let m = |gbp: f64| (gbp * MONEY_PER_GBP as f64).round() as Money;
        Tariff {
            activation,
            standing_charge: m(standing),
            unit_rate_a: m(a),
            unit_rate_b: m(b),
        }
    }

    #[test]
    fn one_day_of_day_and_night_units() {
        let d = date(2024, 1, 10);
        let s = TariffSchedule::new(vec![tariff(0, 0.50, 0.25, 0.10)]).unwrap();
        let mut agg = TariffCostAgg::new(s);
        for p in 1..=3 {
            agg.push(period_start(d, p).unwrap(), Element::A, KWH)
                .unwrap();
        }
        for p in 4..=5 {
            agg.push(period_start(d, p).unwrap(), Element::B, KWH / 2)
                .unwrap();
        }
        // 0.50 standing + 3 kWh × 0.25 + 1 kWh × 0.10 = 1.35 GBP.
        let c = agg.finalize(d, d).unwrap();
        assert_eq!(
            c,
            Cost {
                days: 1,
                standing: 50_000,
                unit_a: 75_000,
                unit_b: 10_000,
                total: 135_000,
                energy_a: 3 * KWH,
                energy_b: KWH,
            }
        );
        assert_eq!(agg.finalize_spanned().unwrap(), Some(c));
    }

    #[test]
    fn tariff_change_at_local_midnight_and_one_standing_charge_per_clock_change_day() {
        // New tariff from 2024-04-01 00:00 BST = 2024-03-31 23:00 UTC.
        let switch = day_start(date(2024, 4, 1));
        let s = TariffSchedule::new(vec![
            tariff(switch, 0.60, 0.30, 0.10),
            tariff(0, 0.40, 0.20, 0.10),
        ])
        .unwrap();
        let mut agg = TariffCostAgg::new(s);
        // Last period of 2024-03-31 (46 periods) and first of 2024-04-01.
        agg.push(switch - HALF_HOUR, Element::Single, KWH).unwrap();
        agg.push(switch, Element::Single, KWH).unwrap();
        let c = agg.finalize(date(2024, 3, 31), date(2024, 4, 1)).unwrap();
        assert_eq!((c.days, c.standing), (2, 40_000 + 60_000));
        assert_eq!((c.unit_a, c.unit_b), (20_000 + 30_000, 0));
        assert_eq!(
            agg.finalize(date(2024, 4, 1), date(2024, 4, 1)),
            Err(Error::RowOutsideRange {
                at: switch - HALF_HOUR
            })
        );
    }

    #[test]
    fn unit_cost_is_rounded_once_not_per_row() {
        let s = TariffSchedule::new(vec![tariff(0, 0.0, 0.12345, 0.25)]).unwrap();
        let mut agg = TariffCostAgg::new(s);
        // 100 rows of 1 µkWh at 0.12345 GBP/kWh: 1.2345e-5 GBP in all → 1 unit
        // (each row alone would round to 0).
        for i in 0..100 {
            agg.push(i * HALF_HOUR, Element::A, 1).unwrap();
        }
        // 20 µkWh at 0.25 GBP/kWh = 0.5e-5 GBP: half rounds away from zero.
        agg.push(0, Element::B, 20).unwrap();
        let c = agg.finalize(date(2000, 1, 1), date(2000, 1, 3)).unwrap();
        assert_eq!((c.unit_a, c.unit_b, c.total), (1, 1, 2));
    }

    #[test]
    fn missing_or_invalid_tariffs_are_refused() {
        let s = TariffSchedule::new(vec![tariff(HALF_HOUR * 10, 0.5, 0.2, 0.1)]).unwrap();
        let mut agg = TariffCostAgg::new(s.clone());
        assert_eq!(agg.push(0, Element::A, 1), Err(Error::NoTariff { at: 0 }));
        assert_eq!(
            agg.push(7, Element::A, 1),
            Err(Error::NotOnBoundary { at: 7 })
        );
        assert_eq!(
            agg.finalize(date(2000, 1, 1), date(2000, 1, 1)),
            Err(Error::NoTariff { at: 0 })
        );
        assert!(TariffSchedule::new(vec![tariff(0, -0.1, 0.2, 0.1)]).is_err());
        assert!(
            TariffSchedule::new(vec![tariff(0, 0.1, 0.2, 0.1), tariff(0, 0.2, 0.2, 0.1)]).is_err()
        );
        let mut other = TariffCostAgg::new(TariffSchedule::new(vec![]).unwrap());
        assert_eq!(other.combine(agg), Err(Error::Mismatch("tariff schedules")));
    }

    #[test]
    fn combine_and_serialization_preserve_the_cost() {
        let s = TariffSchedule::new(vec![
            tariff(0, 0.5, 0.2, 0.1),
            tariff(20 * HALF_HOUR, 0.7, 0.3, 0.15),
        ])
        .unwrap();
        let rows: Vec<(Instant, Element, MicroKwh)> = (0..40)
            .map(|i| {
                (
                    i * HALF_HOUR,
                    if i % 3 == 0 { Element::B } else { Element::A },
                    123_457 * (i + 1),
                )
            })
            .collect();
        let mut whole = TariffCostAgg::new(s.clone());
        let mut left = TariffCostAgg::new(s.clone());
        let mut right = TariffCostAgg::new(s);
        for (i, &(t, e, kwh)) in rows.iter().enumerate() {
            whole.push(t, e, kwh).unwrap();
            if i % 2 == 0 { &mut left } else { &mut right }
                .push(t, e, kwh)
                .unwrap();
        }
        let right = TariffCostAgg::from_bytes(&right.to_bytes()).unwrap();
        left.combine(right).unwrap();
        let d = date(2000, 1, 1);
        assert_eq!(left.finalize(d, d), whole.finalize(d, d));
        let bytes = whole.to_bytes();
        assert_eq!(
            TariffCostAgg::from_bytes(&bytes[..bytes.len() - 1]),
            Err(Error::Truncated)
        );
        assert_eq!(
            TariffCostAgg::from_bytes(&[3]),
            Err(Error::UnknownVersion { found: 3 })
        );
    }

    type JoinedRow = (Instant, Option<(Element, MicroKwh)>, Tariff);

    fn joined_rows() -> Vec<JoinedRow> {
        // Two tariffs: the second from 2000-01-02 12:00 UTC; rows over three
        // days (A, B, SINGLE and day markers).
        let t1 = tariff(0, 0.5, 0.2, 0.1);
        let t2 = tariff(36 * 2 * HALF_HOUR, 0.7, 0.3, 0.15);
        (0..150)
            .map(|i| {
                let start = i * HALF_HOUR;
                let t = if start >= t2.activation { t2 } else { t1 };
                let e = match i % 4 {
                    0 => Some((Element::A, 123_457 * (i + 1))),
                    1 => Some((Element::B, 98_765)),
                    2 => Some((Element::Single, 1)),
                    _ => None,
                };
                (start, e, t)
            })
            .collect()
    }

    #[test]
    fn joined_rows_cost_the_same_as_a_schedule() {
        let rows = joined_rows();
        let mut joined = JoinedTariffCostAgg::new();
        let schedule = TariffSchedule::new(vec![rows[0].2, rows[149].2]).unwrap();
        let mut scheduled = TariffCostAgg::new(schedule);
        for &(t, e, tariff) in &rows {
            joined.push(t, e, tariff).unwrap();
            if let Some((el, kwh)) = e {
                scheduled.push(t, el, kwh).unwrap();
            }
        }
        let (from, to) = (date(2000, 1, 1), date(2000, 1, 4));
        // 150 half hours from 2000-01-01 00:00 UTC (GMT) reach into 2000-01-04.
        assert_eq!(
            joined.finalize().unwrap(),
            Some(scheduled.finalize(from, to).unwrap())
        );
        assert_eq!(JoinedTariffCostAgg::new().finalize(), Ok(None));
    }

    #[test]
    fn joined_rows_with_a_wrong_or_missing_tariff_are_refused() {
        let t1 = tariff(0, 0.5, 0.2, 0.1);
        let t2 = tariff(10 * HALF_HOUR, 0.7, 0.3, 0.15);
        let mut agg = JoinedTariffCostAgg::new();
        assert_eq!(
            agg.push(2 * HALF_HOUR, None, t2),
            Err(Error::NoTariff { at: 2 * HALF_HOUR })
        );
        assert_eq!(agg.push(7, None, t1), Err(Error::NotOnBoundary { at: 7 }));
        assert_eq!(
            agg.push(0, Some((Element::A, -1)), t1),
            Err(Error::NegativeRead { at: 0, value: -1 })
        );
        agg.push(0, Some((Element::A, 1)), t1).unwrap();
        assert_eq!(
            agg.push(HALF_HOUR, None, tariff(0, 0.5, 0.2, 0.2)),
            Err(Error::TariffConflict { from: 0 })
        );
        // A row after t2's activation still priced with t1.
        agg.push(12 * HALF_HOUR, Some((Element::A, 1)), t1).unwrap();
        agg.push(11 * HALF_HOUR, Some((Element::A, 1)), t2).unwrap();
        assert_eq!(
            agg.finalize(),
            Err(Error::TariffSuperseded {
                at: 12 * HALF_HOUR,
                from: 0,
                next: 10 * HALF_HOUR
            })
        );
        // A day whose midnight precedes every tariff given.
        let mut late = JoinedTariffCostAgg::new();
        late.push(11 * HALF_HOUR, None, t2).unwrap();
        assert_eq!(late.finalize(), Err(Error::NoTariff { at: 0 }));
    }

    proptest::proptest! {
        /// Any split of the rows, combined in any order and through bytes,
        /// gives the same state and cost.
        #[test]
        fn joined_any_split_combines_to_the_same_result(
            cuts in proptest::collection::vec(0usize..150, 0..4),
            seed in 0u64..1000,
        ) {
            let mut rows = joined_rows();
            // A seeded rotation: arrival order does not matter either.
            rows.rotate_left((seed % 150) as usize);
            let mut whole = JoinedTariffCostAgg::new();
            for &(t, e, tariff) in &rows {
                whole.push(t, e, tariff).unwrap();
            }
            let mut cuts = cuts;
            cuts.push(0);
            cuts.push(rows.len());
            cuts.sort_unstable();
            let mut combined = JoinedTariffCostAgg::new();
            for w in cuts.windows(2).rev() {
                let mut part = JoinedTariffCostAgg::new();
                for &(t, e, tariff) in &rows[w[0]..w[1]] {
                    part.push(t, e, tariff).unwrap();
                }
                combined.combine(JoinedTariffCostAgg::from_bytes(&part.to_bytes()).unwrap()).unwrap();
            }
            proptest::prop_assert_eq!(&combined, &whole);
            proptest::prop_assert_eq!(combined.finalize(), whole.finalize());
            let bytes = whole.to_bytes();
            proptest::prop_assert_eq!(JoinedTariffCostAgg::from_bytes(&bytes), Ok(whole));
            for cut in 0..bytes.len() {
                proptest::prop_assert!(JoinedTariffCostAgg::from_bytes(&bytes[..cut]).is_err());
            }
        }
    }
}
