//! Talking to Emlite mediators over gRPC: the generated interface, a client
//! with deadlines and mutual TLS, classification of every outcome, and the
//! meter operations built from EMOP reads and writes. No pgrx: the worker
//! drives this from its own runtime and hands results to SQL as JSON.
//!
//! Running it: build one current-thread tokio runtime with `enable_all()`
//! (calls need its timer and IO driver), call [`Mediator::connect_lazy`]
//! inside it (the channel's task is spawned on it), and drive
//! [`execute`] with `block_on`. Nothing here starts a thread; host names
//! are resolved with a blocking lookup on the calling thread.

pub mod classify;
pub mod client;
pub mod config;
pub mod operations;

mod connector;

pub use classify::{classify, CallError, FailureClass, Method};
pub use client::Mediator;
pub use config::{ConfigError, MediatorConfig, TlsConfig};
pub use operations::{execute, operation_names, validate, Command, Outcome};

/// The generated messages, clients and servers of `proto/mediator.proto`.
pub mod proto {
    tonic::include_proto!("simt_emlite.mediator.grpc");
}
