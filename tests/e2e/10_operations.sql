-- End to end, the happy paths: RPC → queue → worker → mediator simulator →
-- results in the domain. Runs in autocommit: the worker must see each request.
\set ON_ERROR_STOP 1
SELECT plan(27);

-- A top-up: read balance, send, read again; completed because the balance rose.
SELECT (flows_api.push_token('EML2200000001', '1234 5678 9012 3456 0250', 'e2e-pay-1')).id AS tok1 \gset
SELECT is((e2e.finished(:tok1)).status, 'succeeded', 'a token push succeeds');
SELECT results_eq($$SELECT status::text, balance_before, balance_after FROM flows.prepay_topups WHERE command_id = $$ || :tok1,
  $$VALUES ('completed', 5::numeric(12,5), 7.5::numeric(12,5))$$, 'the ledger has the top-up completed with both balances');
SELECT is(e2e.balance('EML2200000001'), 7.5::numeric(12,5), 'the shadow has the new balance');
SELECT is((SELECT count(*)::int FROM flows.meter_prepay_balance b JOIN flows.meter_registry m ON m.id = b.meter_id
            WHERE m.serial::text = 'EML2200000001' AND b.balance = 7.5), 1, 'the balance landed in meter_prepay_balance');
SELECT is((e2e.sim_state('EML2200000001')->'shadow'->'tokens'->>'accepted_count')::int, 1, 'the meter accepted the token once');
SELECT is((flows_api.push_token('EML2200000001', '12345678901234560250', 'e2e-pay-1')).id, :tok1::bigint,
  'a retried HTTP request returns the same command');

-- A token the meter takes without crediting anything: failed, with the reason.
SELECT (flows_api.push_token('EML2200000002', '11112222333344440000')).id AS tok2 \gset
SELECT is((e2e.finished(:tok2)).error->>'code', 'TOKEN_NOT_APPLIED', 'no balance rise: the push fails with the reason');
SELECT is((SELECT status::text FROM flows.prepay_topups WHERE command_id = :tok2), 'failed', '... and the top-up is failed');

-- A future tariff: eleven writes, read back, compared, recorded; bytes exact in the meter.
SELECT (flows_api.set_future_tariff('EML2200000009', '{"standing_charge": 0.61, "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1234, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2099-04-01T00:00:00Z"}')).id AS tariff \gset
SELECT is((e2e.finished(:tariff)).result->>'verified', 'true', 'the tariff write is read back and verified');
SELECT is((SELECT tariffs_future::jsonb->>'unit_rate_element_b' FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id
            WHERE m.serial::text = 'EML2200000009'), '0.1234', 'meter_shadows.tariffs_future holds what the meter holds');
SELECT is((SELECT count(*)::int FROM flows.emop_write_plan('tariffs_future_write', (SELECT args FROM flows.commands WHERE id = :tariff)) p
            WHERE e2e.sim_state('EML2200000009')->'shadow'->'tariff_objects'->>p.object_id = encode(p.payload, 'hex')),
  11, 'all eleven tariff objects in the simulated meter equal the write plan byte for byte');

-- Reads land where they belong.
CREATE TEMP TABLE reads AS
  SELECT id, operation FROM flows_api.request_meter_read('EML2200000009',
    ARRAY['csq', 'prepay_balance', 'registers', 'voltage', 'clock', 'hardware', 'firmware', 'tariffs_active', 'prepay_enabled', 'transaction_count']);
SELECT is((SELECT count(*)::int FROM reads r WHERE (e2e.finished(r.id)).status = 'succeeded'), 10, 'ten reads succeed');
SELECT is((SELECT s.csq::int FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2200000009'),
  (e2e.sim_state('EML2200000009')->'shadow'->>'csq')::int, 'csq in the shadow is the meter''s');
SELECT ok(EXISTS (SELECT FROM flows.meter_csq c JOIN flows.meter_registry m ON m.id = c.meter_id WHERE m.serial::text = 'EML2200000009'),
  'csq landed in meter_csq');
SELECT is((SELECT count(DISTINCT r.element)::int FROM flows.register_import i JOIN flows.meter_registers r ON r.register_id = i.register_id
            JOIN flows.meter_registry m ON m.id = r.meter_id WHERE m.serial::text = 'EML2200000009'), 2,
  'a twin-element meter''s register reads landed for elements A and B');
SELECT ok(EXISTS (SELECT FROM flows.meter_voltage v JOIN flows.meter_registry m ON m.id = v.meter_id WHERE m.serial::text = 'EML2200000009'),
  'voltage landed in meter_voltage');
SELECT results_eq($$SELECT s.hardware, s.firmware IS NOT NULL, s.clock_time_diff_seconds IS NOT NULL, s.tariffs_active IS NOT NULL, s.prepay_enabled
                      FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2200000009'$$,
  $$VALUES ('C1.w', true, true, true, true)$$, 'hardware, firmware, clock drift, active tariff and prepay flag are in the shadow');
SELECT is((SELECT health::text FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2200000009'),
  'healthy', 'a meter that answers is healthy');

-- Event log and profile log.
SELECT e2e.sim('event EML2200000003 7') AS ignored \gset
SELECT count(*) AS logs FROM flows_api.request_meter_read('EML2200000003', ARRAY['event_log', 'profile_log']) \gset
SELECT is((SELECT count(*)::int FROM flows.commands c WHERE c.meter_id = (SELECT id FROM flows.meter_registry WHERE serial::text = 'EML2200000003')
            AND (e2e.finished(c.id, '60 seconds')).status = 'succeeded'), 2, 'event log and profile log reads succeed');
SELECT ok(EXISTS (SELECT FROM flows.meter_event_log e JOIN flows.meter_registry m ON m.id = e.meter_id WHERE m.serial::text = 'EML2200000003'),
  'events landed in meter_event_log');
SELECT ok((SELECT count(*) FROM flows.register_reads i JOIN flows.meter_registers r ON r.register_id = i.register_id
            JOIN flows.meter_registry m ON m.id = r.meter_id WHERE m.serial::text = 'EML2200000003' AND i.source = 'profile') >= 40,
  'a day of profile points landed in register_profile_days');

-- Writes.
SELECT (flows_api.request_meter_write('EML2200000004', 'backlight_write', '{"setting": 30}')).id AS bl \gset
SELECT is((e2e.finished(:bl)).status, 'succeeded', 'a backlight write succeeds');
SELECT is((e2e.sim_state('EML2200000004')->'shadow'->'flags'->>'backlight')::int, 30, '... and the meter has it');
SELECT (flows_api.request_meter_write('EML2200000004', 'prepay_enabled_write', '{"enabled": false}')).id AS pe \gset
SELECT is((e2e.finished(:pe)).status, 'succeeded', 'prepay can be disabled');
SELECT is((SELECT prepay_enabled FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2200000004'),
  false, '... and the shadow says so');
SELECT (flows_api.request_meter_write('EML2200000004', 'prepay_enabled_write', '{"enabled": true}')).id AS pe2 \gset
SELECT is((e2e.finished(:pe2)).error->>'code', 'BALANCE_TOO_LOW', 'enabling prepay below 10 GBP is refused as the reference does');
SELECT (flows_api.request_meter_write('EML2200000004', 'clock_time_write')).id AS clk \gset
SELECT is((e2e.finished(:clk)).status, 'succeeded', 'the clock can be synchronised');

SELECT * FROM finish();
