//! Glue for hand-declared V1 functions: argument access, palloc'd results
//! and errors with a SQLSTATE and hint. Kept here so each type file reads as
//! its rules, not as fmgr plumbing.

use pgrx::pg_sys;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgSqlErrorCode;
use std::ffi::CStr;

/// Declares `extern "C-unwind" fn $name(fcinfo) -> Datum` plus the
/// `pg_finfo_$name` record PostgreSQL looks up, with panics turned into ERRORs.
macro_rules! v1_functions {
    ($( fn $name:ident / $finfo:ident ($fcinfo:ident) $body:block )*) => {$(
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record = ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        #[unsafe(no_mangle)]
        pub unsafe extern "C-unwind" fn $name($fcinfo: ::pgrx::pg_sys::FunctionCallInfo) -> ::pgrx::pg_sys::Datum {
            let call = move || $body;
            unsafe { ::pgrx::pg_sys::panic::pgrx_extern_c_guard(call) }
        }
    )*};
}
pub(crate) use v1_functions;

/// Raises an ERROR; never returns.
pub fn raise(code: PgSqlErrorCode, message: String, hint: Option<&str>) -> ! {
    let mut report = ErrorReport::new(code, message, "flows_ext");
    if let Some(h) = hint {
        report = report.set_hint(h);
    }
    report.report(pgrx::PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

pub fn raise_rule(e: &flows_core::RuleError) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        e.to_string(),
        e.hint,
    )
}

pub unsafe fn arg_datum(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> pg_sys::Datum {
    unsafe { pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n) }
}

/// A cstring argument (type input functions). Invalid UTF-8 cannot reach us
/// in a UTF-8 database; elsewhere it is refused like any malformed text.
pub unsafe fn arg_cstr<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a str {
    let ptr = unsafe { arg_datum(fcinfo, n) }.cast_mut_ptr::<std::ffi::c_char>();
    match unsafe { CStr::from_ptr(ptr) }.to_str() {
        Ok(s) => s,
        Err(_) => raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            "input is not valid UTF-8".into(),
            None,
        ),
    }
}

/// The unread bytes of a binary-receive buffer (`internal` = StringInfo),
/// consumed whole as receive functions must.
pub unsafe fn arg_recv_bytes<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [u8] {
    unsafe {
        let buf = arg_datum(fcinfo, n).cast_mut_ptr::<pg_sys::StringInfoData>();
        let start = (*buf).cursor as usize;
        let len = (*buf).len as usize - start;
        (*buf).cursor = (*buf).len;
        std::slice::from_raw_parts((*buf).data.add(start).cast::<u8>(), len)
    }
}

/// A pass-by-reference fixed-length argument of `N` bytes.
pub unsafe fn arg_fixed<'a, const N: usize>(
    fcinfo: pg_sys::FunctionCallInfo,
    n: usize,
) -> &'a [u8; N] {
    unsafe { &*arg_datum(fcinfo, n).cast_mut_ptr::<[u8; N]>() }
}

pub fn return_cstring(s: &str) -> pg_sys::Datum {
    let c = std::ffi::CString::new(s).expect("type output has no NUL");
    pg_sys::Datum::from(unsafe { pg_sys::pstrdup(c.as_ptr()) })
}

pub fn return_bytea(bytes: &[u8]) -> pg_sys::Datum {
    pg_sys::Datum::from(pgrx::rust_byte_slice_to_bytea(bytes).into_pg())
}

pub fn return_text(s: &str) -> pg_sys::Datum {
    pg_sys::Datum::from(pgrx::rust_str_to_text_p(s).into_pg())
}

/// Copies a fixed-length value into palloc'd memory for a by-reference return.
pub fn return_fixed<const N: usize>(bytes: [u8; N]) -> pg_sys::Datum {
    unsafe {
        let p = pg_sys::palloc(N).cast::<u8>();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, N);
        pg_sys::Datum::from(p)
    }
}

/// A numeric datum from exact decimal text the caller produced itself.
pub fn return_numeric(decimal: &str) -> pg_sys::Datum {
    let n: pgrx::AnyNumeric = decimal
        .parse()
        .expect("exact decimal text is a valid numeric");
    pgrx::IntoDatum::into_datum(n).expect("numeric is not null")
}

pub fn return_bool(b: bool) -> pg_sys::Datum {
    pg_sys::Datum::from(b)
}
