//! UK settlement calendar (Europe/London) without a tz database, plus the UTC
//! half-hour grid. BST runs from 01:00 UTC on the last Sunday of March to
//! 01:00 UTC on the last Sunday of October: UK law since 1996 (and still in
//! force), so results are exact for 1996 onwards; the same rule is applied to
//! every year in 1..=9999, which differs from the legal clock before 1996.

use std::fmt;

use crate::error::{Error, Result};
use crate::{Instant, DAY, HALF_HOUR, HOUR};

/// Days from 1970-01-01 to 2000-01-01.
const DAYS_1970_TO_2000: i64 = 10_957;
/// Supported dates, as days since 2000-01-01: 0001-01-01 ..= 9999-12-31.
const MIN_DAYS: i32 = -730_119;
const MAX_DAYS: i32 = 2_921_939;

/// Smallest and largest supported instants (inside years 1..=9999, with a day
/// of slack so that local-date arithmetic never leaves the range).
pub const MIN_INSTANT: Instant = (MIN_DAYS as i64 + 1) * DAY;
pub const MAX_INSTANT: Instant = (MAX_DAYS as i64) * DAY;

/// A calendar date, stored as days since 2000-01-01 (PostgreSQL's DateADT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i32,
}

impl Date {
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Date> {
        let invalid = Error::InvalidDate { year, month, day };
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return Err(invalid);
        }
        if day > days_in_month(year, month) {
            return Err(invalid);
        }
        let days = days_from_civil(year as i64, month, day) - DAYS_1970_TO_2000;
        Ok(Date { days: days as i32 })
    }

    /// From PostgreSQL's internal date (days since 2000-01-01).
    pub fn from_pg_days(days: i32) -> Result<Date> {
        if (MIN_DAYS..=MAX_DAYS).contains(&days) {
            Ok(Date { days })
        } else {
            Err(Error::OutOfRange)
        }
    }

    /// PostgreSQL's internal date: days since 2000-01-01.
    pub fn pg_days(self) -> i32 {
        self.days
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.days as i64 + DAYS_1970_TO_2000)
    }

    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u32 {
        // 2000-01-01 was a Saturday.
        (self.days as i64 + 5).rem_euclid(7) as u32
    }

    pub fn add_days(self, n: i32) -> Result<Date> {
        Date::from_pg_days(self.days.checked_add(n).ok_or(Error::OutOfRange)?)
    }

    /// The date of a UTC instant.
    pub fn of_utc(t: Instant) -> Result<Date> {
        check_instant(t)?;
        Ok(Date {
            days: t.div_euclid(DAY) as i32,
        })
    }

    /// 00:00 UTC of this date.
    fn utc_midnight(self) -> Instant {
        self.days as i64 * DAY
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

// The proleptic Gregorian calendar (days since 1970-01-01), shared with the
// other Flows crates.
fn days_in_month(y: i32, m: u32) -> u32 {
    flows_core::time::days_in_month(i64::from(y), m)
}

use flows_core::time::days_from_civil;

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let (y, m, d) = flows_core::time::civil_from_days(z);
    (y as i32, m, d)
}

pub(crate) fn check_instant(t: Instant) -> Result<()> {
    if (MIN_INSTANT..=MAX_INSTANT).contains(&t) {
        Ok(())
    } else {
        Err(Error::OutOfRange)
    }
}

/// Last Sunday of a month (March or October here).
fn last_sunday(year: i32, month: u32) -> Date {
    // Computed directly (not via from_ymd) so year 10000 at the very end of
    // the range cannot fail.
    let days = days_from_civil(year as i64, month, days_in_month(year, month)) - DAYS_1970_TO_2000;
    let last = Date { days: days as i32 };
    Date {
        days: last.days - ((last.weekday() + 1) % 7) as i32,
    }
}

