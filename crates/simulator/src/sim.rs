//! The simulator's shared state and the mediator's per-call procedure
//! (PROTOCOL.md §2.3): serial checks, the per-meter lock with busy timeout,
//! spacing after successes, exchange latency, injected faults, and the
//! state file.

use crate::fault::FaultKind;
use crate::fleet::{Fleet, Meter};
use crate::meter::{now_secs, MeterSpec, MeterState};
use crate::persist;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tonic::Status;

/// The three EMOP methods (the info service is not an exchange).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ReadElement,
    WriteElement,
    SendRawMessage,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::ReadElement => "readElement",
            Method::WriteElement => "writeElement",
            Method::SendRawMessage => "sendRawMessage",
        }
    }
}

pub const COMM_FAILED: &str = "Meter communication failed";
pub const CONNECT_FAILED: &str = "failed to connect after retries";

fn comm_failed() -> Status {
    Status::internal(COMM_FAILED)
}

fn busy(serial: &str) -> Status {
    Status::resource_exhausted(format!("Meter {serial} is busy (timeout)"))
}

/// Timing and behaviour knobs; the timing ones can change at run time.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub latency: Duration,
    pub spacing: Duration,
    pub busy_timeout: Duration,
    /// Calls served at once (0 = unlimited); the real mediator has 30
    /// worker threads.
    pub max_concurrent: usize,
    pub verbose: bool,
    pub state_file: Option<PathBuf>,
    /// `--consumption-scale`, for meters added later.
    pub scale: f64,
    /// Start of history for meters added later, seconds since 2000.
    pub commissioned: f64,
}

