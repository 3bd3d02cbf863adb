//! The mediator client: one lazily connected channel (h2c or mutual TLS),
//! shared by cheap clones; every call bounded by the deadline and by a cap
//! on the reply size, and every failure returned as a classified CallError.

use crate::classify::{CallError, FailureClass, Method};
use crate::config::{ConfigError, MediatorConfig, DEFAULT_PORT};
use crate::connector::Connector;
use crate::proto::emlite_mediator_service_client::EmliteMediatorServiceClient;
use crate::proto::info_service_client::InfoServiceClient;
use crate::proto::{
    GetInfoRequest, GetMetersRequest, ReadElementRequest, SendRawMessageRequest,
    WriteElementRequest,
};
use flows_emop::data_field::{MAX_DATA_FIELD, MAX_WRITE_PAYLOAD};
use flows_emop::enums::RECORD_FORMAT;
use flows_emop::ObjectId;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;
use tonic::codegen::http::uri::Authority;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Largest EMOP reply accepted: a frame holds at most 243 bytes of data
/// field, so anything near this is not a meter's answer.
pub const MAX_EMOP_REPLY_BYTES: usize = 4 * 1024;

/// Largest info-service reply accepted (a mediator's whole meter list).
pub const MAX_INFO_REPLY_BYTES: usize = 8 * 1024 * 1024;

/// Connecting (TCP + TLS) gives up after this, or half the deadline if
/// shorter, so an unreachable mediator surfaces as UNAVAILABLE (nothing
/// sent: safe to retry, writes included) rather than as a deadline, whose
/// outcome for a write would be unknown.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A mediator connection. Clones share the channel.
#[derive(Clone)]
pub struct Mediator {
    emop: EmliteMediatorServiceClient<Channel>,
    info: InfoServiceClient<Channel>,
    deadline: Duration,
    target: String,
}

