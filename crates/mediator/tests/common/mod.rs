//! A deterministic in-process fake mediator for the tests: canned replies
//! per object id (writes update them, like a meter, unless pinned), canned
//! raw-message replies, injectable statuses and delays, and a log of every
//! call as it arrived (with its protobuf encoding).
#![allow(dead_code)]

use flows_mediator::proto::emlite_mediator_service_server::{
    EmliteMediatorService, EmliteMediatorServiceServer,
};
use flows_mediator::proto::info_service_server::{InfoService, InfoServiceServer};
use flows_mediator::proto::*;
use flows_mediator::{Mediator, MediatorConfig};
use prost::Message;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status};

pub const SERIAL: &str = "EML2137580799";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    Read,
    Write,
    Raw,
    Info,
    Meters,
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Read {
        serial: String,
        object: u32,
    },
    Write {
        serial: String,
        object: u32,
        payload: Vec<u8>,
    },
    Raw {
        serial: String,
        data_field: Vec<u8>,
    },
    Info {
        serial: String,
    },
    Meters {
        esco: String,
    },
}

impl Call {
    /// `r:ffc802`, `w:ffc803:3039…`, `x:05ffff4900` — compact for asserts.
    pub fn short(&self) -> String {
        match self {
            Call::Read { object, .. } => format!("r:{object:06x}"),
            Call::Write {
                object, payload, ..
            } => format!("w:{object:06x}:{}", hex(payload)),
            Call::Raw { data_field, .. } => format!("x:{}", hex(data_field)),
            Call::Info { serial } => format!("info:{serial}"),
            Call::Meters { esco } => format!("meters:{esco}"),
        }
    }
}

struct Fault {
    rpc: Rpc,
    object: Option<u32>,
    status: Option<(Code, String)>,
    delay: Duration,
    remaining: usize,
}

type ReadResult = Result<Vec<u8>, (Code, String)>;

#[derive(Default)]
struct State {
    reads: HashMap<u32, VecDeque<ReadResult>>,
    pinned: HashSet<u32>,
    raw: HashMap<Vec<u8>, Vec<u8>>,
    faults: Vec<Fault>,
    calls: Vec<Call>,
    encoded: Vec<Vec<u8>>,
    info_json: String,
    meters_json: String,
}

#[derive(Clone, Default)]
pub struct Fake {
    state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// The reply to every read of `object` (until a write changes it).
    pub fn set_read(&self, object: u32, payload: &[u8]) {
        self.set_reads(object, &[payload.to_vec()]);
    }

    /// Successive replies; the last one repeats.
    pub fn set_reads(&self, object: u32, payloads: &[Vec<u8>]) {
        self.set_read_results(object, payloads.iter().cloned().map(Ok).collect());
    }

    /// Successive replies or statuses; the last one repeats.
    pub fn set_read_results(&self, object: u32, results: Vec<ReadResult>) {
        self.with(|s| {
            s.reads.insert(object, results.into());
        });
    }

    /// Reads of `object` keep their canned reply whatever is written.
    pub fn pin(&self, object: u32) {
        self.with(|s| {
            s.pinned.insert(object);
        });
    }

    pub fn set_raw(&self, data_field: &[u8], reply: &[u8]) {
        self.with(|s| {
            s.raw.insert(data_field.to_vec(), reply.to_vec());
        });
    }

    pub fn set_info(&self, info: &str, meters: &str) {
        self.with(|s| {
            s.info_json = info.to_string();
            s.meters_json = meters.to_string();
        });
    }

    /// Every call of `rpc` (on `object`, if given) answers with this status.
    pub fn fail(&self, rpc: Rpc, object: Option<u32>, code: Code, details: &str) {
        self.fault(
            rpc,
            object,
            Some((code, details.to_string())),
            Duration::ZERO,
            usize::MAX,
        );
    }

    /// The next `times` such calls answer with this status.
    pub fn fail_times(
        &self,
        rpc: Rpc,
        object: Option<u32>,
        code: Code,
        details: &str,
        times: usize,
    ) {
        self.fault(
            rpc,
            object,
            Some((code, details.to_string())),
            Duration::ZERO,
            times,
        );
    }

    /// Such calls are answered only after `delay`.
    pub fn delay(&self, rpc: Rpc, object: Option<u32>, delay: Duration) {
        self.fault(rpc, object, None, delay, usize::MAX);
    }

