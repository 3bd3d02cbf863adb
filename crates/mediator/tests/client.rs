//! The client against a fake mediator: wire encoding, classification of
//! every status per method, deadline, nothing listening, a connection
//! dropped mid-call, the reply size cap, configuration errors and mutual
//! TLS with a target-name override. All on current-thread runtimes, as the
//! worker runs them.

mod common;

use common::*;
use flows_emop::ObjectId;
use flows_mediator::{CallError, ConfigError, FailureClass, Mediator, MediatorConfig, TlsConfig};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::Code;

const BALANCE: u32 = 0xffc802;

#[tokio::test]
async fn requests_are_the_reference_encoding() {
    let (fake, m) = start().await;
    // grpc_wire: ReadElementRequest{serial, objectId: 0xffc802}.
    let wire = vectors()["grpc_wire"].to_string();
    fake.set_read(BALANCE, &[1, 0, 0, 0]);
    assert_eq!(
        m.read_element("EML2137580799", ObjectId::PREPAY_BALANCE)
            .await
            .unwrap(),
        vec![1, 0, 0, 0]
    );
    let encoded = hex(&fake.encoded_requests()[0]);
    assert!(wire.contains(&encoded), "{encoded} not in grpc_wire");

    // Every call of the write vectors: same request protobuf.
    for v in vectors()["write_vectors"].as_array().unwrap() {
        for call in v["calls"].as_array().unwrap() {
            if call["rpc"] != "writeElement" {
                continue;
            }
            fake.clear_calls();
            let payload = unhex(call["payload_hex"].as_str().unwrap());
            let object = ObjectId::from_u32(id(call["object_id"].as_str().unwrap())).unwrap();
            m.write_element(call["serial"].as_str().unwrap(), object, &payload)
                .await
                .unwrap();
            assert_eq!(
                hex(&fake.encoded_requests()[0]),
                call["request_pb_hex"].as_str().unwrap()
            );
        }
    }
    // And the raw messages.
    for v in vectors()["raw_message_vectors"].as_array().unwrap() {
        for call in v["calls"].as_array().unwrap() {
            if call["rpc"] != "sendRawMessage" {
                continue;
            }
            fake.clear_calls();
            let df = unhex(call["data_field_hex"].as_str().unwrap());
            fake.set_raw(&df, b"ok");
            let serial = call["serial"].as_str().unwrap();
            assert_eq!(m.send_raw_message(serial, &df).await.unwrap(), b"ok");
            assert_eq!(
                hex(&fake.encoded_requests()[0]),
                call["request_pb_hex"].as_str().unwrap()
            );
        }
    }
}

/// The expected class of each mediator status, per contract §2.4: the
/// first column for reads (and raw messages, which only read), the second
/// for writes.
const STATUS_TABLE: [(Code, &str, &str, FailureClass, FailureClass); 10] = {
    use FailureClass::*;
    [
        (
            Code::InvalidArgument,
            "INVALID_ARGUMENT",
            "Target meter serial not specified",
            Permanent,
            Permanent,
        ),
        (
            Code::NotFound,
            "NOT_FOUND",
            "Meter 'EML0000000000' not known",
            Permanent,
            Permanent,
        ),
        (
            Code::Unauthenticated,
            "UNAUTHENTICATED",
            "Client certificate required.",
            Permanent,
            Permanent,
        ),
        (
            Code::PermissionDenied,
            "PERMISSION_DENIED",
            "Permission denied.",
            Permanent,
            Permanent,
        ),
        (
            Code::ResourceExhausted,
            "RESOURCE_EXHAUSTED",
            "Meter EML2137580799 is busy (timeout)",
            Retryable,
            Retryable,
        ),
        (
            Code::Unavailable,
            "UNAVAILABLE",
            "no connection",
            Retryable,
            Retryable,
        ),
        (
            Code::Internal,
            "INTERNAL",
            "failed to connect after retries",
            Retryable,
            UnknownOutcome,
        ),
        (
            Code::Internal,
            "INTERNAL",
            "Meter communication failed",
            Retryable,
            UnknownOutcome,
        ),
        (
            Code::Internal,
            "INTERNAL",
            "EOFError",
            Retryable,
            UnknownOutcome,
        ),
        (
            Code::DeadlineExceeded,
            "DEADLINE_EXCEEDED",
            "Deadline Exceeded",
            Retryable,
            UnknownOutcome,
        ),
    ]
};

