//! What a failed mediator call means for the caller: retry it, give up, or
//! (writes only) find out first whether it took effect. Owns `CallError`,
//! the one error of every call, whose text never carries a top-up token.

use std::fmt;
use tonic::Code;

/// How a failure may be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Nothing happened at the meter (or it was a read): try again later.
    Retryable,
    /// Trying again will not help (bad serial, unknown meter, refused).
    Permanent,
    /// A write may or may not have reached the meter. Never resend blindly:
    /// verify first (read back, balance and transaction count for tokens).
    UnknownOutcome,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Retryable => "retryable",
            FailureClass::Permanent => "permanent",
            FailureClass::UnknownOutcome => "unknown_outcome",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mediator RPCs, by their effect on the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    ReadElement,
    WriteElement,
    /// Every raw message Flows sends (profile logs, event log) only reads.
    SendRawMessage,
    GetInfo,
    GetMeters,
}

impl Method {
    /// The RPC name on the wire (case as in the proto).
    pub fn rpc_name(self) -> &'static str {
        match self {
            Method::ReadElement => "readElement",
            Method::WriteElement => "writeElement",
            Method::SendRawMessage => "sendRawMessage",
            Method::GetInfo => "GetInfo",
            Method::GetMeters => "GetMeters",
        }
    }

    /// Whether a call changes meter state (and so may not be repeated
    /// without knowing whether the first attempt took effect).
    pub fn is_write(self) -> bool {
        matches!(self, Method::WriteElement)
    }
}

/// Details of the mediator's status when its 5 TCP attempts to the meter
/// failed (also older single-meter mediators).
pub const CONNECT_FAILURE_DETAILS: &str = "failed to connect after retries";
/// The mediator's status when the meter lock was not obtained within 60 s.
const BUSY_DETAILS: &str = "is busy";
/// Prefix of tonic's own status when a reply exceeds the size cap.
const REPLY_TOO_LARGE: &str = "Error, decoded message length too large";
/// tonic's text when its own timer (from the grpc-timeout we send) fires.
const TONIC_TIMEOUT: &str = "Timeout expired";

/// Classifies one failed call. The rules (contract §2.4):
///
/// * INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED,
///   UNIMPLEMENTED: permanent for every method (the mediator refuses these
///   before touching the meter).
/// * RESOURCE_EXHAUSTED (meter busy) and UNAVAILABLE (the request never
///   reached the mediator): retryable, writes included.
/// * Anything else (INTERNAL, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN from a
///   connection dropped mid-call, …): retryable for reads, unknown outcome
///   for writes. That includes INTERNAL "failed to connect after retries":
///   the mediator counts a read timeout *after* sending the frame as a
///   failed attempt and re-sends (§3.4, §9.11), so the write may have been
///   applied, possibly more than once.
/// * Reads only: FAILED_PRECONDITION and a reply larger than our cap are
///   permanent (repeating returns the same).
pub fn classify(method: Method, code: Code, details: &str) -> FailureClass {
    match code {
        Code::InvalidArgument
        | Code::NotFound
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Unimplemented => FailureClass::Permanent,
        Code::ResourceExhausted | Code::Unavailable => FailureClass::Retryable,
        _ if method.is_write() => FailureClass::UnknownOutcome,
        Code::FailedPrecondition => FailureClass::Permanent,
        Code::OutOfRange if details.starts_with(REPLY_TOO_LARGE) => FailureClass::Permanent,
        _ => FailureClass::Retryable,
    }
}

/// The canonical gRPC name of a code (`INVALID_ARGUMENT`, …).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Longest details text kept: a misbehaving server cannot flood logs and
/// result rows.
const MAX_DETAILS_CHARS: usize = 500;

/// One failed mediator call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub class: FailureClass,
    /// gRPC code name (`NOT_FOUND`, `DEADLINE_EXCEEDED`, …).
    pub code: String,
    /// The status message (and, for transport failures, its causes),
    /// redacted and shortened.
    pub details: String,
    /// The object id (reference name or `0x…`) or raw message kind the call
    /// was about, if any.
    pub object: Option<String>,
}

