//! The meter operations a command may name, checked before anything is
//! queued so a bad request never reaches the worker.

use crate::types::raise;
use pgrx::prelude::*;
use pgrx::JsonB;

/// Commands carry no token: a push names its ledger row, and the worker
/// reads the digits when it claims the command.
const TOKEN_OP: &str = "prepay_send_token";

fn is_write(op: &str) -> bool {
    op == TOKEN_OP || op.ends_with("_write")
}

#[pg_extern(immutable, parallel_safe, strict)]
pub fn meter_operation_kind(operation: &str) -> Option<&'static str> {
    flows_mediator::operations::operation_names()
        .iter()
        .find(|n| **n == operation)
        .map(|n| if is_write(n) { "write" } else { "read" })
}

#[pg_extern(immutable, parallel_safe, strict)]
pub fn meter_operations(kind: &str) -> Vec<&'static str> {
    flows_mediator::operations::operation_names()
        .iter()
        .copied()
        .filter(|n| {
            if is_write(n) {
                kind == "write"
            } else {
                kind == "read"
            }
        })
        .collect()
}

#[pg_extern(immutable, parallel_safe, strict)]
pub fn check_meter_operation(operation: &str, args: JsonB) {
    let bad = |msg: String, hint: Option<&str>| -> ! {
        raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, msg, hint)
    };
    if meter_operation_kind(operation).is_none() {
        let known = flows_mediator::operations::operation_names().join(", ");
        bad(
            format!("unknown meter operation \"{operation}\""),
            Some(&format!("operations: {known}")),
        );
    }
    if operation == TOKEN_OP {
        match args.0.as_object() {
            Some(o) if o.len() == 1 && o.get("topup_id").is_some_and(|v| v.is_i64()) => return,
            _ => bad(
                "a token push command names its top-up: {\"topup_id\": n}".into(),
                Some("push tokens with flows_api.push_token"),
            ),
        }
    }
    if let Err(msg) = flows_mediator::operations::validate(operation, &args.0) {
        bad(format!("{operation}: {msg}"), None);
    }
}
