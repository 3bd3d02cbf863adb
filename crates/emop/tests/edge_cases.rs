//! Edge cases the vectors do not spell out: amount truncation and range,
//! the 5-decimal rule, argument validation of the write plans, short
//! payloads, frame parsing limits, and the composite state machine.

use flows_emop::composite::{CompositeRead, Step};
use flows_emop::data_field::{self, DataField};
use flows_emop::event_log::event_log_request;
use flows_emop::frame::{crc16, Frame};
use flows_emop::money::{encode_amount_u4le, validate_rate};
use flows_emop::records::python_strip;
use flows_emop::write_plan::{check_prepay_enable_balance, reads_before_write, write_plan};
use flows_emop::{
    decode, decode_json, report_json, CodecError, Decimal, MediatorFailure, Money, ObjectId,
};
use serde_json::{json, Value};

fn d(s: &str) -> Decimal {
    Decimal::parse(s).unwrap_or_else(|| panic!("{s} parses"))
}

fn tariff() -> Value {
    json!({
        "activation_datetime": "2026-01-17T00:00:00+00:00",
        "standing_charge": "0.56419",
        "unit_rate_element_a": "0.39441",
        "prepayment_emergency_credit": "19",
        "prepayment_ecredit_availability": "14.5",
        "prepayment_debt_recovery_rate": "0.12",
    })
}

fn payload_of(plan: &[(ObjectId, Vec<u8>)], id: ObjectId) -> Vec<u8> {
    plan.iter()
        .find(|(i, _)| *i == id)
        .map(|(_, p)| p.clone())
        .expect("id in plan")
}

// ------------------------------------------------------------- amounts --

#[test]
fn amounts_truncate_toward_zero() {
    let enc = |s: &str| u32::from_le_bytes(encode_amount_u4le("x", &d(s)).unwrap());
    assert_eq!(enc("0.123456"), 12345);
    assert_eq!(enc("0.123459999"), 12345);
    assert_eq!(enc("0.000009"), 0);
    assert_eq!(enc("0.000025"), 2);
    assert_eq!(enc("1E+1"), 1_000_000);
    assert_eq!(enc("42949.672959"), u32::MAX);
}

#[test]
fn negative_and_oversized_amounts_are_refused() {
    for bad in [
        "-0.00001",
        "-1",
        "42949.67296",
        "1e10",
        "99999999999999999999999999999999999999",
    ] {
        let e = encode_amount_u4le("prepayment_emergency_credit", &d(bad)).unwrap_err();
        assert!(
            matches!(e, CodecError::AmountOutOfRange { .. }),
            "{bad}: {e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("prepayment_emergency_credit: amount"),
            "{e}"
        );
    }
}

#[test]
fn five_decimal_rule_counts_the_spelling() {
    assert!(validate_rate("r", &d("0.12345")).is_ok());
    assert!(validate_rate("r", &d("0.123450")).is_err());
    assert!(validate_rate("r", &d("0.200000")).is_err());
    assert!(validate_rate("r", &d("2E-5")).is_ok());
    assert!(validate_rate("r", &d("2E-6")).is_err());
    assert!(validate_rate("r", &d("1")).is_ok());
    assert!(validate_rate("r", &d("1.000000")).is_err());
}

#[test]
fn money_round_trips_through_decimal_text() {
    for units in [
        0i64,
        1,
        10,
        8650,
        99_999,
        100_000,
        1_500_000,
        u32::MAX as i64,
        -5,
        -1_325_197,
    ] {
        let text = Money::from_units(units).to_string();
        assert_eq!(
            d(&text).to_money_exact(),
            Some(Money::from_units(units)),
            "{text}"
        );
    }
    assert_eq!(d("0.123456").to_money_exact(), None);
    assert_eq!(
        d("12.500000").to_money_exact(),
        Some(Money::from_units(1_250_000))
    );
}

// ---------------------------------------------------------- object ids --

