//! The one error type of the codec. Every message names the field or object
//! and the rule it broke; where the reference client has a message for the
//! same refusal, ours contains it verbatim so operators see familiar text.

use crate::failure::MediatorFailure;
use crate::ids::ObjectId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("unknown object id name {0:?}: not one of the 213 reference object ids")]
    UnknownObjectName(String),

    #[error(
        "invalid object id {0:?}: must be a reference name or 6 hex digits (3 bytes, big-endian)"
    )]
    InvalidObjectId(String),

    #[error("invalid OBIS triplet {0:?}: must be a.b.c with each part 0-255")]
    InvalidObis(String),

    #[error(
        "{object}: payload of {got} bytes is shorter than its {layout} record ({needed} bytes)"
    )]
    PayloadTooShort {
        object: String,
        layout: &'static str,
        needed: usize,
        got: usize,
    },

    #[error("{what}: {rule}")]
    Malformed { what: String, rule: String },

    #[error("{field}: Invalid rate {value}. Can't be greater than 1 GBP.")]
    RateAboveOneGbp { field: String, value: String },

    #[error("{field}: Invalid rate {value}. Emlite meters can only store up to 5 decimal places.")]
    RateTooPrecise { field: String, value: String },

    #[error("{field}: amount {value} cannot be stored: a meter amount is 0 to 42949.67295 GBP (u4le count of 1/100000 GBP, truncated)")]
    AmountOutOfRange { field: String, value: String },

    #[error("{field}: {value:?} is not a decimal number")]
    NotADecimal { field: String, value: String },

    #[error("{field}: {value:?} is not an ISO 8601 date-time with a UTC offset: {rule}")]
    InvalidDateTime {
        field: String,
        value: String,
        rule: String,
    },

    #[error("{field}: {value} is outside the EMOP time range: {rule}")]
    TimeOutOfRange {
        field: String,
        value: String,
        rule: &'static str,
    },

    #[error("unknown operation {0:?}")]
    UnknownOperation(String),

    #[error("{operation}: missing argument {field}: {rule}")]
    MissingArgument {
        operation: String,
        field: String,
        rule: &'static str,
    },

    #[error("{operation}: unknown argument {field:?}")]
    UnknownArgument { operation: String, field: String },

    #[error("{field}: {rule} (got {value})")]
    InvalidArgument {
        field: String,
        value: String,
        rule: String,
    },

    #[error(
        "balance {balance} too low to enable prepay mode (< 10.0). add more credit and try again."
    )]
    BalanceTooLow { balance: String },

    #[error("Invalid log_idx {0}. Must be in range 0-9.")]
    InvalidLogIndex(i64),

    /// The three-phase interval range rules; the text is the reference's.
    #[error("{0}")]
    InvalidTimeRange(&'static str),

    #[error("frame: {0}")]
    Frame(String),

    #[error("read of {} failed: {failure}", object.describe())]
    ReadFailed {
        object: ObjectId,
        failure: MediatorFailure,
    },

    #[error("composite read: {0}")]
    Sequence(String),
}
