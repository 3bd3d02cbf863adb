//! The gRPC listener's life: bind (loopback only), serve both services, stop
//! (close the port and end in-flight calls UNAVAILABLE, like a mediator
//! going away) and start again on the same port.

use crate::service::{Info, Mediator};
use crate::sim::{log_line, Sim};
use flows_mediator::proto::emlite_mediator_service_server::EmliteMediatorServiceServer;
use flows_mediator::proto::info_service_server::InfoServiceServer;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

/// How long a stop waits for connections to drain before dropping them.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Listener {
    sim: Arc<Sim>,
    /// The configured address until the first bind, then the bound one, so
    /// a restart after `stop` reuses the port a script already knows.
    addr: Mutex<SocketAddr>,
    running: tokio::sync::Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl Listener {
    pub fn new(sim: Arc<Sim>, addr: SocketAddr) -> Listener {
        Listener {
            sim,
            addr: Mutex::new(addr),
            running: tokio::sync::Mutex::new(None),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        *self.addr.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn is_running(&self) -> bool {
        self.running.lock().await.is_some()
    }

    /// Binds and serves; a no-op if already serving. Returns the address.
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(self.addr());
        }
        let addr = self.addr();
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{addr}: the simulator listens on loopback addresses only"),
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = bound;
        self.sim.set_stopped(false);
        let (tx, rx) = oneshot::channel::<()>();
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tonic::transport::Server::builder()
            .add_service(EmliteMediatorServiceServer::new(Mediator(self.sim.clone())))
            .add_service(InfoServiceServer::new(Info(self.sim.clone())));
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = server
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
            {
                log_line(&format!("gRPC server ended: {e}"));
            }
        });
        *running = Some((tx, task));
        Ok(bound)
    }

    /// Closes the port and ends in-flight calls (UNAVAILABLE); a no-op if
    /// already stopped.
    pub async fn stop(&self) {
        let mut running = self.running.lock().await;
        let Some((tx, mut task)) = running.take() else {
            return;
        };
        self.sim.set_stopped(true);
        let _ = tx.send(());
        if tokio::time::timeout(DRAIN, &mut task).await.is_err() {
            task.abort();
        }
    }
}