impl std::fmt::Debug for Mediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mediator")
            .field("target", &self.target)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Mediator {
    /// Checks the configuration and builds the channel without connecting;
    /// the first call connects (and reconnects after failures). Must run
    /// inside the tokio runtime that will drive the calls: the channel's
    /// background task is spawned on it.
    pub fn connect_lazy(config: &MediatorConfig) -> Result<Mediator, ConfigError> {
        if config.deadline.is_zero() {
            return Err(ConfigError::Deadline);
        }
        let target = endpoint_uri(&config.address, config.tls.is_some())?;
        let address_error = |rule: String| ConfigError::Address {
            address: config.address.clone(),
            rule,
        };
        let mut endpoint = Endpoint::from_shared(target.clone())
            .map_err(|e| address_error(e.to_string()))?
            .connect_timeout(MAX_CONNECT_TIMEOUT.min(config.deadline / 2));
        if let Some(tls) = &config.tls {
            check_pem("CA certificate", &tls.ca_pem, "CERTIFICATE")?;
            check_pem("client certificate", &tls.client_cert_pem, "CERTIFICATE")?;
            check_pem("client key", &tls.client_key_pem, "PRIVATE KEY")?;
            let tls_config = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&tls.ca_pem))
                .identity(Identity::from_pem(
                    &tls.client_cert_pem,
                    &tls.client_key_pem,
                ))
                .domain_name(tls.effective_server_name())
                // gRPC is always HTTP/2; do not insist on ALPN saying so.
                .assume_http2(true);
            endpoint = endpoint
                .tls_config(tls_config)
                .map_err(|e| ConfigError::Tls(error_chain(&e)))?;
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConfigError::NoRuntime);
        }
        let channel = endpoint.connect_with_connector_lazy(Connector);
        Ok(Mediator {
            emop: EmliteMediatorServiceClient::new(channel.clone())
                .max_decoding_message_size(MAX_EMOP_REPLY_BYTES),
            info: InfoServiceClient::new(channel).max_decoding_message_size(MAX_INFO_REPLY_BYTES),
            deadline: config.deadline,
            target,
        })
    }

    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The URI dialled, e.g. `http://10.0.0.5:50051`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// `readElement`: the object's payload bytes.
    pub async fn read_element(&self, serial: &str, object: ObjectId) -> Result<Vec<u8>, CallError> {
        let request = ReadElementRequest {
            serial: serial.to_string(),
            object_id: wire_id(object),
        };
        let mut client = self.emop.clone();
        let reply = self
            .call(
                Method::ReadElement,
                Some(object.describe()),
                client.read_element(self.request(request)),
            )
            .await?;
        Ok(reply.response)
    }

    /// `writeElement`. Success means only that the meter answered with a
    /// parsable frame (a NAK goes unnoticed by the mediator).
    pub async fn write_element(
        &self,
        serial: &str,
        object: ObjectId,
        payload: &[u8],
    ) -> Result<(), CallError> {
        if payload.len() > MAX_WRITE_PAYLOAD {
            return Err(CallError::refused_locally(
                Some(object.describe()),
                &format!(
                    "write payload of {} bytes exceeds one frame ({MAX_WRITE_PAYLOAD} bytes); not sent",
                    payload.len()
                ),
            ));
        }
        let request = WriteElementRequest {
            serial: serial.to_string(),
            object_id: wire_id(object),
            payload: payload.to_vec(),
        };
        let mut client = self.emop.clone();
        self.call(
            Method::WriteElement,
            Some(object.describe()),
            client.write_element(self.request(request)),
        )
        .await?;
        Ok(())
    }

    /// `sendRawMessage`: `data_field` is format byte + message; the reply is
    /// the meter's data field without its format byte.
    pub async fn send_raw_message(
        &self,
        serial: &str,
        data_field: &[u8],
    ) -> Result<Vec<u8>, CallError> {
        let kind = data_field.first().map(|&format| {
            RECORD_FORMAT
                .name_of(format)
                .map_or_else(|| format!("format {format:#04x}"), str::to_string)
        });
        if data_field.is_empty() || data_field.len() > MAX_DATA_FIELD {
            return Err(CallError::refused_locally(
                kind,
                &format!(
                    "a data field is 1 to {MAX_DATA_FIELD} bytes, got {}; not sent",
                    data_field.len()
                ),
            ));
        }
        let request = SendRawMessageRequest {
            serial: serial.to_string(),
            data_field: data_field.to_vec(),
        };
        let mut client = self.emop.clone();
        let reply = self
            .call(
                Method::SendRawMessage,
                kind,
                client.send_raw_message(self.request(request)),
            )
            .await?;
        Ok(reply.response)
    }

    /// `GetInfo`: the mediator's `{"registry": …, "shadow": …}` for a meter.
    pub async fn get_info(&self, serial: &str) -> Result<serde_json::Value, CallError> {
        let request = GetInfoRequest {
            serial: serial.to_string(),
        };
        let mut client = self.info.clone();
        let reply = self
            .call(
                Method::GetInfo,
                None,
                client.get_info(self.request(request)),
            )
            .await?;
        parse_json(&reply.json_data)
    }

    /// `GetMeters`: the meters of an ESCO (empty = all) as a JSON list.
    pub async fn get_meters(&self, esco: &str) -> Result<serde_json::Value, CallError> {
        let request = GetMetersRequest {
            esco: esco.to_string(),
        };
        let mut client = self.info.clone();
        let reply = self
            .call(
                Method::GetMeters,
                None,
                client.get_meters(self.request(request)),
            )
            .await?;
        parse_json(&reply.json_meters)
    }

    /// The request with the deadline announced to the server (grpc-timeout).
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.deadline);
        request
    }

    /// Runs one call under the deadline. The deadline is also enforced here
    /// because the server may not honour grpc-timeout, and a call stuck
    /// in connection setup must not hang the worker.
    async fn call<T>(
        &self,
        method: Method,
        object: Option<String>,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.deadline, call).await {
            Ok(Ok(reply)) => Ok(reply.into_inner()),
            Ok(Err(status)) => Err(CallError::from_status(method, object, &status)),
            Err(_) => Err(CallError::deadline(method, object, self.deadline)),
        }
    }
}

