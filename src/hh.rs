//! `flows.derive_hh`: one channel's half-hourly rows and events for a window,
//! from the window's context points (DOMAIN.md rules 1, 3–8). Pure over its
//! arguments: the SQL around it (sql/86_hh.sql) gathers the points, decides
//! the window and writes the result.

use crate::types::raise;
use flows_energy::advance::RegisterSpec;
use flows_energy::{derive, ChannelInput, Event, Exchange, Point, Quality, Window};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;

fn instant(t: TimestampWithTimeZone, what: &str) -> i64 {
    if !t.is_finite() {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("derive_hh: {what} must be a finite timestamp"),
            None,
        );
    }
    pg_sys::TimestampTz::from(t)
}

fn timestamptz(t: i64) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(t).expect("an instant of flows-energy is a valid timestamptz")
}

fn points(
    at: Option<Array<TimestampWithTimeZone>>,
    micro: Option<Array<i64>>,
    what: &str,
) -> Vec<Point> {
    let (Some(at), Some(micro)) = (at, micro) else {
        return Vec::new();
    };
    if at.len() != micro.len() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "derive_hh: {what} has {} instants but {} values",
                at.len(),
                micro.len()
            ),
            None,
        );
    }
    at.iter()
        .zip(micro.iter())
        .filter_map(|(t, v)| Some(Point::new(instant(t?, what), v?)))
        .collect()
}

fn refuse(e: flows_energy::Error) -> ! {
    use flows_energy::Error as E;
    let (code, hint) = match e {
        E::Conflict { .. } => (
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            Some("a cumulative read is fixed once recorded; delete the wrong one first"),
        ),
        E::NegativeRead { .. } | E::InvalidRegister { .. } | E::InvalidExchange => {
            (PgSqlErrorCode::ERRCODE_CHECK_VIOLATION, None)
        }
        E::NotOnBoundary { .. } => (
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            Some("profile points sit on :00/:30 UTC boundaries"),
        ),
        E::Overflow => (PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, None),
        _ => (PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW, None),
    };
    raise(code, format!("derive_hh: {e}"), hint)
}

type Row = (
    String,
    TimestampWithTimeZone,
    Option<i64>,
    Option<String>,
    Option<bool>,
    Option<TimestampWithTimeZone>,
    Option<i64>,
    Option<i64>,
);

/// Rows (`kind` = 'hh') of the periods starting in `[window_start,
/// window_end)` and events ('rollover', 'reversal', 'exchange') stamped in
/// it. Energy and values are micro-kWh. `register_max_micro` NULL: the
/// register never rolls over. The installed/removed exchange values are the
/// register's initial/final value at the exchange, if known.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
#[pg_extern(immutable, parallel_safe)]
fn derive_hh(
    window_start: TimestampWithTimeZone,
    window_end: TimestampWithTimeZone,
    read_at: Option<Array<TimestampWithTimeZone>>,
    read_micro: Option<Array<i64>>,
    profile_at: Option<Array<TimestampWithTimeZone>>,
    profile_micro: Option<Array<i64>>,
    register_max_micro: Option<i64>,
    rollover_margin_micro: Option<i64>,
    installed_at: Option<TimestampWithTimeZone>,
    initial_micro: Option<i64>,
    removed_at: Option<TimestampWithTimeZone>,
    final_micro: Option<i64>,
) -> TableIterator<
    'static,
    (
        name!(kind, String),
        name!(at, TimestampWithTimeZone),
        name!(micro_kwh, Option<i64>),
        name!(quality, Option<String>),
        name!(partial, Option<bool>),
        name!(previous_at, Option<TimestampWithTimeZone>),
        name!(previous_micro, Option<i64>),
        name!(new_micro, Option<i64>),
    ),
> {
    let window = Window::new(
        instant(window_start, "window_start"),
        instant(window_end, "window_end"),
    )
    .unwrap_or_else(|e| refuse(e));
    let register = match register_max_micro {
        None => RegisterSpec::NO_ROLLOVER,
        Some(max) => RegisterSpec::new(max, rollover_margin_micro.unwrap_or(max / 100))
            .unwrap_or_else(|e| refuse(e)),
    };
    let reads = points(read_at, read_micro, "reads");
    let profile = points(profile_at, profile_micro, "profile points");
    let input = ChannelInput {
        register,
        reads: &reads,
        profile: &profile,
        installed_by: installed_at.map(|t| Exchange {
            at: instant(t, "installed_at"),
            old_final: None,
            new_initial: initial_micro,
        }),
        removed_by: removed_at.map(|t| Exchange {
            at: instant(t, "removed_at"),
            old_final: final_micro,
            new_initial: None,
        }),
    };
    let d = derive(&input, Some(window)).unwrap_or_else(|e| refuse(e));
    let rows = d.rows.into_iter().map(|r| -> Row {
        let quality = match r.quality {
            Quality::Actual => "actual",
            Quality::Estimated => "estimated",
        };
        (
            "hh".into(),
            timestamptz(r.start),
            Some(r.energy),
            Some(quality.into()),
            Some(r.partial),
            None,
            None,
            None,
        )
    });
    let events = d.events.into_iter().map(|e| -> Row {
        match e {
            Event::Rollover { prev, new, advance } => (
                "rollover".into(),
                timestamptz(new.ts),
                Some(advance),
                None,
                None,
                Some(timestamptz(prev.ts)),
                Some(prev.value),
                Some(new.value),
            ),
            Event::Reversal { prev, new } => (
                "reversal".into(),
                timestamptz(new.ts),
                Some(0),
                None,
                None,
                Some(timestamptz(prev.ts)),
                Some(prev.value),
                Some(new.value),
            ),
            Event::Exchange { at, old_final, .. } => (
                "exchange".into(),
                timestamptz(at),
                None,
                None,
                None,
                None,
                old_final,
                None,
            ),
        }
    });
    TableIterator::new(rows.chain(events).collect::<Vec<_>>())
}
