//! Many meters at once over one channel: the simulator must keep every
//! meter's timing (latency + spacing) without a thread per call.

mod common;

use common::harness;
use flows_emop::ObjectId;
use std::time::{Duration, Instant};

/// `meters` meters × `reads` sequential reads each, all meters at once;
/// returns the elapsed time.
async fn hammer(meters: usize, reads: usize, latency_ms: u64, spacing_ms: u64) -> Duration {
    let (m, l, s) = (
        meters.to_string(),
        latency_ms.to_string(),
        spacing_ms.to_string(),
    );
    let h = harness(&["--generate", &m, "--latency-ms", &l, "--spacing-ms", &s]).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 1..=meters {
        let client = h.client.clone();
        let serial = format!("EML22{i:08}");
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            for _ in 0..reads {
                let reply = client
                    .read_element(flows_mediator::proto::ReadElementRequest {
                        serial: serial.clone(),
                        object_id: ObjectId::PREPAY_BALANCE.value() as i32,
                    })
                    .await
                    .unwrap();
                assert_eq!(reply.into_inner().response.len(), 4);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let calls: u64 = h
        .running
        .sim
        .fleet
        .all()
        .iter()
        .map(|m| m.state().calls_of("readElement"))
        .sum();
    assert_eq!(calls, (meters * reads) as u64);
    h.running.shutdown().await;
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_meters_at_once() {
    // Per meter: 3 × 200 ms latency + 2 × 500 ms spacing = 1.6 s minimum.
    let elapsed = hammer(1000, 3, 200, 500).await;
    assert!(elapsed >= Duration::from_millis(1600), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(8),
        "meters were served one after another: {elapsed:?}"
    );
}

/// The benchmark's size: 1000 meters × 10 reads, 200 ms latency, 2 s
/// spacing (about 20 s). `cargo test -p flows-mediator-sim --test load -- --ignored`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn benchmark_size() {
    let elapsed = hammer(1000, 10, 200, 2000).await;
    eprintln!("1000 meters x 10 reads: {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(20_000));
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

/// Concurrent writes with a state file: saves are shared, every token is on
/// disk when its call returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_with_a_state_file() {
    let path = std::env::temp_dir().join(format!("sim-load-state-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let h = harness(&[
        "--generate",
        "500",
        "--latency-ms",
        "1",
        "--spacing-ms",
        "0",
        "--consumption-scale",
        "0",
        "--state-file",
        path.to_str().unwrap(),
    ])
    .await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 1..=500 {
        let client = h.client.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            client
                .write_element(flows_mediator::proto::WriteElementRequest {
                    serial: format!("EML22{i:08}"),
                    object_id: ObjectId::PREPAY_TOKEN_SEND.value() as i32,
                    payload: format!("{:020}", 7_000_000 + i).into_bytes(),
                })
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let saved = flows_mediator_sim::persist::load(&path, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!(
        saved
            .iter()
            .filter(|m| m.calls_of("writeElement") == 1)
            .count(),
        500
    );
    h.running.shutdown().await;
    std::fs::remove_file(&path).unwrap();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    eprintln!("500 token writes with a state file: {elapsed:?}");
}
