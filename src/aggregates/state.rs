//! What every aggregate here shares: its state lives in Rust, owned by the
//! aggregate's memory context (dropped when the context is reset), and its
//! composite results are built against the declared result type.

use crate::types::fmgr::{arg_datum, raise};
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

/// The aggregate's memory context; refuses calls from outside an aggregate.
pub(crate) unsafe fn agg_context(
    fcinfo: pg_sys::FunctionCallInfo,
    what: &str,
) -> pg_sys::MemoryContext {
    let mut ctx = std::ptr::null_mut();
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut ctx) } == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{what} support functions run only inside the aggregate"),
            None,
        );
    }
    ctx
}

unsafe extern "C-unwind" fn drop_state<T>(arg: *mut std::ffi::c_void) {
    drop(unsafe { Box::from_raw(arg.cast::<T>()) });
}

/// Moves a state into `ctx`'s ownership: freed when the context is reset.
pub(crate) unsafe fn adopt<T>(ctx: pg_sys::MemoryContext, state: T) -> pg_sys::Datum {
    let ptr = Box::into_raw(Box::new(state));
    unsafe {
        let cb =
            pg_sys::MemoryContextAlloc(ctx, std::mem::size_of::<pg_sys::MemoryContextCallback>())
                .cast::<pg_sys::MemoryContextCallback>();
        (*cb).func = Some(drop_state::<T>);
        (*cb).arg = ptr.cast();
        pg_sys::MemoryContextRegisterResetCallback(ctx, cb);
    }
    pg_sys::Datum::from(ptr)
}

/// The `internal` state argument `n`, if any (only ever one adopted above).
pub(crate) unsafe fn state_arg<'a, T>(
    fcinfo: pg_sys::FunctionCallInfo,
    n: usize,
) -> Option<&'a mut T> {
    if unsafe { pgrx::fcinfo::pg_arg_is_null(fcinfo, n) } {
        None
    } else {
        Some(unsafe { &mut *arg_datum(fcinfo, n).cast_mut_ptr::<T>() })
    }
}

/// A composite result of the function's declared row type (`type_name` for
/// the message if it was declared otherwise).
pub(crate) fn composite(
    fcinfo: pg_sys::FunctionCallInfo,
    type_name: &str,
    values: &mut [pg_sys::Datum],
) -> pg_sys::Datum {
    unsafe {
        let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
        if pg_sys::get_call_result_type(fcinfo, std::ptr::null_mut(), &mut tupdesc)
            != pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE
        {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("the final function must return {type_name}"),
                None,
            );
        }
        let tupdesc = pg_sys::BlessTupleDesc(tupdesc);
        let mut nulls = vec![false; values.len()];
        let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data)
    }
}
