//! `flows.meter_serial`: an 8-byte pass-by-value datum holding the number
//! after `EML`. Equality, ordering and hashing reuse int8's functions
//! (declared in SQL), since numeric order equals text order.

use super::fmgr::*;
use flows_core::MeterSerial;
use pgrx::pg_sys::Datum;

fn to_datum(s: MeterSerial) -> Datum {
    Datum::from(s.number() as i64)
}

fn from_datum(d: Datum) -> MeterSerial {
    MeterSerial::from_number(d.value() as i64 as u64).expect("stored meter_serial is in range")
}

fn parse(text: &str) -> MeterSerial {
    MeterSerial::parse(text).unwrap_or_else(|e| raise_rule(&e))
}

v1_functions! {
    fn meter_serial_in / pg_finfo_meter_serial_in (fcinfo) {
        to_datum(parse(unsafe { arg_cstr(fcinfo, 0) }))
    }

    fn meter_serial_out / pg_finfo_meter_serial_out (fcinfo) {
        return_cstring(&from_datum(unsafe { arg_datum(fcinfo, 0) }).to_string())
    }

    // The binary form is the text form, so binary-mode clients get `EML…`.
    fn meter_serial_recv / pg_finfo_meter_serial_recv (fcinfo) {
        let bytes = unsafe { arg_recv_bytes(fcinfo, 0) };
        to_datum(parse(&String::from_utf8_lossy(bytes)))
    }

    fn meter_serial_send / pg_finfo_meter_serial_send (fcinfo) {
        return_bytea(from_datum(unsafe { arg_datum(fcinfo, 0) }).to_string().as_bytes())
    }
}
