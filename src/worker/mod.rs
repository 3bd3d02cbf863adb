//! The background worker: registered at preload, it claims queued commands,
//! runs them against the mediators with no transaction open, and writes the
//! outcomes back. `wake` lets an enqueuing transaction wake it at commit.

mod execute;
mod run;
pub mod wake;

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;
use std::time::Duration;

pub static DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"flows"));
pub static MAX_IN_FLIGHT: GucSetting<i32> = GucSetting::<i32>::new(200);
pub static CALL_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(75_000);
pub static METER_SPACING_MS: GucSetting<i32> = GucSetting::<i32>::new(2_000);
pub static LEASE_SECONDS: GucSetting<i32> = GucSetting::<i32>::new(900);
pub static RETRY_BASE_MS: GucSetting<i32> = GucSetting::<i32>::new(5_000);
pub static RETRY_CAP_MS: GucSetting<i32> = GucSetting::<i32>::new(900_000);
pub static REFRESH_INTERVAL_S: GucSetting<i32> = GucSetting::<i32>::new(60);

/// Called from `_PG_init` while shared_preload_libraries is processed only.
pub fn register() {
    GucRegistry::define_string_guc(
        c"flows.database",
        c"Database the Flows worker serves (its flows_ext installation).",
        c"",
        &DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"flows.max_in_flight",
        c"Most commands the worker runs at once (each mediator also has its own max_concurrency).",
        c"",
        &MAX_IN_FLIGHT,
        1,
        10_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"flows.call_timeout",
        c"Deadline of each gRPC call to a mediator.",
        c"",
        &CALL_TIMEOUT_MS,
        100,
        600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"flows.meter_spacing",
        c"Least time between the end of one command to a meter and the start of its next.",
        c"The real mediators space a meter's exchanges 2 s apart; pacing here keeps their threads busy with real work.",
        &METER_SPACING_MS,
        0,
        60_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"flows.refresh_interval",
        c"How often the worker derives half-hourly data from new reads and refreshes the roll-ups.",
        c"Between refreshes the roll-up views still read fresh; register_interval_hh lags by at most this.",
        &REFRESH_INTERVAL_S,
        1,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"flows.command_lease",
        c"How long a claimed command may run before it is taken back (worker hung or killed).",
        c"",
        &LEASE_SECONDS,
        10,
        86_400,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"flows.retry_base",
        c"First retry delay of a failed command; it doubles per attempt, with jitter, up to flows.retry_cap.",
        c"",
        &RETRY_BASE_MS,
        10,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"flows.retry_cap",
        c"Longest retry delay of a failed command.",
        c"",
        &RETRY_CAP_MS,
        10,
        86_400_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    wake::init_shared_memory();
    BackgroundWorkerBuilder::new("flows mediator worker")
        .set_type("flows mediator worker")
        .set_library("flows_ext")
        .set_function("flows_worker_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}
