//! The control port: a line protocol on 127.0.0.1 for tests and scripts
//! (faults, state changes, listener stop/start, state dumps). One command a
//! line; one reply line each: `ok …`, `error …`, or a JSON document.

use crate::fault;
use crate::meter::{now_secs, MeterSpec, REGISTER_NAMES};
use crate::server::Listener;
use crate::service::{meter_info, meters_list};
use crate::sim::Sim;
use flows_emop::Money;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const HELP: &str = "commands: status | stop | start | fault SERIAL|* KIND [once|N] | faults | \
set SERIAL|* balance GBP|csq N|drift SECONDS|voltage V|import_a|export_a|import_b|export_b WH | \
config latency|spacing|busy_timeout MS | event SERIAL|* EVENT_ID [EVENT_SET] | \
add SERIAL HARDWARE [BALANCE [ESCO]] | remove SERIAL | state SERIAL | meters [ESCO] | save | \
shutdown | quit; fault kinds: none unavailable busy eof slow:MS drop_after_write \
hang_after_write[:MS] connect_failure[:MS]";

/// What the control port acts on.
#[derive(Debug, Clone)]
pub struct Control {
    pub sim: Arc<Sim>,
    pub listener: Arc<Listener>,
}

enum Reply {
    Line(String),
    Quit,
}

fn ok(text: impl AsRef<str>) -> Result<String, String> {
    let text = text.as_ref();
    Ok(if text.is_empty() {
        "ok".to_string()
    } else {
        format!("ok {text}")
    })
}

