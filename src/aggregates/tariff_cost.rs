//! `flows.tariff_cost_agg(period_start, element, kwh, tariff, tariff_from)` →
//! `flows.tariff_cost`: standing charge per settlement date with a row plus
//! unit rates per element, each row priced with the tariff the caller joined
//! to it. The state is a flows_energy JoinedTariffCostAgg (exact sums, one
//! rounding at the end), owned by the aggregate's memory context.

use super::completeness::{arg_is_null, instant_text, period_start_arg};
use crate::numeric::numeric_micro;
use super::state::{adopt, agg_context, composite, state_arg};
use crate::types::fmgr::{arg_datum, arg_fixed, raise, return_bytea, return_numeric, v1_functions};
use flows_core::tariff::{Tariff as MeterTariff, TARIFF_BYTES};
use flows_energy::settlement::settlement_date;
use flows_energy::tariff_cost::{Cost, Element, JoinedTariffCostAgg, Money, Tariff, MONEY_PER_GBP};
use flows_energy::{micro_kwh_from_decimal, micro_kwh_to_decimal, Error, Instant};
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

const WHAT: &str = "tariff_cost_agg";
const JOIN_HINT: &str =
    "join each row to the latest flows.meter_tariff_history row of its meter with active_from <= period_start";

/// The pure state plus per-call caches (not serialized).
#[derive(Default)]
struct State {
    agg: JoinedTariffCostAgg,
    /// register_element enum oids already looked up.
    elements: Vec<(pg_sys::Oid, Element)>,
    /// The last tariff decoded, by its bytes.
    last_tariff: Option<([u8; TARIFF_BYTES], MeterTariff)>,
}

impl State {
    fn element(&mut self, oid: pg_sys::Oid) -> Element {
        if let Some(&(_, e)) = self.elements.iter().find(|(o, _)| *o == oid) {
            return e;
        }
        let (label, _, _) = pgrx::enum_helper::lookup_enum_by_oid(oid);
        let e = match label.as_str() {
            "A" => Element::A,
            "B" => Element::B,
            "SINGLE" => Element::Single,
            other => raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{WHAT}: element {other} is not a register element"),
                Some("elements are A, B and SINGLE (which pays element A's rate)"),
            ),
        };
        self.elements.push((oid, e));
        e
    }

    fn tariff(&mut self, bytes: &[u8; TARIFF_BYTES]) -> MeterTariff {
        match &self.last_tariff {
            Some((b, t)) if b == bytes => *t,
            _ => {
                let t = MeterTariff::from_bytes(bytes)
                    .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, e, None));
                self.last_tariff = Some((*bytes, t));
                t
            }
        }
    }
}

fn refuse(e: Error) -> ! {
    let (code, message, hint) = match e {
        Error::NoTariff { at } => (
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            match settlement_date(at) {
                Ok(d) if flows_energy::settlement::day_start(d) == at => format!(
                    "{WHAT}: no tariff in force at {}, the start of settlement date {d}, for its standing charge",
                    instant_text(at)
                ),
                _ => format!("{WHAT}: no tariff in force at {}", instant_text(at)),
            },
            Some("the standing charge of a settlement date is the tariff's in force at its local midnight; start from a date the tariff history covers"),
        ),
        Error::TariffSuperseded { at, from, next } => (
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{WHAT}: the row at {} is priced with the tariff active from {}, but the tariff active from {} replaced it",
                instant_text(at),
                instant_text(from),
                instant_text(next)
            ),
            Some(JOIN_HINT),
        ),
        Error::TariffConflict { from } => (
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{WHAT}: two different tariffs are given as active from {}", instant_text(from)),
            Some(JOIN_HINT),
        ),
        Error::UnknownVersion { .. } | Error::Truncated | Error::Corrupt(_) => {
            (PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, format!("{WHAT}: {e}"), None)
        }
        Error::Overflow => (PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, format!("{WHAT}: {e}"), None),
        Error::OutOfRange => (PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW, format!("{WHAT}: {e}"), None),
        _ => (PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("{WHAT}: {e}"), None),
    };
    raise(code, message, hint)
}

fn kwh_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize, at: Instant) -> i64 {
    let d = unsafe { arg_datum(fcinfo, n) };
    let micro = numeric_micro(d).unwrap_or_else(|| {
        let n = unsafe { <pgrx::AnyNumeric as pgrx::FromDatum>::from_datum(d, false) }
            .expect("numeric is not null");
        let text = n.to_string();
        micro_kwh_from_decimal(&text).unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{WHAT}: kwh {text} of the row at {}: {e}", instant_text(at)),
                None,
            )
        })
    });
    if micro < 0 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{WHAT}: kwh {} of the row at {} is negative: half-hourly energy never is (DOMAIN.md rule 4)",
                micro_kwh_to_decimal(micro),
                instant_text(at)
            ),
            None,
        );
    }
    micro
}

