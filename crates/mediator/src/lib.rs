//! Talking to Emlite mediators over gRPC: the generated interface, a client
//! with deadlines and mutual TLS, classification of every outcome, and the
//! meter operations built from EMOP reads and writes. No pgrx: the worker
//! drives this from its own runtime and hands results to SQL as JSON.

pub mod proto {
    tonic::include_proto!("simt_emlite.mediator.grpc");
}
