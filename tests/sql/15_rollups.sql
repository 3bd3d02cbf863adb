-- Roll-ups per circuit, property, site and ESCO (DOMAIN.md rule 9) at
-- half-hourly, settlement-day and month grain: incremental refresh equals a
-- computation from scratch after random late inserts, and the views read
-- fresh before any refresh.
BEGIN;
SELECT plan(19);
\ir fixtures.psql

SELECT results_eq($$SELECT level::text, entity_id, register_id FROM flows.rollup_members ORDER BY 1, 2, 3$$,
  $$VALUES ('circuit', '00000000-0000-0000-0000-0000000000ca'::uuid, '00000000-0000-0000-0000-000000000101'::uuid),
           ('esco', '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000101'),
           ('esco', '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000201'),
           ('esco', '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000202'),
           ('property', '00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000000101'),
           ('site', '00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-000000000101')$$,
  'members follow the topology: circuit registers, property meters, site circuits, ESCO meters');

-- Profile points every half hour, 0.5 kWh each, across both UK clock changes of 2025.
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000101', 'import', array_agg(t ORDER BY t),
                                   array_agg(1000 + 0.5 * n ORDER BY t))
  FROM generate_series('2025-03-29 00:00+00'::timestamptz, '2025-04-01 00:00+00', '30 minutes') WITH ORDINALITY g(t, n);
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000201', 'import', array_agg(t ORDER BY t),
                                   array_agg(5000 + 0.25 * n ORDER BY t))
  FROM generate_series('2025-10-25 00:00+00'::timestamptz, '2025-10-28 00:00+00', '30 minutes') WITH ORDINALITY g(t, n);
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'half hours derived');

SELECT results_eq($$SELECT bucket, total_import_kwh, periods, expected_periods FROM flows.site_interval_daily ORDER BY 1$$,
  $$VALUES ('2025-03-29'::date, 24.0::numeric, 48, 48), ('2025-03-30', 23.0, 46, 46), ('2025-03-31', 24.0, 48, 48),
           ('2025-04-01', 1.0, 2, 48)$$,
  'before any refresh the daily view reads fresh; the spring clock-change day has 46 periods');
SELECT results_eq($$SELECT * FROM flows.refresh_rollups()$$, $$VALUES (4, 720, 19, 9)$$,
  'refresh materializes every pending entity, day and month');
SELECT is((SELECT count(*)::integer FROM flows.rollup_invalidations), 0, 'nothing pending after a refresh');
SELECT results_eq($$SELECT bucket, total_import_kwh, periods, expected_periods FROM flows.site_interval_daily ORDER BY 1$$,
  $$VALUES ('2025-03-29'::date, 24.0::numeric, 48, 48), ('2025-03-30', 23.0, 46, 46), ('2025-03-31', 24.0, 48, 48),
           ('2025-04-01', 1.0, 2, 48)$$,
  'the materialized daily roll-up equals the fresh one');
SELECT results_eq($$SELECT bucket, total_import_kwh, periods, expected_periods FROM flows.esco_interval_daily
                     WHERE bucket BETWEEN '2025-10-25' AND '2025-10-27' ORDER BY 1$$,
  $$VALUES ('2025-10-25'::date, 11.5::numeric, 46, 48), ('2025-10-26', 12.5, 50, 50), ('2025-10-27', 12.0, 48, 48)$$,
  'the autumn clock-change day has 50 periods');
SELECT results_eq($$SELECT bucket, total_import_kwh, days_in_month, days_with_data FROM flows.esco_interval_monthly ORDER BY 1$$,
  $$VALUES ('2025-03-01'::date, 71.0::numeric, 31, 3), ('2025-04-01', 1.0, 30, 1), ('2025-10-01', 36.0, 31, 3)$$,
  'months sum their settlement days');
SELECT is((SELECT bool_and(all_actual) FROM flows.circuit_interval_hh), true,
  'half hours bounded by profile points are actual in the roll-up');

-- Random late and out-of-order reads, refreshed in between and at the end:
-- the materialized roll-ups equal a computation from scratch.
SELECT setseed(0.4);
CREATE TEMP TABLE late AS
  SELECT r.register_id, t, round((random() * 3)::numeric, 4) AS step, random() AS batch
    FROM (VALUES ('00000000-0000-0000-0000-000000000101'::uuid), ('00000000-0000-0000-0000-000000000202')) r(register_id),
         generate_series('2025-05-01 00:00+00'::timestamptz, '2025-05-04 00:00+00', '37 minutes') t;
CREATE TEMP TABLE late_reads AS
  SELECT register_id, t, 200 + sum(step) OVER (PARTITION BY register_id ORDER BY t) AS kwh, batch FROM late;
