//! `flows.tariff`: a fixed 32-byte datum (see `flows_core::tariff`), with the
//! tariff JSON of DOMAIN.md as its text form and casts to and from jsonb.
//! Only tariffs a meter can store are representable.

use super::fmgr::*;
use flows_core::money::AmountError;
use flows_core::tariff::{Tariff, TariffError, TariffField, TARIFF_BYTES};
use pgrx::PgSqlErrorCode;

unsafe fn arg_tariff(fcinfo: pgrx::pg_sys::FunctionCallInfo, n: usize) -> Tariff {
    Tariff::from_bytes(unsafe { arg_fixed::<TARIFF_BYTES>(fcinfo, n) })
        .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_DATA_CORRUPTED, e, None))
}

pub fn parse(text: &str) -> Tariff {
    Tariff::from_json(text).unwrap_or_else(|e| {
        let code = match &e {
            TariffError::NotAnObject(_) => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            TariffError::Amount {
                problem: AmountError::TooLarge { .. },
                ..
            }
            | TariffError::ActivationOutOfRange { .. } => {
                PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE
            }
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        };
        raise(code, e.to_string(), e.hint())
    })
}

v1_functions! {
    fn tariff_in / pg_finfo_tariff_in (fcinfo) {
        return_fixed(parse(unsafe { arg_cstr(fcinfo, 0) }).to_bytes())
    }

    fn tariff_out / pg_finfo_tariff_out (fcinfo) {
        return_cstring(&unsafe { arg_tariff(fcinfo, 0) }.to_json())
    }

    // Binary form: the versioned 32-byte layout, checked on receipt.
    fn tariff_recv / pg_finfo_tariff_recv (fcinfo) {
        let bytes = unsafe { arg_recv_bytes(fcinfo, 0) };
        let t = Tariff::from_bytes(bytes)
            .unwrap_or_else(|e| raise(PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION, e, None));
        return_fixed(Tariff::from_json(&t.to_json()).unwrap_or_else(|e| {
            raise(PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION, e.to_string(), None)
        }).to_bytes())
    }

    fn tariff_send / pg_finfo_tariff_send (fcinfo) {
        return_bytea(&unsafe { arg_tariff(fcinfo, 0) }.to_bytes())
    }

    fn tariff_eq / pg_finfo_tariff_eq (fcinfo) {
        return_bool(unsafe { arg_tariff(fcinfo, 0) == arg_tariff(fcinfo, 1) })
    }

    fn tariff_ne / pg_finfo_tariff_ne (fcinfo) {
        return_bool(unsafe { arg_tariff(fcinfo, 0) != arg_tariff(fcinfo, 1) })
    }
}

v1_functions! {
    fn tariff_hash / pg_finfo_tariff_hash (fcinfo) {
        let bytes = unsafe { arg_fixed::<TARIFF_BYTES>(fcinfo, 0) };
        // FNV-1a: stable across processes and versions, as hash indexes need.
        let h = bytes.iter().fold(0x811c_9dc5u32, |h, b| (h ^ u32::from(*b)).wrapping_mul(0x0100_0193));
        pgrx::pg_sys::Datum::from(h as i32)
    }
}

v1_functions! {
    fn tariff_activation / pg_finfo_tariff_activation (fcinfo) {
        match unsafe { arg_tariff(fcinfo, 0) }.activation {
            // Both epochs are 2000-01-01 UTC: PostgreSQL counts microseconds.
            Some(seconds) => pgrx::pg_sys::Datum::from(i64::from(seconds) * 1_000_000),
            None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
        }
    }

    fn tariff_amount / pg_finfo_tariff_amount (fcinfo) {
        let tariff = unsafe { arg_tariff(fcinfo, 0) };
        let key = unsafe { pgrx::fcinfo::pg_getarg::<&str>(fcinfo, 1) }.unwrap_or_default();
        let field = TariffField::AMOUNTS.into_iter().find(|f| f.key() == key).unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("\"{key}\" is not a tariff amount"),
                Some("amounts are standing_charge, unit_rate_element_a, unit_rate_element_b, prepayment_emergency_credit, prepayment_ecredit_availability, prepayment_debt_recovery_rate"),
            )
        });
        return_numeric(&tariff.amount(field).to_string())
    }
}
