//! `flows.completeness_agg(period_start [, partial])` → `flows.completeness_summary`
//! and its accessors (DOMAIN.md rule 11), plus `flows.rollup(summary)`. The
//! summary's bytes are flows_energy::CompletenessAgg::to_bytes (versioned,
//! canonical); its text form is JSON runs of present periods. Also the state
//! helpers the aggregates of this family share.

use super::state::{adopt, agg_context, state_arg};
use crate::types::fmgr::{
    arg_cstr, arg_datum, arg_recv_bytes, raise, return_bytea, return_cstring, return_numeric,
    v1_functions,
};
use flows_core::time::{format_iso8601_unix, parse_iso8601_unix};
use flows_energy::completeness::{Completeness, CompletenessAgg};
use flows_energy::settlement::Date;
use flows_energy::{from_unix_seconds, Error, Instant, SECOND};
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

pub(crate) fn arg_is_null(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> bool {
    unsafe { pgrx::fcinfo::pg_arg_is_null(fcinfo, n) }
}

/// An instant as people read it in messages (UTC, ISO 8601).
pub(crate) fn instant_text(t: Instant) -> String {
    match t {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => {
            let s = format_iso8601_unix(flows_energy::to_unix_seconds(t));
            match t.rem_euclid(SECOND) {
                0 => s,
                us => s.replacen("+00:00", &format!(".{us:06}+00:00"), 1),
            }
        }
    }
}

/// A timestamptz argument that must be a half-hour period start.
pub(crate) fn period_start_arg(
    fcinfo: pg_sys::FunctionCallInfo,
    n: usize,
    what: &str,
    arg: &str,
) -> Instant {
    let t = unsafe { arg_datum(fcinfo, n) }.value() as i64;
    if Date::of_utc(t).is_err() {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("{what}: {arg} {} has no settlement period", instant_text(t)),
            Some("period starts are finite instants in years 1 to 9999"),
        );
    }
    if !flows_energy::settlement::is_half_hour_boundary(t) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{what}: {arg} {} is not the start of a half-hour period (periods start at :00 or :30 UTC, DOMAIN.md rule 1)",
                instant_text(t)
            ),
            Some("date_bin('30 minutes', t, '2000-01-01') is the start of the period containing t"),
        );
    }
    t
}

/// A date argument as a settlement date.
pub(crate) fn date_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize, what: &str, arg: &str) -> Date {
    let days = unsafe { arg_datum(fcinfo, n) }.value() as i32;
    Date::from_pg_days(days).unwrap_or_else(|_| {
        let shown = match days {
            i32::MAX => "infinity".to_string(),
            i32::MIN => "-infinity".to_string(),
            _ => days.to_string(),
        };
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("{what}: {arg} {shown} is not a settlement date"),
            Some("settlement dates are finite dates in years 1 to 9999"),
        )
    })
}

/// `from_date..=to_date` from arguments `n`, `n + 1`.
pub(crate) fn date_range_args(
    fcinfo: pg_sys::FunctionCallInfo,
    n: usize,
    what: &str,
) -> (Date, Date) {
    let from = date_arg(fcinfo, n, what, "from_date");
    let to = date_arg(fcinfo, n + 1, what, "to_date");
    if to < from {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{what}: to_date {to} precedes from_date {from}"),
            Some("the range is the settlement dates from_date to to_date, both included"),
        );
    }
    (from, to)
}

