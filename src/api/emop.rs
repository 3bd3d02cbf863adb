//! `flows.emop_decode` and `flows.emop_write_plan`: the codec in SQL, so an
//! operator can read a captured payload or see exactly what a write sends.

use crate::types::raise;
use flows_emop::CodecError;
use pgrx::prelude::*;
use pgrx::JsonB;

fn refuse(e: CodecError) -> ! {
    let code = match e {
        CodecError::PayloadTooShort { .. } | CodecError::Malformed { .. } => {
            PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION
        }
        _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
    };
    raise(code, e.to_string(), None)
}

/// The record in `payload`, decoded as the object id (a reference name or 6 hex digits) says.
#[pg_extern(immutable, parallel_safe, strict, name = "emop_decode")]
fn emop_decode(object_id: &str, payload: &[u8]) -> JsonB {
    JsonB(flows_emop::decode_json(object_id, payload).unwrap_or_else(|e| refuse(e)))
}

/// The exact writeElement sequence an operation sends, in order.
#[pg_extern(immutable, parallel_safe, strict, name = "emop_write_plan")]
fn emop_write_plan(
    operation: &str,
    args: JsonB,
) -> TableIterator<'static, (name!(object_id, String), name!(payload, Vec<u8>))> {
    let plan = flows_emop::write_plan(operation, &args.0).unwrap_or_else(|e| refuse(e));
    TableIterator::new(plan.into_iter().map(|(id, bytes)| (id.hex(), bytes)))
}
