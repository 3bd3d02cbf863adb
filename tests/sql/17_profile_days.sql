-- Profile logs kept as days (register_profile_days): recorded idempotently,
-- refused when wrong, read as points, derived like before, and the changes
-- of a merged day invalidate only the half hours that changed.
BEGIN;
SELECT plan(37);
\ir fixtures.psql

CREATE TEMP TABLE ids AS SELECT
  '00000000-0000-0000-0000-000000000101'::uuid AS single,
  '00000000-0000-0000-0000-000000000201'::uuid AS twin_a;
-- 2025-03-01 22:00 to 2025-03-02 02:00 UTC: 1 kWh a half hour from 100 kWh.
CREATE TEMP TABLE pts AS
SELECT t, 100 + extract(epoch FROM t - '2025-03-01 22:00+00') / 1800 AS v
  FROM generate_series('2025-03-01 22:00+00'::timestamptz, '2025-03-02 02:00+00', '30 minutes') t;

-- ------------------------------------------------------------ recording
SELECT is((SELECT flows.record_profile_points(single, 'import', array_agg(t ORDER BY t), array_agg(v ORDER BY t)) FROM ids, pts GROUP BY single),
  9, 'nine new points');
SELECT results_eq($$SELECT timestamp, num_nonnulls(VARIADIC read_kwh), read_kwh[45], read_kwh[48], read_kwh[1]
                     FROM flows.register_profile_days ORDER BY 1$$,
  $$VALUES ('2025-03-01 00:00+00'::timestamptz, 4, 100.0000::numeric, 103.0000::numeric, NULL::numeric),
           ('2025-03-02 00:00+00', 5, NULL, NULL, 104.0000)$$,
  'points land in the slots of their UTC days');
SELECT is((SELECT flows.record_profile_points(single, 'import', array_agg(t), array_agg(v)) FROM ids, pts GROUP BY single),
  0, 'the same points again add nothing');
SELECT is((SELECT count(*)::int FROM flows.hh_invalidations), 1,
  '... and change nothing to derive again (one range for the two days inserted, none more)');
SELECT is(flows.record_profile_points((SELECT single FROM ids), 'import', ARRAY['2025-03-02 02:30+00', '2025-03-02 03:00+00']::timestamptz[], ARRAY[109, 110]),
  2, 'points merge into an existing day');
SELECT results_eq($$SELECT from_ts, to_ts FROM flows.hh_invalidations ORDER BY logged_at DESC, from_ts DESC LIMIT 1$$,
  $$VALUES ('2025-03-02 02:30+00'::timestamptz, '2025-03-02 03:00+00'::timestamptz)$$,
  'a merged day invalidates only the half hours whose points changed');
SELECT is((SELECT count(*)::int FROM flows.register_reads r, ids WHERE r.register_id = single AND r.source = 'profile'), 11,
  'register_reads shows every profile point');

SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-02 01:00+00'::timestamptz], ARRAY[107.5]) FROM ids$$,
  '23505', 'register 00000000-0000-0000-0000-000000000101: the import profile point at 2025-03-02 01:00:00+00 is 106.0000 kWh, not 107.5000',
  'a point with another value is a conflict');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:00+00', '2025-03-05 01:00+00']::timestamptz[], ARRAY[1, 2]) FROM ids$$,
  '23505', NULL, 'two values for one instant in one call are a conflict');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:10+00'::timestamptz], ARRAY[1]) FROM ids$$,
  '23514', 'record_profile_points: at[1] = 2025-03-05 01:10:00+00 is not on a half-hour boundary', 'off the grid');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:00+00', NULL]::timestamptz[], ARRAY[1, 2]) FROM ids$$,
  '22004', 'record_profile_points: at[2] is NULL', 'a NULL instant');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:00+00'::timestamptz], ARRAY[1, 2]) FROM ids$$,
  '22023', 'record_profile_points: at has 1 instants but read_kwh has 2 values', 'arrays of different lengths');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:00+00'::timestamptz], ARRAY[-1]) FROM ids$$,
  '23514', 'record_profile_points: read_kwh[1] = -1 is negative', 'a negative value');
SELECT throws_ok($$SELECT flows.record_profile_points(single, 'import', ARRAY['2025-03-05 01:00+00'::timestamptz], ARRAY[1.00001]) FROM ids$$,
  '22023', 'record_profile_points: read_kwh[1] = 1.00001 has more than 4 decimals', 'more decimals than a register shows');