/// The UTC instants at which BST starts and ends in `year`.
pub fn bst_bounds(year: i32) -> (Instant, Instant) {
    (
        last_sunday(year, 3).utc_midnight() + HOUR,
        last_sunday(year, 10).utc_midnight() + HOUR,
    )
}

/// Europe/London offset from UTC at an instant, in hours (0 = GMT, 1 = BST).
pub fn utc_offset_hours(t: Instant) -> Result<i64> {
    let year = Date::of_utc(t)?.year();
    let (start, end) = bst_bounds(year);
    Ok(i64::from(start <= t && t < end))
}

/// Whether local midnight starting `date` is in BST.
fn midnight_is_bst(date: Date) -> bool {
    let year = date.year();
    last_sunday(year, 3) < date && date <= last_sunday(year, 10)
}

/// UTC instant of local (Europe/London) midnight starting a settlement date.
pub fn day_start(date: Date) -> Instant {
    date.utc_midnight() - HOUR * i64::from(midnight_is_bst(date))
}

/// `[start, end)` of a settlement date in UTC instants.
pub fn day_bounds(date: Date) -> Result<(Instant, Instant)> {
    Ok((day_start(date), day_start(date.add_days(1)?)))
}

/// 46 on the last Sunday of March, 50 on the last Sunday of October, else 48.
pub fn periods_in_day(date: Date) -> u32 {
    let next = Date {
        days: date.days + 1,
    };
    ((day_start(next) - day_start(date)) / HALF_HOUR) as u32
}

/// A settlement date and period (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SettlementPeriod {
    pub date: Date,
    pub period: u32,
}

/// The settlement date and period containing an instant (rule 2).
pub fn settlement_period(t: Instant) -> Result<SettlementPeriod> {
    let offset = utc_offset_hours(t)?;
    let date = Date {
        days: (t + offset * HOUR).div_euclid(DAY) as i32,
    };
    let period = 1 + (t - day_start(date)) / HALF_HOUR;
    Ok(SettlementPeriod {
        date,
        period: period as u32,
    })
}

/// The settlement date of an instant.
pub fn settlement_date(t: Instant) -> Result<Date> {
    Ok(settlement_period(t)?.date)
}

/// UTC start instant of a settlement period.
pub fn period_start(date: Date, period: u32) -> Result<Instant> {
    let n = periods_in_day(date);
    if !(1..=n).contains(&period) {
        return Err(Error::InvalidPeriod {
            period,
            periods_in_day: n,
        });
    }
    Ok(day_start(date) + i64::from(period - 1) * HALF_HOUR)
}

/// Start of the half-hour period containing `t` (rule 1: a boundary instant
/// belongs to the period starting there).
pub const fn floor_half_hour(t: Instant) -> Instant {
    t - t.rem_euclid(HALF_HOUR)
}

/// Smallest boundary at or after `t`.
pub const fn ceil_half_hour(t: Instant) -> Instant {
    let f = floor_half_hour(t);
    if f == t {
        t
    } else {
        f + HALF_HOUR
    }
}