#[derive(Debug)]
pub struct Sim {
    pub fleet: Fleet,
    latency_ms: AtomicU64,
    spacing_ms: AtomicU64,
    busy_timeout_ms: AtomicU64,
    limiter: Option<Semaphore>,
    verbose: bool,
    state_file: Option<PathBuf>,
    /// Serialises state-file writes so an older snapshot never lands last.
    save_lock: tokio::sync::Mutex<()>,
    /// Save requests made / covered by a written snapshot: concurrent
    /// requests share one write.
    saves_requested: AtomicU64,
    saves_done: AtomicU64,
    pub scale: f64,
    pub commissioned: f64,
    /// True while the listener is stopped: in-flight calls end UNAVAILABLE.
    stopped: watch::Sender<bool>,
    /// Set by the control `shutdown` command.
    shutdown: watch::Sender<bool>,
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

impl Sim {
    pub fn new(options: &SimOptions) -> Sim {
        Sim {
            fleet: Fleet::default(),
            latency_ms: AtomicU64::new(ms(options.latency)),
            spacing_ms: AtomicU64::new(ms(options.spacing)),
            busy_timeout_ms: AtomicU64::new(ms(options.busy_timeout)),
            limiter: (options.max_concurrent > 0).then(|| Semaphore::new(options.max_concurrent)),
            verbose: options.verbose,
            state_file: options.state_file.clone(),
            save_lock: tokio::sync::Mutex::new(()),
            saves_requested: AtomicU64::new(0),
            saves_done: AtomicU64::new(0),
            scale: options.scale,
            commissioned: options.commissioned,
            stopped: watch::Sender::new(false),
            shutdown: watch::Sender::new(false),
        }
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }
    pub fn spacing(&self) -> Duration {
        Duration::from_millis(self.spacing_ms.load(Ordering::Relaxed))
    }
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms.load(Ordering::Relaxed))
    }
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms.store(ms(d), Ordering::Relaxed);
    }
    pub fn set_spacing(&self, d: Duration) {
        self.spacing_ms.store(ms(d), Ordering::Relaxed);
    }
    pub fn set_busy_timeout(&self, d: Duration) {
        self.busy_timeout_ms.store(ms(d), Ordering::Relaxed);
    }

    pub fn add_meter(&self, spec: &MeterSpec) -> Result<(), String> {
        self.fleet.insert(MeterState::new(
            spec,
            self.scale,
            self.commissioned,
            now_secs(),
        ))
    }

    pub fn set_stopped(&self, stopped: bool) {
        self.stopped.send_replace(stopped);
    }

    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Resolves once the listener is stopped.
    pub async fn wait_stopped(&self) {
        let mut rx = self.stopped.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn request_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub async fn wait_shutdown_request(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Writes the state file (if any) with every meter's current state.
    pub async fn save(&self) -> Result<(), String> {
        let Some(path) = self.state_file.clone() else {
            return Ok(());
        };
        // Every change is made before its save request, so a snapshot taken
        // after reading the request count covers all requests up to it.
        let mine = self.saves_requested.fetch_add(1, Ordering::SeqCst) + 1;
        let _guard = self.save_lock.lock().await;
        if self.saves_done.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        let covered = self.saves_requested.load(Ordering::SeqCst);
        let meters: Vec<serde_json::Value> = self
            .fleet
            .all()
            .iter()
            .map(|m| persist::meter_to_json(&m.state()))
            .collect();
        tokio::task::spawn_blocking(move || persist::write(&path, meters))
            .await
            .map_err(|e| e.to_string())??;
        self.saves_done.store(covered, Ordering::SeqCst);
        Ok(())
    }

    /// One EMOP call the way the 1.2.12 mediator runs it, with the meter's
    /// part done by `op` on the meter state. The exchange runs on its own
    /// task, so a caller that gives up (deadline, cancel) does not stop it:
    /// like the real mediator it keeps the meter locked and completes (a
    /// late write still lands). Only stopping the listener ends it early,
    /// with UNAVAILABLE.
    pub async fn exchange<T, F>(
        self: &Arc<Self>,
        method: Method,
        serial: String,
        detail: String,
        op: F,
    ) -> Result<T, Status>
    where
        T: Send + Describe + 'static,
        F: FnOnce(&mut MeterState, f64) -> Result<T, String> + Send + 'static,
    {
        let sim = self.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let mut note = String::new();
            let result = tokio::select! {
                r = sim.run_exchange(method, &serial, op, &mut note) => r,
                () = sim.wait_stopped() => Err(Status::unavailable("mediator stopped")),
            };
            if sim.verbose {
                let outcome = match &result {
                    Ok(v) => format!("OK {}", v.describe()),
                    Err(s) => format!("{:?} {}", s.code(), s.message()),
                };
                let note = if note.is_empty() {
                    String::new()
                } else {
                    format!(" ({note})")
                };
                log_line(&format!(
                    "{} {serial} {detail} -> {outcome}{note} in {} ms",
                    method.name(),
                    started.elapsed().as_millis()
                ));
            }
            result
        });
        task.await
            .unwrap_or_else(|e| Err(Status::internal(format!("simulator task failed: {e}"))))
    }

    async fn run_exchange<T, F>(
        &self,
        method: Method,
        serial: &str,
        op: F,
        note: &mut String,
    ) -> Result<T, Status>
    where
        F: FnOnce(&mut MeterState, f64) -> Result<T, String>,
    {
        if serial.is_empty() {
            return Err(Status::invalid_argument(
                "Target meter serial not specified",
            ));
        }
        let meter = self
            .fleet
            .get(serial)
            .ok_or_else(|| Status::not_found(format!("Meter '{serial}' not known")))?;
        meter.state().count_call(method.name());
        let is_write = method == Method::WriteElement;
        let fault = self.fleet.take_fault(&meter, is_write).map(|f| f.kind);
        if let Some(kind) = fault {
            *note = format!("fault {kind}");
        }
        match fault {
            Some(FaultKind::Unavailable) => {
                return Err(Status::unavailable("simulated fault: mediator unavailable"))
            }
            Some(FaultKind::Busy) => return Err(busy(serial)),
            _ => {}
        }
        // Like a mediator worker thread: held while waiting for the meter.
        let _permit = match &self.limiter {
            Some(s) => Some(
                s.acquire()
                    .await
                    .map_err(|_| Status::unavailable("mediator stopped"))?,
            ),
            None => None,
        };
        let mut last_success = tokio::time::timeout(self.busy_timeout(), meter.exchange.lock())
            .await
            .map_err(|_| busy(serial))?;
        if let Some(at) = *last_success {
            tokio::time::sleep_until(at + self.spacing()).await;
        }
        match fault {
            Some(FaultKind::Slow(d)) => tokio::time::sleep(d).await,
            Some(FaultKind::ConnectFailure(d)) => {
                tokio::time::sleep(d).await;
                return Err(Status::internal(CONNECT_FAILED));
            }
            _ => {}
        }
        tokio::time::sleep(self.latency()).await;
        if fault == Some(FaultKind::Eof) {
            return Err(comm_failed());
        }
        let value = apply(&meter, op).map_err(|reason| {
            *note = reason;
            comm_failed()
        })?;
        if is_write {
            // On disk before anyone hears of it: a restart must not forget
            // a used token.
            if let Err(e) = self.save().await {
                log_line(&format!("state file: {e}"));
            }
        }
        match fault {
            Some(FaultKind::DropAfterWrite) => return Err(comm_failed()),
            Some(FaultKind::HangAfterWrite(d)) => {
                tokio::time::sleep(d).await;
                return Err(comm_failed());
            }
            _ => {}
        }
        *last_success = Some(Instant::now());
        Ok(value)
    }
}

fn apply<T, F>(meter: &Meter, op: F) -> Result<T, String>
where
    F: FnOnce(&mut MeterState, f64) -> Result<T, String>,
{
    let mut state = meter.state();
    op(&mut state, now_secs())
}

/// A short description of a call's result for the verbose log.
pub trait Describe {
    fn describe(&self) -> String;
}

impl Describe for Vec<u8> {
    fn describe(&self) -> String {
        if self.len() <= 16 {
            flows_emop::to_hex(self)
        } else {
            format!("{} bytes", self.len())
        }
    }
}

impl Describe for String {
    fn describe(&self) -> String {
        self.clone()
    }
}

/// One line on stderr, stamped with the UTC time to the millisecond.
pub fn log_line(text: &str) {
    let now = now_secs();
    let iso = flows_emop::time::utc_iso_from_seconds_since_2000(now.floor() as i64);
    let millis = ((now - now.floor()) * 1000.0) as u32;
    // `2026-11-28T05:00:00+00:00` → `2026-11-28T05:00:00.123Z`
    eprintln!("{}.{millis:03}Z {text}", &iso[..19]);
}