SELECT throws_ok($$SELECT flows.record_profile_points(gen_random_uuid(), 'import', ARRAY['2025-03-05 01:00+00'::timestamptz], ARRAY[1])$$,
  '23503', NULL, 'an unknown register');
SELECT throws_ok($$INSERT INTO flows.register_profile_days VALUES ((SELECT single FROM ids), 'import', '2025-03-06 00:00+00', ARRAY[1, 2])$$,
  '23514', NULL, 'a day has 48 slots');
SELECT throws_ok($$INSERT INTO flows.register_profile_days
                   SELECT single, 'import', '2025-03-06 01:00+00', array_fill(1::numeric, ARRAY[48]) FROM ids$$,
  '23514', NULL, 'a day starts at UTC midnight');
SELECT throws_ok($$INSERT INTO flows.register_profile_days
                   SELECT single, 'import', '2025-03-06 00:00+00', array_fill(NULL::numeric, ARRAY[48]) FROM ids$$,
  '23514', NULL, 'a day holds at least one point');
SELECT throws_ok($$INSERT INTO flows.register_import (register_id, timestamp, read_kwh, source)
                   SELECT single, '2025-03-06 00:00+00', 1, 'profile' FROM ids$$,
  '23514', NULL, 'profile points no longer go to register_import');

-- ------------------------------------------------------------ derivation
-- A sync read at a profile point's instant is superseded, not a conflict.
INSERT INTO flows.register_import (register_id, timestamp, read_kwh) SELECT single, '2025-03-02 00:00+00', 111 FROM ids;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'derived');
SELECT results_eq($$SELECT h.timestamp, h.import_kwh, h.import_quality::text FROM flows.register_interval_hh h, ids
                     WHERE h.register_id = single ORDER BY 1$$,
  $$SELECT t, 1::numeric(14, 6), 'actual' FROM generate_series('2025-03-01 22:00+00'::timestamptz, '2025-03-02 02:30+00', '30 minutes') t$$,
  'half hours across midnight and the merged points are actual; the read at midnight is superseded');
-- A day gone: its half hours go (the previous day's last one has no end point).
DELETE FROM flows.register_profile_days d USING ids WHERE d.register_id = single AND d.timestamp = '2025-03-02 00:00+00';
SELECT * FROM flows.refresh_hh();
SELECT results_eq($$SELECT h.timestamp, h.import_kwh, h.import_quality::text FROM flows.register_interval_hh h, ids
                     WHERE h.register_id = single ORDER BY 1$$,
  $$SELECT t, 1::numeric(14, 6), 'actual' FROM generate_series('2025-03-01 22:00+00'::timestamptz, '2025-03-01 23:00+00', '30 minutes') t
    UNION ALL VALUES ('2025-03-01 23:30+00'::timestamptz, 8::numeric(14, 6), 'estimated')$$,
  'deleting a day re-derives around it (up to the sync read left at midnight)');

-- Incremental equals from scratch, with both directions, a reversal and late reads.
SELECT flows.record_profile_points(twin_a, 'import', array_agg(t ORDER BY t), array_agg(50 + n ORDER BY t)),
       flows.record_profile_points(twin_a, 'export', array_agg(t ORDER BY t),
                                   array_agg(CASE WHEN t >= '2025-04-02 10:00+00' THEN n / 4 ELSE 20 + n / 2 END ORDER BY t))
  FROM ids, generate_series('2025-04-01 00:00+00'::timestamptz, '2025-04-03 00:00+00', '30 minutes') WITH ORDINALITY g(t, n)
 GROUP BY twin_a;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'both directions derived');
SELECT results_eq($$SELECT e.direction::text, e.kind::text, e.timestamp FROM flows.register_events e, ids WHERE e.register_id = twin_a$$,
  $$VALUES ('export', 'reversal', '2025-04-02 10:00+00'::timestamptz)$$, 'the export reversal is an event');
SELECT results_eq($$SELECT previous_kwh::text, new_kwh::text, advance_kwh::text FROM flows.register_events e, ids WHERE e.register_id = twin_a$$,
  $$VALUES ('54.0000', '17.0000', '0.000000')$$, '... its values in the scale of their columns');
