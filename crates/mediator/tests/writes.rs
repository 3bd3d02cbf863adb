//! Write operations end to end against the fake mediator: the reference
//! write sequences (vectors), the future tariff's read-back check, and the
//! verified top-up in all its paths (applied, not applied, outcome unknown
//! then verified without resending). No outcome ever shows a token.

mod common;

use common::*;
use flows_emop::time::DateTime;
use flows_mediator::{execute, FailureClass, Mediator, Outcome};
use serde_json::{json, Value};
use std::time::Duration;
use tonic::Code;

const BALANCE: u32 = 0xffc802;
const COUNT: u32 = 0xffc83e;
const TOKEN_OBJECT: u32 = 0xffc803;

fn write_vectors(method: &str) -> Vec<&'static Value> {
    vectors()["write_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["method"] == method)
        .collect()
}

/// The reference's future-tariff read sequence (§7.2).
fn future_read_calls() -> Vec<String> {
    let v = vectors()["composite_read_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["method"] == "tariffs_future_read")
        .unwrap();
    vector_calls(v)
}

/// `tariffs_future_write(serial, activation, standing, unit rate,
/// emergency credit, ecredit availability, debt recovery)` as our args.
fn tariff_args(v: &Value) -> Value {
    let a = v["args"].as_array().unwrap();
    json!({
        "activation_datetime": a[1],
        "standing_charge": a[2],
        "unit_rate_element_a": a[3],
        "prepayment_emergency_credit": a[4],
        "prepayment_ecredit_availability": a[5],
        "prepayment_debt_recovery_rate": a[6],
    })
}

fn same_instant(a: &str, b: &str) -> bool {
    let micros = |t: &str| DateTime::parse("t", t).unwrap().micros_since_2000();
    micros(a) == micros(b)
}

#[tokio::test]
async fn future_tariff_writes_then_verifies() {
    let (fake, m) = start().await;
    let mut written = 0;
    for v in write_vectors("tariffs_future_write") {
        fake.clear_calls();
        let args = tariff_args(v);
        let outcome = execute(&m, &command("tariffs_future_write", args.clone(), None)).await;
        if let Some(exception) = v.get("exception") {
            // Refused whole before any call, including the amount the
            // reference only finds out about mid-sequence.
            let (class, code, message, _) = failed(outcome);
            assert_eq!(
                (class, code.as_str()),
                (FailureClass::Permanent, "BAD_ARGUMENT")
            );
            if exception["type"] == "ValueError" {
                assert!(
                    message.contains(exception["message"].as_str().unwrap()),
                    "{message}"
                );
            } else {
                assert!(
                    message.contains("prepayment_debt_recovery_rate"),
                    "{message}"
                );
            }
            assert!(fake.calls().is_empty());
            continue;
        }
        let result = succeeded(outcome);
        let mut expected_calls = vector_calls(v);
        expected_calls.extend(future_read_calls());
        assert_eq!(fake.short_calls(), expected_calls);
        assert_eq!(result["written"], 11);
        assert_eq!(result["verified"], true);
        let read_back = &result["read_back"];
        assert!(same_instant(
            read_back["activation_datetime"].as_str().unwrap(),
            args["activation_datetime"].as_str().unwrap()
        ));
        for key in [
            "standing_charge",
            "unit_rate_element_a",
            "prepayment_emergency_credit",
            "prepayment_ecredit_availability",
            "prepayment_debt_recovery_rate",
        ] {
            assert_eq!(num(&read_back[key]), num(&args[key]), "{key}");
        }
        // Element B defaults to element A's rate.
        assert_eq!(
            read_back["unit_rate_element_b"],
            read_back["unit_rate_element_a"]
        );
        written += 1;
    }
    assert!(written >= 4);
}

fn a_tariff() -> Value {
    json!({
        "activation_datetime": "2026-04-01T00:00:00Z",
        "standing_charge": "0.56419",
        "unit_rate_element_a": "0.39441",
        "unit_rate_element_b": "0.21",
        "prepayment_emergency_credit": "15",
        "prepayment_ecredit_availability": "10",
        "prepayment_debt_recovery_rate": "0.123456",
    })
}

#[tokio::test]
async fn future_tariff_read_back_must_match() {
    let (fake, m) = start().await;
    // Truncated amounts are expected back truncated.
    let result = succeeded(execute(&m, &command("tariffs_future_write", a_tariff(), None)).await);
    assert_eq!(
        result["read_back"]["prepayment_debt_recovery_rate"],
        "0.12345"
    );
    assert_eq!(result["read_back"]["unit_rate_element_b"], "0.21");

    // The meter keeps another element-A rate than the one written.
    fake.set_read(0xfff839, &[0x10, 0x27, 0, 0]);
    fake.pin(0xfff839);
    let (class, code, message, partial) =
        failed(execute(&m, &command("tariffs_future_write", a_tariff(), None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "READ_BACK_DIFFERS")
    );
    assert!(message.contains("unit_rate_element_a"), "{message}");
    assert_eq!(partial["differs"], json!(["unit_rate_element_a"]));
    assert_eq!(partial["expected"]["unit_rate_element_a"], "0.39441");
    assert_eq!(partial["read_back"]["unit_rate_element_a"], "0.1");
    assert_eq!(
        partial["expected"]["standing_charge"],
        partial["read_back"]["standing_charge"]
    );
    assert_eq!(partial["written"], 11);
}

#[tokio::test]
async fn future_tariff_failures_say_how_far_it_got() {
    let (fake, m) = start().await;
    // The fourth write (block 8 rate 1) fails before reaching the meter.
    fake.fail_times(
        Rpc::Write,
        Some(0xfff839),
        Code::Unavailable,
        "no connection",
        1,
    );
    let (class, _, _, partial) =
        failed(execute(&m, &command("tariffs_future_write", a_tariff(), None)).await);
    assert_eq!(class, FailureClass::Retryable);
    assert_eq!(partial, json!({"written": 3, "of": 11}));
    // The meter answered garbage to it: the write may have happened.
    fake.fail_times(
        Rpc::Write,
        Some(0xfff839),
        Code::Internal,
        "Meter communication failed",
        1,
    );
    let (class, _, _, partial) =
        failed(execute(&m, &command("tariffs_future_write", a_tariff(), None)).await);
    assert_eq!(class, FailureClass::UnknownOutcome);
    assert_eq!(partial["written"], 3);
    // All written, the read-back failed: retry the whole (idempotent) command.
    fake.fail_times(
        Rpc::Read,
        Some(0xffff24),
        Code::Internal,
        "Meter communication failed",
        1,
    );
    let (class, _, _, partial) =
        failed(execute(&m, &command("tariffs_future_write", a_tariff(), None)).await);
    assert_eq!(class, FailureClass::Retryable);
    assert_eq!(partial, json!({"written": 11, "verified": false}));
}

#[tokio::test]
async fn settings_and_flags_are_the_reference_writes() {
    let (fake, m) = start().await;
    let mut checked = 0;
    for (method, operation) in [
        ("backlight_write", "backlight_write"),
        ("load_switch_write", "load_switch_write"),
        (
            "daylight_savings_correction_enabled_write",
            "daylight_savings_correction_enabled_write",
        ),
        ("prepay_enabled_write", "prepay_enabled_write"),
    ] {
        for v in write_vectors(method) {
            fake.clear_calls();
            load_canned_reads(&fake, v);
            let arg = &v["args"][1];
            let (args, expected) = if arg.is_object() {
                (
                    json!({"setting": arg["name"]}),
                    json!({"setting": arg["name"]}),
                )
            } else if operation == "prepay_enabled_write" {
                (json!({"enabled": arg}), Value::Null)
            } else {
                (json!({"enabled": arg}), json!({"enabled": arg}))
            };
            let outcome = execute(&m, &command(operation, args, None)).await;
            assert_eq!(fake.short_calls(), vector_calls(v), "{method} {arg}");
            match v.get("exception") {
                Some(exception) => {
                    let (class, code, message, partial) = failed(outcome);
                    assert_eq!(
                        (class, code.as_str()),
                        (FailureClass::Permanent, "BALANCE_TOO_LOW")
                    );
                    assert_eq!(message, exception["message"].as_str().unwrap());
                    assert!(partial["balance"].is_string());
                }
                None => {
                    let result = succeeded(outcome);
                    if expected.is_null() {
                        assert_eq!(result["prepay_enabled"], *arg);
                        assert_eq!(result["balance"].is_string(), arg == true);
                    } else {
                        assert_eq!(result, expected);
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 15);
}

#[tokio::test]
async fn clock_write_uses_the_time_of_running() {
    let (fake, m) = start().await;
    let result = succeeded(execute(&m, &command("clock_time_write", json!({}), None)).await);
    let calls = fake.calls();
    let [Call::Write {
        object: 0x800800,
        payload,
        ..
    }] = &calls[..]
    else {
        panic!("{calls:?}")
    };
    // The 7 bytes name the time reported (weekday 0 = Sunday).
    let written = result["meter_time_written"].as_str().unwrap();
    let dt = DateTime::parse("t", written).unwrap();
    let days = dt.micros_since_2000().div_euclid(86_400_000_000);
    let weekday = (days + 6).rem_euclid(7) as u8; // 2000-01-01 was a Saturday
    assert_eq!(
        payload[..],
        [
            (dt.year - 2000) as u8,
            dt.month as u8,
            dt.day as u8,
            dt.hour as u8,
            dt.minute as u8,
            dt.second as u8,
            weekday
        ]
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - flows_emop::time::EPOCH_2000_UNIX;
    assert!((dt.micros_since_2000() / 1_000_000 - now).abs() <= 2);
    assert!(written.ends_with("+00:00"));
}

const TOKEN: &str = "09227256751756268534";

fn le32(units: i32) -> Vec<u8> {
    units.to_le_bytes().to_vec()
}

fn le16(count: u16) -> Vec<u8> {
    count.to_le_bytes().to_vec()
}

fn token_command(verify: Option<Value>) -> flows_mediator::Command {
    let mut args = json!({ "token": TOKEN });
    if let Some(v) = verify {
        args["verify"] = v;
    }
    command("prepay_send_token", args, None)
}

/// Runs the command and checks the outcome never shows the token.
async fn run(m: &Mediator, cmd: &flows_mediator::Command) -> Outcome {
    let outcome = execute(m, cmd).await;
    let text = format!("{} {outcome:?}", outcome.to_json());
    assert!(!text.contains(&TOKEN[..16]), "token leaked: {text}");
    outcome
}

const TOKEN_WRITE: &str = "w:ffc803:3039323237323536373531373536323638353334";

#[tokio::test]
async fn a_token_that_applies() {
    let (fake, m) = start().await;
    // The reference's write for this token.
    let v = write_vectors("prepay_send_token")
        .into_iter()
        .find(|v| v["args"][1] == TOKEN)
        .unwrap();
    assert_eq!(vector_calls(v), [TOKEN_WRITE]);

    fake.set_reads(BALANCE, &[le32(512_345), le32(2_512_345)]);
    fake.set_reads(COUNT, &[le16(41), le16(42)]);
    let result = succeeded(run(&m, &token_command(None)).await);
    assert_eq!(
        fake.short_calls(),
        ["r:ffc802", "r:ffc83e", TOKEN_WRITE, "r:ffc802", "r:ffc83e"]
    );
    assert_eq!(
        result,
        json!({
            "balance_before": "5.12345", "balance_after": "25.12345",
            "transaction_count_before": 41, "transaction_count_after": 42,
            "applied": true, "applied_earlier": false,
        })
    );
}

#[tokio::test]
async fn a_token_that_does_not_raise_the_balance_fails() {
    let (fake, m) = start().await;
    fake.set_read(BALANCE, &le32(-150_000));
    fake.set_read(COUNT, &le16(7));
    let (class, code, message, partial) = failed(run(&m, &token_command(None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "TOKEN_NOT_APPLIED")
    );
    assert!(
        message.starts_with("balance did not rise after token"),
        "{message}"
    );
    assert_eq!(
        partial,
        json!({
            "balance_before": "-1.5", "balance_after": "-1.5",
            "transaction_count_before": 7, "transaction_count_after": 7,
            "sent": true, "applied": false,
        })
    );
    // A higher count alone is not a completed top-up (DOMAIN.md: completed
    // only if the balance rose); the message shows the count moved.
    fake.set_reads(COUNT, &[le16(7), le16(8)]);
    let (class, code, message, _) = failed(run(&m, &token_command(None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::Permanent, "TOKEN_NOT_APPLIED")
    );
    assert!(message.contains("transaction count 7 -> 8"), "{message}");
}

#[tokio::test]
async fn an_unknown_outcome_is_verified_not_resent() {
    let fake = Fake::new();
    let addr = serve(&fake).await;
    let m = client(addr, Duration::from_millis(500));
    fake.set_read(BALANCE, &le32(100_000));
    fake.set_read(COUNT, &le16(3));
    // The mediator takes longer than the deadline over the token.
    fake.delay(Rpc::Write, Some(TOKEN_OBJECT), Duration::from_secs(3));
    let (class, code, _, partial) = failed(run(&m, &token_command(None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::UnknownOutcome, "DEADLINE_EXCEEDED")
    );
    assert_eq!(
        partial,
        json!({"balance_before": "1", "transaction_count_before": 3, "sent": true})
    );
    assert_eq!(fake.short_calls(), ["r:ffc802", "r:ffc83e", TOKEN_WRITE]);

    // Meanwhile the meter applied it. The retry with "verify" sees that and
    // does not send the token again.
    fake.clear_faults();
    fake.clear_calls();
    fake.set_read(BALANCE, &le32(2_100_000));
    fake.set_read(COUNT, &le16(4));
    let verify = json!({
        "balance_before": partial["balance_before"],
        "transaction_count_before": partial["transaction_count_before"],
    });
    let result = succeeded(run(&m, &token_command(Some(verify.clone()))).await);
    assert_eq!(fake.short_calls(), ["r:ffc802", "r:ffc83e"]);
    assert_eq!(
        result,
        json!({
            "balance_before": "1", "balance_after": "21",
            "transaction_count_before": 3, "transaction_count_after": 4,
            "applied": true, "applied_earlier": true,
        })
    );
}

#[tokio::test]
async fn verify_finds_nothing_then_sends() {
    let (fake, m) = start().await;
    // The earlier attempt never got to the meter: count and balance as
    // before (the balance even fell with consumption).
    fake.set_reads(BALANCE, &[le32(90_000), le32(2_090_000)]);
    fake.set_reads(COUNT, &[le16(3), le16(4)]);
    let verify = json!({"balance_before": "1", "transaction_count_before": 3});
    let result = succeeded(run(&m, &token_command(Some(verify))).await);
    assert_eq!(
        fake.short_calls(),
        ["r:ffc802", "r:ffc83e", TOKEN_WRITE, "r:ffc802", "r:ffc83e"]
    );
    assert_eq!(result["applied_earlier"], false);
    assert_eq!(result["balance_before"], "0.9");
    assert_eq!(result["balance_after"], "20.9");
}

#[tokio::test]
async fn token_failures_say_whether_it_was_sent() {
    let (fake, m) = start().await;
    fake.set_read(BALANCE, &le32(100_000));
    fake.set_read(COUNT, &le16(3));

    // Before sending: the first read fails.
    fake.fail_times(
        Rpc::Read,
        Some(BALANCE),
        Code::ResourceExhausted,
        "Meter EML2137580799 is busy (timeout)",
        1,
    );
    let (class, _, _, partial) = failed(run(&m, &token_command(None)).await);
    assert_eq!(class, FailureClass::Retryable);
    assert_eq!(partial, json!({"sent": false}));
    assert!(!fake.short_calls().contains(&TOKEN_WRITE.to_string()));

    // The write refused as busy or unavailable: it never reached the meter.
    for (code, details) in [
        (
            Code::ResourceExhausted,
            "Meter EML2137580799 is busy (timeout)",
        ),
        (Code::Unavailable, "connection refused"),
        (Code::NotFound, "Meter 'EML2137580799' not known"),
    ] {
        fake.fail_times(Rpc::Write, Some(TOKEN_OBJECT), code, details, 1);
        let (class, _, _, partial) = failed(run(&m, &token_command(None)).await);
        assert_ne!(class, FailureClass::UnknownOutcome, "{code:?}");
        assert_eq!(partial["sent"], false, "{code:?}");
        assert_eq!(partial["balance_before"], "1");
    }

    // The mediator gave up on the meter after its retries: the frame may
    // have been delivered (a read timeout counts as a failed attempt).
    for details in [
        "failed to connect after retries",
        "Meter communication failed",
    ] {
        fake.fail_times(Rpc::Write, Some(TOKEN_OBJECT), Code::Internal, details, 1);
        let (class, _, message, partial) = failed(run(&m, &token_command(None)).await);
        assert_eq!(class, FailureClass::UnknownOutcome, "{details}");
        assert!(message.contains(details));
        assert_eq!(
            partial,
            json!({"balance_before": "1", "transaction_count_before": 3, "sent": true})
        );
    }

    // Sent, but the reads after it failed: unknown, verify next time.
    fake.set_read_results(
        BALANCE,
        vec![
            Ok(le32(100_000)),
            Err((Code::Internal, "Meter communication failed".to_string())),
        ],
    );
    fake.clear_calls();
    let (class, code, message, partial) = failed(run(&m, &token_command(None)).await);
    assert_eq!(
        (class, code.as_str()),
        (FailureClass::UnknownOutcome, "INTERNAL")
    );
    assert!(
        message.starts_with("token sent, but balance and transaction count could not be read"),
        "{message}"
    );
    assert_eq!(
        partial,
        json!({"balance_before": "1", "transaction_count_before": 3, "sent": true})
    );
    assert_eq!(
        fake.short_calls(),
        ["r:ffc802", "r:ffc83e", TOKEN_WRITE, "r:ffc802"]
    );
}