    fn fault(
        &self,
        rpc: Rpc,
        object: Option<u32>,
        status: Option<(Code, String)>,
        delay: Duration,
        remaining: usize,
    ) {
        self.with(|s| {
            s.faults.push(Fault {
                rpc,
                object,
                status,
                delay,
                remaining,
            })
        });
    }

    pub fn clear_faults(&self) {
        self.with(|s| s.faults.clear());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    pub fn short_calls(&self) -> Vec<String> {
        self.calls().iter().map(Call::short).collect()
    }

    /// The protobuf encoding of each request, as received.
    pub fn encoded_requests(&self) -> Vec<Vec<u8>> {
        self.with(|s| s.encoded.clone())
    }

    pub fn clear_calls(&self) {
        self.with(|s| {
            s.calls.clear();
            s.encoded.clear();
        });
    }

    /// Records the call, then applies the first matching fault.
    async fn arrive(
        &self,
        rpc: Rpc,
        object: Option<u32>,
        call: Call,
        encoded: Vec<u8>,
    ) -> Result<(), Status> {
        let (delay, status) = self.with(|s| {
            s.calls.push(call);
            s.encoded.push(encoded);
            let fault = s.faults.iter_mut().find(|f| {
                f.rpc == rpc && f.remaining > 0 && (f.object.is_none() || f.object == object)
            });
            match fault {
                None => (Duration::ZERO, None),
                Some(f) => {
                    f.remaining -= 1;
                    (f.delay, f.status.clone())
                }
            }
        });
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match status {
            Some((code, details)) => Err(Status::new(code, details)),
            None => Ok(()),
        }
    }
}

#[tonic::async_trait]
impl EmliteMediatorService for Fake {
    async fn send_raw_message(
        &self,
        request: Request<SendRawMessageRequest>,
    ) -> Result<Response<SendRawMessageReply>, Status> {
        let r = request.into_inner();
        let call = Call::Raw {
            serial: r.serial.clone(),
            data_field: r.data_field.clone(),
        };
        self.arrive(Rpc::Raw, None, call, r.encode_to_vec()).await?;
        let reply = self.with(|s| s.raw.get(&r.data_field).cloned());
        match reply {
            Some(response) => Ok(Response::new(SendRawMessageReply { response })),
            None => Err(Status::internal("Meter communication failed")),
        }
    }

    async fn read_element(
        &self,
        request: Request<ReadElementRequest>,
    ) -> Result<Response<ReadElementReply>, Status> {
        let r = request.into_inner();
        let object = r.object_id as u32;
        let call = Call::Read {
            serial: r.serial.clone(),
            object,
        };
        self.arrive(Rpc::Read, Some(object), call, r.encode_to_vec())
            .await?;
        let reply = self.with(|s| {
            let queue = s.reads.get_mut(&object)?;
            if queue.len() > 1 {
                queue.pop_front()
            } else {
                queue.front().cloned()
            }
        });
        match reply {
            Some(Ok(response)) => Ok(Response::new(ReadElementReply { response })),
            Some(Err((code, details))) => Err(Status::new(code, details)),
            None => Err(Status::internal("Meter communication failed")),
        }
    }

    async fn write_element(
        &self,
        request: Request<WriteElementRequest>,
    ) -> Result<Response<WriteElementReply>, Status> {
        let r = request.into_inner();
        let object = r.object_id as u32;
        let call = Call::Write {
            serial: r.serial.clone(),
            object,
            payload: r.payload.clone(),
        };
        self.arrive(Rpc::Write, Some(object), call, r.encode_to_vec())
            .await?;
        self.with(|s| {
            if !s.pinned.contains(&object) {
                s.reads
                    .insert(object, VecDeque::from([Ok(r.payload.clone())]));
            }
        });
        Ok(Response::new(WriteElementReply {}))
    }
}

#[tonic::async_trait]
impl InfoService for Fake {
    async fn get_info(
        &self,
        request: Request<GetInfoRequest>,
    ) -> Result<Response<GetInfoReply>, Status> {
        let r = request.into_inner();
        let call = Call::Info {
            serial: r.serial.clone(),
        };
        self.arrive(Rpc::Info, None, call, r.encode_to_vec())
            .await?;
        let json_data = self.with(|s| s.info_json.clone());
        Ok(Response::new(GetInfoReply { json_data }))
    }

