//! `flows-mediator-sim`: parses the command line, starts the simulator,
//! prints where it listens, and runs until SIGTERM, SIGINT or the control
//! port's `shutdown`.

use clap::Parser;
use flows_mediator_sim::{start, Config};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = Config::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("flows-mediator-sim: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let running = match start(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flows-mediator-sim: {e}");
            return ExitCode::from(2);
        }
    };
    // Scripts read these lines to learn the ports (first line: gRPC).
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening {}", running.grpc_addr());
    if let Some(addr) = running.control_addr() {
        let _ = writeln!(out, "control {addr}");
    }
    let _ = out.flush();
    eprintln!(
        "flows-mediator-sim: {} meters, latency {} ms, spacing {} ms, busy timeout {:?}",
        running.sim.fleet.len(),
        config.latency_ms,
        config.spacing_ms,
        config.busy_timeout
    );

    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("flows-mediator-sim: SIGTERM handler: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
        () = running.sim.wait_shutdown_request() => {},
    }
    running.shutdown().await;
    eprintln!("flows-mediator-sim: stopped");
    ExitCode::SUCCESS
}
