//! Injected faults: what can go wrong with a call, parsed from the text used
//! by `--fault` and the control port (`KIND [once|N]`), and how many calls a
//! fault still affects.

use std::fmt;
use std::time::Duration;

/// The real mediator gives up after 5 attempts 7 s apart: 28 s observed.
pub const CONNECT_FAILURE_DEFAULT: Duration = Duration::from_secs(28);
/// Past the reference client's 75 s deadline.
pub const HANG_DEFAULT: Duration = Duration::from_secs(80);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// gRPC UNAVAILABLE at once, as if the mediator were down.
    Unavailable,
    /// RESOURCE_EXHAUSTED "Meter <serial> is busy (timeout)" at once.
    Busy,
    /// INTERNAL "Meter communication failed" after the exchange latency.
    Eof,
    /// Wait this long (holding the meter) before exchanging normally.
    Slow(Duration),
    /// Apply a write, then fail with INTERNAL "Meter communication failed":
    /// the write happened but the caller cannot know.
    DropAfterWrite,
    /// Apply a write, then hold the call this long (past the client's
    /// deadline by default) and fail with INTERNAL.
    HangAfterWrite(Duration),
    /// INTERNAL "failed to connect after retries" after this delay.
    ConnectFailure(Duration),
}

impl FaultKind {
    /// Whether the fault concerns a call of this kind: the after-write
    /// faults leave reads and raw messages alone (and are not used up by
    /// them).
    pub fn applies_to(self, is_write: bool) -> bool {
        match self {
            FaultKind::DropAfterWrite | FaultKind::HangAfterWrite(_) => is_write,
            _ => true,
        }
    }
}

/// A fault and how many more calls it affects (`None`: until cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub remaining: Option<u32>,
}

impl Fault {
    /// Uses the fault up for one call; true when it is exhausted.
    pub fn consume(&mut self) -> bool {
        match &mut self.remaining {
            None => false,
            Some(n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
        }
    }
}

/// What a fault command asks for: a fault to install, or `none` to clear.
pub type FaultSetting = Option<Fault>;

fn millis(text: &str, what: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("{what} needs milliseconds, got {text:?}"))
}

/// Parses `KIND [once|N]` where KIND is `none`, `unavailable`, `busy`, `eof`,
/// `slow:MS`, `drop_after_write`, `hang_after_write[:MS]` or
/// `connect_failure[:MS]`.
pub fn parse(words: &[&str]) -> Result<FaultSetting, String> {
    let (kind_text, count) = match words {
        [kind] => (*kind, None),
        [kind, "once"] => (*kind, Some(1)),
        [kind, n] => (
            *kind,
            Some(
                n.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("expected once or a positive count, got {n:?}"))?,
            ),
        ),
        _ => return Err("expected KIND [once|N]".to_string()),
    };
    let (name, arg) = match kind_text.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (kind_text, None),
    };
    let kind = match (name, arg) {
        ("none", None) => return Ok(None),
        ("unavailable", None) => FaultKind::Unavailable,
        ("busy", None) => FaultKind::Busy,
        ("eof", None) => FaultKind::Eof,
        ("slow", Some(ms)) => FaultKind::Slow(millis(ms, "slow")?),
        ("drop_after_write", None) => FaultKind::DropAfterWrite,
        ("hang_after_write", None) => FaultKind::HangAfterWrite(HANG_DEFAULT),
        ("hang_after_write", Some(ms)) => {
            FaultKind::HangAfterWrite(millis(ms, "hang_after_write")?)
        }
        ("connect_failure", None) => FaultKind::ConnectFailure(CONNECT_FAILURE_DEFAULT),
        ("connect_failure", Some(ms)) => FaultKind::ConnectFailure(millis(ms, "connect_failure")?),
        _ => {
            return Err(format!(
                "unknown fault {kind_text:?}: none, unavailable, busy, eof, slow:MS, \
                 drop_after_write, hang_after_write[:MS], connect_failure[:MS]"
            ))
        }
    };
    Ok(Some(Fault {
        kind,
        remaining: count,
    }))
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Unavailable => f.write_str("unavailable"),
            FaultKind::Busy => f.write_str("busy"),
            FaultKind::Eof => f.write_str("eof"),
            FaultKind::Slow(d) => write!(f, "slow:{}", d.as_millis()),
            FaultKind::DropAfterWrite => f.write_str("drop_after_write"),
            FaultKind::HangAfterWrite(d) => write!(f, "hang_after_write:{}", d.as_millis()),
            FaultKind::ConnectFailure(d) => write!(f, "connect_failure:{}", d.as_millis()),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.remaining {
            None => write!(f, "{}", self.kind),
            Some(n) => write!(f, "{} {n}", self.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_counts() {
        assert_eq!(parse(&["none"]), Ok(None));
        let f = parse(&["slow:5000", "once"]).unwrap().unwrap();
        assert_eq!(f.kind, FaultKind::Slow(Duration::from_millis(5000)));
        assert_eq!(f.remaining, Some(1));
        let f = parse(&["connect_failure"]).unwrap().unwrap();
        assert_eq!(f.kind, FaultKind::ConnectFailure(CONNECT_FAILURE_DEFAULT));
        assert_eq!(parse(&["eof", "3"]).unwrap().unwrap().remaining, Some(3));
        assert!(parse(&["slow"]).is_err());
        assert!(parse(&["eof", "0"]).is_err());
        assert!(parse(&["melt"]).is_err());
        assert!(!FaultKind::DropAfterWrite.applies_to(false));
    }

    #[test]
    fn once_is_used_up() {
        let mut f = parse(&["eof", "2"]).unwrap().unwrap();
        assert!(!f.consume());
        assert!(f.consume());
        let mut forever = parse(&["busy"]).unwrap().unwrap();
        assert!(!forever.consume());
    }
}
