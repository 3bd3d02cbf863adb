//! Rule 9: group sums (circuit, property, site, ESCO) per period — the sum of
//! the members' HH rows, `actual` only if every contributing row is. Members
//! replaced by a meter exchange simply contribute both registers' rows.

use crate::error::{Error, Result};
use crate::hh::{HhRow, Quality};
use crate::{Instant, MicroKwh};

/// A group's energy in one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRow {
    pub start: Instant,
    pub energy: MicroKwh,
    pub quality: Quality,
    /// Member rows that contributed.
    pub rows: u64,
    /// Some contributing row was partial.
    pub any_partial: bool,
}

/// Aggregate state for one period of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupPeriodAgg {
    energy: MicroKwh,
    all_actual: bool,
    rows: u64,
    any_partial: bool,
}

impl Default for GroupPeriodAgg {
    fn default() -> Self {
        GroupPeriodAgg {
            energy: 0,
            all_actual: true,
            rows: 0,
            any_partial: false,
        }
    }
}

impl GroupPeriodAgg {
    pub fn new() -> GroupPeriodAgg {
        GroupPeriodAgg::default()
    }

    pub fn push(&mut self, energy: MicroKwh, quality: Quality, partial: bool) -> Result<()> {
        self.energy = self.energy.checked_add(energy).ok_or(Error::Overflow)?;
        self.all_actual &= quality == Quality::Actual;
        self.rows += 1;
        self.any_partial |= partial;
        Ok(())
    }

    pub fn combine(&mut self, other: GroupPeriodAgg) -> Result<()> {
        self.energy = self
            .energy
            .checked_add(other.energy)
            .ok_or(Error::Overflow)?;
        self.all_actual &= other.all_actual;
        self.rows += other.rows;
        self.any_partial |= other.any_partial;
        Ok(())
    }

    /// `None` when no row was pushed (a group has no row for that period).
    pub fn finalize(&self, start: Instant) -> Option<GroupRow> {
        (self.rows > 0).then_some(GroupRow {
            start,
            energy: self.energy,
            quality: if self.all_actual {
                Quality::Actual
            } else {
                Quality::Estimated
            },
            rows: self.rows,
            any_partial: self.any_partial,
        })
    }
}

/// Group rows, one per period that any member row covers, in time order.
pub fn group_sum<I: IntoIterator<Item = HhRow>>(rows: I) -> Result<Vec<GroupRow>> {
    let mut rows: Vec<HhRow> = rows.into_iter().collect();
    rows.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<GroupRow> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let start = rows[i].start;
        let mut agg = GroupPeriodAgg::new();
        while i < rows.len() && rows[i].start == start {
            agg.push(rows[i].energy, rows[i].quality, rows[i].partial)?;
            i += 1;
        }
        out.extend(agg.finalize(start));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HALF_HOUR;

    fn row(start: Instant, energy: MicroKwh, quality: Quality) -> HhRow {
        HhRow {
            start,
            energy,
            partial: false,
            quality,
        }
    }

    #[test]
    fn sums_per_period_and_actual_only_if_all_actual() {
        use Quality::*;
        let rows = [
            row(0, 100, Actual),
            row(HALF_HOUR, 7, Actual),
            row(0, 250, Actual),
            row(HALF_HOUR, 3, Estimated),
            row(2 * HALF_HOUR, 0, Actual),
        ];
        let g = group_sum(rows).unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!((g[0].energy, g[0].quality, g[0].rows), (350, Actual, 2));
        assert_eq!((g[1].energy, g[1].quality, g[1].rows), (10, Estimated, 2));
        assert_eq!((g[2].energy, g[2].quality), (0, Actual));
        assert_eq!(GroupPeriodAgg::new().finalize(0), None);
    }

    #[test]
    fn combine_matches_pushing_everything_into_one_state() {
        let mut a = GroupPeriodAgg::new();
        a.push(5, Quality::Actual, false).unwrap();
        let mut b = GroupPeriodAgg::new();
        b.push(6, Quality::Estimated, true).unwrap();
        let mut one = GroupPeriodAgg::new();
        one.push(5, Quality::Actual, false).unwrap();
        one.push(6, Quality::Estimated, true).unwrap();
        a.combine(b).unwrap();
        assert_eq!(a, one);
        let mut big = GroupPeriodAgg::new();
        big.push(MicroKwh::MAX, Quality::Actual, false).unwrap();
        assert_eq!(big.push(1, Quality::Actual, false), Err(Error::Overflow));
    }
}
