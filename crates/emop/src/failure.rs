//! A failed mediator call as the codec sees it (gRPC status name + details),
//! and how the reference client names it to its callers. Retry policy is
//! not decided here; this only keeps the reference's wording reproducible.

use crate::ids::ObjectId;
use std::fmt;

/// A gRPC status from a mediator call: code name (`INTERNAL`, `NOT_FOUND`,
/// …) and the details text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediatorFailure {
    pub status: String,
    pub details: String,
}

impl MediatorFailure {
    pub fn new(status: impl Into<String>, details: impl Into<String>) -> Self {
        MediatorFailure {
            status: status.into(),
            details: details.into(),
        }
    }
}

impl fmt::Display for MediatorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.details)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    ReadElement,
    WriteElement,
    SendRawMessage,
}

/// The exception the reference client raises: its type, its code string
/// (absent for the bare `EmliteConnectionFailure`) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientException {
    pub kind: &'static str,
    pub code: Option<String>,
    pub message: String,
}

const EOF_MARKER: &str = "EOFError";
const CONNECT_MARKER: &str = "failed to connect after retries";

impl MediatorFailure {
    /// The reference mapping: for element reads/writes, `INTERNAL` whose
    /// details mention `EOFError` or `failed to connect after retries`
    /// becomes `EMLITE_EOF_ERROR` / `EMLITE_CONNECTION_FAILURE` naming the
    /// object and meter; raw messages only single out the connection
    /// failure (as a bare `EmliteConnectionFailure`). Everything else keeps
    /// the status name and details.
    pub fn client_exception(
        &self,
        rpc: Rpc,
        object: Option<ObjectId>,
        serial: &str,
    ) -> ClientException {
        let internal = self.status == "INTERNAL";
        let named = |code: &str| ClientException {
            kind: "MediatorClientException",
            code: Some(code.to_string()),
            message: format!(
                "object_id={}, meter={serial}",
                object.map_or_else(|| "None".to_string(), ObjectId::describe)
            ),
        };
        match rpc {
            Rpc::ReadElement | Rpc::WriteElement
                if internal && self.details.contains(EOF_MARKER) =>
            {
                named("EMLITE_EOF_ERROR")
            }
            Rpc::ReadElement | Rpc::WriteElement
                if internal && self.details.contains(CONNECT_MARKER) =>
            {
                named("EMLITE_CONNECTION_FAILURE")
            }
            Rpc::SendRawMessage if internal && self.details.contains(CONNECT_MARKER) => {
                ClientException {
                    kind: "EmliteConnectionFailure",
                    code: None,
                    message: format!("meter={serial}"),
                }
            }
            _ => ClientException {
                kind: "MediatorClientException",
                code: Some(self.status.clone()),
                message: self.details.clone(),
            },
        }
    }
}