async fn each_method(m: &Mediator) -> Vec<(&'static str, CallError)> {
    vec![
        (
            "read",
            m.read_element(SERIAL, ObjectId::PREPAY_BALANCE)
                .await
                .unwrap_err(),
        ),
        (
            "write",
            m.write_element(SERIAL, ObjectId::PREPAY_ENABLED_FLAG, &[1])
                .await
                .unwrap_err(),
        ),
        (
            "raw",
            m.send_raw_message(SERIAL, &[5, 0xff, 0xff, 0x49, 0])
                .await
                .unwrap_err(),
        ),
        ("info", m.get_info(SERIAL).await.unwrap_err()),
        ("meters", m.get_meters("wlce").await.unwrap_err()),
    ]
}

#[tokio::test]
async fn every_status_is_classified_per_method() {
    let (fake, m) = start().await;
    for (code, name, details, read_class, write_class) in STATUS_TABLE {
        fake.clear_faults();
        for rpc in [Rpc::Read, Rpc::Write, Rpc::Raw, Rpc::Info, Rpc::Meters] {
            fake.fail(rpc, None, code, details);
        }
        for (method, e) in each_method(&m).await {
            let expected = if method == "write" {
                write_class
            } else {
                read_class
            };
            assert_eq!(e.class, expected, "{code:?} {details:?} on {method}");
            assert_eq!(e.details, details);
            assert_eq!(e.code, name);
        }
    }
    // The object named in the error is the reference's name for it.
    fake.clear_faults();
    fake.fail(
        Rpc::Read,
        None,
        Code::Internal,
        "failed to connect after retries",
    );
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_eq!(e.object.as_deref(), Some("prepay_balance"));
    assert!(e.is_meter_unreachable());
    assert_eq!(
        e.to_string(),
        "INTERNAL (retryable) on prepay_balance: failed to connect after retries"
    );
    fake.fail(
        Rpc::Write,
        None,
        Code::ResourceExhausted,
        "Meter EML2137580799 is busy (timeout)",
    );
    let e = m
        .write_element(SERIAL, ObjectId::BACKLIGHT, &[0])
        .await
        .unwrap_err();
    assert!(e.is_meter_busy());
}

#[tokio::test]
async fn the_end_to_end_statuses_classify() {
    // Statuses a real 1.2.12 mediator produced (end_to_end.raw_grpc_status).
    let (fake, m) = start().await;
    for s in vectors()["end_to_end"]["raw_grpc_status"]
        .as_array()
        .unwrap()
    {
        let code = match s["grpc_code"].as_str().unwrap() {
            "NOT_FOUND" => Code::NotFound,
            "INVALID_ARGUMENT" => Code::InvalidArgument,
            "INTERNAL" => Code::Internal,
            other => panic!("{other}"),
        };
        fake.clear_faults();
        for rpc in [Rpc::Read, Rpc::Write, Rpc::Raw] {
            fake.fail(rpc, None, code, s["grpc_details"].as_str().unwrap());
        }
        let permanent = code != Code::Internal;
        for (method, e) in each_method(&m).await.into_iter().take(3) {
            assert_eq!(e.code, s["grpc_code"].as_str().unwrap());
            let expected = match (permanent, method) {
                (true, _) => FailureClass::Permanent,
                (false, "write") => FailureClass::UnknownOutcome,
                (false, _) => FailureClass::Retryable,
            };
            assert_eq!(e.class, expected, "{s} on {method}");
        }
    }
}

