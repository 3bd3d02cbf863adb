-- Custom types as users meet them: normalisation, masking, casts, refusals.
BEGIN;
SELECT plan(30);

-- meter_serial
SELECT is(' eml2137580826 '::flows.meter_serial::text, 'EML2137580826', 'serial input is trimmed and upper-cased');
SELECT is('EML0000000042'::flows.meter_serial::text, 'EML0000000042', 'serial keeps leading zeros');
SELECT ok('EML2137580826'::flows.meter_serial = 'eml2137580826'::flows.meter_serial, 'serials compare by value');
SELECT ok('EML0000000099'::flows.meter_serial < 'EML0000000100'::flows.meter_serial, 'serials order like their text');
SELECT throws_ok($$SELECT 'EML12345'::flows.meter_serial$$, '22P02',
  'invalid meter serial "EML12345": a meter serial is EML followed by exactly 10 digits, e.g. EML2137580826',
  'a short serial is refused naming the rule');
SELECT throws_ok($$SELECT 'ABC2137580826'::flows.meter_serial$$, '22P02', NULL, 'a serial must start with EML');
SELECT is((SELECT count(DISTINCT s) FROM (VALUES ('EML2137580826'::flows.meter_serial), ('eml2137580826'), ('EML2207642296')) v(s))::int,
  2, 'DISTINCT uses the serial''s equality (hash or sort)');
SELECT is(flows.meter_serial_send('EML2137580826'), '\x454d4c32313337353830383236'::bytea, 'binary form of a serial is its text');

-- prepay_token
SELECT is('12345678901234567890'::flows.prepay_token::text, '****************7890', 'tokens print masked');
SELECT is('1234 5678-9012 3456 7890'::flows.prepay_token::text, '****************7890', 'grouped digits are accepted');
SELECT is(flows.prepay_token_digits('00000000000000000001'), '00000000000000000001', 'the worker function gives every digit');
SELECT ok('12345678901234567890'::flows.prepay_token = '1234-5678-9012-3456-7890'::flows.prepay_token, 'tokens compare by value');
SELECT throws_like($$SELECT '1234567890123456789'::flows.prepay_token$$,
  '%exactly 20 digits%', 'a 19-digit token is refused');
SELECT throws_ok($$SELECT '****************7890'::flows.prepay_token$$, '22P02',
  'invalid prepay token "****************7890": a masked token cannot be turned back into a token',
  'masked text cannot become a token again');
SELECT unalike((SELECT m FROM (SELECT '12345678901234567890'::flows.prepay_token::text AS m) x), '%123456789%',
  'no more than 4 digits are ever shown');
SET LOCAL flows.reveal_tokens = on;
SELECT is('12345678901234567890'::flows.prepay_token::text, '12345678901234567890', 'a superuser can reveal tokens for pg_dump');
SET LOCAL flows.reveal_tokens = off;
CREATE ROLE flows_test_nobody NOLOGIN;
GRANT USAGE ON SCHEMA flows TO flows_test_nobody;
SET LOCAL ROLE flows_test_nobody;
SELECT throws_ok($$SELECT flows.prepay_token_digits('12345678901234567890')$$, '42501', NULL,
  'only the worker role may read token digits');
SELECT throws_ok($$SET flows.reveal_tokens = on$$, '42501', NULL, 'only a superuser may reveal tokens');
RESET ROLE;
SET LOCAL ROLE flows_worker;
SELECT is(flows.prepay_token_digits('12345678901234567890'), '12345678901234567890', 'the worker role reads token digits');
RESET ROLE;

-- tariff
SELECT is(
  '{"standing_charge": "0.5", "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.10, "prepayment_emergency_credit": 15,
    "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T01:00:00+01:00"}'::flows.tariff::text,
  '{"standing_charge": 0.5, "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00+00:00"}',
  'tariff text is canonical JSON with exact decimals and UTC activation');
SELECT is(flows.tariff_activation('{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00Z"}'),
  '2025-04-01 00:00:00+00'::timestamptz, 'activation as timestamptz');
SELECT is(('{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff)->>'unit_rate_element_a',
  '0.2', 'the JSON operators work on a tariff (implicit cast to jsonb)');
SELECT is(('{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::jsonb::flows.tariff)::jsonb,
  '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::jsonb,
  'jsonb -> tariff -> jsonb round trip');
SELECT throws_ok($$SELECT '{"standing_charge": 1.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff$$,
  '22003', 'tariff field "standing_charge" = 1.5: must be at most 1 GBP', 'a standing charge above 1 GBP is refused');
SELECT throws_ok($$SELECT '{"standing_charge": 0.5, "unit_rate_element_a": 0.123456, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff$$,
  '22023', 'tariff field "unit_rate_element_a" = 0.123456: meters store at most 5 decimal places of GBP', 'six decimal places are refused');
SELECT throws_ok($$SELECT '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": -0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff$$,
  '22023', 'tariff field "unit_rate_element_b" = -0.1: must not be negative', 'negative amounts are refused');
SELECT throws_ok($$SELECT '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": "lots", "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'::flows.tariff$$,
  '22023', 'tariff field "prepayment_emergency_credit" = "lots": must be a decimal number of GBP', 'non-numeric amounts are refused');
SELECT throws_ok($$SELECT '{"standing_charge": 0.5}'::flows.tariff$$,
  '22023', 'tariff field "unit_rate_element_a" is required', 'missing fields are named');
SELECT throws_ok($$SELECT '{"standing_charge": 0.5, "unit_rate": 0.2}'::flows.tariff$$,
  '22023', 'tariff field "unit_rate" is not a tariff field', 'unknown fields are named');
SELECT throws_ok($$SELECT 'not json'::flows.tariff$$, '22P02', NULL, 'malformed JSON is a text representation error');

SELECT * FROM finish();
ROLLBACK;
