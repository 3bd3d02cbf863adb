//! Read operations and the logs, end to end through the client against the
//! fake mediator: the exact calls (cross-checked with the reference
//! vectors) and the result JSON (compared with the reference client's
//! results in the vectors); argument validation before any call.

mod common;

use common::*;
use flows_emop::time::{utc_iso_from_seconds_since_2000, DateTime, EPOCH_2000_UNIX};
use flows_mediator::{execute, operation_names, validate, FailureClass};
use serde_json::{json, Value};
use tonic::Code;

fn read_vectors(method: &str) -> Vec<&'static Value> {
    vectors()["read_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["client_method"] == method)
        .collect()
}

fn composite_vectors(method: &str) -> Vec<&'static Value> {
    vectors()["composite_read_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["method"] == method)
        .collect()
}

/// An enum result of the reference (`{"enum","name","value"}` or a bare
/// number) as our operations report it: the name, or the number.
fn setting(reference: &Value) -> Value {
    reference
        .get("name")
        .cloned()
        .unwrap_or_else(|| reference.clone())
}

#[tokio::test]
async fn single_object_reads_match_the_reference_client() {
    let (fake, m) = start().await;
    // (reference method, our operation, reference result → our result)
    type Case = (&'static str, &'static str, fn(&Value) -> Value);
    let cases: [Case; 11] = [
        ("serial_read", "serial", |r| json!({ "serial": r })),
        ("csq", "csq", |r| json!({ "csq": r })),
        (
            "prepay_balance",
            "prepay_balance",
            |r| json!({ "balance": r }),
        ),
        (
            "prepay_enabled",
            "prepay_enabled",
            |r| json!({ "prepay_enabled": r }),
        ),
        (
            "daylight_savings_correction_enabled",
            "daylight_savings_correction",
            |r| json!({ "enabled": r }),
        ),
        (
            "prepay_transaction_count",
            "transaction_count",
            |r| json!({ "transaction_count": r }),
        ),
        ("firmware_version", "firmware", |r| json!({ "firmware": r })),
        (
            "backlight",
            "backlight",
            |r| json!({ "setting": setting(r) }),
        ),
        (
            "load_switch",
            "load_switch",
            |r| json!({ "setting": setting(r) }),
        ),
        ("hardware", "hardware", |r| json!({ "hardware": r })),
        // Unscaled on single-phase meters; the reference gives a float.
        (
            "instantaneous_voltage",
            "voltage",
            |r| json!({ "voltage": format!("{}", r.as_f64().unwrap()) }),
        ),
    ];
    let mut checked = 0;
    for (method, operation, expected) in cases {
        let vs = read_vectors(method);
        assert!(!vs.is_empty(), "{method}");
        for v in vs {
            fake.clear_calls();
            fake.set_read(
                id(v["object_id"].as_str().unwrap()),
                &unhex(v["payload_hex"].as_str().unwrap()),
            );
            if let Some(config) = v["three_phase_hardware_configuration_payload_hex"].as_str() {
                fake.set_read(0x000503, &unhex(config));
            }
            let result = succeeded(execute(&m, &command(operation, json!({}), None)).await);
            assert_eq!(
                result,
                expected(&v["client_result"]),
                "{method} {}",
                v["payload_hex"]
            );
            assert_eq!(fake.short_calls(), vector_calls(v), "{method}");
            checked += 1;
        }
    }
    assert!(checked > 30);
}

/// Seconds since 2000 of an ISO text.
fn seconds(iso: &str) -> i64 {
    DateTime::parse("t", iso).unwrap().micros_since_2000() / 1_000_000
}

fn now_since_2000() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    unix - EPOCH_2000_UNIX
}