#[tokio::test]
async fn a_slow_mediator_hits_the_deadline() {
    let fake = Fake::new();
    let addr = serve(&fake).await;
    let deadline = Duration::from_millis(400);
    let m = client(addr, deadline);
    fake.delay(Rpc::Read, None, Duration::from_secs(3));
    fake.delay(Rpc::Write, None, Duration::from_secs(3));
    fake.set_read(BALANCE, &[0; 4]);

    let started = Instant::now();
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("DEADLINE_EXCEEDED", FailureClass::Retryable)
    );
    assert!(
        took >= deadline && took < Duration::from_secs(2),
        "{took:?}"
    );

    let e = m
        .write_element(SERIAL, ObjectId::PREPAY_TOKEN_SEND, b"12345678901234567890")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("DEADLINE_EXCEEDED", FailureClass::UnknownOutcome)
    );
    assert!(!e.to_string().contains("1234567890"));
    // The write did reach the mediator: that is why its outcome is unknown.
    assert!(fake.short_calls().iter().any(|c| c.starts_with("w:ffc803")));
}

#[tokio::test]
async fn nothing_listening_is_retryable_even_for_writes() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let m = client(addr, Duration::from_secs(5));
    for (method, e) in each_method(&m).await {
        assert_eq!(e.code, "UNAVAILABLE", "{method}: {e}");
        assert_eq!(e.class, FailureClass::Retryable, "{method}");
        assert!(
            e.details.to_lowercase().contains("refused"),
            "{}",
            e.details
        );
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_call_leaves_a_write_unknown() {
    // A "mediator" that takes the whole request, then drops the connection
    // without answering.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                // Take everything the client sends (preface, SETTINGS,
                // HEADERS, DATA) until it goes quiet, then hang up.
                let mut buf = vec![0u8; 4096];
                let mut got = 0;
                loop {
                    let wait = if got == 0 { 5000 } else { 200 };
                    match tokio::time::timeout(Duration::from_millis(wait), socket.read(&mut buf))
                        .await
                    {
                        Ok(Ok(n)) if n > 0 => got += n,
                        _ => break,
                    }
                }
                drop(socket);
            });
        }
    });
    let m = client(addr, Duration::from_secs(5));
    let read = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    let write = m
        .write_element(SERIAL, ObjectId::PREPAY_ENABLED_FLAG, &[1])
        .await
        .unwrap_err();
    assert_ne!(write.code, "UNAVAILABLE", "{write}");
    assert_eq!(read.class, FailureClass::Retryable, "{read}");
    assert_eq!(write.class, FailureClass::UnknownOutcome, "{write}");
}

#[tokio::test]
async fn oversized_replies_are_refused() {
    let (fake, m) = start().await;
    fake.set_read(
        BALANCE,
        &vec![7u8; flows_mediator::client::MAX_EMOP_REPLY_BYTES + 1],
    );
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("OUT_OF_RANGE", FailureClass::Permanent),
        "{e}"
    );
    // A reply at the cap is still a reply.
    fake.set_read(BALANCE, &vec![7u8; 1000]);
    assert_eq!(
        m.read_element(SERIAL, ObjectId::PREPAY_BALANCE)
            .await
            .unwrap()
            .len(),
        1000
    );
}

#[tokio::test]
async fn oversized_requests_are_not_sent() {
    let (fake, m) = start().await;
    let e = m
        .write_element(SERIAL, ObjectId::BACKLIGHT, &[0; 239])
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("INVALID_ARGUMENT", FailureClass::Permanent)
    );
    let e = m.send_raw_message(SERIAL, &[]).await.unwrap_err();
    assert_eq!(e.class, FailureClass::Permanent);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_mediator_without_the_service_is_unimplemented() {
    let fake = Fake::new();
    let addr = serve_info_only(&fake).await;
    let m = client(addr, Duration::from_secs(5));
    let e = m
        .write_element(SERIAL, ObjectId::BACKLIGHT, &[0])
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("UNIMPLEMENTED", FailureClass::Permanent)
    );
}

