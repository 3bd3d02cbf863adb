//! The worker's main loop. Each turn: wait on the latch (or drive in-flight
//! calls briefly), then one short transaction that records finished
//! attempts, saves checkpoints and claims more work. Network calls run on a
//! current-thread tokio runtime between transactions, never inside one.

use super::execute::{attempt, Step};
use super::{
    wake, CALL_TIMEOUT_MS, DATABASE, LEASE_SECONDS, MAX_IN_FLIGHT, METER_SPACING_MS, RETRY_BASE_MS,
    RETRY_CAP_MS,
};
use crate::queue::backoff::Backoff;
use crate::queue::{Claimed, MediatorRow};
use flows_mediator::client::Mediator;
use flows_mediator::config::{MediatorConfig, TlsConfig};
use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const IDLE_POLL: Duration = Duration::from_secs(10);
/// Wake-ups closer together than this are coalesced into one tick, so a
/// burst of enqueuing commits does not turn into a burst of claim queries.
const MIN_TICK_GAP: Duration = Duration::from_millis(20);
/// A claim at least this often even when nothing signalled (leases, caps).
const CLAIM_AT_LEAST_EVERY: Duration = Duration::from_secs(1);
const CLAIM_GAP: Duration = Duration::from_millis(100);
const UNPRODUCTIVE_CLAIM_GAP: Duration = Duration::from_millis(250);
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
const DRIVE_SLICE: Duration = Duration::from_millis(25);
const RECOVER_EVERY: Duration = Duration::from_secs(30);
const PURGE_EVERY: Duration = Duration::from_secs(3600);
const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn flows_worker_main(_arg: pg_sys::Datum) {
    // The runtime first: threads it might start must not inherit the
    // signal mask the handlers set up.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let db = DATABASE
        .get()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| "flows".into());
    BackgroundWorker::connect_worker_to_spi(Some(&db), None);
    wake::set_worker_pid(unsafe { pg_sys::MyProcPid });
    log!("flows worker started for database {db}");

    let mut w = Worker {
        rt,
        tasks: JoinSet::new(),
        finished: Vec::new(),
        checkpoints: Vec::new(),
        mediators: HashMap::new(),
        in_flight: 0,
        recovered_at: None,
        purged_at: Instant::now(),
        refreshed_at: Instant::now(),
        refresh_pending: false,
        due_at: None,
        ticked_at: Instant::now(),
        claimed_at: Instant::now(),
        claim_pending: true,
        last_claim_empty: false,
        heartbeat_at: None,
        reported_in_flight: None,
    };
    loop {
        let timeout = if w.in_flight > 0 {
            w.drive();
            Duration::ZERO
        } else {
            w.idle_timeout()
        };
        let (mut alive, mut woken) = wait(timeout);
        let since = w.ticked_at.elapsed();
        if alive && since < MIN_TICK_GAP && w.finished.is_empty() && w.checkpoints.is_empty() {
            let (a, more) = wait(MIN_TICK_GAP - since);
            alive = a;
            woken |= more;
        }
        if !alive {
            break;
        }
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        w.tick(woken);
    }
    log!(
        "flows worker stopping; {} command(s) in flight will be recovered by lease",
        w.in_flight
    );
    wake::set_worker_pid(0);
}

struct Worker {
    rt: tokio::runtime::Runtime,
    tasks: JoinSet<Step>,
    finished: Vec<Value>,
    checkpoints: Vec<Claimed>,
    mediators: HashMap<MediatorRow, Mediator>,
    in_flight: usize,
    recovered_at: Option<Instant>,
    purged_at: Instant,
    refreshed_at: Instant,
    /// The last refresh left work: run again at the next tick.
    refresh_pending: bool,
    /// When the next queued command becomes due (retry backoff, meter spacing).
    due_at: Option<Instant>,
    ticked_at: Instant,
    claimed_at: Instant,
    claim_pending: bool,
    last_claim_empty: bool,
    heartbeat_at: Option<Instant>,
    reported_in_flight: Option<usize>,
}