#[test]
fn unknown_object_id_names_and_bad_hex() {
    assert!(matches!(
        ObjectId::from_name("prepay_balanse"),
        Err(CodecError::UnknownObjectName(_))
    ));
    assert!(matches!(
        ObjectId::parse("no_such_register"),
        Err(CodecError::UnknownObjectName(_))
    ));
    assert!(matches!(
        ObjectId::parse("ffc8"),
        Err(CodecError::InvalidObjectId(_))
    ));
    assert!(matches!(
        ObjectId::from_hex("ffc8021"),
        Err(CodecError::InvalidObjectId(_))
    ));
    assert_eq!(ObjectId::parse("FFC802").unwrap(), ObjectId::PREPAY_BALANCE);
    assert_eq!(
        ObjectId::parse("0xffc802").unwrap(),
        ObjectId::PREPAY_BALANCE
    );
    assert_eq!(
        ObjectId::parse("prepay_balance").unwrap(),
        ObjectId::PREPAY_BALANCE
    );
    // Unnamed ids are valid ids, shown the way the reference shows them.
    let unnamed = ObjectId::parse("f91c5d").unwrap();
    assert_eq!(unnamed.name(), None);
    assert_eq!(unnamed.describe(), "0xf91c5d");
    assert!(decode_json("unknown_thing", &[]).is_err());
}

#[test]
fn obis_triplets() {
    assert_eq!(
        ObjectId::from_obis("255.255.13").unwrap(),
        ObjectId::PREPAY_ENABLED_FLAG
    );
    for bad in [
        "256.0.0", "1.2", "1.2.3.4", "a.b.c", "1..2", "-1.0.0", " 1.2.3",
    ] {
        assert!(ObjectId::from_obis(bad).is_err(), "{bad}");
    }
}

// ------------------------------------------------------------- decoding --

#[test]
fn short_payloads_are_errors_surplus_is_ignored() {
    let e = decode(ObjectId::PREPAY_BALANCE, &[1, 2, 3]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "prepay_balance: payload of 3 bytes is shorter than its PrepayBalanceRec record (4 bytes)"
    );
    let r = decode(ObjectId::PREPAY_BALANCE, &[0x40, 0x42, 0x0f, 0x00, 0xff]).unwrap();
    assert_eq!(r.money(), Some(Money::from_gbp(10)));
    assert!(decode(ObjectId::READ_ELEMENT_A, &[0; 15]).is_err());
    // Whole-payload layouts accept anything, including nothing.
    assert!(decode(ObjectId::INSTANTANEOUS_FREQUENCY, &[]).is_ok());
    assert!(
        decode(ObjectId::SERIAL, &[0xe9]).is_err(),
        "non-ASCII serial"
    );
}

#[test]
fn decode_and_report_json() {
    assert_eq!(
        decode_json("ffc802", &[0x49, 0x66, 0x01, 0x00]).unwrap(),
        json!({"balance": 91721})
    );
    assert_eq!(
        report_json("prepay_balance", &[0x49, 0x66, 0x01, 0x00], None).unwrap(),
        json!("0.91721")
    );
    assert_eq!(report_json("fffd1d", &[0x4a], None).unwrap(), json!(10));
    // three-phase totals depend on the meter build
    let p = 123_456_789u32.to_le_bytes();
    assert_eq!(
        report_json("010800", &p, Some("P1.ax")).unwrap(),
        json!(123456.789)
    );
    assert_eq!(
        report_json("010800", &p, Some("P1.cx")).unwrap(),
        json!(12345.6789)
    );
    // a clock record that is no date-time
    assert!(report_json("time", &[25, 13, 1, 0, 0, 0, 0], None).is_err());
}