#[tokio::test]
async fn info_service_replies_are_json() {
    let (fake, m) = start().await;
    fake.set_info(
        r#"{"registry": {"serial": "EML2137580799"}, "shadow": null}"#,
        r#"[{"serial": "EML2137580799", "esco": "wlce"}]"#,
    );
    assert_eq!(
        m.get_info(SERIAL).await.unwrap()["registry"]["serial"],
        SERIAL
    );
    assert_eq!(m.get_meters("wlce").await.unwrap()[0]["esco"], "wlce");
    assert_eq!(
        fake.short_calls(),
        [format!("info:{SERIAL}"), "meters:wlce".to_string()]
    );
    fake.set_info("not json", "[]");
    let e = m.get_info(SERIAL).await.unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("INVALID_REPLY", FailureClass::Retryable)
    );
}

#[tokio::test]
async fn clones_share_the_channel() {
    let (fake, m) = start().await;
    fake.set_read(BALANCE, &[0; 4]);
    let other = m.clone();
    let (a, b) = tokio::join!(
        m.read_element(SERIAL, ObjectId::PREPAY_BALANCE),
        other.read_element(SERIAL, ObjectId::PREPAY_BALANCE)
    );
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(fake.calls().len(), 2);
}

#[test]
fn configuration_errors_come_before_any_connection() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Outside a runtime the channel cannot be built.
    assert_eq!(
        Mediator::connect_lazy(&MediatorConfig::new("127.0.0.1:1")).unwrap_err(),
        ConfigError::NoRuntime
    );
    let _guard = runtime.enter();
    let mut config = MediatorConfig::new("https://127.0.0.1:1");
    assert!(matches!(
        Mediator::connect_lazy(&config),
        Err(ConfigError::Address { .. })
    ));
    config.deadline = Duration::ZERO;
    assert_eq!(
        Mediator::connect_lazy(&config).unwrap_err(),
        ConfigError::Deadline
    );
    let pki = Pki::new("cepro-mediators");
    let mut tls = pki.client_tls(None);
    tls.client_key_pem = "not a key".to_string();
    let config = MediatorConfig {
        address: "127.0.0.1:1".to_string(),
        tls: Some(tls),
        deadline: Duration::from_secs(1),
    };
    let e = Mediator::connect_lazy(&config).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Tls(m) if m.contains("client key")),
        "{e}"
    );
    // The key never shows in Debug output.
    let tls = pki.client_tls(None);
    assert!(!format!("{tls:?}").contains("PRIVATE"));
}

#[test]
fn reference_secrets_decode() {
    let pki = Pki::new("cepro-mediators");
    let b64 = |text: &str| {
        // Standard base64, with newlines flattened to `\n` as deployments do.
        let flat = text.replace('\n', "\\n");
        base64(flat.as_bytes())
    };
    let tls = TlsConfig::from_b64_secrets(
        &b64(&pki.ca_pem),
        &b64(&pki.client_cert_pem),
        &b64(&pki.client_key_pem),
    )
    .unwrap();
    assert_eq!(tls.ca_pem, pki.ca_pem);
    assert_eq!(tls.client_key_pem, pki.client_key_pem);
    assert_eq!(tls.effective_server_name(), "cepro-mediators");
    assert!(TlsConfig::from_b64_secrets("***", "", "").is_err());
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A test PKI: a CA, a server certificate for `server_name`, a client
/// certificate, all signed by the CA.
struct Pki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
}