impl Control {
    /// Serves the control port until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let _ = this.session(stream).await;
            });
        }
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        while let Some(line) = lines.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            match self.execute(&line).await {
                Reply::Line(mut text) => {
                    text.push('\n');
                    write.write_all(text.as_bytes()).await?;
                }
                Reply::Quit => {
                    write.write_all(b"ok bye\n").await?;
                    break;
                }
            }
        }
        Ok(())
    }

    /// Runs one command line and returns the reply line (without newline).
    pub async fn run_line(&self, line: &str) -> String {
        match self.execute(line).await {
            Reply::Line(text) => text,
            Reply::Quit => "ok bye".to_string(),
        }
    }

    async fn execute(&self, line: &str) -> Reply {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"quit") {
            return Reply::Quit;
        }
        let result = self.command(&words).await;
        Reply::Line(result.unwrap_or_else(|e| format!("error {e}")))
    }

    /// The serials a command addresses: one meter, or `*` for all.
    fn targets(&self, who: &str) -> Result<Vec<String>, String> {
        if who == "*" {
            return Ok(self
                .sim
                .fleet
                .all()
                .iter()
                .map(|m| m.serial.clone())
                .collect());
        }
        if self.sim.fleet.contains(who) {
            Ok(vec![who.to_string()])
        } else {
            Err(format!("meter {who} not known"))
        }
    }

    async fn command(&self, words: &[&str]) -> Result<String, String> {
        let sim = &self.sim;
        match words {
            ["help"] => ok(HELP),
            ["status"] => {
                let state = if self.listener.is_running().await {
                    "listening"
                } else {
                    "stopped"
                };
                ok(format!(
                    "{state} {} meters {} latency_ms {} spacing_ms {} busy_timeout_ms {}",
                    self.listener.addr(),
                    sim.fleet.len(),
                    sim.latency().as_millis(),
                    sim.spacing().as_millis(),
                    sim.busy_timeout().as_millis()
                ))
            }
            ["stop"] => {
                self.listener.stop().await;
                ok("stopped")
            }
            ["start"] => {
                let addr = self.listener.start().await.map_err(|e| e.to_string())?;
                ok(format!("listening {addr}"))
            }
            ["fault", who, kind @ ..] => {
                let setting = fault::parse(kind)?;
                if *who == "*" {
                    *sim.fleet.global_fault() = setting;
                    if setting.is_none() {
                        for m in sim.fleet.all() {
                            m.state().fault = None;
                        }
                    }
                } else {
                    let meter = sim
                        .fleet
                        .get(who)
                        .ok_or_else(|| format!("meter {who} not known"))?;
                    meter.state().fault = setting;
                }
                ok(match setting {
                    Some(f) => format!("fault {who} {f}"),
                    None => format!("fault {who} none"),
                })
            }
            ["faults"] => {
                let mut parts = Vec::new();
                if let Some(f) = *sim.fleet.global_fault() {
                    parts.push(format!("*={f}"));
                }
                for m in sim.fleet.all() {
                    if let Some(f) = m.state().fault {
                        parts.push(format!("{}={f}", m.serial));
                    }
                }
                ok(parts.join(" "))
            }
            ["set", who, what, value] => {
                let targets = self.targets(who)?;
                let now = now_secs();
                let int = |what: &str| -> Result<i64, String> {
                    value
                        .parse()
                        .map_err(|_| format!("{what} needs an integer, got {value:?}"))
                };
                for serial in &targets {
                    let meter = sim.fleet.get(serial).ok_or("meter removed meanwhile")?;
                    let mut m = meter.state();
                    match *what {
                        "balance" => {
                            let gbp =
                                Money::parse_exact("balance", &Value::String(value.to_string()))
                                    .map_err(|e| e.to_string())?;
                            m.set_balance(now, gbp);
                        }
                        "csq" => m.set_csq(int("csq")?.clamp(0, 31) as u8),
                        "drift" => m.set_drift(int("drift")?),
                        "voltage" => m.set_voltage(int("voltage")?.clamp(0, 6553) as u16),
                        r if REGISTER_NAMES.contains(&r) => {
                            let wh =
                                u32::try_from(int(r)?).map_err(|_| format!("{r} out of range"))?;
                            m.set_register(now, r, wh)?;
                        }
                        other => return Err(format!("cannot set {other:?}")),
                    }
                }
                self.save().await;
                ok(format!("set {what} on {} meters", targets.len()))
            }
            ["config", what, value] => {
                let d = Duration::from_millis(
                    value
                        .parse()
                        .map_err(|_| format!("{what} needs milliseconds"))?,
                );
                match *what {
                    "latency" => sim.set_latency(d),
                    "spacing" => sim.set_spacing(d),
                    "busy_timeout" => sim.set_busy_timeout(d),
                    other => return Err(format!("unknown setting {other:?}")),
                }
                ok(format!("{what} {} ms", d.as_millis()))
            }
            ["event", who, id, rest @ ..] => {
                let id: u8 = id
                    .parse()
                    .map_err(|_| format!("event id must be 0-255, got {id:?}"))?;
                let set: u8 = match rest {
                    [] => 0,
                    [s] => s
                        .parse()
                        .map_err(|_| format!("event set must be 0-255, got {s:?}"))?,
                    _ => return Err("event SERIAL|* EVENT_ID [EVENT_SET]".to_string()),
                };
                let targets = self.targets(who)?;
                let now = now_secs();
                for serial in &targets {
                    if let Some(m) = sim.fleet.get(serial) {
                        m.state().inject_event(now, id, set);
                    }
                }
                self.save().await;
                ok(format!("event {id} on {} meters", targets.len()))
            }
            ["add", serial, hardware, rest @ ..] => {
                let balance = match rest.first() {
                    Some(b) => Some(
                        Money::parse_exact("balance", &Value::String(b.to_string()))
                            .map_err(|e| e.to_string())?,
                    ),
                    None => None,
                };
                let spec = MeterSpec {
                    serial: serial.to_string(),
                    hardware: hardware.parse()?,
                    esco: rest.get(1).unwrap_or(&"sim").to_string(),
                    name: None,
                    balance,
                    drift_seconds: None,
                    csq: None,
                };
                sim.add_meter(&spec)?;
                self.save().await;
                ok(format!("added {serial}"))
            }
            ["remove", serial] => {
                if !sim.fleet.remove(serial) {
                    return Err(format!("meter {serial} not known"));
                }
                self.save().await;
                ok(format!("removed {serial}"))
            }
            ["state", serial] => meter_info(sim, serial)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("meter {serial} not known")),
            ["meters"] => Ok(meters_list(sim, "").to_string()),
            ["meters", esco] => Ok(meters_list(sim, esco).to_string()),
            ["save"] => sim.save().await.and_then(|()| ok("saved")),
            ["shutdown"] => {
                sim.request_shutdown();
                ok("shutting down")
            }
            [] => Err("empty command".to_string()),
            _ => Err(format!("unknown command; {HELP}")),
        }
    }

    async fn save(&self) {
        if let Err(e) = self.sim.save().await {
            crate::sim::log_line(&format!("state file: {e}"));
        }
    }
}

/// Binds the control port on 127.0.0.1 (0 = any free port).
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}
