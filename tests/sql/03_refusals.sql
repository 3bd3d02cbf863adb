-- Every bad input is refused with a clear SQLSTATE and leaves nothing written.
BEGIN;
SELECT plan(30);
\ir fixtures.psql

SELECT throws_ok($$INSERT INTO flows.escos (code, name) VALUES ('wlce2', 'lower case')$$, '23514',
  'new row for relation "escos" violates check constraint "escos_code_format"', 'ESCO codes are upper case');
SELECT throws_ok($$INSERT INTO flows.escos (code, name) VALUES ('WLCE', 'again')$$, '23505', NULL, 'ESCO codes are unique');
SELECT is((SELECT count(*)::int FROM flows.escos), 1, '... and no ESCO was written');

SELECT throws_ok($$INSERT INTO flows.meter_registry (serial, esco_id) VALUES
    ('EML1000000001', '00000000-0000-0000-0000-0000000000e1'), ('EML10000001', '00000000-0000-0000-0000-0000000000e1')$$,
  '22P02', NULL, 'a malformed serial refuses the whole statement');
SELECT throws_ok($$INSERT INTO flows.meter_registry (serial, esco_id) VALUES ('eml2137580826', '00000000-0000-0000-0000-0000000000e1')$$,
  '23505', NULL, 'serials are unique whatever their case on input');
SELECT throws_ok($$INSERT INTO flows.meter_registry (serial, esco_id) VALUES ('EML1000000002', gen_random_uuid())$$,
  '23503', NULL, 'a meter needs an existing ESCO');
SELECT throws_ok($$INSERT INTO flows.meter_registry (serial, esco_id, hardware) VALUES ('EML1000000003', '00000000-0000-0000-0000-0000000000e1', 'Z9.q')$$,
  '22P02', NULL, 'hardware must be a registry hardware string');
SELECT is((SELECT count(*)::int FROM flows.meter_registry), 2, '... and no meter was written');
SELECT is((SELECT count(*)::int FROM flows.meter_shadows), 2, '... nor any shadow');

SELECT throws_ok($$INSERT INTO flows.service_head_registry (name, phase, type, feeder_id) VALUES ('SH-4', 4, 'network_owned', '00000000-0000-0000-0000-0000000000f1')$$,
  '23514', 'new row for relation "service_head_registry" violates check constraint "service_head_phase_range"', 'phase is 1 to 3');
SELECT throws_ok($$INSERT INTO flows.properties (plot, site_id) VALUES ('wl-02', '00000000-0000-0000-0000-0000000000a1')$$,
  '23514', NULL, 'plots are upper case like WL-01');
SELECT throws_ok($$INSERT INTO flows.meter_registers (meter_id, element) VALUES ('00000000-0000-0000-0000-0000000000c2', 'A')$$,
  '23505', NULL, 'one enabled register per element');
SELECT lives_ok($$UPDATE flows.meter_registers SET status = 'replaced' WHERE register_id = '00000000-0000-0000-0000-000000000201';
                  INSERT INTO flows.meter_registers (meter_id, element) VALUES ('00000000-0000-0000-0000-0000000000c2', 'A')$$,
  'a replaced register makes room for its successor');
SELECT throws_ok($$INSERT INTO flows.mediators (name, address, tls_client_cert_pem) VALUES ('m1', 'mediator.local:50051', 'cert')$$,
  '23514', 'new row for relation "mediators" violates check constraint "mediators_tls_pair"', 'client certificate and key go together');
SELECT throws_ok($$INSERT INTO flows.mediators (name, address) VALUES ('m1', 'no port here')$$, '23514', NULL, 'a mediator address is host:port');

-- shadows
SELECT throws_ok($$UPDATE flows.meter_shadows SET csq = 32$$, '23514',
  'new row for relation "meter_shadows" violates check constraint "meter_shadows_csq_range"', 'csq is 0 to 31');
SELECT throws_ok($$UPDATE flows.meter_shadows SET balance = 12,
    tariffs_future = '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 1.2, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00Z"}'$$,
  '22003', 'tariff field "unit_rate_element_b" = 1.2: must be at most 1 GBP', 'a rate above 1 GBP never reaches a shadow');
SELECT throws_ok($$UPDATE flows.meter_shadows SET
    tariffs_future = '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.2, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'$$,
  '23514', NULL, 'a future tariff needs its activation_datetime');
SELECT is((SELECT count(*)::int FROM flows.meter_shadows WHERE balance IS NOT NULL OR tariffs_future IS NOT NULL OR csq IS NOT NULL), 0,
  '... and no shadow changed');

-- time series
SELECT throws_like($$INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh) VALUES ('00000000-0000-0000-0000-000000000101', '2025-01-01 00:10+00', 0.1)$$,
  '%violates check constraint "register_interval_hh_on_half_hour"',
  'half-hourly rows start on :00 or :30');
SELECT throws_ok($$INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh) VALUES ('00000000-0000-0000-0000-000000000101', '2025-01-01 00:30+00', -0.1)$$,
  '23514', NULL, 'half-hourly energy is never negative');
SELECT throws_ok($$INSERT INTO flows.register_import (register_id, timestamp, read_kwh) VALUES ('00000000-0000-0000-0000-000000000101', now(), -1)$$,
  '23514', NULL, 'cumulative reads are never negative');
SELECT throws_ok($$INSERT INTO flows.register_import (register_id, timestamp, read_kwh) VALUES (gen_random_uuid(), now(), 1)$$,
  '23503', NULL, 'reads need an existing register');
SELECT throws_like($$INSERT INTO flows.meter_csq (meter_id, timestamp, csq) VALUES ('00000000-0000-0000-0000-0000000000c1', now(), 40)$$,
  '%violates check constraint "meter_csq_range"', 'csq history is 0 to 31 too');
SELECT throws_ok($$INSERT INTO flows.meter_event_log (meter_id, timestamp, event_type) VALUES ('00000000-0000-0000-0000-0000000000c1', now(), ' ')$$,
  '23514', NULL, 'events have a type');
SELECT lives_ok($$INSERT INTO flows.meter_csq (meter_id, timestamp, csq) VALUES ('00000000-0000-0000-0000-0000000000c1', '2025-01-01', 12)$$,
  'a good csq is accepted');
SELECT throws_ok($$INSERT INTO flows.meter_csq (meter_id, timestamp, csq) VALUES ('00000000-0000-0000-0000-0000000000c1', '2025-01-01', 13)$$,
  '23505', NULL, 'one value per meter and instant');
SELECT is((SELECT count(*)::int FROM flows.register_interval_hh) + (SELECT count(*)::int FROM flows.register_import)
          + (SELECT count(*)::int FROM flows.meter_event_log), 0, '... and no time-series row was written');
SELECT is((SELECT count(*)::int FROM flows.meter_csq), 1, '... except the one good csq');

SELECT throws_ok($$SELECT flows.tariff_amount('{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.2, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}', 'unit_rate')$$,
  '22023', '"unit_rate" is not a tariff amount', 'tariff_amount names the unknown field');

SELECT * FROM finish();
ROLLBACK;