#[test]
fn typed_accessors() {
    let r = decode(
        ObjectId::READ_ELEMENT_A,
        &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0],
    )
    .unwrap();
    let regs = r.registers().unwrap();
    assert_eq!((regs.import_active, regs.export_reactive), (1, 4));
    assert_eq!(
        decode(ObjectId::PREPAY_ENABLED_FLAG, &[2]).unwrap().flag(),
        Some(false)
    );
    assert_eq!(
        decode(ObjectId::PREPAY_ENABLED_FLAG, &[1]).unwrap().flag(),
        Some(true)
    );
    assert_eq!(
        decode(ObjectId::CSQ_NET_OP, &[0xe0]).unwrap().csq(),
        Some(0)
    );
    let clock = decode(ObjectId::TIME, &[0x19, 0x0b, 0x1c, 0x11, 0x2f, 0x03, 0x05]).unwrap();
    assert_eq!(
        clock.clock().unwrap().unwrap().to_string(),
        "2025-11-28T17:47:03+00:00"
    );
    assert_eq!(python_strip("\x1c EML1\t\0"), "EML1\t\0");
    assert_eq!(
        flows_emop::records::Registers::kwh_text(1_234_500),
        "1234.5"
    );
    assert_eq!(flows_emop::records::Registers::kwh_text(7_000), "7");
    let fw = decode(ObjectId::FIRMWARE_VERSION, b"02A6").unwrap();
    assert_eq!(fw.firmware().unwrap().unwrap(), "0_2A_6");
    assert_eq!(
        decode(ObjectId::HARDWARE_VERSION, b"")
            .unwrap()
            .hardware_text(),
        Some("")
    );
}

// ---------------------------------------------------------- write plans --

#[test]
fn element_b_may_have_its_own_rate() {
    let same = write_plan("tariffs_future_write", &tariff()).unwrap();
    let mut args = tariff();
    args["unit_rate_element_b"] = json!("0.2");
    let own = write_plan("tariffs_future_write", &args).unwrap();
    assert_eq!(
        payload_of(&own, ObjectId::TARIFF_FUTURE_ELEMENT_B_TOU_RATE_1),
        20_000u32.to_le_bytes()
    );
    assert_eq!(
        payload_of(&own, ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1),
        payload_of(&same, ObjectId::TARIFF_FUTURE_BLOCK_8_RATE_1)
    );
    args["unit_rate_element_b"] = json!("1.2");
    let e = write_plan("tariffs_future_write", &args).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unit_rate_element_b: Invalid rate 1.2. Can't be greater than 1 GBP."
    );
}

#[test]
fn tariff_is_validated_whole_before_any_write() {
    for (field, value) in [
        ("prepayment_emergency_credit", json!("-0.1")),
        ("prepayment_ecredit_availability", json!("50000")),
        ("prepayment_debt_recovery_rate", json!("-1")),
        ("activation_datetime", json!("1999-12-31T00:00:00+00:00")),
        ("activation_datetime", json!("2026-01-17T00:00:00")),
        ("standing_charge", json!("abc")),
        ("standing_charge", json!(true)),
    ] {
        let mut args = tariff();
        args[field] = value.clone();
        let e = write_plan("tariffs_future_write", &args).unwrap_err();
        assert!(e.to_string().contains(field), "{field}={value}: {e}");
    }
    let mut args = tariff();
    args.as_object_mut().unwrap().remove("standing_charge");
    let e = write_plan("tariffs_future_write", &args).unwrap_err();
    assert!(matches!(e, CodecError::MissingArgument { .. }), "{e}");
    let mut args = tariff();
    args["unit_rate_b"] = json!("0.1"); // misspelt optional argument
    let e = write_plan("tariffs_future_write", &args).unwrap_err();
    assert!(matches!(e, CodecError::UnknownArgument { .. }), "{e}");
}

#[test]
fn tariff_numbers_and_offsets() {
    let mut args = tariff();
    args["standing_charge"] = json!(0.56419);
    args["prepayment_emergency_credit"] = json!(19);
    assert_eq!(
        write_plan("tariffs_future_write", &args).unwrap(),
        write_plan("tariffs_future_write", &tariff()).unwrap()
    );
    args["activation_datetime"] = json!("2026-01-17T01:00:00+01:00");
    let plan = write_plan("tariffs_future_write", &args).unwrap();
    assert_eq!(
        plan.last().unwrap().1,
        write_plan("tariffs_future_write", &tariff())
            .unwrap()
            .last()
            .unwrap()
            .1
    );
}