INSERT INTO flows.register_import (register_id, timestamp, read_kwh) SELECT twin_a, '2025-04-01 12:10+00', 74.2 FROM ids;
INSERT INTO flows.register_export (register_id, timestamp, read_kwh) SELECT twin_a, '2025-04-03 05:00+00', 30 FROM ids;
SELECT * FROM flows.refresh_hh();
CREATE TEMP TABLE incremental AS SELECT h.* FROM flows.register_interval_hh h, ids WHERE h.register_id = twin_a;
DELETE FROM flows.register_interval_hh h USING ids WHERE h.register_id = twin_a;
INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
SELECT twin_a, d, '-infinity', 'infinity' FROM ids, unnest(enum_range(NULL::flows.energy_direction)) d;
SELECT * FROM flows.refresh_hh();
SELECT bag_eq($$SELECT h.* FROM flows.register_interval_hh h, ids WHERE h.register_id = twin_a$$,
  $$SELECT * FROM incremental$$, 'incremental derivation equals one from scratch');
SELECT ok((SELECT count(*) FILTER (WHERE import_kwh IS NOT NULL AND export_kwh IS NOT NULL) > 90 FROM incremental),
  'import and export of a half hour share one row');

-- ------------------------------------------------------------ a failing register
-- Register 202 installed on 05-20 (replacing 201) and removed on 05-10: no
-- rule places its points, and it must not hold the others back.
INSERT INTO flows.meter_registers (register_id, meter_id, element, status)
VALUES ('00000000-0000-0000-0000-0000000002cc', '00000000-0000-0000-0000-0000000000c2', 'B', 'replaced');
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000202', 'import',
                                   ARRAY['2025-05-21 00:00+00', '2025-05-21 00:30+00']::timestamptz[], ARRAY[1, 2]);
INSERT INTO flows.register_exchanges (old_register_id, new_register_id, exchanged_at) VALUES
  ('00000000-0000-0000-0000-000000000201', '00000000-0000-0000-0000-000000000202', '2025-05-20 00:00+00'),
  ('00000000-0000-0000-0000-000000000202', '00000000-0000-0000-0000-0000000002cc', '2025-05-10 00:00+00');
SELECT flows.record_profile_points(single, 'import', ARRAY['2025-05-21 00:00+00', '2025-05-21 00:30+00']::timestamptz[], ARRAY[500, 501])
  FROM ids;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'a refresh with a register no rule can derive still completes');
SELECT is((SELECT h.import_kwh FROM flows.register_interval_hh h, ids WHERE h.register_id = single AND h.timestamp = '2025-05-21 00:00+00'),
  1.000000::numeric, '... and derives the other registers');
SELECT results_eq($$SELECT register_id::text, direction::text, sqlstate, from_ts <= '2025-05-10 00:00+00' AND to_ts >= '2025-05-20 00:00+00'
                     FROM flows.hh_failures ORDER BY 1, 2$$,
  $$VALUES ('00000000-0000-0000-0000-000000000202', 'export', '23514', true),
           ('00000000-0000-0000-0000-000000000202', 'import', '23514', true)$$,
  'the failing register''s channels keep their error and changed range');
SELECT is(flows.retry_hh_failures(), 2, 'retry_hh_failures queues them again');
SELECT * FROM flows.refresh_hh();
SELECT is((SELECT count(*)::int FROM flows.hh_failures), 2, '... and they fail again until the data is corrected');
DELETE FROM flows.register_exchanges WHERE old_register_id = '00000000-0000-0000-0000-000000000202';
SELECT * FROM flows.refresh_hh();
SELECT is((SELECT count(*)::int FROM flows.hh_failures), 0, 'corrected data derives the register (its failures are gone)');
SELECT is((SELECT import_kwh FROM flows.register_interval_hh WHERE register_id = '00000000-0000-0000-0000-000000000202'),
  1.000000::numeric, '... into its half hours');

-- ------------------------------------------------------------ the rows' trigger
SELECT throws_ok($$INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh)
                   VALUES ('00000000-0000-0000-0000-0000000000ff', '2025-05-01 00:00+00', 1)$$,
  '23503', 'register_interval_hh.register_id: register 00000000-0000-0000-0000-0000000000ff does not exist',
  'half hours need an existing register');
SELECT throws_ok($$SELECT * FROM flows.derive_register_hh(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$,
  '22004', 'derive_register_hh: register_id must not be NULL', 'the derivation needs a register');
SELECT is((SELECT count(*)::int FROM flows.derive_register_hh(
             (SELECT single FROM ids), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             '2025-06-01 00:00+00', '2025-06-01 02:00+00', ARRAY['2025-06-01 00:15+00', '2025-06-01 01:15+00']::timestamptz[],
             ARRAY[1, 2.5], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)),
  3, 'derive_register_hh can be called on its own (reads at 00:15 and 01:15 touch three half hours)');

SELECT * FROM finish();
ROLLBACK;
