//! Waking the worker when work is queued: the enqueuing backend remembers
//! that its transaction queued something and sets the worker's latch from a
//! commit callback, once per transaction, so the worker never looks before
//! the rows are visible and never polls.

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, PgAtomic};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static WORKER_PID: PgAtomic<AtomicI32> = unsafe { PgAtomic::new(c"flows_worker_pid") };
/// True in the postmaster and every backend forked from it when flows_ext
/// was preloaded (set before the fork, inherited).
static PRELOADED: AtomicBool = AtomicBool::new(false);
static WAKE_PENDING: AtomicBool = AtomicBool::new(false);
static CALLBACK_REGISTERED: AtomicBool = AtomicBool::new(false);

pub fn init_shared_memory() {
    pg_shmem_init!(WORKER_PID);
    PRELOADED.store(true, Ordering::Relaxed);
}

pub fn preloaded() -> bool {
    PRELOADED.load(Ordering::Relaxed)
}

pub fn set_worker_pid(pid: i32) {
    WORKER_PID.get().store(pid, Ordering::SeqCst);
}

/// Called (through a statement trigger) by every statement that queues commands.
#[pg_extern(volatile, parallel_unsafe)]
fn wake_worker_at_commit() {
    if !preloaded() {
        crate::types::raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the Flows worker is not running in this server: flows_ext is not in shared_preload_libraries".into(),
            Some("add flows_ext to shared_preload_libraries in postgresql.conf and restart PostgreSQL; queued commands are carried out only by that worker"),
        );
    }
    WAKE_PENDING.store(true, Ordering::Relaxed);
    if !CALLBACK_REGISTERED.swap(true, Ordering::Relaxed) {
        unsafe { pg_sys::RegisterXactCallback(Some(on_xact_event), std::ptr::null_mut()) };
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn on_xact_event(
    event: pg_sys::XactEvent::Type,
    _arg: *mut std::ffi::c_void,
) {
    match event {
        pg_sys::XactEvent::XACT_EVENT_COMMIT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_COMMIT => {
            if WAKE_PENDING.swap(false, Ordering::Relaxed) {
                wake_now();
            }
        }
        pg_sys::XactEvent::XACT_EVENT_ABORT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT => {
            WAKE_PENDING.store(false, Ordering::Relaxed);
        }
        _ => {}
    }
}

fn wake_now() {
    let pid = WORKER_PID.get().load(Ordering::SeqCst);
    if pid == 0 {
        return; // not started yet: it looks at the queue when it starts
    }
    unsafe {
        let proc = pg_sys::BackendPidGetProc(pid);
        if !proc.is_null() {
            pg_sys::SetLatch(&raw mut (*proc).procLatch);
        }
    }
}
