//! Injected faults, set at start or through the control interface, and what
//! a caller sees for each.

mod common;

use common::{harness, FAST, M1, M2};
use flows_emop::{Money, ObjectId};
use std::time::{Duration, Instant};
use tonic::Code;

const TOKEN: &[u8] = b"55554444333322221000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_busy_eof_and_once() {
    let h = harness(&[&["--generate", "2"], FAST].concat()).await;
    assert_eq!(
        h.ctl("fault EML2200000001 unavailable").await,
        "ok fault EML2200000001 unavailable"
    );
    let e = h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(
        h.read(M2, ObjectId::CSQ_NET_OP).await.is_ok(),
        "only that meter"
    );

    h.ctl("fault EML2200000001 busy").await;
    let e = h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::ResourceExhausted,
            "Meter EML2200000001 is busy (timeout)"
        )
    );

    h.ctl("fault EML2200000001 eof").await;
    for _ in 0..2 {
        let e = h
            .raw(M1, &flows_emop::event_log::event_log_request(0).unwrap())
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::Internal, "Meter communication failed")
        );
    }
    // A one-shot fault hits one call only; a count, that many.
    assert_eq!(
        h.ctl("fault EML2200000001 eof once").await,
        "ok fault EML2200000001 eof 1"
    );
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_err());
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_ok());
    h.ctl("fault EML2200000001 busy 2").await;
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_err());
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_err());
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_ok());

    // Fleet-wide, and cleared for all.
    h.ctl("fault * eof").await;
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_err());
    assert!(h.read(M2, ObjectId::CSQ_NET_OP).await.is_err());
    assert_eq!(h.ctl("faults").await, "ok *=eof");
    h.ctl("fault * none").await;
    assert!(h.read(M2, ObjectId::CSQ_NET_OP).await.is_ok());
    assert_eq!(h.ctl("faults").await, "ok");
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_given_at_start() {
    let h = harness(
        &[
            &[
                "--generate",
                "2",
                "--fault",
                "EML2200000002 busy once",
                "--fault",
                "* eof 1",
            ],
            FAST,
        ]
        .concat(),
    )
    .await;
    assert_eq!(
        h.read(M2, ObjectId::CSQ_NET_OP).await.unwrap_err().code(),
        Code::ResourceExhausted
    );
    assert_eq!(
        h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err().code(),
        Code::Internal
    );
    assert!(h.read(M1, ObjectId::CSQ_NET_OP).await.is_ok());
    assert!(h.read(M2, ObjectId::CSQ_NET_OP).await.is_ok());
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_trips_the_client_deadline() {
    let h = harness(&[&["--generate", "1"], FAST].concat()).await;
    h.ctl("fault EML2200000001 slow:800 once").await;
    let started = Instant::now();
    let e = h
        .write_within(
            M1,
            ObjectId::PREPAY_TOKEN_SEND,
            TOKEN,
            Some(Duration::from_millis(200)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(600));
    // Not applied yet...
    assert_eq!(h.shadow(M1).await["tokens"]["accepted_count"], 0);
    // ...but the mediator keeps going, holding the meter: the next call
    // waits for it, and the write has landed late.
    h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert_eq!(h.shadow(M1).await["tokens"]["accepted_count"], 1);
    // Slow but within the deadline: answers.
    h.ctl("fault EML2200000001 slow:300 once").await;
    let started = Instant::now();
    h.read_within(M1, ObjectId::CSQ_NET_OP, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_after_write_applies_the_token() {
    let h = harness(&[&["--generate", "1", "--initial-balance", "2"], FAST].concat()).await;
    h.ctl("fault EML2200000001 drop_after_write once").await;
    // Reads pass and do not use the fault up.
    assert_eq!(h.balance(M1).await, Money::from_gbp(2));
    let e = h
        .write(M1, ObjectId::PREPAY_TOKEN_SEND, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Internal, "Meter communication failed")
    );
    // The outcome was unknown to the caller, but the meter took the token:
    // checking the balance before resending shows it; resending is harmless.
    assert_eq!(h.balance(M1).await, Money::from_gbp(12));
    h.write(M1, ObjectId::PREPAY_TOKEN_SEND, TOKEN)
        .await
        .unwrap();
    assert_eq!(h.balance(M1).await, Money::from_gbp(12));
    let shadow = h.shadow(M1).await;
    assert_eq!(shadow["tokens"]["received"]["55554444333322221000"], 2);
    assert_eq!(shadow["transaction_count"], 1);
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_after_write_applies_then_times_out() {
    let h = harness(&[&["--generate", "1", "--initial-balance", "2"], FAST].concat()).await;
    h.ctl("fault EML2200000001 hang_after_write:1500 once")
        .await;
    let started = Instant::now();
    let e = h
        .write_within(
            M1,
            ObjectId::PREPAY_TOKEN_SEND,
            TOKEN,
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    // Applied before the hang; GetInfo (no meter lock) shows it at once.
    assert_eq!(h.shadow(M1).await["tokens"]["accepted_count"], 1);
    // The hung exchange holds the meter until it gives up.
    assert_eq!(h.balance(M1).await, Money::from_gbp(12));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failure_after_a_delay() {
    let h = harness(&[&["--generate", "1"], FAST].concat()).await;
    h.ctl("fault EML2200000001 connect_failure:300 once").await;
    let started = Instant::now();
    let e = h.read(M1, ObjectId::PREPAY_BALANCE).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Internal, "failed to connect after retries")
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(h.read(M1, ObjectId::PREPAY_BALANCE).await.is_ok());
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_listener_is_unavailable_until_started() {
    let h = harness(&[&["--generate", "1"], FAST].concat()).await;
    let addr = h.running.grpc_addr();
    // A call in flight when the mediator goes away ends UNAVAILABLE.
    h.ctl("fault EML2200000001 slow:3000 once").await;
    let (in_flight, stop) = tokio::join!(h.read(M1, ObjectId::CSQ_NET_OP), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.ctl("stop").await
    });
    assert_eq!(stop, "ok stopped");
    assert_eq!(in_flight.unwrap_err().code(), Code::Unavailable);
    let e = h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    assert!(h.ctl("status").await.starts_with("ok stopped"));
    assert_eq!(h.ctl("start").await, format!("ok listening {addr}"));
    // The same channel reconnects to the same port.
    let mut ok = false;
    for _ in 0..20 {
        if h.read(M1, ObjectId::CSQ_NET_OP).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "serving again after start");
    h.running.shutdown().await;
}
