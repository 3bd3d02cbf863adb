//! Where a mediator is and how to talk to it: address, optional mutual TLS
//! (CA + client identity + the name the server certificate is checked
//! against) and the per-call deadline. Plain data; checked at connect time.

use std::fmt;
use std::time::Duration;

/// The reference client's deadline for every call (contract §2.2).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(75);

/// The port mediators listen on unless told otherwise (`LISTEN_PORT`).
pub const DEFAULT_PORT: u16 = 50051;

/// The name the reference client verifies mediator certificates against,
/// whatever host it dials (contract §2.2).
pub const REFERENCE_TLS_SERVER_NAME: &str = "cepro-mediators";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediatorConfig {
    /// `host:port`, `http://host:port` (plaintext h2c) or `https://host:port`
    /// (needs `tls`). Without a port, 50051.
    pub address: String,
    /// Mutual TLS; `None` = plaintext, as the reference when its three
    /// certificate settings are not all set.
    pub tls: Option<TlsConfig>,
    /// Applied to every call; the reference uses 75 s.
    pub deadline: Duration,
}

impl MediatorConfig {
    /// Plaintext, default deadline.
    pub fn new(address: impl Into<String>) -> Self {
        MediatorConfig {
            address: address.into(),
            tls: None,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

/// Mutual TLS material, PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Trust root for the mediator's certificate.
    pub ca_pem: String,
    /// Our certificate (chain) presented to the mediator.
    pub client_cert_pem: String,
    /// Its private key.
    pub client_key_pem: String,
    /// Name the server certificate must carry; `None` = the reference's
    /// `cepro-mediators`.
    pub server_name: Option<String>,
}

impl TlsConfig {
    /// From the deployments' secrets (`MEDIATOR_CA_CERT`,
    /// `MEDIATOR_CLIENT_CERT`, `MEDIATOR_CLIENT_KEY`): base64 of PEM text
    /// with newlines possibly flattened to `\n`.
    pub fn from_b64_secrets(
        ca_b64: &str,
        client_cert_b64: &str,
        client_key_b64: &str,
    ) -> Result<TlsConfig, ConfigError> {
        let decode = |what: &'static str, value: &str| {
            flows_emop::pem::decode_b64_pem_secret(value)
                .map_err(|e| ConfigError::Tls(format!("{what}: {e}")))
        };
        Ok(TlsConfig {
            ca_pem: decode("CA certificate", ca_b64)?,
            client_cert_pem: decode("client certificate", client_cert_b64)?,
            client_key_pem: decode("client key", client_key_b64)?,
            server_name: None,
        })
    }

    /// The name the server certificate is verified against.
    pub fn effective_server_name(&self) -> &str {
        self.server_name
            .as_deref()
            .unwrap_or(REFERENCE_TLS_SERVER_NAME)
    }
}

// The private key never reaches logs.
impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field(
                "client_cert_pem",
                &format_args!("{} bytes", self.client_cert_pem.len()),
            )
            .field("client_key_pem", &"<redacted>")
            .field("server_name", &self.server_name)
            .finish()
    }
}

/// Why a configuration cannot be used; found before any connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("mediator address {address:?}: {rule}")]
    Address { address: String, rule: String },
    #[error("mediator TLS: {0}")]
    Tls(String),
    #[error("mediator deadline must be positive")]
    Deadline,
    #[error("Mediator::connect_lazy must be called inside a tokio runtime (e.g. within block_on or after Runtime::enter)")]
    NoRuntime,
}
