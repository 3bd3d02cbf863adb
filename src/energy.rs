//! SQL functions over the half-hourly energy maths (flows-energy): UK
//! settlement periods, and the completeness and gap queries built on them.

use crate::types::raise;
use flows_energy::settlement;
use pgrx::datum::{Date, TimestampWithTimeZone};
use pgrx::prelude::*;

/// 22008, datetime_field_overflow (= datetime_value_out_of_range).
fn refuse(e: flows_energy::Error) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
        e.to_string(),
        None,
    )
}

fn instant(t: TimestampWithTimeZone) -> i64 {
    if !t.is_finite() {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            "an infinite timestamp has no settlement period".into(),
            None,
        );
    }
    pg_sys::TimestampTz::from(t)
}

fn to_settlement_date(d: Date) -> settlement::Date {
    if !d.is_finite() {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            "an infinite date has no settlement periods".into(),
            None,
        );
    }
    settlement::Date::from_pg_days(d.to_pg_epoch_days()).unwrap_or_else(|e| refuse(e))
}

fn pg_date(d: settlement::Date) -> Date {
    Date::try_from(d.pg_days()).expect("a settlement date is a valid date")
}

/// The UK settlement date (Europe/London) and period (1..=50) of an instant.
#[pg_extern(immutable, parallel_safe, strict)]
fn settlement_period(
    at: TimestampWithTimeZone,
) -> TableIterator<'static, (name!(settlement_date, Date), name!(period, i32))> {
    let sp = settlement::settlement_period(instant(at)).unwrap_or_else(|e| refuse(e));
    TableIterator::once((pg_date(sp.date), sp.period as i32))
}

/// The UK settlement date (Europe/London local date) of an instant.
#[pg_extern(immutable, parallel_safe, strict)]
fn settlement_date(at: TimestampWithTimeZone) -> Date {
    let sp = settlement::settlement_period(instant(at)).unwrap_or_else(|e| refuse(e));
    pg_date(sp.date)
}

/// How many settlement periods a settlement date has: 48, or 46 on the
/// spring clock change, 50 on the autumn one.
#[pg_extern(immutable, parallel_safe, strict)]
fn settlement_periods(settlement_date: Date) -> i32 {
    settlement::periods_in_day(to_settlement_date(settlement_date)) as i32
}

/// The UTC start of a settlement period of a settlement date.
#[pg_extern(immutable, parallel_safe, strict)]
fn settlement_period_start(settlement_date: Date, period: i32) -> TimestampWithTimeZone {
    let date = to_settlement_date(settlement_date);
    let p = u32::try_from(period).unwrap_or(0);
    let start = settlement::period_start(date, p).unwrap_or_else(|_| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "settlement date {settlement_date} has periods 1 to {}, not {period}",
                settlement::periods_in_day(date)
            ),
            None,
        )
    });
    TimestampWithTimeZone::try_from(start).expect("a period start is a valid timestamptz")
}
