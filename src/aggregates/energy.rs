//! `flows.energy_agg(at, kwh [, register_max_kwh, margin_kwh])`: energy from
//! cumulative reads over any grouping (DOMAIN.md rule 12) → energy_summary.
//! The state is a flows_energy::EnergyAgg (buffered: exact for any arrival
//! order and any split), owned by the aggregate's memory context.

use super::state::{adopt, agg_context, composite, state_arg};
use crate::numeric::numeric_micro;
use crate::types::fmgr::{arg_datum, raise, return_bytea, return_numeric, v1_functions};
use flows_energy::advance::RegisterSpec;
use flows_energy::energy_agg::{EnergyAgg, EnergySummary};
use flows_energy::{micro_kwh_from_decimal, micro_kwh_to_decimal};
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

type State = EnergyAgg;

fn numeric_text(d: pg_sys::Datum) -> String {
    let n = unsafe { <pgrx::AnyNumeric as pgrx::FromDatum>::from_datum(d, false) }
        .expect("numeric is not null");
    n.to_string()
}

fn kwh_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize, what: &str) -> Option<i64> {
    if unsafe { pgrx::fcinfo::pg_arg_is_null(fcinfo, n) } {
        return None;
    }
    let d = unsafe { arg_datum(fcinfo, n) };
    if let Some(micro) = numeric_micro(d) {
        return Some(micro);
    }
    let text = numeric_text(d);
    Some(micro_kwh_from_decimal(&text).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("energy_agg {what} {text}: {e}"),
            None,
        )
    }))
}

fn refuse(e: flows_energy::Error) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        format!("energy_agg: {e}"),
        None,
    )
}

/// One push: (state, at, kwh) with the register spec from args 3 and 4 when given.
unsafe fn push(fcinfo: pg_sys::FunctionCallInfo, with_spec: bool) -> pg_sys::Datum {
    let ctx = unsafe { agg_context(fcinfo, "energy_agg") };
    let state = match unsafe { state_arg::<State>(fcinfo, 0) } {
        Some(s) => s as *mut State,
        None => {
            let spec = if with_spec {
                let max = kwh_arg(fcinfo, 3, "register_max_kwh").unwrap_or(0);
                let margin = kwh_arg(fcinfo, 4, "margin_kwh").unwrap_or(0);
                if max == 0 {
                    RegisterSpec::NO_ROLLOVER
                } else {
                    RegisterSpec::new(max, margin).unwrap_or_else(|e| {
                        raise(
                            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                            format!("energy_agg: {e}"),
                            None,
                        )
                    })
                }
            } else {
                RegisterSpec::NO_ROLLOVER
            };
            unsafe { adopt(ctx, EnergyAgg::buffered(spec)) }.cast_mut_ptr::<State>()
        }
    };
    let at_null = unsafe { pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) };
    if let (false, Some(kwh)) = (at_null, kwh_arg(fcinfo, 2, "read")) {
        let at = unsafe { arg_datum(fcinfo, 1) }.value() as i64;
        unsafe { &mut *state }
            .push(at, kwh)
            .unwrap_or_else(|e| refuse(e));
    }
    pg_sys::Datum::from(state)
}

fn summary_tuple(fcinfo: pg_sys::FunctionCallInfo, s: &EnergySummary) -> pg_sys::Datum {
    let mut values = [
        pg_sys::Datum::from(s.first.ts),
        return_numeric(&micro_kwh_to_decimal(s.first.value)),
        pg_sys::Datum::from(s.last.ts),
        return_numeric(&micro_kwh_to_decimal(s.last.value)),
        return_numeric(&micro_kwh_to_decimal(s.advance)),
        pg_sys::Datum::from(s.rollovers as i32),
        pg_sys::Datum::from(s.reversals as i32),
        pg_sys::Datum::from(s.reads as i64),
    ];
    composite(fcinfo, "flows.energy_summary", &mut values)
}

v1_functions! {
    fn energy_agg_push / pg_finfo_energy_agg_push (fcinfo) {
        unsafe { push(fcinfo, false) }
    }

    fn energy_agg_push_spec / pg_finfo_energy_agg_push_spec (fcinfo) {
        unsafe { push(fcinfo, true) }
    }

    fn energy_agg_combine / pg_finfo_energy_agg_combine (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, "energy_agg") };
        match unsafe { (state_arg::<State>(fcinfo, 0), state_arg::<State>(fcinfo, 1)) } {
            (None, None) => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            (Some(a), None) => pg_sys::Datum::from(a as *mut State),
            (None, Some(b)) => unsafe { adopt(ctx, b.clone()) },
            (Some(a), Some(b)) => {
                a.combine(b.clone()).unwrap_or_else(|e| refuse(e));
                pg_sys::Datum::from(a as *mut State)
            }
        }
    }

    fn energy_agg_serial / pg_finfo_energy_agg_serial (fcinfo) {
        let state = unsafe { state_arg::<State>(fcinfo, 0) }.expect("serial is strict");
        return_bytea(&state.to_bytes())
    }

    fn energy_agg_deserial / pg_finfo_energy_agg_deserial (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, "energy_agg") };
        let bytes: Vec<u8> = unsafe { pgrx::fcinfo::pg_getarg::<&[u8]>(fcinfo, 0) }.expect("deserial is strict").to_vec();
        let state = EnergyAgg::from_bytes(&bytes).unwrap_or_else(|e| refuse(e));
        unsafe { adopt(ctx, state) }
    }

    fn energy_agg_final / pg_finfo_energy_agg_final (fcinfo) {
        match unsafe { state_arg::<State>(fcinfo, 0) } {
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            Some(state) => match state.finalize().unwrap_or_else(|e| refuse(e)) {
                None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
                Some(summary) => summary_tuple(fcinfo, &summary),
            },
        }
    }
}