#[test]
fn prepay_enable_needs_a_balance_of_ten() {
    let enable = json!({"enabled": true});
    assert_eq!(
        reads_before_write("prepay_enabled_write", &enable).unwrap(),
        vec![ObjectId::PREPAY_BALANCE]
    );
    assert!(
        reads_before_write("prepay_enabled_write", &json!({"enabled": false}))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        write_plan("prepay_enabled_write", &enable),
        Err(CodecError::MissingArgument { .. })
    ));
    let plan = write_plan(
        "prepay_enabled_write",
        &json!({"enabled": true, "balance": "10"}),
    )
    .unwrap();
    assert_eq!(plan, vec![(ObjectId::PREPAY_ENABLED_FLAG, vec![1])]);
    let e = write_plan(
        "prepay_enabled_write",
        &json!({"enabled": true, "balance": "9.99999"}),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "balance 9.99999 too low to enable prepay mode (< 10.0). add more credit and try again."
    );
    assert!(check_prepay_enable_balance(Money::from_units(-1)).is_err());
    assert!(check_prepay_enable_balance(Money::from_gbp(10)).is_ok());
    let plan = write_plan("prepay_enabled_write", &json!({"enabled": false})).unwrap();
    assert_eq!(plan, vec![(ObjectId::PREPAY_ENABLED_FLAG, vec![0])]);
}

#[test]
fn other_write_arguments() {
    let bad = [
        ("prepay_send_token", json!({"token": "1234"})),
        (
            "prepay_send_token",
            json!({"token": "1234567890123456789a"}),
        ),
        ("backlight_write", json!({"setting": 93})),
        ("backlight_write", json!({"setting": "always_on"})),
        ("load_switch_write", json!({"setting": 1})),
        ("clock_time_write", json!({"now": "2023-10-26T17:30:13"})),
        (
            "obis_write",
            json!({"obis": "255.255.12", "payload_hex": "0"}),
        ),
        (
            "obis_write",
            json!({"obis": "255.255.12", "payload_hex": "00".repeat(239)}),
        ),
        (
            "daylight_savings_correction_enabled_write",
            json!({"enabled": "yes"}),
        ),
        (
            "tariffs_time_switches_element_b_write",
            json!({"block": "00"}),
        ),
        ("no_such_write", json!({})),
        ("backlight_write", json!([0])),
    ];
    for (op, args) in bad {
        assert!(write_plan(op, &args).is_err(), "{op} {args}");
    }
    let clock = write_plan(
        "clock_time_write",
        &json!({"now": "2023-10-26T18:30:13+01:00"}),
    )
    .unwrap();
    assert_eq!(
        clock[0].1,
        [0x17, 0x0a, 0x1a, 0x11, 0x1e, 0x0d, 0x04],
        "written as UTC"
    );
    let sw = write_plan("tariffs_time_switches_element_b_write", &Value::Null).unwrap();
    assert_eq!(
        sw,
        vec![(ObjectId::TARIFF_TIME_SWITCH_ELEMENT_B, vec![0; 80])]
    );
    assert_eq!(
        write_plan("backlight_write", &json!({"setting": 255})).unwrap()[0].1,
        [0xff]
    );
}

// --------------------------------------------------------------- frames --

#[test]
fn crc_check_value() {
    assert_eq!(crc16(b"123456789"), 0x29b1);
}