pub const fn is_half_hour_boundary(t: Instant) -> bool {
    t.rem_euclid(HALF_HOUR) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_unix_seconds, MINUTE};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    /// UTC instant from civil fields, via Unix seconds computed independently
    /// of the module (days counted by hand from known anchors in each test).
    fn utc(d: Date, h: i64, m: i64) -> Instant {
        d.pg_days() as i64 * DAY + h * HOUR + m * MINUTE
    }

    #[test]
    fn civil_dates_match_postgres_day_numbers() {
        // SELECT '2024-01-01'::date - '2000-01-01' = 8766; '1999-12-31' = -1.
        assert_eq!(date(2000, 1, 1).pg_days(), 0);
        assert_eq!(date(1999, 12, 31).pg_days(), -1);
        assert_eq!(date(2024, 1, 1).pg_days(), 8766);
        assert_eq!(date(2024, 3, 1).pg_days(), 8766 + 31 + 29);
        assert_eq!(date(2024, 1, 1).to_string(), "2024-01-01");
        // 2024-10-27 is a Sunday, 2000-01-01 a Saturday.
        assert_eq!(date(2024, 10, 27).weekday(), 6);
        assert_eq!(date(2000, 1, 1).weekday(), 5);
        assert!(Date::from_ymd(2023, 2, 29).is_err());
        assert!(Date::from_ymd(2024, 2, 29).is_ok());
        assert!(Date::from_ymd(2024, 13, 1).is_err());
        assert!(Date::from_ymd(0, 1, 1).is_err());
        assert_eq!(Date::from_pg_days(i32::MAX), Err(Error::OutOfRange));
        // Unix 1711843200 is 2024-03-31T00:00:00Z.
        assert_eq!(
            from_unix_seconds(1_711_843_200),
            utc(date(2024, 3, 31), 0, 0)
        );
    }

    #[test]
    fn bst_starts_and_ends_on_the_published_sundays() {
        // Published UK clock changes (last Sundays of March and October).
        for (y, march, october) in [
            (1996, 31, 27),
            (2000, 26, 29),
            (2023, 26, 29),
            (2024, 31, 27),
            (2025, 30, 26),
            (2026, 29, 25),
        ] {
            let (s, e) = bst_bounds(y);
            assert_eq!(s, utc(date(y, 3, march), 1, 0), "{y}");
            assert_eq!(e, utc(date(y, 10, october), 1, 0), "{y}");
        }
    }

    #[test]
    fn clock_change_days_have_46_and_50_periods() {
        assert_eq!(periods_in_day(date(2024, 3, 31)), 46);
        assert_eq!(periods_in_day(date(2024, 10, 27)), 50);
        assert_eq!(periods_in_day(date(2024, 3, 30)), 48);
        assert_eq!(periods_in_day(date(2024, 4, 1)), 48);
        assert_eq!(periods_in_day(date(2024, 10, 26)), 48);
        assert_eq!(periods_in_day(date(2024, 10, 28)), 48);
        assert_eq!(periods_in_day(date(2024, 7, 1)), 48);
        assert_eq!(periods_in_day(date(2024, 1, 15)), 48);
    }

    #[test]
    fn october_repeated_hour_is_periods_3_4_bst_then_5_6_gmt() {
        let d = date(2024, 10, 27);
        let sp = |t| settlement_period(t).unwrap();
        // Local midnight is 23:00 UTC the day before (still BST).
        assert_eq!(day_start(d), utc(date(2024, 10, 26), 23, 0));
        assert_eq!(
            sp(utc(date(2024, 10, 26), 23, 0)),
            SettlementPeriod { date: d, period: 1 }
        );
        assert_eq!(sp(utc(date(2024, 10, 26), 22, 59)).date, date(2024, 10, 26));
        assert_eq!(sp(utc(date(2024, 10, 26), 22, 59)).period, 48);
        // 01:00–02:00 BST = 00:00–01:00 UTC: periods 3 and 4.
        assert_eq!(sp(utc(d, 0, 0)).period, 3);
        assert_eq!(sp(utc(d, 0, 45)).period, 4);
        // 01:00–02:00 GMT = 01:00–02:00 UTC: periods 5 and 6.
        assert_eq!(sp(utc(d, 1, 0)).period, 5);
        assert_eq!(sp(utc(d, 1, 30)).period, 6);
        // Last period: 23:30–00:00 GMT.
        assert_eq!(
            sp(utc(d, 23, 30)),
            SettlementPeriod {
                date: d,
                period: 50
            }
        );
        assert_eq!(sp(utc(date(2024, 10, 28), 0, 0)).period, 1);
        assert_eq!(period_start(d, 5).unwrap(), utc(d, 1, 0));
        assert_eq!(period_start(d, 50).unwrap(), utc(d, 23, 30));
        assert!(matches!(
            period_start(d, 51),
            Err(Error::InvalidPeriod {
                period: 51,
                periods_in_day: 50
            })
        ));
    }

    #[test]
    fn march_day_skips_the_missing_hour() {
        let d = date(2024, 3, 31);
        let sp = |t| settlement_period(t).unwrap();
        assert_eq!(day_start(d), utc(d, 0, 0));
        assert_eq!(sp(utc(d, 0, 30)).period, 2);
        // 01:00 UTC is 02:00 BST, the third half hour of the day.
        assert_eq!(sp(utc(d, 1, 0)).period, 3);
        // 22:30 UTC = 23:30 BST is the last period, 46.
        assert_eq!(
            sp(utc(d, 22, 30)),
            SettlementPeriod {
                date: d,
                period: 46
            }
        );
        assert_eq!(
            sp(utc(d, 23, 0)),
            SettlementPeriod {
                date: date(2024, 4, 1),
                period: 1
            }
        );
        assert!(period_start(d, 47).is_err());
        assert!(period_start(d, 0).is_err());
        // A summer day: local midnight 23:00 UTC the day before.
        let s = date(2024, 7, 1);
        assert_eq!(
            sp(utc(date(2024, 6, 30), 23, 0)),
            SettlementPeriod { date: s, period: 1 }
        );
        assert_eq!(sp(utc(s, 12, 0)).period, 27);
        // A winter day: local = UTC.
        let w = date(2024, 1, 15);
        assert_eq!(sp(utc(w, 12, 0)).period, 25);
    }

    #[test]
    fn half_hour_grid() {
        assert_eq!(floor_half_hour(HALF_HOUR + 1), HALF_HOUR);
        assert_eq!(floor_half_hour(HALF_HOUR), HALF_HOUR);
        assert_eq!(floor_half_hour(-1), -HALF_HOUR);
        assert_eq!(ceil_half_hour(1), HALF_HOUR);
        assert_eq!(ceil_half_hour(-1), 0);
        assert!(is_half_hour_boundary(-HALF_HOUR));
        assert!(!is_half_hour_boundary(MINUTE));
        assert_eq!(settlement_period(MAX_INSTANT + 1), Err(Error::OutOfRange));
        assert_eq!(settlement_period(i64::MIN), Err(Error::OutOfRange));
    }

    proptest! {
        #[test]
        fn civil_round_trip(days in MIN_DAYS..=MAX_DAYS) {
            let d = Date::from_pg_days(days).unwrap();
            let (y, m, dd) = d.ymd();
            prop_assert_eq!(Date::from_ymd(y, m, dd).unwrap(), d);
        }

        /// Every instant maps to a period whose start is at or before it and
        /// less than 30 minutes earlier, and the period's start maps back.
        #[test]
        fn settlement_period_inverts_period_start(t in MIN_INSTANT..MAX_INSTANT - DAY) {
            let sp = settlement_period(t).unwrap();
            prop_assert!(sp.period >= 1 && sp.period <= periods_in_day(sp.date));
            let start = period_start(sp.date, sp.period).unwrap();
            prop_assert_eq!(start, floor_half_hour(t));
            prop_assert_eq!(settlement_period(start).unwrap(), sp);
            let (lo, hi) = day_bounds(sp.date).unwrap();
            prop_assert!(lo <= t && t < hi);
        }

        /// Consecutive settlement days tile the timeline with no gap.
        #[test]
        fn days_tile_the_timeline(days in -40_000i32..80_000) {
            let d = Date::from_pg_days(days).unwrap();
            let (_, end) = day_bounds(d).unwrap();
            let (next_start, _) = day_bounds(d.add_days(1).unwrap()).unwrap();
            prop_assert_eq!(end, next_start);
            let n = periods_in_day(d);
            prop_assert!(n == 46 || n == 48 || n == 50);
            // The UK day is the UTC day shifted by the midnight offset.
            let shift = d.pg_days() as i64 * DAY - day_start(d);
            prop_assert!(shift == 0 || shift == HOUR);
        }
    }
}
