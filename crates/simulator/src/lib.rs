//! Flows mediator simulator: serves the Emlite mediator gRPC interface
//! (mediator.proto) over simulated meters, with the real mediator's
//! locking, spacing and error semantics and injectable faults. The binary
//! is a thin wrapper over [`start`]; tests embed the simulator the same way.

pub mod config;
pub mod control;
pub mod energy;
pub mod fault;
pub mod fleet;
pub mod hardware;
pub mod meter;
pub mod persist;
pub mod raw;
pub mod server;
pub mod service;
pub mod sim;

pub use config::Config;
pub use control::Control;
pub use sim::Sim;

use crate::meter::{now_secs, MeterState};
use crate::server::Listener;
use crate::sim::SimOptions;
use flows_emop::time::DateTime;
use flows_emop::Money;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A started simulator: the gRPC listener, and the control port if asked.
#[derive(Debug)]
pub struct Running {
    pub sim: Arc<Sim>,
    pub listener: Arc<Listener>,
    control: Option<(SocketAddr, JoinHandle<()>)>,
}

impl Running {
    /// The gRPC address (the bound port when 0 was asked for).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.as_ref().map(|(a, _)| *a)
    }

    /// The control interface, for running commands in-process.
    pub fn control(&self) -> Control {
        Control {
            sim: self.sim.clone(),
            listener: self.listener.clone(),
        }
    }

    /// Stops serving, writes the state file and closes the control port.
    pub async fn shutdown(self) {
        self.listener.stop().await;
        if let Err(e) = self.sim.save().await {
            sim::log_line(&format!("state file: {e}"));
        }
        if let Some((_, task)) = self.control {
            task.abort();
        }
    }
}

/// Builds the fleet (state file first, then the meters file and generated
/// meters not already in it), installs the start-up faults, and starts the
/// gRPC listener and the control port. Must run inside a Tokio runtime.
pub async fn start(config: &Config) -> Result<Running, String> {
    let commissioned = DateTime::parse("history_from", &config.history_from)
        .and_then(|d| d.emop_seconds("history_from"))
        .map_err(|e| e.to_string())?;
    let balance = config
        .initial_balance
        .as_deref()
        .map(|b| Money::parse_exact("initial_balance", &serde_json::Value::String(b.to_string())))
        .transpose()
        .map_err(|e| e.to_string())?;
    if !(config.consumption_scale.is_finite() && config.consumption_scale >= 0.0) {
        return Err("--consumption-scale must be a number ≥ 0".to_string());
    }
    let options = SimOptions {
        latency: Duration::from_millis(config.latency_ms),
        spacing: Duration::from_millis(config.spacing_ms),
        busy_timeout: config.busy_timeout,
        max_concurrent: config.max_concurrent,
        verbose: config.verbose,
        state_file: config.state_file.clone(),
        scale: config.consumption_scale,
        commissioned: f64::from(commissioned),
    };
    let sim = Arc::new(Sim::new(&options));
    let now = now_secs();

    if let Some(path) = &config.state_file {
        for m in persist::load(path, config.consumption_scale)?.unwrap_or_default() {
            sim.fleet.insert(m)?;
        }
    }
    let mut specs = Vec::new();
    if let Some(path) = &config.meters {
        specs.extend(fleet::load_file(path, &config.esco)?);
    }
    specs.extend(fleet::generate(
        config.generate,
        &config.serial_prefix,
        &config.hardware,
        &config.esco,
        balance,
    )?);
    let mut seen = HashSet::new();
    for mut spec in specs {
        if !seen.insert(spec.serial.clone()) {
            return Err(format!("meter {} declared twice", spec.serial));
        }
        // The state file already knows this meter: its saved state wins.
        if sim.fleet.contains(&spec.serial) {
            continue;
        }
        spec.balance = spec.balance.or(balance);
        spec.drift_seconds = spec.drift_seconds.or(Some(config.clock_drift));
        sim.fleet.insert(MeterState::new(
            &spec,
            config.consumption_scale,
            f64::from(commissioned),
            now,
        ))?;
    }

    for text in &config.faults {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some((who, kind)) = words.split_first() else {
            return Err("--fault needs 'SERIAL|* KIND [once|N]'".to_string());
        };
        let setting = fault::parse(kind).map_err(|e| format!("--fault {text:?}: {e}"))?;
        if *who == "*" {
            *sim.fleet.global_fault() = setting;
        } else {
            let meter = sim
                .fleet
                .get(who)
                .ok_or_else(|| format!("--fault {text:?}: meter {who} not known"))?;
            meter.state().fault = setting;
        }
    }

    let listener = Arc::new(Listener::new(sim.clone(), config.listen));
    listener
        .start()
        .await
        .map_err(|e| format!("listen {}: {e}", config.listen))?;
    let control = match config.control_port {
        None => None,
        Some(port) => {
            let (tcp, addr) = control::bind(port)
                .await
                .map_err(|e| format!("control port {port}: {e}"))?;
            let ctl = Control {
                sim: sim.clone(),
                listener: listener.clone(),
            };
            Some((addr, tokio::spawn(ctl.serve(tcp))))
        }
    };
    Ok(Running {
        sim,
        listener,
        control,
    })
}