#[test]
fn frame_parsing_limits() {
    let df = data_field::read_request(ObjectId::SERIAL);
    let frame = Frame::from_mediator(df.clone()).encode().unwrap();
    // trailing bytes after the frame are ignored
    let mut longer = frame.clone();
    longer.extend_from_slice(&[0x7e, 0x00]);
    let parsed = Frame::parse(&longer).unwrap();
    assert_eq!(parsed.consumed, frame.len());
    assert!(parsed.crc_ok());
    // a truncated frame is refused
    assert!(Frame::parse(&frame[..frame.len() - 1]).is_err());
    assert!(Frame::parse(&[]).is_err());
    assert!(Frame::parse(&[0x7d, 0x11]).is_err());
    // a wrong CRC still parses (the mediator does not check it) but shows
    let mut bad = frame.clone();
    *bad.last_mut().unwrap() ^= 0xff;
    let parsed = Frame::parse(&bad).unwrap();
    assert!(!parsed.crc_ok());
    assert_eq!(parsed.frame.data_field, df);
    // size limits
    assert!(Frame::from_mediator(vec![]).encode().is_err());
    assert!(Frame::from_mediator(vec![1; 244]).encode().is_err());
    assert_eq!(
        Frame::from_mediator(vec![1; 243]).encode().unwrap().len(),
        256
    );
}

#[test]
fn simulator_round_trip() {
    // The mediator sends a read; a simulator parses it and answers.
    let request = Frame::from_mediator(data_field::read_request(ObjectId::PREPAY_BALANCE))
        .encode()
        .unwrap();
    let parsed = Frame::parse(&request).unwrap();
    let msg = DataField::parse(&parsed.frame.data_field)
        .unwrap()
        .element()
        .unwrap();
    assert_eq!(
        (msg.object_id, msg.flag, msg.payload),
        (ObjectId::PREPAY_BALANCE, data_field::FLAG_READ, &[][..])
    );
    let reply = Frame::from_mediator(data_field::read_reply(
        msg.object_id,
        &[0x40, 0x42, 0x0f, 0x00],
    ))
    .encode()
    .unwrap();
    let back = Frame::parse(&reply).unwrap();
    let payload = DataField::parse(&back.frame.data_field)
        .unwrap()
        .element()
        .unwrap()
        .payload
        .to_vec();
    assert_eq!(
        decode(ObjectId::PREPAY_BALANCE, &payload).unwrap().money(),
        Some(Money::from_gbp(10))
    );
    // write request and acknowledgement
    let w = data_field::write_request(ObjectId::PREPAY_ENABLED_FLAG, &[1]).unwrap();
    assert_eq!(
        Frame::from_mediator(w).encode().unwrap(),
        flows_emop::from_hex("7e12000000000021ae420501ffff0d01010124").unwrap()
    );
    assert!(data_field::write_request(ObjectId::SERIAL, &[0; 239]).is_err());
}

// ------------------------------------------------------------ composite --

