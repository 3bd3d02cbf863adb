// `#[pg_test]`s for the Rust ↔ SQL boundary: type round trips through the
// real input/output/send/receive functions and the SQLSTATEs of refusals.

use pgrx::prelude::*;

fn sqlstate_of(sql: &str) -> String {
    let sql = sql.replace('\'', "''");
    Spi::get_one::<String>(&format!(
        "DO $$ BEGIN EXECUTE '{sql}'; RAISE EXCEPTION 'no error' USING ERRCODE = 'P0001'; \
         EXCEPTION WHEN OTHERS THEN PERFORM set_config('flows_test.sqlstate', SQLSTATE || ':' || SQLERRM, true); END $$; \
         SELECT current_setting('flows_test.sqlstate')"
    ))
    .ok()
    .flatten()
    .unwrap_or_default()
}

#[pg_test]
fn meter_serial_normalizes_and_orders() {
    let s = Spi::get_one::<String>("SELECT ' eml2137580826 '::flows.meter_serial::text").unwrap().unwrap();
    assert_eq!(s, "EML2137580826");
    let ordered = Spi::get_one::<bool>(
        "SELECT 'EML0000000009'::flows.meter_serial OPERATOR(flows.<) 'EML0000000010'::flows.meter_serial",
    )
    .unwrap();
    assert_eq!(ordered, Some(true));
}

#[pg_test]
fn meter_serial_binary_form_is_the_text() {
    let bytes = Spi::get_one::<Vec<u8>>("SELECT flows.meter_serial_send('EML2137580826')").unwrap().unwrap();
    assert_eq!(bytes, b"EML2137580826");
}

#[pg_test]
fn bad_serial_is_22p02_naming_the_rule() {
    let e = sqlstate_of("SELECT 'EML12'::flows.meter_serial");
    assert!(e.starts_with("22P02:"), "{e}");
    assert!(e.contains("EML followed by exactly 10 digits"), "{e}");
}

#[pg_test]
fn token_prints_masked_and_compares_by_value() {
    let shown = Spi::get_one::<String>("SELECT '1234 5678 9012 3456 7890'::flows.prepay_token::text").unwrap().unwrap();
    assert_eq!(shown, "****************7890");
    let digits = Spi::get_one::<String>("SELECT flows.prepay_token_digits('12345678901234567890')").unwrap().unwrap();
    assert_eq!(digits, "12345678901234567890");
    let eq = Spi::get_one::<bool>(
        "SELECT '12345678901234567890'::flows.prepay_token OPERATOR(flows.=) '1234-5678-9012-3456-7890'::flows.prepay_token",
    )
    .unwrap();
    assert_eq!(eq, Some(true));
}

#[pg_test]
fn tariff_round_trips_through_jsonb_and_refuses_with_field_names() {
    let json = Spi::get_one::<pgrx::JsonB>(
        r#"SELECT '{"standing_charge": "0.5", "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1,
                   "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5,
                   "prepayment_debt_recovery_rate": 0.25}'::jsonb::flows.tariff::jsonb"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(json.0["unit_rate_element_a"].to_string(), "0.2345");
    let e = sqlstate_of(
        r#"SELECT '{"standing_charge": 1.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff"#,
    );
    assert!(e.starts_with("22003:") && e.contains("standing_charge"), "{e}");
    let e = sqlstate_of(r#"SELECT '{"standing_charge": 0.123456}'::flows.tariff"#);
    assert!(e.starts_with("22023:") && e.contains("5 decimal places"), "{e}");
    let e = sqlstate_of("SELECT 'not json'::flows.tariff");
    assert!(e.starts_with("22P02:"), "{e}");
}

#[pg_test]
fn numeric_digits_read_like_their_text() {
    // Short and long numeric headers, negative weights, trailing zeros,
    // and values the fast path must decline (too precise, NaN, huge).
    let values: Vec<String> = Spi::connect(|c| {
        c.select(
            "SELECT v::text FROM (VALUES ('0'::numeric), ('1'), ('-1'), ('0.000001'), ('12.3456'), ('99999.9999'),
                    ('123456789012.123456'), ('-0.5'), ('1e20'), ('0.0000001'), ('NaN'), ('1.10'),
                    ('10000'), ('100000000'), ('0.0001'), ('5.000000')) t(v)
             UNION ALL SELECT round((random() * 10 ^ (g % 12))::numeric, g % 7)::text FROM generate_series(1, 2000) g",
            None,
            &[],
        )
        .unwrap()
        .map(|row| row.get::<String>(1).unwrap().unwrap())
        .collect()
    });
    assert!(values.len() > 2000);
    for text in values {
        let n: pgrx::AnyNumeric = text.parse().unwrap();
        let d = pgrx::IntoDatum::into_datum(n).unwrap();
        let expected = flows_energy::micro_kwh_from_decimal(&text).ok();
        assert_eq!(crate::numeric::numeric_micro(d), expected, "numeric {text}");
    }
}

#[pg_test]
fn numerics_written_from_micro_kwh_equal_those_postgres_makes() {
    let mut values: Vec<i64> = vec![0, 1, -1, 99, 100, 9_999, 10_000, 213_000, 1_000_000, 1_000_500_000,
        10_000_000_000, 12_345_678_123_456, -2_500_000, 99_999_999_999_999, i64::MAX, i64::MIN + 1];
    values.extend((0..2000_i64).map(|i| {
        let spread = (i128::from(i) * 7_919_993).pow(2) % 10_i128.pow((i % 15) as u32 + 1);
        i64::try_from(spread).unwrap() * if i % 3 == 0 { -1 } else { 1 }
    }));
    for micro in values {
        let d = crate::numeric::micro_numeric(micro);
        let text = flows_energy::micro_kwh_to_decimal(micro);
        let n = unsafe { <pgrx::AnyNumeric as pgrx::FromDatum>::from_datum(d, false) }.unwrap();
        assert_eq!(n.to_string(), text, "{micro}");
        assert_eq!(crate::numeric::numeric_micro(d), Some(micro), "{micro}");
        // Same value, scale and bytes as numeric_in (so hashing, equality
        // and dumps cannot tell them apart).
        let same = Spi::get_one_with_args::<bool>(
            "SELECT $1 = $2::numeric AND scale($1) = 6 AND numeric_send($1) = numeric_send($2::numeric)
                    AND hash_numeric($1) = hash_numeric($2::numeric)",
            &[n.into(), text.clone().into()],
        )
        .unwrap()
        .unwrap();
        assert!(same, "{micro} = {text}");
    }
    // In a column's type: numeric(15,4) rounds half away from zero to four
    // decimals and keeps the column's scale; numeric(14,6) refuses 9 integer digits.
    let typmod = |p: i32, s: i32| ((p << 16) | s) + 4;
    for (micro, expected) in [(7_000_000, "7.0000"), (1_234_550, "1.2346"), (-1_234_550, "-1.2346"), (49, "0.0000")] {
        let d = crate::numeric::micro_numeric_typmod(micro, typmod(15, 4)).unwrap();
        let n = unsafe { <pgrx::AnyNumeric as pgrx::FromDatum>::from_datum(d, false) }.unwrap();
        assert_eq!(n.to_string(), expected, "{micro}");
    }
    assert!(crate::numeric::micro_numeric_typmod(99_999_999_999_999, typmod(14, 6)).is_some());
    assert!(crate::numeric::micro_numeric_typmod(100_000_000_000_000, typmod(14, 6)).is_none());
    assert!(crate::numeric::micro_numeric_typmod(-100_000_000_000_000, typmod(14, 6)).is_none());
}
