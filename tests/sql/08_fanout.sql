-- Fan-out from the digital twin into the time series (DOMAIN.md "Live
-- state", rule 3): the right register, import/export swapped when the
-- register is reversed, intervals in time order, duplicates once, conflicts refused.
BEGIN;
SELECT plan(11);
\ir fixtures.psql
UPDATE flows.meter_registers SET direction_reversed = true WHERE register_id = '00000000-0000-0000-0000-000000000202';

UPDATE flows.meter_shadows SET import_a = 100.5, export_a = 2, import_b = 50, export_b = 7
 WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT results_eq($$SELECT register_id::text, read_kwh FROM flows.register_import ORDER BY 1$$,
  $$VALUES ('00000000-0000-0000-0000-000000000201', 100.5000::numeric(15,4)),
           ('00000000-0000-0000-0000-000000000202', 7.0000)$$,
  'element A import lands on register A; reversed register B takes the export read as import');
SELECT results_eq($$SELECT register_id::text, read_kwh FROM flows.register_export ORDER BY 1$$,
  $$VALUES ('00000000-0000-0000-0000-000000000201', 2.0000::numeric(15,4)),
           ('00000000-0000-0000-0000-000000000202', 50.0000)$$,
  '... and the import of reversed register B is its export');
UPDATE flows.meter_shadows SET import_a = 101 WHERE meter_id = '00000000-0000-0000-0000-0000000000c1';
SELECT is((SELECT read_kwh FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000101'),
  101.0000::numeric(15,4), 'a single-element meter''s element A read lands on its SINGLE register');
UPDATE flows.meter_shadows SET csq = 12, balance = 4.5, health = 'healthy' WHERE meter_id = '00000000-0000-0000-0000-0000000000c1';
SELECT results_eq($$SELECT (SELECT count(*) FROM flows.meter_csq)::int, (SELECT count(*) FROM flows.meter_prepay_balance)::int,
                           (SELECT count(*) FROM flows.meter_health_history)::int$$,
  $$VALUES (1, 1, 1)$$, 'csq, balance and health changes land in their series');
UPDATE flows.meter_shadows SET csq = 12, balance = 4.5, health = 'healthy' WHERE meter_id = '00000000-0000-0000-0000-0000000000c1';
SELECT results_eq($$SELECT (SELECT count(*) FROM flows.meter_csq)::int, (SELECT count(*) FROM flows.meter_prepay_balance)::int,
                           (SELECT count(*) FROM flows.meter_health_history)::int$$,
  $$VALUES (1, 1, 1)$$, 'an unchanged value writes nothing');

-- record_register_read: idempotent, placed in time order whatever the arrival order.
SELECT flows.record_register_read('00000000-0000-0000-0000-000000000101', true, '2025-01-01 00:00+00', 10);
SELECT flows.record_register_read('00000000-0000-0000-0000-000000000101', true, '2025-01-01 02:00+00', 12);
SELECT flows.record_register_read('00000000-0000-0000-0000-000000000101', true, '2025-01-01 01:00+00', 11);
SELECT results_eq($$SELECT timestamp, read_kwh, interval FROM flows.register_import
                     WHERE register_id = '00000000-0000-0000-0000-000000000101' AND timestamp < '2025-01-02' ORDER BY 1$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 10.0000::numeric(15,4), NULL::interval),
           ('2025-01-01 01:00+00', 11.0000, '1 hour'),
           ('2025-01-01 02:00+00', 12.0000, '1 hour')$$,
  'a late read lands in place and the next read''s interval is corrected');
SELECT lives_ok($$SELECT flows.record_register_read('00000000-0000-0000-0000-000000000101', true, '2025-01-01 01:00+00', 11)$$,
  'the same read twice is accepted');
SELECT is((SELECT count(*)::int FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000101' AND timestamp < '2025-01-02'),
  3, '... and counted once');
SELECT throws_ok($$SELECT flows.record_register_read('00000000-0000-0000-0000-000000000101', true, '2025-01-01 01:00+00', 11.5)$$,
  '23505', NULL, 'a different value at the same instant is a conflict');
SELECT is((SELECT read_kwh FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000101' AND timestamp = '2025-01-01 01:00+00'),
  11.0000::numeric(15,4), '... and the first value stays');
SELECT is((SELECT source FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000101' AND timestamp = '2025-01-01 01:00+00'),
  'sync', 'reads carry their source');

SELECT * FROM finish();
ROLLBACK;