/// The proto's `objectId` is an int32; every 24-bit id fits.
fn wire_id(object: ObjectId) -> i32 {
    i32::try_from(object.value()).expect("object ids are 24-bit")
}

fn parse_json(text: &str) -> Result<serde_json::Value, CallError> {
    serde_json::from_str(text).map_err(|e| CallError {
        class: FailureClass::Retryable,
        code: "INVALID_REPLY".to_string(),
        details: format!("reply is not JSON: {e}"),
        object: None,
    })
}

/// `host:port`, `http://host:port` or `https://host:port` → the URI to dial,
/// with the scheme matching the TLS setting and the default port filled in.
pub(crate) fn endpoint_uri(address: &str, tls: bool) -> Result<String, ConfigError> {
    let fail = |rule: &str| ConfigError::Address {
        address: address.to_string(),
        rule: rule.to_string(),
    };
    let trimmed = address.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some(("http", rest)) if tls => {
            return Err(fail(&format!(
                "http:// is plaintext but TLS is configured; use https://{rest} or {rest}"
            )))
        }
        Some(("https", _)) if !tls => {
            return Err(fail(
                "https:// needs the TLS configuration (CA, client certificate and key)",
            ))
        }
        Some((scheme @ ("http" | "https"), rest)) => (scheme, rest),
        Some(_) => return Err(fail("the scheme must be http:// or https://")),
        None if tls => ("https", trimmed),
        None => ("http", trimmed),
    };
    let authority_text = rest.strip_suffix('/').unwrap_or(rest);
    if authority_text.is_empty() {
        return Err(fail("expected host:port"));
    }
    if authority_text.contains(['/', '?', '#', '@']) {
        return Err(fail("expected host:port only (no path, query or user)"));
    }
    let authority = Authority::from_str(authority_text).map_err(|_| fail("expected host:port"))?;
    if authority.host().is_empty() {
        return Err(fail("expected host:port"));
    }
    // The text after the last ':' that follows any IPv6 bracket is the port.
    let after_host = authority_text.rsplit(']').next().unwrap_or(authority_text);
    let port = match after_host.rsplit_once(':') {
        None => DEFAULT_PORT,
        Some((_, text)) => match text.parse::<u16>() {
            Ok(0) | Err(_) => return Err(fail("the port must be 1 to 65535")),
            Ok(port) => port,
        },
    };
    Ok(format!("{scheme}://{}:{port}", authority.host()))
}

/// A PEM that does not contain the expected block is refused here, with a
/// message naming which one, instead of failing every call later.
fn check_pem(what: &str, pem: &str, label: &str) -> Result<(), ConfigError> {
    if pem.contains("-----BEGIN ") && pem.contains(label) {
        Ok(())
    } else {
        Err(ConfigError::Tls(format!(
            "{what} is not PEM text with a {label} block"
        )))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let ok = |a: &str, tls: bool| endpoint_uri(a, tls).unwrap();
        assert_eq!(ok("10.0.0.5:50052", false), "http://10.0.0.5:50052");
        assert_eq!(ok("10.0.0.5", false), "http://10.0.0.5:50051");
        assert_eq!(
            ok("mediator.example:443", true),
            "https://mediator.example:443"
        );
        assert_eq!(ok("http://127.0.0.1:9/", false), "http://127.0.0.1:9");
        assert_eq!(ok("https://[::1]:7000", true), "https://[::1]:7000");
        assert_eq!(ok(" [::1] ", false), "http://[::1]:50051");
        for (bad, tls) in [
            ("", false),
            ("http://", false),
            ("http://h:1", true),
            ("https://h:1", false),
            ("ftp://h:1", false),
            ("h:1/path", false),
            ("user@h:1", false),
            ("h:", false),
            ("h:0", false),
            ("h:99999", false),
        ] {
            assert!(endpoint_uri(bad, tls).is_err(), "{bad:?} tls={tls}");
        }
    }
}