    async fn get_meters(
        &self,
        request: Request<GetMetersRequest>,
    ) -> Result<Response<GetMetersReply>, Status> {
        let r = request.into_inner();
        let call = Call::Meters {
            esco: r.esco.clone(),
        };
        self.arrive(Rpc::Meters, None, call, r.encode_to_vec())
            .await?;
        let json_meters = self.with(|s| s.meters_json.clone());
        Ok(Response::new(GetMetersReply { json_meters }))
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves `fake` in plaintext on an ephemeral loopback port.
pub async fn serve(fake: &Fake) -> SocketAddr {
    let (listener, addr) = listener().await;
    let router = Server::builder()
        .add_service(EmliteMediatorServiceServer::new(fake.clone()))
        .add_service(InfoServiceServer::new(fake.clone()));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

/// Serves `fake` with TLS (client certificates required if the config
/// says so).
pub async fn serve_tls(fake: &Fake, tls: ServerTlsConfig) -> SocketAddr {
    let (listener, addr) = listener().await;
    let router = Server::builder()
        .tls_config(tls)
        .unwrap()
        .add_service(EmliteMediatorServiceServer::new(fake.clone()))
        .add_service(InfoServiceServer::new(fake.clone()));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

/// Serves only the info service: EMOP calls meet a real UNIMPLEMENTED.
pub async fn serve_info_only(fake: &Fake) -> SocketAddr {
    let (listener, addr) = listener().await;
    let router = Server::builder().add_service(InfoServiceServer::new(fake.clone()));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener)));
    addr
}

pub fn client(addr: SocketAddr, deadline: Duration) -> Mediator {
    let mut config = MediatorConfig::new(addr.to_string());
    config.deadline = deadline;
    Mediator::connect_lazy(&config).unwrap()
}

/// A fake and a client with the default deadline.
pub async fn start() -> (Fake, Mediator) {
    let fake = Fake::new();
    let addr = serve(&fake).await;
    (fake, client(addr, flows_mediator::config::DEFAULT_DEADLINE))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

pub fn id(text: &str) -> u32 {
    u32::from_str_radix(text.trim_start_matches("0x"), 16).unwrap()
}

/// The reference vectors (the copy kept with the codec crate).
pub fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../emop/tests/data/vectors.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// `calls` of a vector in the fake's short form.
pub fn vector_calls(v: &Value) -> Vec<String> {
    v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["rpc"].as_str().unwrap() {
            "readElement" => format!("r:{}", c["object_id"].as_str().unwrap()),
            "writeElement" => format!(
                "w:{}:{}",
                c["object_id"].as_str().unwrap(),
                c["payload_hex"].as_str().unwrap()
            ),
            "sendRawMessage" => format!("x:{}", c["data_field_hex"].as_str().unwrap()),
            other => panic!("rpc {other}"),
        })
        .collect()
}

/// Loads a vector's `canned_reads` into the fake.
pub fn load_canned_reads(fake: &Fake, v: &Value) {
    if let Some(reads) = v["canned_reads"].as_object() {
        for (object, payload) in reads {
            fake.set_read(id(object), &unhex(payload.as_str().unwrap()));
        }
    }
}

pub fn command(operation: &str, args: Value, hardware: Option<&str>) -> flows_mediator::Command {
    flows_mediator::Command {
        serial: SERIAL.to_string(),
        operation: operation.to_string(),
        args,
        hardware: hardware.map(str::to_string),
    }
}

/// The result of a command that must succeed.
pub fn succeeded(outcome: flows_mediator::Outcome) -> Value {
    match outcome {
        flows_mediator::Outcome::Succeeded(v) => v,
        failed => panic!("expected success, got {failed:?}"),
    }
}

/// (class, code, message, partial) of a command that must fail.
pub fn failed(
    outcome: flows_mediator::Outcome,
) -> (flows_mediator::FailureClass, String, String, Value) {
    match outcome {
        flows_mediator::Outcome::Failed {
            class,
            code,
            message,
            partial,
        } => (class, code, message, partial),
        ok => panic!("expected failure, got {ok:?}"),
    }
}

/// Decimal text as f64, to compare with the reference's float results.
pub fn num(v: &Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}
