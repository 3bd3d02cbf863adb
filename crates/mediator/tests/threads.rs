//! The client starts no threads: everything, host-name resolution included,
//! runs on the current-thread runtime that drives it (the worker's rule:
//! nothing runs on another thread inside the database process).

mod common;

use common::*;
use flows_mediator::{execute, Mediator, MediatorConfig};
use serde_json::json;
use std::time::Duration;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn calls_run_on_the_callers_thread_only() {
    let before = threads();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let during = runtime.block_on(async {
        let fake = Fake::new();
        fake.set_read(0xfffd1d, &[0x4a]);
        let addr = serve(&fake).await;
        // A host name, so the resolver runs too.
        let mut config = MediatorConfig::new(format!("localhost:{}", addr.port()));
        config.deadline = Duration::from_secs(5);
        let m = Mediator::connect_lazy(&config).unwrap();
        let result = succeeded(execute(&m, &command("csq", json!({}), None)).await);
        assert_eq!(result, json!({"csq": 10}));
        // And a call that fails (nothing listening).
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let m = client(dead, Duration::from_secs(5));
        assert!(
            execute(&m, &command("csq", json!({}), None))
                .await
                .to_json()["status"]
                == "failed"
        );
        threads()
    });
    assert_eq!(during, before, "threads were started");
}