/// Waits on the latch; says whether to go on (no SIGTERM, postmaster alive)
/// and whether the latch was set (work queued, or a signal).
fn wait(timeout: Duration) -> (bool, bool) {
    let flags = pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_POSTMASTER_DEATH;
    let rc = unsafe {
        let rc = pg_sys::WaitLatch(
            pg_sys::MyLatch,
            flags as i32,
            timeout.as_millis() as _,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
        rc
    };
    pgrx::check_for_interrupts!();
    let alive =
        rc & pg_sys::WL_POSTMASTER_DEATH as i32 == 0 && !BackgroundWorker::sigterm_received();
    (alive, rc & pg_sys::WL_LATCH_SET as i32 != 0)
}

impl Worker {
    /// Lets in-flight calls progress for a short slice, collecting every
    /// attempt that finished.
    fn drive(&mut self) {
        let tasks = &mut self.tasks;
        let mut done: Vec<Step> = Vec::new();
        self.rt.block_on(async {
            if let Ok(Some(first)) = tokio::time::timeout(DRIVE_SLICE, tasks.join_next()).await {
                done.push(first.expect("a command attempt panicked"));
                while let Some(next) = tasks.try_join_next() {
                    done.push(next.expect("a command attempt panicked"));
                }
            }
        });
        for step in done {
            self.in_flight -= 1;
            match step {
                Step::Done(c) => self.finished.push(c.to_json()),
                Step::Checkpoint { next, progress } => {
                    let mut next = next;
                    next.progress = progress;
                    self.checkpoints.push(next);
                }
            }
        }
    }

    /// One short transaction: record, checkpoint, claim. Claiming is skipped
    /// when nothing can have become claimable: no wake-up, nothing finished,
    /// no retry or spacing delay run out, and the last claim is recent.
    fn tick(&mut self, woken: bool) {
        let refresh_every = Duration::from_secs(super::REFRESH_INTERVAL_S.get().max(1) as u64);
        if self.refresh_pending || self.refreshed_at.elapsed() >= refresh_every {
            // Its own transaction: a slow or failing refresh never holds back
            // the outcomes and claims below (flows.worker_refresh logs failures
            // and does a bounded amount of work, saying whether more is left).
            self.refresh_pending = BackgroundWorker::transaction(|| {
                extension_ready()
                    && Spi::get_one::<bool>("SELECT flows.worker_refresh()")
                        .expect("refresh")
                        .unwrap_or(false)
            });
            self.refreshed_at = Instant::now();
        }
        let finished = std::mem::take(&mut self.finished);
        let checkpoints = std::mem::take(&mut self.checkpoints);
        let due = self.due_at.is_some_and(|t| Instant::now() >= t);
        // Something may have become claimable. Claim at once when idle, at
        // most every CLAIM_GAP while busy (a claim walks every busy meter),
        // and back off while claims keep finding nothing (e.g. a burst of
        // requests for meters whose mediator is disabled or saturated).
        self.claim_pending |= woken || due || !finished.is_empty();
        if !finished.is_empty() {
            self.last_claim_empty = false;
        }
        let since_claim = self.claimed_at.elapsed();
        let claim = (self.claim_pending && since_claim >= self.claim_gap())
            || since_claim >= CLAIM_AT_LEAST_EVERY;
        if !claim && checkpoints.is_empty() && finished.is_empty() {
            return;
        }
        let first_tick = self.recovered_at.is_none();
        let heartbeat_due = self
            .heartbeat_at
            .is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY);
        let reported = self.reported_in_flight;
        let recover = self
            .recovered_at
            .is_none_or(|t| t.elapsed() >= RECOVER_EVERY);
        let purge = self.purged_at.elapsed() >= PURGE_EVERY;
        let capacity = (MAX_IN_FLIGHT.get().max(1) as usize)
            .saturating_sub(self.in_flight + checkpoints.len());
        let in_flight = self.in_flight + checkpoints.len();
        let checkpoint_count = checkpoints.len();
        let (claimed, next_due, reported_now) = BackgroundWorker::transaction(move || {
            if !extension_ready() {
                return (Vec::new(), None, None);
            }
            if first_tick {
                // The worker's own commits need not wait for the WAL flush: a
                // lost claim or result after a crash only means the command
                // runs again, and every operation is safe to repeat (reads,
                // absolute writes, tokens verified against their checkpoint,
                // which alone is committed synchronously).
                Spi::run("SET synchronous_commit = off").expect("synchronous_commit");
                // Nothing runs before the worker starts: every running command was orphaned.
                Spi::run("UPDATE flows.commands SET lease_expires_at = now() - interval '1 second' WHERE status = 'running'")
                    .expect("orphaned commands");
            }
            if recover {
                Spi::run("SELECT flows.worker_recover_leases()").expect("lease recovery");
            }
            if purge {
                Spi::run("SELECT flows.purge_commands()").expect("purge");
                Spi::run("SELECT count(*) FROM flows.apply_retention()").expect("retention");
            }
            if !finished.is_empty() {
                Spi::run_with_args(
                    "SELECT flows.worker_complete($1, make_interval(secs => $2::float8 / 1000))",
                    &[
                        JsonB(Value::Array(finished)).into(),
                        METER_SPACING_MS.get().into(),
                    ],
                )
                .expect("recording outcomes");
            }
            if !checkpoints.is_empty() {
                // A checkpoint is what stops a token being sent twice after a
                // crash, so it must be on disk before the send: this commit waits.
                Spi::run("SET LOCAL synchronous_commit = on").expect("synchronous checkpoint");
            }
            for c in &checkpoints {
                Spi::run_with_args(
                    "SELECT flows.worker_checkpoint($1, $2)",
                    &[c.id.into(), JsonB(c.progress.clone()).into()],
                )
                .expect("checkpoint");
            }
            let mut claimed = Vec::new();
            if claim && capacity > 0 {
                let got = Spi::get_one_with_args::<JsonB>(
                    "SELECT flows.worker_claim($1, make_interval(secs => $2))",
                    &[(capacity as i32).into(), LEASE_SECONDS.get().into()],
                )
                .expect("claiming commands");
                if let Some(JsonB(v)) = got {
                    claimed =
                        Claimed::list_from_json(&v).unwrap_or_else(|e| panic!("bad claim: {e}"));
                }
            }
            let now_in_flight = in_flight + claimed.len();
            let heartbeat = heartbeat_due || Some(now_in_flight) != reported;
            if heartbeat {
                Spi::run_with_args(
                    "SELECT flows.worker_heartbeat($1, $2, $3)",
                    &[
                        unsafe { pg_sys::MyProcPid }.into(),
                        (now_in_flight as i32).into(),
                        LIBRARY_VERSION.into(),
                    ],
                )
                .expect("heartbeat");
            }
            claimed.extend(checkpoints);
            let next_due_ms = Spi::get_one::<f64>(
                "SELECT (SELECT greatest(extract(epoch FROM d - clock_timestamp()) * 1000, 1)::float8 \
                   FROM flows.worker_next_due() d WHERE d IS NOT NULL)",
            )
            .expect("next due");
            (
                claimed,
                next_due_ms.map(|ms| Duration::from_millis(ms as u64)),
                heartbeat.then_some(now_in_flight),
            )
        });
        let claimed_count = claimed.len() - checkpoint_count;
        self.due_at = next_due.map(|d| Instant::now() + d);
        self.ticked_at = Instant::now();
        if let Some(n) = reported_now {
            self.heartbeat_at = Some(Instant::now());
            self.reported_in_flight = Some(n);
        }
        if claim {
            self.claim_pending = false;
            self.last_claim_empty = claimed_count == 0;
            self.claimed_at = Instant::now();
        }
        if recover {
            self.recovered_at = Some(Instant::now());
        }
        if purge {
            self.purged_at = Instant::now();
        }
        for c in claimed {
            self.spawn(c);
        }
    }

    fn claim_gap(&self) -> Duration {
        if self.last_claim_empty {
            UNPRODUCTIVE_CLAIM_GAP
        } else if self.in_flight == 0 {
            Duration::ZERO
        } else {
            CLAIM_GAP
        }
    }

    /// How long to sleep with nothing in flight: until the next command is
    /// due, or a held-back claim may run, or the safety poll.
    fn idle_timeout(&self) -> Duration {
        let mut t = self
            .due_at
            .map_or(IDLE_POLL, |at| at.saturating_duration_since(Instant::now()))
            .min(IDLE_POLL);
        if self.claim_pending {
            t = t.min(self.claim_gap().saturating_sub(self.claimed_at.elapsed()));
        }
        if self.refresh_pending {
            t = t.min(CLAIM_GAP);
        }
        t
    }

    fn spawn(&mut self, c: Claimed) {
        let mediator = match self.mediator(&c.mediator) {
            Ok(m) => m,
            Err(message) => {
                self.finished.push(json!({"id": c.id, "status": "failed", "class": "permanent",
                                          "code": "MEDIATOR_CONFIG", "message": message, "partial": {}}));
                return;
            }
        };
        let backoff = Backoff {
            base: Duration::from_millis(RETRY_BASE_MS.get().max(1) as u64),
            cap: Duration::from_millis(RETRY_CAP_MS.get().max(1) as u64),
        };
        let _enter = self.rt.enter();
        self.tasks.spawn(attempt(mediator, c, backoff));
        self.in_flight += 1;
    }

    fn mediator(&mut self, row: &MediatorRow) -> Result<Mediator, String> {
        if let Some(m) = self.mediators.get(row) {
            return Ok(m.clone());
        }
        let tls = match (&row.tls_ca_pem, &row.tls_client_cert_pem, &row.tls_client_key_pem) {
            (Some(ca), Some(cert), Some(key)) => Some(TlsConfig {
                ca_pem: ca.clone(),
                client_cert_pem: cert.clone(),
                client_key_pem: key.clone(),
                server_name: row.tls_server_name.clone(),
            }),
            (None, None, None) => None,
            _ => return Err(format!("mediator {}: TLS needs tls_ca_pem, tls_client_cert_pem and tls_client_key_pem together", row.name)),
        };
        let cfg = MediatorConfig {
            address: row.address.clone(),
            tls,
            deadline: Duration::from_millis(CALL_TIMEOUT_MS.get().max(1) as u64),
        };
        let _enter = self.rt.enter();
        let m = Mediator::connect_lazy(&cfg).map_err(|e| format!("mediator {}: {e}", row.name))?;
        self.mediators.insert(row.clone(), m.clone());
        Ok(m)
    }
}

/// The extension is installed here, at the version of this library. Before
/// CREATE EXTENSION (or after DROP) the worker waits quietly.
fn extension_ready() -> bool {
    let version = Spi::get_one::<String>(
        "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'flows_ext'",
    )
    .ok()
    .flatten();
    match version {
        None => false,
        Some(v) if v == LIBRARY_VERSION => true,
        Some(v) => {
            warning!("flows_ext {v} is installed but the loaded library is {LIBRARY_VERSION}: run ALTER EXTENSION flows_ext UPDATE");
            false
        }
    }
}
