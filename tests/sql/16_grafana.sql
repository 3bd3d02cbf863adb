-- Grafana's shape (time, value, metric) for any entity and bucket, and the
-- everyday report views, over derived half-hourly data.
BEGIN;
SELECT plan(11);
\ir fixtures.psql

-- Register 101 (circuit 'Plot power', property WL-01, meter EML2137580826): 1 kWh per half hour
-- from 2025-01-01 00:00 to 04:00 UTC, from profile points.
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000101', 'import', array_agg(t),
                                   array_agg(extract(epoch FROM t - '2025-01-01 00:00+00') / 1800))
  FROM generate_series('2025-01-01 00:00+00'::timestamptz, '2025-01-01 04:00+00', '30 minutes') t;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'derived');

SELECT results_eq($$SELECT "time", value, metric FROM flows.energy_series('circuit', '00000000-0000-0000-0000-0000000000ca',
                        '2025-01-01 00:00+00', '2025-01-01 01:00+00')$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 0::numeric, 'Plot power export'), ('2025-01-01 00:00+00', 1, 'Plot power import'),
           ('2025-01-01 00:30+00', 0, 'Plot power export'), ('2025-01-01 00:30+00', 1, 'Plot power import')$$,
  'half-hourly series of a circuit, one metric per direction, named after the circuit');
SELECT results_eq($$SELECT "time", value FROM flows.energy_series('property', '00000000-0000-0000-0000-0000000000d1',
                        '2025-01-01 00:00+00', '2025-01-02 00:00+00', '2 hours') WHERE metric = 'WL-01 import'$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 4::numeric), ('2025-01-01 02:00+00', 4)$$,
  'two-hour buckets sum four half hours');
SELECT results_eq($$SELECT "time", value FROM flows.energy_series('meter', '00000000-0000-0000-0000-0000000000c1',
                        '2024-12-01 00:00+00', '2025-02-01 00:00+00', '1 day') WHERE metric LIKE '% import'$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 8::numeric)$$,
  'daily buckets of a meter are settlement days');
SELECT results_eq($$SELECT "time", value FROM flows.energy_series('esco', '00000000-0000-0000-0000-0000000000e1',
                        '2025-01-01 00:00+00', '2026-01-01 00:00+00', '1 month') WHERE metric = 'WLCE import'$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 8::numeric)$$,
  'monthly buckets of an ESCO');
SELECT throws_ok($$SELECT * FROM flows.energy_series('feeder', gen_random_uuid(), now() - interval '1 day', now())$$,
  '22023', NULL, 'an unknown level is refused');
SELECT throws_ok($$SELECT * FROM flows.energy_series('circuit', '00000000-0000-0000-0000-0000000000ca', now() - interval '1 day', now(), '45 minutes')$$,
  '22023', NULL, 'a bucket that is not whole half hours is refused');
SELECT throws_ok($$SELECT * FROM flows.energy_series('circuit', gen_random_uuid(), now() - interval '1 day', now())$$,
  'P0002', NULL, 'an unknown entity is refused');

UPDATE flows.meter_shadows SET balance = 7.5 WHERE meter_id = '00000000-0000-0000-0000-0000000000c1';
SELECT is((SELECT count(*)::integer FROM flows.meter_series('00000000-0000-0000-0000-0000000000c1', 'balance', now() - interval '1 hour', now() + interval '1 hour')
            WHERE metric = 'EML2137580826 balance' AND value = 7.5), 1, 'a meter''s balance history in Grafana''s shape');
SELECT results_eq($$SELECT serial::text, settlement_date, import_kwh, periods FROM flows.meter_daily_consumption$$,
  $$VALUES ('EML2137580826', '2025-01-01'::date, 8::numeric, 8)$$, 'daily consumption per meter');
SELECT results_eq($$SELECT circuit_type::text, bucket, total_import_kwh FROM flows.site_circuit_type_daily$$,
  $$VALUES ('power', '2025-01-01'::date, 8::numeric)$$, 'site totals by circuit type');

SELECT * FROM finish();
ROLLBACK;
