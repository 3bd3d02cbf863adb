//! SQL functions that SQL alone cannot express: the meter operation
//! catalogue used to validate requests before anything is queued, and the
//! EMOP codec for operators and diagnostics.

mod emop;
pub mod operations;