fn refuse(what: &str, e: Error) -> ! {
    let code = match e {
        Error::OutOfRange | Error::InvalidDate { .. } => {
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW
        }
        Error::UnknownVersion { .. } | Error::Truncated | Error::Corrupt(_) => {
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED
        }
        Error::TooManyPeriods { .. } => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    raise(code, format!("{what}: {e}"), None)
}

/// A completeness_summary argument.
fn summary_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> CompletenessAgg {
    let bytes =
        unsafe { pgrx::fcinfo::pg_getarg::<&[u8]>(fcinfo, n) }.expect("summary is not null");
    CompletenessAgg::from_bytes(bytes).unwrap_or_else(|e| refuse("completeness_summary", e))
}

/// `n / d` to 6 decimal places, rounded half up (`0 <= n`, `0 < d`).
fn ratio_text(n: u64, d: u64) -> String {
    let micro = (u128::from(n) * 2_000_000 + u128::from(d)) / (2 * u128::from(d));
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

fn completeness_of(fcinfo: pg_sys::FunctionCallInfo, what: &str) -> Completeness {
    let mut summary = summary_arg(fcinfo, 0);
    let (from, to) = date_range_args(fcinfo, 1, what);
    summary
        .finalize(from, to)
        .unwrap_or_else(|e| refuse(what, e))
}

unsafe fn push(fcinfo: pg_sys::FunctionCallInfo, with_partial: bool) -> pg_sys::Datum {
    let ctx = unsafe { agg_context(fcinfo, "completeness_agg") };
    let state: *mut CompletenessAgg = match unsafe { state_arg::<CompletenessAgg>(fcinfo, 0) } {
        Some(s) => s,
        None => unsafe { adopt(ctx, CompletenessAgg::new()) }.cast_mut_ptr(),
    };
    if !arg_is_null(fcinfo, 1) {
        let start = period_start_arg(fcinfo, 1, "completeness_agg", "period_start");
        let partial = if with_partial {
            if arg_is_null(fcinfo, 2) {
                raise(
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    format!("completeness_agg: partial is NULL for the row at {}", instant_text(start)),
                    Some("partial is true when spans cover only part of the period (DOMAIN.md rule 6); use completeness_agg(period_start) when no row is partial"),
                );
            }
            unsafe { arg_datum(fcinfo, 2) }.value() != 0
        } else {
            false
        };
        unsafe { &mut *state }
            .push(start, partial)
            .unwrap_or_else(|e| refuse("completeness_agg", e));
    }
    pg_sys::Datum::from(state)
}

fn text_instant(s: &str) -> Instant {
    let unix = parse_iso8601_unix(s).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!(
                "completeness_summary: instant \"{}\": {e}",
                s.escape_debug()
            ),
            Some("instants are ISO 8601 with an offset, e.g. 2024-01-01T00:00:00+00:00"),
        )
    });
    from_unix_seconds(unix)
}

const SUMMARY_HINT: &str = "the text form is {\"present\": [[start, end], ...], \"partial\": [start, ...]} with ISO 8601 instants on half-hour boundaries";

fn malformed(why: String) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        format!("completeness_summary: {why}"),
        Some(SUMMARY_HINT),
    )
}

/// A JSON string of an instant.
fn json_instant(v: &serde_json::Value, field: &str) -> Instant {
    match v.as_str() {
        Some(s) => text_instant(s),
        None => malformed(format!("\"{field}\" holds {v}, not an instant string")),
    }
}

fn parse_summary(text: &str) -> CompletenessAgg {
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| malformed(e.to_string()));
    let Some(object) = value.as_object() else {
        malformed("not a JSON object".into())
    };
    if let Some(k) = object.keys().find(|k| *k != "present" && *k != "partial") {
        malformed(format!("\"{}\" is not a summary field", k.escape_debug()));
    }
    let list = |field: &str| -> Vec<serde_json::Value> {
        match object.get(field) {
            None => Vec::new(),
            Some(serde_json::Value::Array(a)) => a.clone(),
            Some(other) => malformed(format!("\"{field}\" is {other}, not an array")),
        }
    };
    let runs: Vec<(Instant, Instant)> = list("present")
        .iter()
        .map(|run| match run.as_array().map(Vec::as_slice) {
            Some([a, b]) => (json_instant(a, "present"), json_instant(b, "present")),
            _ => malformed(format!("present run {run} is not [start, end]")),
        })
        .collect();
    let partial: Vec<Instant> = list("partial")
        .iter()
        .map(|p| json_instant(p, "partial"))
        .collect();
    CompletenessAgg::from_runs(&runs, &partial).unwrap_or_else(|e| {
        let code = match e {
            Error::TooManyPeriods { .. } => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        };
        let why = match e {
            Error::NotOnBoundary { at } => {
                format!("{} is not on a half-hour boundary", instant_text(at))
            }
            Error::InvalidRange => "a present run must end after it starts".into(),
            Error::RowOutsideRange { at } => format!(
                "partial period {} is not inside a present run",
                instant_text(at)
            ),
            other => other.to_string(),
        };
        raise(code, format!("completeness_summary: {why}"), None)
    })
}

fn summary_text(agg: &CompletenessAgg) -> String {
    let (runs, partial) = agg.runs();
    let t = |i: Instant| serde_json::Value::from(instant_text(i));
    let text = serde_json::json!({
        "present": runs.into_iter().map(|(a, b)| serde_json::json!([t(a), t(b)])).collect::<Vec<_>>(),
        "partial": partial.into_iter().map(t).collect::<Vec<_>>(),
    });
    text.to_string()
}