/// (state, period_start, element, kwh, tariff, tariff_from)
unsafe fn push(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let ctx = unsafe { agg_context(fcinfo, WHAT) };
    let state: *mut State = match unsafe { state_arg::<State>(fcinfo, 0) } {
        Some(s) => s,
        None => unsafe { adopt(ctx, State::default()) }.cast_mut_ptr(),
    };
    let state = unsafe { &mut *state };
    if arg_is_null(fcinfo, 1) {
        return pg_sys::Datum::from(state as *mut State);
    }
    let start = period_start_arg(fcinfo, 1, WHAT, "period_start");
    if arg_is_null(fcinfo, 4) || arg_is_null(fcinfo, 5) {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!(
                "{WHAT}: no tariff in force at {} (tariff{} is NULL)",
                instant_text(start),
                if arg_is_null(fcinfo, 4) { "" } else { "_from" }
            ),
            Some(JOIN_HINT),
        );
    }
    let tariff_from = unsafe { arg_datum(fcinfo, 5) }.value() as i64;
    if tariff_from > start {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "{WHAT}: tariff_from {} is after period_start {}: that tariff was not yet in force",
                instant_text(tariff_from),
                instant_text(start)
            ),
            Some(JOIN_HINT),
        );
    }
    let meter = state.tariff(unsafe { arg_fixed::<TARIFF_BYTES>(fcinfo, 4) });
    let units = |m: flows_core::money::MeterMoney| Money::from(m.units());
    let tariff = Tariff {
        activation: tariff_from,
        standing_charge: units(meter.standing_charge),
        unit_rate_a: units(meter.unit_rate_element_a),
        unit_rate_b: units(meter.unit_rate_element_b),
    };
    let energy = if arg_is_null(fcinfo, 3) {
        None
    } else {
        let kwh = kwh_arg(fcinfo, 3, start);
        if arg_is_null(fcinfo, 2) {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!(
                    "{WHAT}: element is NULL for the row at {} with energy",
                    instant_text(start)
                ),
                Some("element says which unit rate applies: A, B, or SINGLE (A's rate)"),
            );
        }
        let oid = pg_sys::Oid::from(unsafe { arg_datum(fcinfo, 2) }.value() as u32);
        Some((state.element(oid), kwh))
    };
    state
        .agg
        .push(start, energy, tariff)
        .unwrap_or_else(|e| refuse(e));
    pg_sys::Datum::from(state as *mut State)
}

fn money_text(m: Money) -> String {
    let sign = if m < 0 { "-" } else { "" };
    let a = m.unsigned_abs();
    let per = MONEY_PER_GBP as u64;
    format!("{sign}{}.{:05}", a / per, a % per)
}

fn cost_tuple(fcinfo: pg_sys::FunctionCallInfo, c: &Cost) -> pg_sys::Datum {
    let mut values = [
        pg_sys::Datum::from(c.days as i32),
        return_numeric(&money_text(c.standing)),
        return_numeric(&money_text(c.unit_a)),
        return_numeric(&money_text(c.unit_b)),
        return_numeric(&money_text(c.total)),
        return_numeric(&micro_kwh_to_decimal(c.energy_a)),
        return_numeric(&micro_kwh_to_decimal(c.energy_b)),
    ];
    composite(fcinfo, "flows.tariff_cost", &mut values)
}

v1_functions! {
    fn tariff_cost_agg_push / pg_finfo_tariff_cost_agg_push (fcinfo) {
        unsafe { push(fcinfo) }
    }

    fn tariff_cost_agg_combine / pg_finfo_tariff_cost_agg_combine (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, WHAT) };
        match unsafe { (state_arg::<State>(fcinfo, 0), state_arg::<State>(fcinfo, 1)) } {
            (None, None) => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            (Some(a), None) => pg_sys::Datum::from(a as *mut State),
            (None, Some(b)) => unsafe { adopt(ctx, State { agg: b.agg.clone(), ..State::default() }) },
            (Some(a), Some(b)) => {
                a.agg.combine(b.agg.clone()).unwrap_or_else(|e| refuse(e));
                pg_sys::Datum::from(a as *mut State)
            }
        }
    }

    fn tariff_cost_agg_serial / pg_finfo_tariff_cost_agg_serial (fcinfo) {
        let state = unsafe { state_arg::<State>(fcinfo, 0) }.expect("serial is strict");
        return_bytea(&state.agg.to_bytes())
    }

    fn tariff_cost_agg_deserial / pg_finfo_tariff_cost_agg_deserial (fcinfo) {
        let ctx = unsafe { agg_context(fcinfo, WHAT) };
        let bytes = unsafe { pgrx::fcinfo::pg_getarg::<&[u8]>(fcinfo, 0) }.expect("deserial is strict");
        let agg = JoinedTariffCostAgg::from_bytes(bytes).unwrap_or_else(|e| refuse(e));
        unsafe { adopt(ctx, State { agg, ..State::default() }) }
    }

    fn tariff_cost_agg_final / pg_finfo_tariff_cost_agg_final (fcinfo) {
        match unsafe { state_arg::<State>(fcinfo, 0) } {
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
            Some(state) => match state.agg.finalize().unwrap_or_else(|e| refuse(e)) {
                None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
                Some(cost) => cost_tuple(fcinfo, &cost),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::money_text;

    #[test]
    fn money_prints_five_decimals() {
        assert_eq!(money_text(135_000), "1.35000");
        assert_eq!(money_text(1), "0.00001");
        assert_eq!(money_text(-250_001), "-2.50001");
    }
}
