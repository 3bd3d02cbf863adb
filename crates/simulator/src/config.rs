//! Command-line options of `flows-mediator-sim`.

use crate::hardware::Hardware;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A mediator simulator: the Emlite mediator gRPC interface
/// (simt_emlite.mediator.grpc) over simulated meters, with injectable faults.
#[derive(Debug, Clone, Parser)]
#[command(name = "flows-mediator-sim", version)]
pub struct Config {
    /// gRPC address, loopback only; port 0 picks a free port. The first
    /// stdout line is `listening ADDR`.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Meters file: JSON lines (or a JSON array) of {"serial","hardware",
    /// "balance","esco","name","drift_seconds","csq"}, or CSV
    /// `serial,hardware[,balance[,esco]]` (a header line may name columns).
    #[arg(long)]
    pub meters: Option<PathBuf>,

    /// Generate N meters (in addition to --meters).
    #[arg(long, default_value_t = 0)]
    pub generate: usize,

    /// Generated serials: this prefix padded with zeros to 13 characters,
    /// plus 1, 2, … (EML2200000001, …).
    #[arg(long, default_value = "EML22000000")]
    pub serial_prefix: String,

    /// Hardware of generated meters, cycled: C1.w, B1.w, EMA1.w, P1.ax, P1.cx.
    #[arg(long, value_delimiter = ',', default_value = "C1.w")]
    pub hardware: Vec<Hardware>,

    /// Prepay balance (GBP) of generated meters and of file meters without
    /// one; default: drawn per serial between 20 and 80.
    #[arg(long)]
    pub initial_balance: Option<String>,

    /// ESCO code of meters that do not name one.
    #[arg(long, default_value = "sim")]
    pub esco: String,

    /// Simulated meter round trip per exchange, ms.
    #[arg(long, default_value_t = 200)]
    pub latency_ms: u64,

    /// Minimum gap after a meter's last successful exchange, ms (the real
    /// mediator: 2000).
    #[arg(long, default_value_t = 2000)]
    pub spacing_ms: u64,

    /// Longest wait for a busy meter before RESOURCE_EXHAUSTED: `60`, `60s`,
    /// `1.5s` or `500ms`.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub busy_timeout: Duration,

    /// Calls served at once, the rest queue (0 = unlimited; the real
    /// mediator has 30 worker threads).
    #[arg(long, default_value_t = 0)]
    pub max_concurrent: usize,

    /// Meter clock offset from real time, seconds, for meters that do not
    /// set their own.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_drift: i64,

    /// Multiplies every meter's power use and the balance drain it causes
    /// (standing charge included); 0 freezes registers and balances.
    #[arg(long, default_value_t = 1.0)]
    pub consumption_scale: f64,

    /// First day (UTC) of every meter's history: registers count from here,
    /// profile logs and the event log hold nothing earlier.
    #[arg(long, default_value = "2024-01-01")]
    pub history_from: String,

    /// A fault at start, as the control command without `fault`:
    /// 'SERIAL|* KIND [once|N]', e.g. '* slow:5000' or 'EML2200000001 eof once'.
    /// Repeatable.
    #[arg(long = "fault")]
    pub faults: Vec<String>,

    /// Control port on 127.0.0.1 (0 = any free port; printed on stdout as
    /// `control ADDR`). Without it there is no control port.
    #[arg(long)]
    pub control_port: Option<u16>,

    /// Keep meter state in this JSON file across restarts (read at start,
    /// written after every write call, control change and at exit).
    #[arg(long)]
    pub state_file: Option<PathBuf>,

    /// One stderr line per call.
    #[arg(long)]
    pub verbose: bool,
}

impl Config {
    /// Options as a test writes them: `Config::from_args(&["--generate", "2"])`.
    pub fn from_args(args: &[&str]) -> Result<Config, String> {
        Config::try_parse_from(std::iter::once("flows-mediator-sim").chain(args.iter().copied()))
            .map_err(|e| e.to_string())
    }
}

/// `60`, `1.5`, `60s`, `500ms` → a duration (bare numbers are seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| Duration::from_secs_f64(v * scale))
        .ok_or_else(|| format!("bad duration {text:?}: e.g. 60, 60s, 1.5s, 500ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn defaults() {
        let c = Config::from_args(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:50051");
        assert_eq!((c.latency_ms, c.spacing_ms), (200, 2000));
        assert_eq!(c.busy_timeout, Duration::from_secs(60));
        let c = Config::from_args(&["--hardware", "C1.w,P1.cx", "--clock-drift", "-30"]).unwrap();
        assert_eq!(c.hardware, vec![Hardware::C1w, Hardware::P1cx]);
        assert_eq!(c.clock_drift, -30);
    }
}
