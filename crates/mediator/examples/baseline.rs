//! The benchmark's baseline: meter reads run the way the original platform
//! ran them — a fixed number of meters at a time (15), each meter's reads
//! one after another — against the same mediator, for comparison with the
//! worker. Usage: baseline ADDRESS SERIAL_PREFIX METERS PARALLEL OPERATION...

use flows_mediator::{execute, Command, Mediator, MediatorConfig, Outcome};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        eprintln!("usage: baseline ADDRESS SERIAL_PREFIX METERS PARALLEL OPERATION...");
        std::process::exit(2);
    }
    let (address, prefix) = (args[0].clone(), args[1].clone());
    let meters: usize = args[2].parse().expect("METERS is a number");
    let parallel: usize = args[3].parse().expect("PARALLEL is a number");
    let operations: Vec<String> = args[4..].to_vec();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mediator = Mediator::connect_lazy(&MediatorConfig::new(address)).expect("mediator address");
        let gate = Arc::new(Semaphore::new(parallel));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 1..=meters {
            let serial = format!("{prefix}{}", format!("{i:0>width$}", width = 13 - prefix.len()));
            let (gate, mediator, operations) = (gate.clone(), mediator.clone(), operations.clone());
            tasks.spawn(async move {
                let _slot = gate.acquire_owned().await.unwrap();
                let mut failures = 0;
                for op in operations {
                    let cmd = Command { serial: serial.clone(), operation: op, args: serde_json::json!({}), hardware: None };
                    if let Outcome::Failed { .. } = execute(&mediator, &cmd).await {
                        failures += 1;
                    }
                }
                failures
            });
        }
        let mut failures = 0;
        while let Some(f) = tasks.join_next().await {
            failures += f.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        let calls = meters * (args.len() - 4);
        println!("baseline: {meters} meters, {parallel} at a time, {calls} reads in {secs:.1} s ({:.1} reads/s), {failures} failed", calls as f64 / secs);
    });
}
