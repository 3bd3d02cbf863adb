//! The gRPC services of mediator.proto over the simulated fleet: the three
//! EMOP calls (through `Sim::exchange`) and the info service (GetInfo,
//! GetMeters) reporting the simulator's own state.

use crate::meter::now_secs;
use crate::sim::{log_line, Method, Sim};
use flows_emop::ObjectId;
use flows_mediator::proto::emlite_mediator_service_server::EmliteMediatorService;
use flows_mediator::proto::info_service_server::InfoService;
use flows_mediator::proto::{
    GetInfoReply, GetInfoRequest, GetMetersReply, GetMetersRequest, ReadElementReply,
    ReadElementRequest, SendRawMessageReply, SendRawMessageRequest, WriteElementReply,
    WriteElementRequest,
};
use serde_json::Value;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Largest data field one frame carries; larger requests cannot be sent.
const MAX_DATA_FIELD: usize = flows_emop::data_field::MAX_DATA_FIELD;
const MAX_WRITE_PAYLOAD: usize = flows_emop::data_field::MAX_WRITE_PAYLOAD;

#[derive(Debug, Clone)]
pub struct Mediator(pub Arc<Sim>);

/// The object id of a request; one that does not fit 3 bytes cannot be put
/// in a frame, which the real mediator reports as a failed exchange.
fn object_id(raw: i32) -> Result<ObjectId, String> {
    u32::try_from(raw)
        .ok()
        .and_then(ObjectId::from_u32)
        .ok_or_else(|| format!("object id {raw} does not fit 3 bytes"))
}

#[tonic::async_trait]
impl EmliteMediatorService for Mediator {
    async fn send_raw_message(
        &self,
        request: Request<SendRawMessageRequest>,
    ) -> Result<Response<SendRawMessageReply>, Status> {
        let req = request.into_inner();
        let detail = flows_emop::to_hex(&req.data_field);
        let data_field = req.data_field;
        let response = self
            .0
            .exchange(Method::SendRawMessage, req.serial, detail, move |m, now| {
                if data_field.len() > MAX_DATA_FIELD {
                    return Err(format!("data field of {} bytes", data_field.len()));
                }
                m.raw(&data_field, now)
            })
            .await?;
        Ok(Response::new(SendRawMessageReply { response }))
    }

    async fn read_element(
        &self,
        request: Request<ReadElementRequest>,
    ) -> Result<Response<ReadElementReply>, Status> {
        let req = request.into_inner();
        let detail = format!("{:06x}", req.object_id);
        let raw_id = req.object_id;
        let response = self
            .0
            .exchange(Method::ReadElement, req.serial, detail, move |m, now| {
                m.read(object_id(raw_id)?, now)
            })
            .await?;
        Ok(Response::new(ReadElementReply { response }))
    }

    async fn write_element(
        &self,
        request: Request<WriteElementRequest>,
    ) -> Result<Response<WriteElementReply>, Status> {
        let req = request.into_inner();
        let detail = format!("{:06x} {}", req.object_id, flows_emop::to_hex(&req.payload));
        let (raw_id, payload) = (req.object_id, req.payload);
        self.0
            .exchange(Method::WriteElement, req.serial, detail, move |m, now| {
                if payload.len() > MAX_WRITE_PAYLOAD {
                    return Err(format!("payload of {} bytes", payload.len()));
                }
                m.write(object_id(raw_id)?, &payload, now)
            })
            .await?;
        Ok(Response::new(WriteElementReply {}))
    }
}

#[derive(Debug, Clone)]
pub struct Info(pub Arc<Sim>);

impl Info {
    fn check_running(&self) -> Result<(), Status> {
        if self.0.is_stopped() {
            return Err(Status::unavailable("mediator stopped"));
        }
        Ok(())
    }

    fn log(&self, method: &str, argument: &str, result: &Result<Value, Status>) {
        if self.0.verbose() {
            let outcome = match result {
                Ok(_) => "OK".to_string(),
                Err(s) => format!("{:?} {}", s.code(), s.message()),
            };
            log_line(&format!("{method} {argument:?} -> {outcome}"));
        }
    }
}

/// GetInfo's document for one meter (also the control port's `state`).
pub fn meter_info(sim: &Sim, serial: &str) -> Option<Value> {
    let meter = sim.fleet.get(serial)?;
    let mut state = meter.state();
    Some(state.info_json(now_secs()))
}

/// GetMeters' list: the registry rows of the ESCO (case-insensitive; empty
/// = all).
pub fn meters_list(sim: &Sim, esco: &str) -> Value {
    let wanted = esco.to_lowercase();
    Value::Array(
        sim.fleet
            .all()
            .iter()
            .filter_map(|m| {
                let state = m.state();
                (wanted.is_empty() || state.esco.to_lowercase() == wanted)
                    .then(|| state.registry_json())
            })
            .collect(),
    )
}

#[tonic::async_trait]
impl InfoService for Info {
    async fn get_info(
        &self,
        request: Request<GetInfoRequest>,
    ) -> Result<Response<GetInfoReply>, Status> {
        self.check_running()?;
        let serial = request.into_inner().serial;
        let not_found = || Status::not_found(format!("meter {serial} not found"));
        let meter = self.0.fleet.get(&serial).ok_or_else(not_found)?;
        meter.state().count_call("GetInfo");
        let info = meter_info(&self.0, &serial).ok_or_else(not_found)?;
        Ok(Response::new(GetInfoReply {
            json_data: info.to_string(),
        }))
    }

    async fn get_meters(
        &self,
        request: Request<GetMetersRequest>,
    ) -> Result<Response<GetMetersReply>, Status> {
        let esco = request.into_inner().esco;
        let result = self.check_running().map(|()| meters_list(&self.0, &esco));
        self.log("GetMeters", &esco, &result);
        Ok(Response::new(GetMetersReply {
            json_meters: result?.to_string(),
        }))
    }
}