/// The 7-byte clock record of a UTC instant, built from the contract's
/// layout (year − 2000, month, day, hour, minute, second, weekday 0 = Sunday).
fn clock_record(seconds_since_2000: i64) -> Vec<u8> {
    let dt = DateTime::parse("t", &utc_iso_from_seconds_since_2000(seconds_since_2000)).unwrap();
    // 2000-01-01 was a Saturday.
    let weekday = (seconds_since_2000.div_euclid(86_400) + 6).rem_euclid(7);
    vec![
        (dt.year - 2000) as u8,
        dt.month as u8,
        dt.day as u8,
        dt.hour as u8,
        dt.minute as u8,
        dt.second as u8,
        weekday as u8,
    ]
}

#[tokio::test]
async fn clock_reads_report_the_drift() {
    let (fake, m) = start().await;
    for v in read_vectors("clock_time_read") {
        fake.set_read(0x800800, &unhex(v["payload_hex"].as_str().unwrap()));
        let result = succeeded(execute(&m, &command("clock", json!({}), None)).await);
        assert_eq!(result["meter_time"], v["client_result"]);
        let drift = seconds(v["client_result"].as_str().unwrap()) - now_since_2000();
        let reported = result["clock_time_diff_seconds"].as_i64().unwrap();
        assert!((reported - drift).abs() <= 2, "{reported} vs {drift}");
    }
    // A meter 100 s fast, and one 1 h slow.
    for offset in [100, -3600] {
        fake.set_read(0x800800, &clock_record(now_since_2000() + offset));
        let result = succeeded(execute(&m, &command("clock", json!({}), None)).await);
        let reported = result["clock_time_diff_seconds"].as_i64().unwrap();
        assert!((reported - offset).abs() <= 2, "{reported} vs {offset}");
    }
    // Month 13 is no time at all.
    fake.set_read(0x800800, &[24, 13, 1, 0, 0, 0, 1]);
    let (class, code, message, _) = failed(execute(&m, &command("clock", json!({}), None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "BAD_PAYLOAD")
    );
    assert!(message.contains("180d0100000001"), "{message}");
}

#[tokio::test]
async fn three_phase_voltages_in_volts() {
    let (fake, m) = start().await;
    let per_line: Vec<Vec<&Value>> = ["200700", "340700", "480700"]
        .iter()
        .map(|object| {
            read_vectors("three_phase_instantaneous_voltage")
                .into_iter()
                .filter(|v| v["object_id"] == *object)
                .collect()
        })
        .collect();
    for i in 0..per_line[0].len() {
        for line in &per_line {
            fake.set_read(
                id(line[i]["object_id"].as_str().unwrap()),
                &unhex(line[i]["payload_hex"].as_str().unwrap()),
            );
        }
        fake.clear_calls();
        let result = succeeded(execute(&m, &command("three_phase_voltage", json!({}), None)).await);
        for (key, line) in ["l1", "l2", "l3"].iter().zip(&per_line) {
            assert_eq!(
                num(&result[key]),
                line[i]["client_result"].as_f64().unwrap(),
                "{key}"
            );
        }
        assert_eq!(fake.short_calls(), vector_calls(per_line[0][i]));
    }
}

#[tokio::test]
async fn registers_follow_the_reference_read() {
    let (fake, m) = start().await;
    for v in composite_vectors("read") {
        fake.clear_calls();
        load_canned_reads(&fake, v);
        let result = succeeded(execute(&m, &command("registers", json!({}), None)).await);
        let expected_calls = vector_calls(v);
        let result_keys: Vec<&String> = result.as_object().unwrap().keys().collect();
        assert_eq!(
            result_keys,
            ["export_a", "export_b", "import_a", "import_b"]
        );
        if let Some(elements) = v["result"].as_array() {
            // Single phase: (element A, element B or null), Wh → kWh floats.
            assert_eq!(fake.short_calls(), expected_calls);
            assert_eq!(
                num(&result["import_a"]),
                elements[0]["import_active"].as_f64().unwrap()
            );
            assert_eq!(
                num(&result["export_a"]),
                elements[0]["export_active"].as_f64().unwrap()
            );
            if elements[1].is_null() {
                assert!(result["import_b"].is_null() && result["export_b"].is_null());
            } else {
                assert_eq!(
                    num(&result["import_b"]),
                    elements[1]["import_active"].as_f64().unwrap()
                );
                assert_eq!(
                    num(&result["export_b"]),
                    elements[1]["export_active"].as_f64().unwrap()
                );
            }
        } else {
            // Three phase: the active totals stand for element A; only the
            // first two totals are read.
            assert_eq!(fake.short_calls(), expected_calls[..4]);
            assert_eq!(
                num(&result["import_a"]),
                v["result"]["active_import"].as_f64().unwrap()
            );
            assert_eq!(
                num(&result["export_a"]),
                v["result"]["active_export"].as_f64().unwrap()
            );
            assert!(result["import_b"].is_null());
        }
    }
    // With the registry's hardware the meter is not asked for it.
    let twin = composite_vectors("read")[0];
    load_canned_reads(&fake, twin);
    fake.clear_calls();
    let result = succeeded(execute(&m, &command("registers", json!({}), Some("C1.w"))).await);
    assert_eq!(fake.short_calls(), ["r:fffffc", "r:fffff8"]);
    assert!(result["import_b"].is_string());
    fake.clear_calls();
    let result = succeeded(execute(&m, &command("registers", json!({}), Some("B1.w"))).await);
    assert_eq!(fake.short_calls(), ["r:fffffc"]);
    assert!(result["import_b"].is_null());
    // Exactness: 19993.383 kWh is the text, not a float's rounding of it.
    assert_eq!(
        num(&result["import_a"]).to_string(),
        result["import_a"].as_str().unwrap()
    );
}

#[tokio::test]
async fn three_phase_registers() {
    let (fake, m) = start().await;
    for v in composite_vectors("read")
        .into_iter()
        .filter(|v| v["result"].is_object())
    {
        fake.clear_calls();
        load_canned_reads(&fake, v);
        let result =
            succeeded(execute(&m, &command("three_phase_registers", json!({}), None)).await);
        assert_eq!(fake.short_calls(), vector_calls(v));
        let expected = v["result"].as_object().unwrap();
        assert_eq!(result.as_object().unwrap().len(), expected.len());
        for (key, value) in expected {
            assert_eq!(num(&result[key]), value.as_f64().unwrap(), "{key}");
        }
    }
    // The reference blanks a total whose read failed; a failed call fails
    // the operation here, with the totals read before it.
    let v = composite_vectors("three_phase_read")[0];
    load_canned_reads(&fake, v);
    for (object, status) in v["canned_errors"].as_object().unwrap() {
        let details = status[1].as_str().unwrap();
        fake.fail(Rpc::Read, Some(id(object)), Code::Internal, details);
    }
    fake.clear_calls();
    let hardware = v["args"][1].as_str();
    let (class, code, _, partial) =
        failed(execute(&m, &command("three_phase_registers", json!({}), hardware)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Retryable, "INTERNAL")
    );
    assert_eq!(fake.short_calls(), vector_calls(v)[..4]);
    assert_eq!(
        num(&partial["reactive_import"]),
        v["result"]["reactive_import"].as_f64().unwrap()
    );
    assert!(partial.get("reactive_export").is_none());

    // Not for single-phase meters.
    fake.clear_calls();
    let (class, code, _, _) = failed(
        execute(
            &m,
            &command("three_phase_registers", json!({}), Some("B1.w")),
        )
        .await,
    );
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "UNSUPPORTED_HARDWARE")
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn tariffs_are_the_reference_reads() {
    let (fake, m) = start().await;
    for (method, operation, activation) in [
        ("tariffs_active_read", "tariffs_active", false),
        ("tariffs_future_read", "tariffs_future", true),
    ] {
        for v in composite_vectors(method) {
            fake.clear_calls();
            load_canned_reads(&fake, v);
            let result = succeeded(execute(&m, &command(operation, json!({}), None)).await);
            assert_eq!(fake.short_calls(), vector_calls(v), "{method}");
            let tariff = result["tariff"].as_object().unwrap();
            assert_eq!(tariff.len(), if activation { 7 } else { 6 });
            for (key, value) in tariff {
                assert!(value.is_string(), "{key} is exact text");
                assert_eq!(value, &v["result"][key], "{method} {key}");
            }
        }
    }
}

#[tokio::test]
async fn a_short_payload_is_a_bad_payload() {
    let (fake, m) = start().await;
    fake.set_read(0xffc802, &[1, 2]);
    let (class, code, message, _) =
        failed(execute(&m, &command("prepay_balance", json!({}), None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "BAD_PAYLOAD")
    );
    assert!(message.contains("prepay_balance"), "{message}");
}

#[tokio::test]
async fn mediator_failures_keep_their_class() {
    let (fake, m) = start().await;
    fake.fail(
        Rpc::Read,
        None,
        Code::ResourceExhausted,
        "Meter EML2137580799 is busy (timeout)",
    );
    let (class, code, message, partial) =
        failed(execute(&m, &command("csq", json!({}), None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Retryable, "RESOURCE_EXHAUSTED")
    );
    assert!(message.contains("busy"));
    assert_eq!(partial, json!({}));
    fake.clear_faults();
    fake.fail(
        Rpc::Read,
        None,
        Code::NotFound,
        "Meter 'EML2137580799' not known",
    );
    let (class, ..) = failed(execute(&m, &command("tariffs_active", json!({}), None)).await);
    assert_eq!(class, FailureClass::Permanent);
}

fn raw_vectors(kind: &str) -> Vec<&'static Value> {
    vectors()["raw_message_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == kind && v.get("response_hex").is_some())
        .collect()
}

/// Our event JSON for the reference's decoded event (id 0 is dropped).
fn expected_event(e: &Value, index: u64, position: usize) -> Option<Value> {
    let event_id = e["event_id"]
        .get("value")
        .unwrap_or(&e["event_id"])
        .as_u64()
        .unwrap();
    if event_id == 0 {
        return None;
    }
    let name = e["event_id"].get("name").map_or_else(
        || format!("unknown_{event_id}"),
        |n| n.as_str().unwrap().to_string(),
    );
    Some(json!({
        "timestamp": utc_iso_from_seconds_since_2000(e["timestamp"].as_i64().unwrap()),
        "event_type": name,
        "details": {
            "event_id": event_id,
            "event_set": e["event_set"],
            "log_index": index,
            "position": position,
        },
    }))
}

#[tokio::test]
async fn event_log_pages() {
    let (fake, m) = start().await;
    let pages = raw_vectors("event_log");
    assert_eq!(pages.len(), 3);
    // The vectors' pages, served as pages 0, 1, 2.
    let mut expected = Vec::new();
    for (index, v) in pages.iter().enumerate() {
        let request = [0x05, 0xff, 0xff, 0x49, index as u8];
        fake.set_raw(&request, &unhex(v["response_hex"].as_str().unwrap()));
        let events = v["result"]["events"].as_array().unwrap();
        expected.extend(
            events
                .iter()
                .enumerate()
                .filter_map(|(position, e)| expected_event(e, index as u64, position)),
        );
    }
    // Page 0 alone is the default; the request is the reference's.
    let result = succeeded(execute(&m, &command("event_log", json!({}), None)).await);
    assert_eq!(fake.short_calls(), vector_calls(pages[0]));
    let page_0 = result["events"].as_array().unwrap().len();
    assert_eq!(result["events"].as_array().unwrap()[..], expected[..page_0]);

    fake.clear_calls();
    let result = succeeded(
        execute(
            &m,
            &command("event_log", json!({"from_index": 0, "count": 3}), None),
        )
        .await,
    );
    assert_eq!(
        fake.short_calls(),
        ["x:05ffff4900", "x:05ffff4901", "x:05ffff4902"]
    );
    assert_eq!(result["events"].as_array().unwrap(), &expected);

    // Only what is newer than the last stored event; paging stops at the
    // page that reaches it.
    let events = pages[0]["result"]["events"].as_array().unwrap();
    let newest_stored = events[4]["timestamp"].as_i64().unwrap();
    fake.clear_calls();
    let after = utc_iso_from_seconds_since_2000(newest_stored);
    let result = succeeded(
        execute(
            &m,
            &command("event_log", json!({"count": 3, "after": after}), None),
        )
        .await,
    );
    assert_eq!(fake.short_calls(), ["x:05ffff4900"]);
    let got = result["events"].as_array().unwrap();
    assert!(!got.is_empty());
    assert!(got
        .iter()
        .all(|e| seconds(e["timestamp"].as_str().unwrap()) > newest_stored));
}

/// Profile log 1 reply (§8.1) built from the contract's layout: the echoed
/// request time (u4be), then 4 records of 14 bytes (u4le time, status,
/// u4le import A, u4le import B).
fn log_1_reply(request: u32, first: u32, value: impl Fn(u32) -> (u32, u32)) -> Vec<u8> {
    let mut out = request.to_be_bytes().to_vec();
    for i in 0..4 {
        let t = first + 1800 * i;
        let (a, b) = value(t);
        out.extend(t.to_le_bytes());
        out.extend([0x00, 0x80]); // valid_data
        out.extend(a.to_le_bytes());
        out.extend(b.to_le_bytes());
    }
    out
}

/// Profile log 2 reply (§8.2): twin = 2 records of 34 bytes, single = 3 of
/// 22 (time, status, export A, reactive import A, reactive export A,
/// voltage [, export B, reactive import B, reactive export B]).
fn log_2_reply(request: u32, twin: bool, value: impl Fn(u32) -> (u32, u32)) -> Vec<u8> {
    let mut out = request.to_be_bytes().to_vec();
    for i in 0..if twin { 2 } else { 3 } {
        let t = request + 1800 * i;
        let (a, b) = value(t);
        out.extend(t.to_le_bytes());
        out.extend([0x00, 0xc0]); // valid_data + power_fail
        out.extend(a.to_le_bytes());
        out.extend([0u8; 8]);
        out.extend(2400u32.to_le_bytes());
        if twin {
            out.extend(b.to_le_bytes());
            out.extend([0u8; 8]);
        }
    }
    out
}

fn import(t: u32) -> (u32, u32) {
    (1_000_000 + t % 86_400, 2_000_000 + t % 86_400)
}

fn export(t: u32) -> (u32, u32) {
    (500_000 + t % 86_400 / 2, 700_000 + t % 86_400 / 3)
}

fn kwh(wh: u32) -> f64 {
    f64::from(wh) / 1000.0
}

/// Serves a synthetic day; the log-2 request that a vector covers gets the
/// vector's reply instead.
fn serve_day(fake: &Fake, day_start: u32, twin: bool, vector: &Value) {
    for k in 0..12 {
        let t = day_start + 7200 * k;
        let mut df = vec![0x03];
        df.extend(t.to_be_bytes());
        fake.set_raw(&df, &log_1_reply(t, t, import));
    }
    let step = if twin { 3600 } else { 5400 };
    for k in 0..86_400 / step {
        let t = day_start + step * k;
        let mut df = vec![0x04];
        df.extend(t.to_be_bytes());
        fake.set_raw(&df, &log_2_reply(t, twin, export));
    }
    fake.set_raw(
        &unhex(vector["request_data_field_hex"].as_str().unwrap()),
        &unhex(vector["response_hex"].as_str().unwrap()),
    );
}

#[tokio::test]
async fn profile_log_walks_a_twin_element_day() {
    let (fake, m) = start().await;
    // The vector's log-2 request (2023-02-10 02:00) lies on the hourly walk.
    let vector = raw_vectors("profile_log_2_twin")
        .into_iter()
        .find(|v| v["args"][1] == "2023-02-10T02:00:00+00:00")
        .unwrap();
    let day_start = seconds("2023-02-10T00:00:00Z") as u32;
    serve_day(&fake, day_start, true, vector);
    fake.set_read(0x608000, b"6Cw");

    let result = succeeded(
        execute(
            &m,
            &command("profile_log", json!({"date": "2023-02-10"}), None),
        )
        .await,
    );
    let calls = fake.short_calls();
    assert_eq!(calls[0], "r:608000");
    let log_1: Vec<String> = (0..12)
        .map(|k| format!("x:03{:08x}", day_start + 7200 * k))
        .collect();
    let log_2: Vec<String> = (0..24)
        .map(|k| format!("x:04{:08x}", day_start + 3600 * k))
        .collect();
    assert_eq!(calls[1..13], log_1[..]);
    assert_eq!(calls[13..], log_2[..]);
    assert!(calls.contains(&vector_calls(vector)[0]));

    let points = result["points"].as_array().unwrap();
    assert_eq!(points.len(), 48);
    for (i, p) in points.iter().enumerate() {
        let t = day_start + 1800 * i as u32;
        assert_eq!(
            p["timestamp"],
            utc_iso_from_seconds_since_2000(i64::from(t))
        );
        assert_eq!(num(&p["import_a"]), kwh(import(t).0));
        assert_eq!(num(&p["import_b"]), kwh(import(t).1));
        assert_eq!(p["status"]["import"]["valid_data"], true);
        let from_vector = vector["result"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["timestamp"] == t);
        match from_vector {
            Some(r) => {
                assert_eq!(
                    num(&p["export_a"]),
                    r["active_export_a"].as_f64().unwrap() / 1000.0
                );
                assert_eq!(
                    num(&p["export_b"]),
                    r["active_export_b"].as_f64().unwrap() / 1000.0
                );
                assert_eq!(
                    p["status"]["export"]["valid_data"],
                    r["status"]["valid_data"]
                );
            }
            None => {
                assert_eq!(num(&p["export_a"]), kwh(export(t).0));
                assert_eq!(num(&p["export_b"]), kwh(export(t).1));
                assert_eq!(p["status"]["export"]["power_fail"], true);
            }
        }
    }
}

#[tokio::test]
async fn profile_log_walks_a_single_element_day() {
    let (fake, m) = start().await;
    let vector = raw_vectors("profile_log_2_single")
        .into_iter()
        .find(|v| v["args"][1] == "2023-11-02T00:00:00+00:00")
        .unwrap();
    let day_start = seconds("2023-11-02T00:00:00Z") as u32;
    serve_day(&fake, day_start, false, vector);

    let result = succeeded(
        execute(
            &m,
            &command("profile_log", json!({"date": "2023-11-02"}), Some("B1.w")),
        )
        .await,
    );
    let calls = fake.short_calls();
    assert_eq!(
        calls.len(),
        12 + 16,
        "no hardware read: the registry's is used"
    );
    assert_eq!(calls[12], vector_calls(vector)[0]);
    let points = result["points"].as_array().unwrap();
    assert_eq!(points.len(), 48);
    for p in points {
        assert!(p["import_b"].is_null() && p["export_b"].is_null());
        assert!(p["import_a"].is_string() && p["export_a"].is_string());
    }
    let first = &vector["result"]["records"][0];
    assert_eq!(
        num(&points[0]["export_a"]),
        first["active_export_a"].as_f64().unwrap() / 1000.0
    );

    // Without export only log 1 is walked.
    fake.clear_calls();
    let result = succeeded(
        execute(
            &m,
            &command(
                "profile_log",
                json!({"date": "2023-11-02", "export": false}),
                Some("B1.w"),
            ),
        )
        .await,
    );
    assert_eq!(fake.calls().len(), 12);
    assert!(result["points"][0]["export_a"].is_null());
}

#[tokio::test]
async fn profile_log_stops_at_future_data() {
    let (fake, m) = start().await;
    let day_start = seconds("2024-01-03T00:00:00Z") as u32;
    for k in 0..12u32 {
        let t = day_start + 7200 * k;
        let mut df = vec![0x03];
        df.extend(t.to_be_bytes());
        // From 04:00 on the meter has nothing and answers with next month.
        let first = if k < 2 { t } else { t + 31 * 86_400 };
        fake.set_raw(&df, &log_1_reply(t, first, import));
    }
    let result = succeeded(
        execute(
            &m,
            &command(
                "profile_log",
                json!({"date": "2024-01-03", "export": false}),
                Some("C1.w"),
            ),
        )
        .await,
    );
    assert_eq!(fake.calls().len(), 3);
    assert_eq!(result["points"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn profile_log_failures_keep_the_points_so_far() {
    let (fake, m) = start().await;
    let day_start = seconds("2024-01-03T00:00:00Z") as u32;
    let mut df = vec![0x03];
    df.extend(day_start.to_be_bytes());
    fake.set_raw(&df, &log_1_reply(day_start, day_start, import));
    // The second request has no canned reply: the fake answers INTERNAL.
    let (class, code, _, partial) = failed(
        execute(
            &m,
            &command("profile_log", json!({"date": "2024-01-03"}), Some("C1.w")),
        )
        .await,
    );
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Retryable, "INTERNAL")
    );
    assert_eq!(partial["points"].as_array().unwrap().len(), 4);

    // Three-phase meters have no profile logs 1 and 2.
    fake.clear_calls();
    let (class, code, ..) = failed(
        execute(
            &m,
            &command("profile_log", json!({"date": "2024-01-03"}), Some("P1.ax")),
        )
        .await,
    );
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "UNSUPPORTED_HARDWARE")
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn bad_arguments_are_refused_before_any_call() {
    let (fake, m) = start().await;
    let bad = [
        ("nope", json!({})),
        ("csq", json!({"unexpected": 1})),
        ("event_log", json!({"from_index": 12})),
        ("profile_log", json!({"date": "03/01/2024"})),
        ("backlight_write", json!({"setting": "dazzling"})),
        ("tariffs_future_write", json!({"standing_charge": "0.5"})),
        ("prepay_send_token", json!({"token": "1234"})),
        ("prepay_enabled_write", json!({"enabled": "yes"})),
    ];
    for (operation, args) in bad {
        let message = validate(operation, &args).unwrap_err();
        let (class, code, executed_message, _) =
            failed(execute(&m, &command(operation, args.clone(), None)).await);
        assert_eq!(
            (class, code.as_str()),
            (FailureClass::Permanent, "BAD_ARGUMENT")
        );
        assert_eq!(executed_message, message);
        let field = args.as_object().unwrap().keys().next();
        if let Some(field) = field.filter(|_| operation != "tariffs_future_write") {
            assert!(message.contains(field.as_str()), "{message} names {field}");
        }
    }
    assert!(fake.calls().is_empty());
    // Every listed operation validates with suitable arguments.
    for operation in operation_names() {
        let args = match *operation {
            "profile_log" => json!({"date": "2024-01-03"}),
            "prepay_enabled_write" | "daylight_savings_correction_enabled_write" => {
                json!({"enabled": true})
            }
            "backlight_write" | "load_switch_write" => json!({"setting": 0}),
            "prepay_send_token" => json!({"token": "12345678901234567890"}),
            "tariffs_future_write" => json!({
                "activation_datetime": "2026-01-01T00:00:00Z", "standing_charge": "0.5",
                "unit_rate_element_a": "0.25", "prepayment_emergency_credit": "5",
                "prepayment_ecredit_availability": "2", "prepayment_debt_recovery_rate": "0.1",
            }),
            _ => json!({}),
        };
        assert_eq!(validate(operation, &args), Ok(()), "{operation}");
    }
    // An empty serial is refused too.
    let mut cmd = command("csq", json!({}), None);
    cmd.serial = " ".to_string();
    let (_, code, ..) = failed(execute(&m, &cmd).await);
    assert_eq!(code, "BAD_ARGUMENT");
    assert!(fake.calls().is_empty());
}
