//! Tariff cost over HH rows: a standing charge per settlement day plus unit
//! rates per element (A = day, B = night; SINGLE pays A's rate), with the
//! tariff in force at each instant. Money is i64 of 1/100000 GBP (the meters'
//! unit). Energy × rate is summed exactly (1e-11 GBP) and rounded once, half
//! away from zero, per element at finalize; standing charges are exact.

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
}
