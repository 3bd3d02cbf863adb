//! The custom base types. Each is a set of V1 C functions (input, output,
//! receive, send, plus comparisons where the type is a key) declared by
//! `sql/10_types.sql`; the rules themselves live in the pure `flows-core` crate.

pub(crate) mod fmgr;
mod meter_serial;
mod prepay_token;
mod tariff;

pub use fmgr::raise;
