-- The EMOP codec from SQL, checked against the reference's conformance vectors.
BEGIN;
SELECT plan(7);

SELECT is(flows.emop_decode('prepay_balance', '\x49660100'), '{"balance": 91721}'::jsonb, 'a balance record decodes by name');
SELECT is(flows.emop_decode('ffc802', '\x9752efff'), '{"balance": -1092969}'::jsonb, '... and by 6 hex digits (negative balance)');
SELECT throws_ok($$SELECT flows.emop_decode('no_such_object', '\x00')$$, '22023', NULL, 'an unknown object id is refused');
SELECT throws_ok($$SELECT flows.emop_decode('prepay_balance', '\x4966')$$, '22P03', NULL, 'a short payload is refused');

-- The reference's future tariff write for ["2027-02-27T01:00:00+01:00", "0.48775", "0.192", "5", "2.5", "0.25"]: 11 writes, in order.
SELECT results_eq(
  $$SELECT object_id, payload FROM flows.emop_write_plan('tariffs_future_write', '{"activation_datetime": "2027-02-27T01:00:00+01:00",
      "standing_charge": "0.48775", "unit_rate_element_a": "0.192", "prepayment_emergency_credit": "5",
      "prepayment_ecredit_availability": "2.5", "prepayment_debt_recovery_rate": "0.25"}')$$,
  $$SELECT o, p FROM (VALUES
('ffff21', '\x00'::bytea, 1),
('ffff1f', '\x0000000000000000000000000000'::bytea, 2),
('ffff4f', '\x00'::bytea, 3),
('fff839', '\x004b0000'::bytea, 4),
('fff601', '\x004b0000'::bytea, 5),
('ffc808', '\x20a10700'::bytea, 6),
('ffc809', '\x90d00300'::bytea, 7),
('ffc80a', '\xa8610000'::bytea, 8),
('ffc965', '\x00000000'::bytea, 9),
('ffff23', '\x87be0000'::bytea, 10),
('ffff24', '\x80ce1433'::bytea, 11)) v(o, p, n) ORDER BY n$$,
  'the tariff write plan equals the reference bytes');
SELECT results_eq($$SELECT object_id, payload FROM flows.emop_write_plan('prepay_send_token', '{"token": "09227256751756268534"}')$$,
  $$VALUES ('ffc803', convert_to('09227256751756268534', 'UTF8'))$$, 'a token is sent as its ASCII digits');
SELECT throws_like($$SELECT * FROM flows.emop_write_plan('tariffs_future_write', '{"activation_datetime": "2027-08-26T00:00:00+00:00", "standing_charge": "1.00001", "unit_rate_element_a": "0.5", "prepayment_emergency_credit": "5", "prepayment_ecredit_availability": "5", "prepayment_debt_recovery_rate": "0"}')$$,
  '%Can''t be greater than 1 GBP%', 'a write plan refuses what the reference refuses');

SELECT * FROM finish();
ROLLBACK;