impl Pki {
    fn new(server_name: &str) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Flows test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec![server_name.to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "internal");
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();
        Pki {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    /// The mediator's side: its identity, and client certificates required.
    fn server_tls(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(Identity::from_pem(
                &self.server_cert_pem,
                &self.server_key_pem,
            ))
            .client_ca_root(Certificate::from_pem(&self.ca_pem))
    }

    fn client_tls(&self, server_name: Option<&str>) -> TlsConfig {
        TlsConfig {
            ca_pem: self.ca_pem.clone(),
            client_cert_pem: self.client_cert_pem.clone(),
            client_key_pem: self.client_key_pem.clone(),
            server_name: server_name.map(str::to_string),
        }
    }
}

fn tls_client(addr: std::net::SocketAddr, tls: TlsConfig) -> Mediator {
    Mediator::connect_lazy(&MediatorConfig {
        // The host dialled is an IP; the certificate names something else.
        address: addr.to_string(),
        tls: Some(tls),
        deadline: Duration::from_secs(5),
    })
    .unwrap()
}

#[tokio::test]
async fn mutual_tls_with_target_name_override() {
    let pki = Pki::new("mediator.flows.test");
    let fake = Fake::new();
    fake.set_read(BALANCE, &[0xa0, 0xf0, 0x19, 0x00]);
    let addr = serve_tls(&fake, pki.server_tls()).await;

    let m = tls_client(addr, pki.client_tls(Some("mediator.flows.test")));
    assert!(m.target().starts_with("https://127.0.0.1:"));
    assert_eq!(
        m.read_element(SERIAL, ObjectId::PREPAY_BALANCE)
            .await
            .unwrap(),
        [0xa0, 0xf0, 0x19, 0x00]
    );

    // Without an override the reference's name is expected, which this
    // certificate does not carry.
    let m = tls_client(addr, pki.client_tls(None));
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("UNAVAILABLE", FailureClass::Retryable),
        "{e}"
    );
    assert!(e.details.contains("certificate"), "{}", e.details);
}

#[tokio::test]
async fn the_reference_name_is_the_default() {
    let pki = Pki::new("cepro-mediators");
    let fake = Fake::new();
    fake.set_read(BALANCE, &[0; 4]);
    let addr = serve_tls(&fake, pki.server_tls()).await;
    let m = tls_client(addr, pki.client_tls(None));
    assert!(m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .is_ok());
}

/// A wrong CA (ours or the mediator's) is a configuration fault, not a
/// fault of the command: it is reported as UNAVAILABLE, retryable (nothing
/// reached the mediator, so even a token write is safe to repeat once the
/// certificates are fixed), with the TLS reason in the details for the
/// operator.
#[tokio::test]
async fn a_wrong_ca_fails_before_anything_is_sent() {
    let pki = Pki::new("cepro-mediators");
    let other = Pki::new("cepro-mediators");
    let fake = Fake::new();
    let addr = serve_tls(&fake, pki.server_tls()).await;

    // We do not trust the mediator's CA.
    let mut tls = pki.client_tls(None);
    tls.ca_pem = other.ca_pem.clone();
    let m = tls_client(addr, tls);
    let e = m
        .write_element(SERIAL, ObjectId::PREPAY_TOKEN_SEND, b"12345678901234567890")
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.class),
        ("UNAVAILABLE", FailureClass::Retryable),
        "{e}"
    );
    assert!(
        e.details.to_lowercase().contains("issuer") || e.details.contains("certificate"),
        "{}",
        e.details
    );

    // The mediator does not trust our certificate.
    let mut tls = pki.client_tls(None);
    tls.client_cert_pem = other.client_cert_pem.clone();
    tls.client_key_pem = other.client_key_pem.clone();
    let m = tls_client(addr, tls);
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_ne!(e.class, FailureClass::Permanent, "{e}");
    assert!(fake.calls().is_empty(), "nothing reached the service");

    // Plaintext against a TLS mediator does not get through either.
    let m = client(addr, Duration::from_secs(5));
    let e = m
        .read_element(SERIAL, ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_eq!(e.class, FailureClass::Retryable, "{e}");
    assert!(fake.calls().is_empty());
}