#[test]
fn composite_state_machine() {
    let mut op = CompositeRead::new("read", &json!({})).unwrap();
    assert_eq!(op.fixed_reads(), None);
    assert_eq!(op.step(), Step::Read(ObjectId::HARDWARE_VERSION));
    // a reply for another id is refused
    assert!(op.supply(ObjectId::SERIAL, Ok(vec![])).is_err());
    op.supply(ObjectId::HARDWARE_VERSION, Ok(b"6Bw".to_vec()))
        .unwrap();
    assert_eq!(op.step(), Step::Read(ObjectId::READ_ELEMENT_A));
    op.supply(
        ObjectId::READ_ELEMENT_A,
        Ok(vec![0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    )
    .unwrap();
    match op.step() {
        Step::Done(Ok(v)) => assert_eq!(v[0]["import_active"], json!(1.0)),
        other => panic!("{other:?}"),
    }
    assert!(
        op.supply(ObjectId::READ_ELEMENT_B, Ok(vec![])).is_err(),
        "nothing pending"
    );
}

#[test]
fn composite_failures() {
    // a failed read fails the whole tariff read, naming the object
    let op = CompositeRead::new("tariffs_active_read", &Value::Null).unwrap();
    let r = op.run(|id| {
        if id == ObjectId::TARIFF_ACTIVE_PRICE {
            Err(MediatorFailure::new(
                "INTERNAL",
                "Meter communication failed",
            ))
        } else {
            Ok(vec![0; 14])
        }
    });
    match r {
        Err(CodecError::ReadFailed { object, failure }) => {
            assert_eq!(object, ObjectId::TARIFF_ACTIVE_PRICE);
            assert_eq!(failure.details, "Meter communication failed");
        }
        other => panic!("{other:?}"),
    }
    // a short payload is a decode error
    let op = CompositeRead::new("three_phase_instantaneous_voltage", &Value::Null).unwrap();
    assert!(matches!(
        op.run(|_| Ok(vec![1])),
        Err(CodecError::PayloadTooShort { .. })
    ));
    // three_phase_read without hardware reads it first; short totals blank
    let op = CompositeRead::new("three_phase_read", &json!({})).unwrap();
    let mut calls = Vec::new();
    let v = op
        .run(|id| {
            calls.push(id);
            Ok(match id {
                ObjectId::HARDWARE_VERSION => vec![],
                ObjectId::THREE_PHASE_HARDWARE_CONFIGURATION => vec![0x00, 0, 0, 0],
                ObjectId::THREE_PHASE_TOTAL_ACTIVE_IMPORT => vec![1, 2],
                _ => 10_000u32.to_le_bytes().to_vec(),
            })
        })
        .unwrap();
    assert_eq!(calls.len(), 8);
    assert_eq!(v["active_import"], Value::Null);
    assert_eq!(v["active_export"], json!(1.0), "cx meters count 0.1 Wh");
    assert!(CompositeRead::new("tariffs_pricing_blocks_read", &json!({})).is_err());
    assert!(CompositeRead::new("no_such_read", &json!({})).is_err());
}

// ----------------------------------------------------------- event log --

#[test]
fn event_log_indexes() {
    assert_eq!(
        event_log_request(0).unwrap(),
        [0x05, 0xff, 0xff, 0x49, 0x00]
    );
    assert_eq!(event_log_request(9).unwrap()[4], 9);
    for bad in [-1i64, 10, 256, i64::MAX] {
        assert_eq!(
            event_log_request(bad).unwrap_err().to_string(),
            format!("Invalid log_idx {bad}. Must be in range 0-9.")
        );
    }
}

// ------------------------------------------------------- hostile input --

/// Deterministic pseudo-random bytes (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 56) as u8
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = usize::from(self.next()) % (max + 1);
        (0..n).map(|_| self.next()).collect()
    }
}

#[test]
fn arbitrary_input_never_panics() {
    use flows_emop::{event_log, profile_log, report, three_phase_intervals};
    let mut rng = Lcg(7);
    let ids: Vec<ObjectId> = ObjectId::all_named().map(|(_, id)| id).collect();
    for round in 0..4000 {
        let bytes = rng.bytes(120);
        let id = ids[round % ids.len()];
        if let Ok(rec) = decode(id, &bytes) {
            let _ = rec.fields_json();
            let _ = report::reported_value(id, &rec, Some("P1.cx"));
        }
        let _ = Frame::parse(&bytes);
        let mut framed = vec![0x7e, bytes.len() as u8];
        framed.extend_from_slice(&bytes);
        let _ = Frame::parse(&framed);
        let _ = three_phase_intervals::decode_block(&bytes).map(|b| b.intervals.len());
        let _ = event_log::decode_event_log(&bytes);
        let _ = profile_log::decode_log_1(&bytes);
        let _ = profile_log::decode_log_2(&bytes, round % 2 == 0);
        let text = String::from_utf8_lossy(&bytes).to_string();
        let _ = Decimal::parse(&text);
        let _ = flows_emop::time::DateTime::parse("t", &text);
        let _ = ObjectId::parse(&text);
        let _ = ObjectId::from_obis(&text);
        let _ = flows_emop::pem::decode_b64_pem_secret(&text);
    }
}