INSERT INTO flows.register_import (register_id, timestamp, read_kwh) SELECT register_id, t, kwh FROM late_reads WHERE batch < 0.3;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh(); SELECT * FROM flows.refresh_rollups()$$, 'first batch refreshed');
INSERT INTO flows.register_import (register_id, timestamp, read_kwh) SELECT register_id, t, kwh FROM late_reads WHERE batch >= 0.3 AND batch < 0.7;
SELECT * FROM flows.refresh_hh();
INSERT INTO flows.register_import (register_id, timestamp, read_kwh) SELECT register_id, t, kwh FROM late_reads WHERE batch >= 0.7;
DELETE FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000202' AND timestamp BETWEEN '2025-05-02 03:00+00' AND '2025-05-02 09:00+00';
SELECT * FROM flows.refresh_hh();

CREATE TEMP VIEW scratch_hh AS
  SELECT m.level, m.entity_id, h.timestamp, sum(coalesce(h.import_kwh, 0)) AS import_kwh, sum(coalesce(h.export_kwh, 0)) AS export_kwh
    FROM flows.rollup_members m JOIN flows.register_interval_hh h ON h.register_id = m.register_id
   GROUP BY 1, 2, 3;
SELECT results_eq($$SELECT level, entity_id, bucket, total_import_kwh FROM (
                      SELECT 'circuit'::flows.rollup_level AS level, circuit_id AS entity_id, bucket, total_import_kwh FROM flows.circuit_interval_hh
                      UNION ALL SELECT 'esco', esco_id, bucket, total_import_kwh FROM flows.esco_interval_hh) v ORDER BY 1, 2, 3$$,
  $$SELECT level, entity_id, timestamp, import_kwh FROM scratch_hh WHERE level IN ('circuit', 'esco') ORDER BY 1, 2, 3$$,
  'with changes pending, the fresh views equal a computation from scratch');
SELECT lives_ok($$SELECT * FROM flows.refresh_rollups()$$, 'late data refreshed');
SELECT results_eq($$SELECT level, entity_id, timestamp, total_import_kwh, total_export_kwh FROM flows.rollup_hh ORDER BY 1, 2, 3$$,
  $$SELECT level, entity_id, timestamp, import_kwh, export_kwh FROM scratch_hh ORDER BY 1, 2, 3$$,
  'materialized half-hourly roll-ups equal a computation from scratch');
SELECT results_eq($$SELECT level, entity_id, settlement_date, total_import_kwh FROM flows.rollup_daily ORDER BY 1, 2, 3$$,
  $$SELECT level, entity_id, flows.settlement_date(timestamp), sum(import_kwh) FROM scratch_hh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3$$,
  'materialized daily roll-ups equal a computation from scratch');

-- Membership change: a register joining a circuit brings its whole history.
INSERT INTO flows.circuit_register VALUES ('00000000-0000-0000-0000-0000000000ca', '00000000-0000-0000-0000-000000000202');
SELECT results_eq($$SELECT sum(total_import_kwh) FROM flows.circuit_interval_monthly$$,
  $$SELECT sum(import_kwh) FROM scratch_hh WHERE level = 'circuit'$$,
  'a register joining a circuit is summed over its whole history');

CREATE TEMP TABLE pending_before AS SELECT count(*) AS n FROM flows.rollup_invalidations;
UPDATE flows.meter_registry SET name = name || ' (renamed)';
UPDATE flows.circuits SET rating_amps = 60;
SELECT is((SELECT count(*) FROM flows.rollup_invalidations), (SELECT n FROM pending_before),
  'renaming a meter or re-rating a circuit changes no membership and logs nothing');

-- Half hours loaded directly (history from another system) reach the roll-ups too.
INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh)
VALUES ('00000000-0000-0000-0000-000000000101', '2024-06-01 10:00+00', 0.75);
SELECT results_eq($$SELECT total_import_kwh FROM flows.circuit_interval_hh WHERE bucket = '2024-06-01 10:00+00'$$,
  $$VALUES (0.75::numeric)$$, 'half hours loaded directly are logged for the roll-ups and read fresh');

SELECT lives_ok($$SELECT flows.worker_refresh()$$, 'what the worker runs compiles and runs');
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
VALUES ('00000000-0000-0000-0000-000000000101', '2026-01-01', 5000), ('00000000-0000-0000-0000-000000000201', '2026-01-01', 7000);
SELECT results_eq($$SELECT flows.worker_refresh(1) UNION ALL SELECT flows.worker_refresh(1)$$, $$VALUES (true), (false)$$,
  'the worker''s refresh is bounded and says when work is left');

SELECT * FROM finish();
ROLLBACK;
