-- The domain schema of DOMAIN.md: every entity, its keys and rules, the
-- twin that follows every meter, maintained timestamps, and the views.
BEGIN;
SELECT plan(43);

SELECT has_table('flows', t, 'table flows.' || t || ' exists') FROM unnest(ARRAY[
  'escos', 'sites', 'properties', 'feeder_registry', 'service_head_registry', 'properties_service_head',
  'service_head_meter', 'meter_registry', 'meter_registers', 'meter_shadows', 'circuits', 'circuit_register',
  'register_import', 'register_export', 'register_interval_hh', 'meter_prepay_balance', 'meter_voltage',
  'meter_3p_voltage', 'meter_csq', 'meter_health_history', 'meter_event_log', 'mediators']) t;
SELECT has_view('flows', v, 'view flows.' || v || ' exists') FROM unnest(ARRAY[
  'meter_shadows_tariffs', 'meters_low_balance', 'meters_offline_recently']) v;
SELECT col_type_is('flows', 'meter_registry', 'serial', 'flows', 'meter_serial', 'meter_registry.serial is a meter_serial');
SELECT col_type_is('flows', 'meter_shadows', 'tariffs_future', 'flows', 'tariff', 'tariffs_future is a tariff');
SELECT enum_has_labels('flows', 'register_element', ARRAY['A', 'B', 'SINGLE'], 'register elements');
SELECT enum_has_labels('flows', 'meter_mode', ARRAY['active', 'passive'], 'meter modes');

\ir fixtures.psql

SELECT is((SELECT count(*)::int FROM flows.meter_shadows), 2, 'every meter got its shadow row');
SELECT is((SELECT serial::text FROM flows.meter_registry WHERE id = '00000000-0000-0000-0000-0000000000c2'),
  'EML2207642296', 'serials are stored upper-case');
SELECT is((SELECT e.code FROM flows.meter_registers r JOIN flows.meter_registry m ON m.id = r.meter_id
             JOIN flows.escos e ON e.id = m.esco_id WHERE r.register_id = '00000000-0000-0000-0000-000000000202'),
  'WLCE', 'a register is traceable to its ESCO');
SELECT is((SELECT e.code FROM flows.service_head_registry h JOIN flows.feeder_registry f ON f.id = h.feeder_id
             JOIN flows.sites s ON s.id = f.site_id JOIN flows.escos e ON e.id = s.esco_id),
  'WLCE', 'a service head is traceable to its ESCO');

-- updated_at is maintained; a shadow's is NULL until it first changes
UPDATE flows.meter_registry SET updated_at = '2020-01-01' WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT ok((SELECT updated_at > '2020-01-01' FROM flows.meter_registry WHERE id = '00000000-0000-0000-0000-0000000000c1'),
  'updated_at follows every change');
SELECT is((SELECT updated_at FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c1'), NULL,
  'a new shadow has no updated_at');
UPDATE flows.meter_shadows SET balance = 3.2, last_online_at = now() - interval '5 hours'
 WHERE meter_id = '00000000-0000-0000-0000-0000000000c1';
UPDATE flows.meter_shadows SET balance = 30, last_online_at = now() WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT isnt((SELECT updated_at FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c1'), NULL,
  'a changed shadow has updated_at');

-- views
SELECT results_eq($$SELECT serial::text, balance FROM flows.meters_low_balance$$,
  $$VALUES ('EML2137580826', 3.2::numeric(12,5))$$, 'low balance lists meters under the default 5 GBP');
SET LOCAL flows.low_balance_threshold = 50;
SELECT is((SELECT count(*)::int FROM flows.meters_low_balance), 2, 'the low balance threshold is a setting');
SELECT results_eq($$SELECT serial::text FROM flows.meters_offline_recently$$,
  $$VALUES ('EML2137580826')$$, 'offline lists meters silent longer than flows.offline_after');
SET LOCAL flows.offline_after = '6 hours';
SELECT is((SELECT count(*)::int FROM flows.meters_offline_recently), 0, 'flows.offline_after is a setting');
UPDATE flows.meter_shadows SET
  tariffs_active = '{"standing_charge": 0.5, "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}',
  tariffs_future = '{"standing_charge": 0.6, "unit_rate_element_a": 0.3, "unit_rate_element_b": 0.15, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00Z"}'
 WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT results_eq(
  $$SELECT active_unit_rate_a, active_unit_rate_b, future_standing_charge, future_activation_datetime
      FROM flows.meter_shadows_tariffs WHERE serial = 'EML2207642296'$$,
  $$VALUES (0.2345, 0.1, 0.6, '2025-04-01 00:00+00'::timestamptz)$$,
  'meter_shadows_tariffs unpacks every tariff field into typed columns');
SELECT is((SELECT tariffs_future->>'activation_datetime' FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c2'),
  '2025-04-01T00:00:00+00:00', 'the tariff JSON API keeps working on the shadow columns');

-- dropping a meter takes its shadow and registers with it
DELETE FROM flows.properties;
DELETE FROM flows.meter_registry WHERE id = '00000000-0000-0000-0000-0000000000c2';
SELECT is((SELECT count(*)::int FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c2'), 0,
  'a deleted meter''s shadow goes with it');

SELECT * FROM finish();
ROLLBACK;