v1_functions! {
    fn completeness_agg_push / pg_finfo_completeness_agg_push (fcinfo) {
        unsafe { push(fcinfo, true) }
    }

    fn completeness_agg_push_full / pg_finfo_completeness_agg_push_full (fcinfo) {
        unsafe { push(fcinfo, false) }
    }

    // rollup: each summary's periods join the state.
    fn completeness_rollup_push / pg_finfo_completeness_rollup_push (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, "rollup") };
        let state: *mut CompletenessAgg = match unsafe { state_arg::<CompletenessAgg>(fcinfo, 0) } {
            Some(s) => s,
            None => unsafe { adopt(ctx, CompletenessAgg::new()) }.cast_mut_ptr(),
        };
        if !arg_is_null(fcinfo, 1) {
            unsafe { &mut *state }.combine(summary_arg(fcinfo, 1));
        }
        pg_sys::Datum::from(state)
    }

    fn completeness_agg_combine / pg_finfo_completeness_agg_combine (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, "completeness_agg") };
        match unsafe { (state_arg::<CompletenessAgg>(fcinfo, 0), state_arg::<CompletenessAgg>(fcinfo, 1)) } {
            (None, None) => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            (Some(a), None) => pg_sys::Datum::from(a as *mut CompletenessAgg),
            (None, Some(b)) => unsafe { adopt(ctx, b.clone()) },
            (Some(a), Some(b)) => {
                a.combine(b.clone());
                pg_sys::Datum::from(a as *mut CompletenessAgg)
            }
        }
    }

    fn completeness_agg_serial / pg_finfo_completeness_agg_serial (fcinfo) {
        let state = unsafe { state_arg::<CompletenessAgg>(fcinfo, 0) }.expect("serial is strict");
        return_bytea(&state.to_bytes())
    }

    fn completeness_agg_deserial / pg_finfo_completeness_agg_deserial (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, "completeness_agg") };
        let bytes = unsafe { pgrx::fcinfo::pg_getarg::<&[u8]>(fcinfo, 0) }.expect("deserial is strict");
        let state = CompletenessAgg::from_bytes(bytes).unwrap_or_else(|e| refuse("completeness_agg", e));
        unsafe { adopt(ctx, state) }
    }

    // No rows give an empty summary (nothing present), not NULL: a range
    // without data is 0 complete.
    fn completeness_agg_final / pg_finfo_completeness_agg_final (fcinfo) {
        match unsafe { state_arg::<CompletenessAgg>(fcinfo, 0) } {
            None => return_bytea(&CompletenessAgg::new().to_bytes()),
            Some(state) => return_bytea(&state.to_bytes()),
        }
    }

    fn completeness_summary_in / pg_finfo_completeness_summary_in (fcinfo) {
        return_bytea(&parse_summary(unsafe { arg_cstr(fcinfo, 0) }).to_bytes())
    }

    fn completeness_summary_out / pg_finfo_completeness_summary_out (fcinfo) {
        return_cstring(&summary_text(&summary_arg(fcinfo, 0)))
    }

    fn completeness_summary_recv / pg_finfo_completeness_summary_recv (fcinfo) {
        let bytes = unsafe { arg_recv_bytes(fcinfo, 0) };
        let agg = CompletenessAgg::from_bytes(bytes).unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION, format!("completeness_summary: {e}"), None)
        });
        return_bytea(&agg.to_bytes())
    }

    fn completeness_summary_send / pg_finfo_completeness_summary_send (fcinfo) {
        return_bytea(&summary_arg(fcinfo, 0).to_bytes())
    }

    fn completeness_ratio / pg_finfo_completeness_ratio (fcinfo) {
        let c = completeness_of(fcinfo, "completeness");
        return_numeric(&ratio_text(c.present, c.expected))
    }

    fn completeness_strict_ratio / pg_finfo_completeness_strict_ratio (fcinfo) {
        let c = completeness_of(fcinfo, "strict_completeness");
        return_numeric(&ratio_text(c.present_full, c.expected))
    }

    fn completeness_present_periods / pg_finfo_completeness_present_periods (fcinfo) {
        pg_sys::Datum::from(completeness_of(fcinfo, "present_periods").present as i32)
    }

    // [start, end, start, end, ...] of the missing runs, for missing_periods().
    fn completeness_gap_bounds / pg_finfo_completeness_gap_bounds (fcinfo) {
        let c = completeness_of(fcinfo, "missing_periods");
        let mut elems: Vec<pg_sys::Datum> =
            c.missing.iter().flat_map(|m| [pg_sys::Datum::from(m.start), pg_sys::Datum::from(m.end)]).collect();
        let array = unsafe {
            pg_sys::construct_array(
                elems.as_mut_ptr(),
                elems.len() as i32,
                pg_sys::TIMESTAMPTZOID,
                8,
                true,
                pg_sys::TYPALIGN_DOUBLE as std::ffi::c_char,
            )
        };
        pg_sys::Datum::from(array)
    }
}

#[cfg(test)]
mod tests {
    use super::ratio_text;

    #[test]
    fn ratios_round_half_up_to_six_places() {
        assert_eq!(ratio_text(48, 48), "1.000000");
        assert_eq!(ratio_text(0, 46), "0.000000");
        assert_eq!(ratio_text(1, 3), "0.333333");
        assert_eq!(ratio_text(2, 3), "0.666667");
        assert_eq!(ratio_text(49, 50), "0.980000");
    }
}
