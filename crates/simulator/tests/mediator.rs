//! The mediator's call semantics over the simulated meters: tokens,
//! decoding with flows-emop, the future tariff write byte for byte, errors,
//! the per-meter lock and spacing.

mod common;

use common::{harness, FAST, M1, M2};
use flows_emop::composite::Step;
use flows_emop::{decode, write_plan, CompositeRead, Money, ObjectId};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tonic::Code;

async fn send_token(h: &common::Harness, serial: &str, token: &str) {
    let plan = write_plan("prepay_send_token", &json!({"token": token})).unwrap();
    for (id, payload) in plan {
        h.write(serial, id, &payload).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_accepted_once() {
    let h = harness(&[&["--generate", "1", "--initial-balance", "5"], FAST].concat()).await;
    assert_eq!(h.balance(M1).await, Money::from_gbp(5));
    send_token(&h, M1, "12345678901234560250").await;
    assert_eq!(h.balance(M1).await, Money::from_units(750_000));
    // The same token again: received, ignored.
    send_token(&h, M1, "12345678901234560250").await;
    assert_eq!(h.balance(M1).await, Money::from_units(750_000));
    let count = h
        .read(M1, ObjectId::MONETARY_INFO_TRANSACTION_COUNT)
        .await
        .unwrap();
    assert_eq!(
        decode(ObjectId::MONETARY_INFO_TRANSACTION_COUNT, &count)
            .unwrap()
            .fields_json()["count"],
        1
    );
    // A different token counts.
    send_token(&h, M1, "99999999999999990001").await;
    assert_eq!(h.balance(M1).await, Money::from_units(751_000));
    let shadow = h.shadow(M1).await;
    assert_eq!(shadow["tokens"]["accepted_count"], 2);
    assert_eq!(shadow["tokens"]["received"]["12345678901234560250"], 2);
    assert_eq!(shadow["tokens"]["received_count"], 3);
    assert_eq!(shadow["transaction_count"], 2);
    assert_eq!(shadow["balance"], "7.51");
    assert_eq!(shadow["calls"]["writeElement"], 3);
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_decode_with_flows_emop() {
    let h = harness(&[
        "--generate",
        "2",
        "--hardware",
        "C1.w,P1.cx",
        "--latency-ms",
        "1",
        "--spacing-ms",
        "0",
        "--clock-drift",
        "-90",
    ])
    .await;
    // Registers: element A and B readings, consistent with GetInfo.
    let a = decode(
        ObjectId::READ_ELEMENT_A,
        &h.read(M1, ObjectId::READ_ELEMENT_A).await.unwrap(),
    )
    .unwrap()
    .registers()
    .unwrap();
    let b = decode(
        ObjectId::READ_ELEMENT_B,
        &h.read(M1, ObjectId::READ_ELEMENT_B).await.unwrap(),
    )
    .unwrap()
    .registers()
    .unwrap();
    let regs = h.shadow(M1).await["registers"].clone();
    let after_a = regs["import_a_wh"].as_u64().unwrap() as u32;
    assert!(a.import_active > 0 && b.import_active > 0);
    assert!(
        after_a >= a.import_active && after_a - a.import_active < 50,
        "{after_a} vs {}",
        a.import_active
    );
    assert!(a.import_reactive > 0);
    let reported = flows_emop::report_json(
        "read_element_a",
        &h.read(M1, ObjectId::READ_ELEMENT_A).await.unwrap(),
        None,
    )
    .unwrap();
    assert!(reported["import_active"].as_f64().unwrap() > 0.0);

    // Balance is an s4le amount that drains with consumption.
    let balance = h.balance(M1).await;
    assert!(h.shadow(M1).await["balance_units"].as_i64().unwrap() <= balance.units());

    // Hardware, via the reference's composite read.
    for (serial, want) in [(M1, "C1.w"), (M2, "P1.cx")] {
        let mut op = CompositeRead::new("hardware", &json!({})).unwrap();
        let result = loop {
            match op.step() {
                Step::Read(id) => {
                    let payload = h.read(serial, id).await.unwrap();
                    op.supply(id, Ok(payload)).unwrap();
                }
                Step::Done(r) => break r.unwrap(),
            }
        };
        assert_eq!(result, json!(want));
    }
    // Three-phase totals on a CT meter are in 0.1 Wh.
    let total = decode(
        ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT,
        &h.read(M2, ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT)
            .await
            .unwrap(),
    )
    .unwrap()
    .u32_value()
    .unwrap();
    let wh = h.shadow(M2).await["registers"]["import_a_wh"]
        .as_u64()
        .unwrap();
    assert!(u64::from(total) / 10 <= wh && wh - u64::from(total) / 10 < 100);

    // Clock with drift, csq, serial, firmware.
    let clock = decode(ObjectId::TIME, &h.read(M1, ObjectId::TIME).await.unwrap())
        .unwrap()
        .clock()
        .unwrap()
        .unwrap();
    let meter_secs = clock.micros_since_2000() / 1_000_000;
    let now = flows_mediator_sim::meter::now_secs() as i64;
    assert!(
        (meter_secs - (now - 90)).abs() <= 2,
        "{meter_secs} vs {now}"
    );
    let csq = decode(
        ObjectId::CSQ_NET_OP,
        &h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap(),
    )
    .unwrap()
    .csq()
    .unwrap();
    assert_eq!(Value::from(csq), h.shadow(M1).await["csq"]);
    let serial = decode(
        ObjectId::SERIAL,
        &h.read(M1, ObjectId::SERIAL).await.unwrap(),
    )
    .unwrap()
    .serial()
    .unwrap();
    assert_eq!(serial, M1);
    let firmware = flows_emop::report_json(
        "firmware_version",
        &h.read(M1, ObjectId::FIRMWARE_VERSION).await.unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(firmware, json!("0_20_3"));
    h.running.shutdown().await;
}

/// The 11 writes of the first `tariffs_future_write` vector.
fn future_write_vector() -> (Vec<Value>, Vec<(ObjectId, Vec<u8>)>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../emop/tests/data/vectors.json"
    );
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = vectors["write_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["method"] == "tariffs_future_write" && v.get("exception").is_none())
        .unwrap();
    let calls = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                ObjectId::from_hex(c["object_id"].as_str().unwrap()).unwrap(),
                flows_emop::from_hex(c["payload_hex"].as_str().unwrap()).unwrap(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(calls.len(), 11);
    (v["args"].as_array().unwrap().clone(), calls)
}

async fn composite(h: &common::Harness, serial: &str, operation: &str) -> Value {
    let op = CompositeRead::new(operation, &json!({})).unwrap();
    let mut replies = Vec::new();
    for id in op.fixed_reads().unwrap() {
        replies.push((id, h.read(serial, id).await.unwrap()));
    }
    let mut replies = replies.into_iter();
    op.run(|id| {
        let (got, payload) = replies.next().unwrap();
        assert_eq!(got, id);
        Ok(payload)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_tariff_write_is_stored_byte_exact() {
    let h = harness(&[&["--generate", "1"], FAST].concat()).await;
    let (args, calls) = future_write_vector();
    for (id, payload) in &calls {
        h.write(M1, *id, payload).await.unwrap();
    }
    // Stored byte for byte, as GetInfo and plain reads show.
    let shadow = h.shadow(M1).await;
    for (id, payload) in &calls {
        assert_eq!(
            shadow["tariff_objects"][id.hex()],
            json!(flows_emop::to_hex(payload)),
            "{id:?}"
        );
        assert_eq!(&h.read(M1, *id).await.unwrap(), payload, "{id:?}");
    }
    let log: Vec<&str> = shadow["write_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["object_id"].as_str().unwrap())
        .collect();
    let ids: Vec<String> = calls.iter().map(|(id, _)| id.hex()).collect();
    assert_eq!(log, ids);

    // Read back by the §7.2 reads.
    let result = composite(&h, M1, "tariffs_future_read").await;
    let money = |v: &Value| Money::parse_exact("x", v).unwrap().to_string();
    // args: serial, activation, standing charge, unit rate, emergency credit,
    // ecredit availability, debt recovery rate.
    assert_eq!(result["activation_datetime"], args[1]);
    assert_eq!(result["standing_charge"], json!(money(&args[2])));
    assert_eq!(result["unit_rate_element_a"], json!(money(&args[3])));
    assert_eq!(result["unit_rate_element_b"], json!(money(&args[3])));
    assert_eq!(
        result["prepayment_emergency_credit"],
        json!(money(&args[4]))
    );
    assert_eq!(
        result["prepayment_ecredit_availability"],
        json!(money(&args[5]))
    );
    assert_eq!(
        result["prepayment_debt_recovery_rate"],
        json!(money(&args[6]))
    );

    // The vector's activation time (2026-01-17) has passed: the meter has
    // switched over, and the active tariff read (§7.1) shows the new rates.
    let active = composite(&h, M1, "tariffs_active_read").await;
    assert_eq!(active["unit_rate_element_a"], json!(money(&args[3])));
    assert_eq!(active["standing_charge"], json!(money(&args[2])));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediator_errors() {
    let h = harness(&[&["--generate", "1"], FAST].concat()).await;
    let e = h.read("", ObjectId::PREPAY_BALANCE).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::InvalidArgument, "Target meter serial not specified")
    );
    let e = h
        .read("EML0000000000", ObjectId::PREPAY_BALANCE)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::NotFound, "Meter 'EML0000000000' not known")
    );
    let e = h
        .raw("EML0000000000", &[0x03, 0, 0, 0, 0])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Writes the meter refuses: read-only, unknown, wrong length.
    for (id, payload) in [
        (ObjectId::PREPAY_BALANCE, vec![0; 4]),
        (ObjectId::from_u32(0x123456).unwrap(), vec![0]),
        (ObjectId::TARIFF_FUTURE_STANDING_CHARGE, vec![0; 2]),
    ] {
        let e = h.write(M1, id, &payload).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::Internal, "Meter communication failed"),
            "{id:?}"
        );
    }
    let e = h
        .read(M1, ObjectId::from_u32(0x123456).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    let e = h.raw(M1, &[0x42, 1, 2]).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Internal, "Meter communication failed")
    );
    // Info service.
    let e = h.get_info("EML0000000000").await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::NotFound, "meter EML0000000000 not found")
    );
    let info = h.get_info(M1).await.unwrap();
    assert_eq!(info["registry"]["serial"], M1);
    assert_eq!(info["shadow"]["calls"]["readElement"], 1);
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_meters_filters_by_esco() {
    let dir = std::env::temp_dir().join(format!("sim-meters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("meters.csv");
    std::fs::write(
        &file,
        "serial,hardware,balance,esco\nEML2100000001,B1.w,1.25,WLCE\nEML2100000002,EMA1.w,,HMCE\n",
    )
    .unwrap();
    let h = harness(
        &[
            &["--meters", file.to_str().unwrap(), "--generate", "1"],
            FAST,
        ]
        .concat(),
    )
    .await;
    assert_eq!(h.get_meters("").await.as_array().unwrap().len(), 3);
    let wlce = h.get_meters("wlce").await;
    assert_eq!(wlce.as_array().unwrap().len(), 1);
    assert_eq!(wlce[0]["serial"], "EML2100000001");
    assert_eq!(wlce[0]["hardware"], "B1.w");
    assert_eq!(h.balance("EML2100000001").await, Money::from_units(125_000));
    h.running.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_meter_times_out() {
    let h = harness(&[
        "--generate",
        "2",
        "--latency-ms",
        "1500",
        "--busy-timeout",
        "300ms",
        "--spacing-ms",
        "0",
    ])
    .await;
    let started = Instant::now();
    let (first, second, other) = tokio::join!(
        h.read(M1, ObjectId::PREPAY_BALANCE),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            h.read(M1, ObjectId::PREPAY_BALANCE).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            h.read(M2, ObjectId::PREPAY_BALANCE).await
        },
    );
    assert!(first.is_ok());
    assert!(other.is_ok(), "another meter is not blocked");
    let e = second.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::ResourceExhausted,
            "Meter EML2200000001 is busy (timeout)"
        )
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
    h.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spacing_after_success_per_meter() {
    let h = harness(&[
        "--generate",
        "2",
        "--latency-ms",
        "20",
        "--spacing-ms",
        "700",
    ])
    .await;
    h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap();
    let first_done = Instant::now();
    // Another meter is not delayed by M1's spacing.
    h.read(M2, ObjectId::CSQ_NET_OP).await.unwrap();
    assert!(
        first_done.elapsed() < Duration::from_millis(400),
        "{:?}",
        first_done.elapsed()
    );
    // M1 again: at least the spacing after its last success.
    h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap();
    assert!(
        first_done.elapsed() >= Duration::from_millis(700),
        "{:?}",
        first_done.elapsed()
    );
    // Failures do not count: after a failed exchange there is no wait.
    tokio::time::sleep(Duration::from_millis(750)).await;
    assert!(h
        .write(M1, ObjectId::PREPAY_BALANCE, &[0; 4])
        .await
        .is_err());
    let after_failure = Instant::now();
    h.read(M1, ObjectId::CSQ_NET_OP).await.unwrap();
    assert!(
        after_failure.elapsed() < Duration::from_millis(400),
        "{:?}",
        after_failure.elapsed()
    );
    h.running.shutdown().await;
}
