//! EMOP codec for Emlite prepayment meters reached through the mediators:
//! object ids, payload decoding and reporting, write plans, composite reads,
//! raw messages (profile logs, event log, three-phase intervals) and TCP
//! frames. Pure Rust: no pgrx, no async, no network. Contract:
//! `emop/PROTOCOL.md`; conformance: `tests/data/vectors.json`.
//!
//! Entry points for the extension: [`decode_json`] (`flows.emop_decode`),
//! [`write_plan`] (`flows.emop_write_plan`) with [`reads_before_write`]
//! (enabling prepay needs the balance read first, passed as `balance`),
//! [`CompositeRead`] for multi-read operations, and the raw-message modules
//! for `sendRawMessage`. A mediator simulator uses [`frame`] and
//! [`data_field`].

pub mod composite;
pub mod data_field;
pub mod enums;
pub mod error;
pub mod event_log;
pub mod failure;
pub mod frame;
pub mod hardware;
pub mod ids;
pub mod money;
pub mod pem;
pub mod profile_log;
pub mod records;
pub mod report;
pub mod three_phase_intervals;
pub mod time;
pub mod write_plan;

mod bytes;

pub use bytes::{from_hex, to_hex};
pub use composite::{CompositeRead, Step};
pub use error::CodecError;
pub use failure::MediatorFailure;
pub use ids::ObjectId;
pub use money::{Decimal, Money};
pub use records::{decode, Layout, Record};
pub use write_plan::{reads_before_write, write_plan, WritePlan};

/// The decoded record of `payload` as JSON, fields named as the reference
/// parser names them (backs `flows.emop_decode(object_id, payload)`).
/// `object_id` is a reference name (`prepay_balance`) or 6 hex digits.
pub fn decode_json(object_id: &str, payload: &[u8]) -> Result<serde_json::Value, CodecError> {
    let id = ObjectId::parse(object_id)?;
    Ok(decode(id, payload)?.fields_json())
}

/// What the reference client reports for a single read of `object_id`
/// (scaled, trimmed, mapped). Three-phase totals need the hardware string
/// (`P1.cx` scales by 10 000); it defaults to whole-current scaling.
pub fn report_json(
    object_id: &str,
    payload: &[u8],
    hardware: Option<&str>,
) -> Result<serde_json::Value, CodecError> {
    let id = ObjectId::parse(object_id)?;
    let record = decode(id, payload)?;
    report::reported_value(id, &record, hardware)
}
