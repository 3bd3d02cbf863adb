//! Test harness: an in-process simulator on ephemeral loopback ports and
//! tonic clients for it.

#![allow(dead_code)]

use flows_emop::ObjectId;
use flows_mediator::proto::emlite_mediator_service_client::EmliteMediatorServiceClient;
use flows_mediator::proto::info_service_client::InfoServiceClient;
use flows_mediator::proto::{
    GetInfoRequest, GetMetersRequest, ReadElementRequest, SendRawMessageRequest,
    WriteElementRequest,
};
use flows_mediator_sim::{start, Config, Running};
use serde_json::Value;
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub const M1: &str = "EML2200000001";
pub const M2: &str = "EML2200000002";

pub struct Harness {
    pub running: Running,
    pub client: EmliteMediatorServiceClient<Channel>,
    pub info: InfoServiceClient<Channel>,
}

/// Starts a simulator with `args` plus loopback port 0 and a control port.
pub async fn harness(args: &[&str]) -> Harness {
    let mut all = vec!["--listen", "127.0.0.1:0", "--control-port", "0"];
    all.extend_from_slice(args);
    let config = Config::from_args(&all).expect("arguments");
    let running = start(&config).await.expect("simulator starts");
    let url = format!("http://{}", running.grpc_addr());
    let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
    Harness {
        running,
        client: EmliteMediatorServiceClient::new(channel.clone()),
        info: InfoServiceClient::new(channel),
    }
}

/// Fast meters: no spacing, 1 ms latency, frozen consumption.
pub const FAST: &[&str] = &[
    "--latency-ms",
    "1",
    "--spacing-ms",
    "0",
    "--consumption-scale",
    "0",
];

pub fn with_deadline<T>(msg: T, deadline: Option<Duration>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(d) = deadline {
        r.set_timeout(d);
    }
    r
}

impl Harness {
    pub async fn read(&self, serial: &str, id: ObjectId) -> Result<Vec<u8>, Status> {
        self.read_within(serial, id, None).await
    }

    pub async fn read_within(
        &self,
        serial: &str,
        id: ObjectId,
        deadline: Option<Duration>,
    ) -> Result<Vec<u8>, Status> {
        let req = ReadElementRequest {
            serial: serial.to_string(),
            object_id: id.value() as i32,
        };
        Ok(self
            .client
            .clone()
            .read_element(with_deadline(req, deadline))
            .await?
            .into_inner()
            .response)
    }

    pub async fn write(&self, serial: &str, id: ObjectId, payload: &[u8]) -> Result<(), Status> {
        self.write_within(serial, id, payload, None).await
    }

    pub async fn write_within(
        &self,
        serial: &str,
        id: ObjectId,
        payload: &[u8],
        deadline: Option<Duration>,
    ) -> Result<(), Status> {
        let req = WriteElementRequest {
            serial: serial.to_string(),
            object_id: id.value() as i32,
            payload: payload.to_vec(),
        };
        self.client
            .clone()
            .write_element(with_deadline(req, deadline))
            .await?;
        Ok(())
    }

    pub async fn raw(&self, serial: &str, data_field: &[u8]) -> Result<Vec<u8>, Status> {
        let req = SendRawMessageRequest {
            serial: serial.to_string(),
            data_field: data_field.to_vec(),
        };
        Ok(self
            .client
            .clone()
            .send_raw_message(req)
            .await?
            .into_inner()
            .response)
    }

    pub async fn get_info(&self, serial: &str) -> Result<Value, Status> {
        let reply = self
            .info
            .clone()
            .get_info(GetInfoRequest {
                serial: serial.to_string(),
            })
            .await?;
        Ok(serde_json::from_str(&reply.into_inner().json_data).expect("GetInfo is JSON"))
    }

    pub async fn get_meters(&self, esco: &str) -> Value {
        let reply = self
            .info
            .clone()
            .get_meters(GetMetersRequest {
                esco: esco.to_string(),
            })
            .await
            .unwrap();
        serde_json::from_str(&reply.into_inner().json_meters).unwrap()
    }

    /// The shadow part of GetInfo.
    pub async fn shadow(&self, serial: &str) -> Value {
        self.get_info(serial).await.unwrap()["shadow"].clone()
    }

    /// Runs a control command in-process.
    pub async fn ctl(&self, line: &str) -> String {
        self.running.control().run_line(line).await
    }

    /// The decoded prepay balance.
    pub async fn balance(&self, serial: &str) -> flows_emop::Money {
        let payload = self.read(serial, ObjectId::PREPAY_BALANCE).await.unwrap();
        flows_emop::decode(ObjectId::PREPAY_BALANCE, &payload)
            .unwrap()
            .money()
            .unwrap()
    }
}