impl CallError {
    /// From a status the call returned (remote, or made by tonic locally).
    pub fn from_status(method: Method, object: Option<String>, status: &tonic::Status) -> Self {
        let mut code = status.code();
        let mut details = status.message().to_string();
        // Transport failures say only "transport error" at the top; the
        // cause (refused, certificate unknown, …) is what operators need.
        let mut source = std::error::Error::source(status);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !details.contains(&text) {
                if !details.is_empty() {
                    details.push_str(": ");
                }
                details.push_str(&text);
            }
            source = cause.source();
        }
        if code == Code::Cancelled && details.starts_with(TONIC_TIMEOUT) {
            code = Code::DeadlineExceeded;
        }
        CallError::new(method, code, &details, object)
    }

    /// The client's own deadline passed before a reply arrived.
    pub fn deadline(method: Method, object: Option<String>, deadline: std::time::Duration) -> Self {
        let details = format!(
            "no reply within the {} ms deadline; the mediator may still be executing the call",
            deadline.as_millis()
        );
        CallError::new(method, Code::DeadlineExceeded, &details, object)
    }

    /// A failure found by the client before anything was sent.
    pub fn refused_locally(object: Option<String>, details: &str) -> Self {
        CallError {
            class: FailureClass::Permanent,
            code: code_name(Code::InvalidArgument).to_string(),
            details: sanitize(details),
            object,
        }
    }

    pub fn new(method: Method, code: Code, details: &str, object: Option<String>) -> Self {
        CallError {
            class: classify(method, code, details),
            code: code_name(code).to_string(),
            details: sanitize(details),
            object: object.map(|o| sanitize(&o)),
        }
    }

    /// The mediator could not reach the meter at all (it already spent
    /// ≥ 28 s trying): retry in minutes, not seconds, and count it against
    /// the meter's health.
    pub fn is_meter_unreachable(&self) -> bool {
        self.code == "INTERNAL" && self.details.contains(CONNECT_FAILURE_DETAILS)
    }

    /// The meter's lock was held by other calls for 60 s.
    pub fn is_meter_busy(&self) -> bool {
        self.code == "RESOURCE_EXHAUSTED" && self.details.contains(BUSY_DETAILS)
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Fields are sanitized when built; sanitize again because they are
        // public and may have been replaced since.
        write!(f, "{} ({})", sanitize(&self.code), self.class)?;
        if let Some(object) = &self.object {
            write!(f, " on {}", sanitize(object))?;
        }
        if !self.details.is_empty() {
            write!(f, ": {}", sanitize(&self.details))?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

/// Digits in one run (spaces and dashes allowed between them) from which
/// the run is taken for a token and hidden. Tokens have 20; meter serials
/// (10), amounts and timestamps stay below this.
const REDACT_MIN_DIGITS: usize = 16;

/// Text safe for logs and result rows: runs of 16 or more digits (a 20-digit
/// top-up token, also when grouped with spaces or dashes) become
/// `[redacted]`, control characters become spaces, and the text is cut to
/// a bounded length.
pub fn sanitize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            // Extend over digits and single separators between digits.
            let mut end = i;
            let mut digits = 0;
            let mut j = i;
            while j < chars.len() {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    end = j + 1;
                    j += 1;
                } else if matches!(chars[j], ' ' | '-')
                    && chars.get(j + 1).is_some_and(char::is_ascii_digit)
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if digits >= REDACT_MIN_DIGITS {
                out.push_str("[redacted]");
            } else {
                out.extend(&chars[i..end]);
            }
            i = end;
        } else {
            out.push(if chars[i].is_control() { ' ' } else { chars[i] });
            i += 1;
        }
    }
    if out.chars().count() > MAX_DETAILS_CHARS {
        let cut: String = out.chars().take(MAX_DETAILS_CHARS).collect();
        return format!("{cut}…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hidden_serials_are_not() {
        assert_eq!(
            sanitize("token 09227256751756268534 for EML2137580799"),
            "token [redacted] for EML2137580799"
        );
        assert_eq!(
            sanitize("0922-7256-7517-5626-8534 and 0922 7256 7517 5626 8534."),
            "[redacted] and [redacted]."
        );
        assert_eq!(
            sanitize("balance 12.34, count 15"),
            "balance 12.34, count 15"
        );
        assert_eq!(sanitize("a\nb"), "a b");
        assert!(sanitize(&"x".repeat(2000)).chars().count() <= MAX_DETAILS_CHARS + 1);
    }

    #[test]
    fn display_is_sanitized_even_after_mutation() {
        let mut e = CallError::new(
            Method::WriteElement,
            Code::Internal,
            "Meter communication failed",
            Some("prepay_token_send".to_string()),
        );
        e.details = "echo 12345678901234567890".to_string();
        let shown = e.to_string();
        assert!(!shown.contains("1234567890123456"), "{shown}");
        assert!(shown.starts_with("INTERNAL (unknown_outcome) on prepay_token_send"));
    }
}
