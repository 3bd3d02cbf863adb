//! The `flows.*` settings (GUCs). Views read them with
//! `current_setting(name, true)` and a default, so they also work in a
//! session where the library has not been loaded yet.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// Token columns print all 20 digits only while a superuser turns this on
/// (for pg_dump); everybody else always sees them masked.
pub static REVEAL_TOKENS: GucSetting<bool> = GucSetting::<bool>::new(false);
pub static LOW_BALANCE_THRESHOLD: GucSetting<f64> = GucSetting::<f64>::new(5.0);
pub static OFFLINE_AFTER: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"3 hours"));
pub static OFFLINE_RECENT_WINDOW: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"7 days"));

pub fn register() {
    GucRegistry::define_bool_guc(
        c"flows.reveal_tokens",
        c"Print prepay tokens in full (superuser only; for pg_dump).",
        c"Tokens are masked to their last 4 digits on output. A dump must be taken with this on, e.g. PGOPTIONS='-c flows.reveal_tokens=on' pg_dump, or its tokens cannot be restored.",
        &REVEAL_TOKENS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"flows.low_balance_threshold",
        c"Balance in GBP below which flows.meters_low_balance lists a meter.",
        c"",
        &LOW_BALANCE_THRESHOLD,
        -100_000.0,
        100_000.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"flows.offline_after",
        c"How long without a successful sync makes a meter offline (an interval).",
        c"",
        &OFFLINE_AFTER,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"flows.offline_recent_window",
        c"How far back flows.meters_offline_recently looks for meters that were last online (an interval).",
        c"",
        &OFFLINE_RECENT_WINDOW,
        GucContext::Userset,
        GucFlags::default(),
    );
}
