-- Validation, estimation and editing of half-hourly values (sql/88_vee.sql):
-- each check finds what it should and nothing on clean data; estimates
-- conserve the register advance; derived values are never changed; edits
-- and withdrawals change flows.hh_values, keep the audit and reach the
-- roll-ups; bad input is refused with its SQLSTATE and nothing written.
BEGIN;
SELECT plan(56);
SET LOCAL timezone = 'UTC';  -- messages show instants in the session time zone
\ir fixtures.psql
-- The HINT of the error a statement raises.
CREATE FUNCTION pg_temp.hint_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
  EXECUTE statement;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
  RETURN h;
END
$$;

-- Register 101 (in circuit ca): clean profile points every half hour from
-- 2025-01-09 to 2025-01-14 (GMT: settlement date = UTC date, 48 periods).
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000101', 'import', array_agg(t ORDER BY k), array_agg(v ORDER BY k))
  FROM (SELECT k, t, 1000 + sum(0.25 + 0.05 * (k % 4)) OVER (ORDER BY k) - 0.25 AS v
          FROM generate_series(0, 240) k, LATERAL (SELECT '2025-01-09 00:00+00'::timestamptz + k * interval '30 minutes' AS t) x) p;
-- Register 201: the same span with a 6 kWh spike in the half hour from
-- 2025-01-10 12:00, eight 0 kWh half hours from 2025-01-11 02:00, a
-- reversal at 2025-01-11 20:00, and on 2025-01-12 a register read 2 kWh
-- above the profile (profile points win in the derivation, not in the
-- register advance).
SELECT flows.record_profile_points('00000000-0000-0000-0000-000000000201', 'import', array_agg(t ORDER BY k), array_agg(v ORDER BY k))
  FROM (SELECT k, t,
               2000 + sum(CASE WHEN t = '2025-01-10 12:30+00' THEN 6
                               WHEN t > '2025-01-11 02:00+00' AND t <= '2025-01-11 06:00+00' THEN 0
                               WHEN t = '2025-01-11 20:00+00' THEN -3
                               ELSE 0.2 + 0.1 * (k % 3) END) OVER (ORDER BY k) AS v
          FROM generate_series(0, 240) k, LATERAL (SELECT '2025-01-09 00:00+00'::timestamptz + k * interval '30 minutes' AS t) x) p;
INSERT INTO flows.register_import (register_id, timestamp, read_kwh, source)
SELECT register_id, '2025-01-12 12:10+00', read_kwh + 2, 'sync' FROM flows.register_reads
 WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import' AND timestamp = '2025-01-12 12:00+00';
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'half hours derived from the reads');
-- Three half hours of 201 lost (2025-01-13 03:00 to 04:30).
DELETE FROM flows.register_interval_hh WHERE register_id = '00000000-0000-0000-0000-000000000201'
   AND timestamp >= '2025-01-13 03:00+00' AND timestamp < '2025-01-13 04:30+00';
SELECT * FROM flows.refresh_rollups();

-- ------------------------------------------------------------ validation
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-01-10', '2025-01-13')$$,
  'clean data: no findings');
SELECT is_empty($$SELECT * FROM flows.hh_flags WHERE register_id = '00000000-0000-0000-0000-000000000101'$$,
  '... and no flags');

CREATE TEMP TABLE found AS
SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-10', '2025-01-13');
SELECT results_eq($$SELECT direction::text, check_name, from_ts, to_ts, periods FROM found$$,
  $$VALUES ('import', 'spike', '2025-01-10 12:00+00'::timestamptz, '2025-01-10 12:30+00'::timestamptz, 1),
           ('import', 'zero_run', '2025-01-11 02:00+00', '2025-01-11 06:00+00', 8),
           ('import', 'reversal', '2025-01-11 20:00+00', '2025-01-11 20:30+00', 1),
           ('import', 'daily_sum', '2025-01-12 00:00+00', '2025-01-13 00:00+00', 48),
           ('import', 'gap', '2025-01-13 03:00+00', '2025-01-13 04:30+00', 3)$$,
  'each check finds its anomaly of 201, and only on the import channel (201 never exported)');
SELECT results_eq($$SELECT (details->>'hh_sum_kwh')::numeric - (details->>'register_advance_kwh')::numeric,
                           (details->>'difference_kwh')::numeric FROM found WHERE check_name = 'daily_sum'$$,
  $$VALUES (-1.7, -1.7)$$, 'the daily sum finding tells the half-hour sum, the register advance and the difference');
SELECT results_eq($$SELECT check_name, count(*)::int, min(timestamp), max(timestamp) FROM flows.hh_flags
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' GROUP BY 1 ORDER BY 1$$,
  $$VALUES ('daily_sum', 48, '2025-01-12 00:00+00'::timestamptz, '2025-01-12 23:30+00'::timestamptz),
           ('reversal', 1, '2025-01-11 20:00+00', '2025-01-11 20:00+00'),
           ('spike', 1, '2025-01-10 12:00+00', '2025-01-10 12:00+00'),
           ('zero_run', 8, '2025-01-11 02:00+00', '2025-01-11 05:30+00')$$,
  'findings flag the values they concern; a gap has no value to flag');
SELECT is((SELECT quality_flags FROM flows.hh_values WHERE register_id = '00000000-0000-0000-0000-000000000201'
            AND direction = 'import' AND timestamp = '2025-01-10 12:00+00'),
  17, 'a flagged actual value is valid | questionable (1 | 16)');
SELECT ok(EXISTS (SELECT FROM flows.rollup_invalidations WHERE level = 'esco' AND entity_id = '00000000-0000-0000-0000-0000000000e1'),
  'new flags invalidate the roll-ups (all_actual changes)');

SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-10', '2025-01-10',
                                                  checks => ARRAY['spike'], spike_floor_kwh => 10)$$,
  'no spike below the absolute floor');
SELECT is((SELECT count(*)::int FROM flows.hh_flags WHERE register_id = '00000000-0000-0000-0000-000000000201'
            AND check_name = 'spike'), 0, '... and the spike flag of the range is withdrawn');
SELECT is((SELECT count(*)::int FROM flows.hh_flags WHERE register_id = '00000000-0000-0000-0000-000000000201'
            AND check_name <> 'spike'), 57, '... while other checks'' flags stay');
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-11', '2025-01-11',
                                                  checks => ARRAY['zero_run'], zero_run_min_daily_kwh => 100)$$,
  'no zero run on a channel that does not normally consume that much');
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-11', '2025-01-11',
                                                  checks => ARRAY['zero_run'], zero_run_periods => 9)$$,
  'no zero run shorter than zero_run_periods');
SELECT is((SELECT count(*)::int FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-10', '2025-01-13')),
  5, 'validating again finds the same');
SELECT is((SELECT count(*)::int FROM flows.hh_flags WHERE register_id = '00000000-0000-0000-0000-000000000201'),
  58, '... and holds each flag once');

-- The register read that disagrees is removed: the day is consistent again.
DELETE FROM flows.register_import WHERE register_id = '00000000-0000-0000-0000-000000000201' AND source = 'sync';
SELECT * FROM flows.refresh_hh();
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-12', '2025-01-12')$$,
  'a day whose reads agree with its half hours passes the daily sum check');
SELECT is((SELECT count(*)::int FROM flows.hh_flags WHERE check_name = 'daily_sum'), 0,
  '... and its earlier daily sum flags are gone');

-- Clock-change days (46 and 50 periods), from hourly register reads off the half-hour grid.
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT '00000000-0000-0000-0000-000000000101', t, 3000 + 0.4 * k
  FROM generate_series(0, 24 * 8) k, unnest(ARRAY['2025-03-26 00:17+00'::timestamptz, '2025-10-22 00:17+00']) s,
       LATERAL (SELECT s + k * interval '1 hour' AS t) x;
SELECT * FROM flows.refresh_hh();
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-03-29', '2025-03-31')
                  UNION ALL
                  SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-10-25', '2025-10-27')$$,
  'clean data over the clock changes (46 and 50 periods): no findings');
DELETE FROM flows.register_interval_hh WHERE register_id = '00000000-0000-0000-0000-000000000101'
   AND timestamp = flows.settlement_period_start('2025-10-26', 50);
SELECT results_eq($$SELECT check_name, from_ts, periods FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-10-26', '2025-10-26')$$,
  $$VALUES ('gap', '2025-10-26 23:30+00'::timestamptz, 1)$$, 'the 50th period of the autumn day is missing');

-- ------------------------------------------------------------ estimation
CREATE TEMP TABLE derived_before AS SELECT * FROM flows.register_interval_hh;
CREATE TEMP TABLE estimated AS
SELECT * FROM flows.estimate_gaps('00000000-0000-0000-0000-000000000201', '2025-01-13', '2025-01-14');
SELECT results_eq($$SELECT timestamp, kwh, method FROM estimated ORDER BY 1$$,
  $$VALUES ('2025-01-13 03:00+00'::timestamptz, 0.27::numeric, 'linear_interpolation_scaled'),
           ('2025-01-13 03:30+00', 0.30, 'linear_interpolation_scaled'),
           ('2025-01-13 04:00+00', 0.33, 'linear_interpolation_scaled')$$,
  'a short gap is interpolated between its neighbours (0.2 and 0.3) and scaled to the register advance');
SELECT is((SELECT sum(kwh) FROM estimated),
  (SELECT max(read_kwh) - min(read_kwh) FROM flows.register_reads
    WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import' AND timestamp IN ('2025-01-13 03:00+00', '2025-01-13 04:30+00')),
  'the estimates sum exactly to the register advance over the gap');
SELECT results_eq($$SELECT kind, method, reason, created_by, previous_kwh FROM flows.hh_adjustments ORDER BY id LIMIT 1$$,
  $$VALUES ('estimate', 'linear_interpolation_scaled', 'short gap filled by linear interpolation (VEE)', current_user, NULL::numeric)$$,
  'estimates are in the audit log with method, reason and who');
SELECT results_eq($$SELECT timestamp, kwh, derived_kwh, quality_flags FROM flows.hh_values
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import'
                       AND timestamp >= '2025-01-13 03:00+00' AND timestamp < '2025-01-13 04:30+00' ORDER BY 1$$,
  $$VALUES ('2025-01-13 03:00+00'::timestamptz, 0.27::numeric, NULL::numeric, 8),
           ('2025-01-13 03:30+00', 0.30, NULL, 8), ('2025-01-13 04:00+00', 0.33, NULL, 8)$$,
  'hh_values shows the estimates (quality 8, no derived value)');
SELECT is_empty($$SELECT * FROM flows.estimate_gaps('00000000-0000-0000-0000-000000000201', '2025-01-13', '2025-01-14')$$,
  'estimating again adds nothing');
SELECT is((SELECT count(*)::int FROM flows.hh_adjustments), 3, '... to the log');
INSERT INTO flows.hh_flags (register_id, direction, timestamp, check_name)
VALUES ('00000000-0000-0000-0000-000000000201', 'import', '2025-01-13 03:30+00', 'spike');
SELECT is((SELECT quality_flags FROM flows.hh_values WHERE register_id = '00000000-0000-0000-0000-000000000201'
            AND direction = 'import' AND timestamp = '2025-01-13 03:30+00'),
  24, 'a flagged estimate is estimated | questionable (8 | 16)');
DELETE FROM flows.hh_flags WHERE register_id = '00000000-0000-0000-0000-000000000201' AND timestamp = '2025-01-13 03:30+00';
SELECT is_empty($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000201', '2025-01-13', '2025-01-13')$$,
  'after estimation the day has no gap and passes the daily sum check');

-- Register 202 has half-hourly rows but no reads: plain interpolation.
INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh, import_quality)
SELECT '00000000-0000-0000-0000-000000000202', '2025-01-13 00:00+00'::timestamptz + k * interval '30 minutes', 0.1 * (k + 1), 'actual'
  FROM generate_series(0, 19) k WHERE k NOT IN (4, 5, 9, 10, 11);
CREATE TEMP TABLE plain AS
SELECT * FROM flows.estimate_gaps('00000000-0000-0000-0000-000000000202', '2025-01-13', '2025-01-14', max_gap_periods => 2,
                                  reason => 'profile log lost two half hours');
SELECT results_eq($$SELECT timestamp, kwh, method, gap_advance_kwh FROM plain ORDER BY 1$$,
  $$VALUES ('2025-01-13 02:00+00'::timestamptz, 0.5::numeric, 'linear_interpolation', NULL::numeric),
           ('2025-01-13 02:30+00', 0.6, 'linear_interpolation', NULL)$$,
  'without reads a gap is interpolated plainly; a gap longer than max_gap_periods and an unbounded end are left alone');
SELECT lives_ok($$SELECT flows.withdraw_hh_adjustment('00000000-0000-0000-0000-000000000202', 'import', '2025-01-13 02:00+00',
                                                      'customer disputes the estimate')$$,
  'an estimate can be withdrawn');
SELECT is((SELECT count(*)::int FROM flows.hh_values WHERE register_id = '00000000-0000-0000-0000-000000000202'
            AND timestamp = '2025-01-13 02:00+00'), 0, '... and the half hour is missing again');
SELECT is_empty($$SELECT * FROM flows.estimate_gaps('00000000-0000-0000-0000-000000000202', '2025-01-13', '2025-01-14', 2)$$,
  '... and is not estimated again');

SELECT results_eq($$SELECT * FROM flows.register_interval_hh ORDER BY register_id, timestamp$$,
  $$SELECT * FROM derived_before UNION ALL SELECT * FROM flows.register_interval_hh WHERE register_id = '00000000-0000-0000-0000-000000000202'
    ORDER BY register_id, timestamp$$,
  'estimation never changes derived values');

-- ------------------------------------------------------------ editing
CREATE TEMP TABLE edit AS
SELECT * FROM flows.edit_hh('00000000-0000-0000-0000-000000000201', 'import', '2025-01-10 12:00+00', 0.3,
                            'spike: meter fault ticket 4711');
SELECT results_eq($$SELECT kind, kwh, method, reason, created_by, previous_kwh FROM edit$$,
  $$VALUES ('edit', 0.3::numeric, 'manual', 'spike: meter fault ticket 4711', current_user, 6.0::numeric)$$,
  'an edit is logged with who, why, method and the value it replaced');
SELECT results_eq($$SELECT kwh, derived_kwh, quality_flags FROM flows.hh_values
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import' AND timestamp = '2025-01-10 12:00+00'$$,
  $$VALUES (0.3::numeric, 6.0::numeric, 2)$$, 'the edit is in force (quality 2, not questionable); the derived value is kept');
SELECT lives_ok($$SELECT flows.withdraw_hh_adjustment('00000000-0000-0000-0000-000000000201', 'import', '2025-01-10 12:00+00',
                                                      'the spike was real: sauna')$$, 'an edit can be withdrawn');
SELECT results_eq($$SELECT kwh, quality_flags FROM flows.hh_values
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import' AND timestamp = '2025-01-10 12:00+00'$$,
  $$VALUES (6.0::numeric, 17)$$, '... and the derived value is in force again, still questionable');
SELECT results_eq($$SELECT seq::int, entry, kwh, previous_kwh, in_force, value_in_force FROM flows.hh_audit
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' AND direction = 'import'
                       AND timestamp = '2025-01-10 12:00+00' ORDER BY seq NULLS LAST$$,
  $$VALUES (0, 'derived', 6.0::numeric, NULL::numeric, true, 6.0::numeric),
           (1, 'edit', 0.3, 6.0, false, 6.0),
           (2, 'withdrawal', NULL, 0.3, false, 6.0),
           (NULL, 'flag', NULL, NULL, false, 6.0)$$,
  'hh_audit: the derived value, each adjustment in order, the flag, and the value in force');
SELECT results_eq($$SELECT entry, in_force FROM flows.hh_audit
                     WHERE register_id = '00000000-0000-0000-0000-000000000201' AND timestamp = '2025-01-13 03:00+00'$$,
  $$VALUES ('estimate', true)$$, 'hh_audit: an estimate in force');
SELECT throws_ok($$UPDATE flows.hh_adjustments SET kwh = 0$$, '42501', NULL, 'the audit log cannot be rewritten');

-- Roll-ups see edits.
SELECT * FROM flows.refresh_rollups();
SELECT is((SELECT total_import_kwh FROM flows.circuit_interval_hh
            WHERE circuit_id = '00000000-0000-0000-0000-0000000000ca' AND bucket = '2025-01-10 10:00+00'),
  (SELECT import_kwh FROM flows.register_interval_hh WHERE register_id = '00000000-0000-0000-0000-000000000101'
      AND timestamp = '2025-01-10 10:00+00'),
  'the circuit roll-up holds the derived value');
CREATE TEMP TABLE day_before AS SELECT total_import_kwh FROM flows.circuit_interval_daily
 WHERE circuit_id = '00000000-0000-0000-0000-0000000000ca' AND bucket = '2025-01-10';
SELECT lives_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:00+00', 5,
                                       'customer reported a read')$$, 'an edit of a circuit member');
SELECT * FROM flows.refresh_rollups();
SELECT is((SELECT total_import_kwh FROM flows.rollup_hh
            WHERE level = 'circuit' AND entity_id = '00000000-0000-0000-0000-0000000000ca' AND timestamp = '2025-01-10 10:00+00'),
  5.0::numeric, 'the refreshed half-hourly roll-up holds the edit');
SELECT is((SELECT total_import_kwh FROM flows.circuit_interval_daily
            WHERE circuit_id = '00000000-0000-0000-0000-0000000000ca' AND bucket = '2025-01-10'),
  (SELECT total_import_kwh + 5 - 0.3 FROM day_before), '... and so does the day');

-- ------------------------------------------------------------ refusals
CREATE TEMP TABLE adjustments_before AS SELECT count(*) AS n FROM flows.hh_adjustments;
CREATE TEMP TABLE flags_before AS SELECT count(*) AS n FROM flows.hh_flags;
SELECT throws_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:15+00', 1, 'x')$$,
  '22023', 'edit_hh: at = 2025-01-10 10:15:00+00 is not the start of a half hour', 'an edit off a half-hour boundary');
SELECT is(pg_temp.hint_of($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:15+00', 1, 'x')$$),
  'half hours start at :00 and :30 UTC; date_bin(''30 minutes'', t, ''2000-01-01'') gives the start of t''s half hour',
  '... with a hint');
SELECT throws_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:00+00', -1, 'x')$$,
  '22023', 'edit_hh: kwh = -1 must not be negative', 'a negative value');
SELECT throws_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:00+00', 1, '  ')$$,
  '22023', 'edit_hh: reason must not be empty', 'an edit without a reason');
SELECT throws_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-00000000ffff', 'import', '2025-01-10 10:00+00', 1, 'x')$$,
  'P0002', 'edit_hh: unknown register 00000000-0000-0000-0000-00000000ffff', 'an unknown register');
SELECT throws_ok($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import', '2025-01-10 10:00+00', NULL, 'x')$$,
  '22004', 'edit_hh: kwh is required', 'an edit without a value');
SELECT throws_like($$SELECT flows.edit_hh('00000000-0000-0000-0000-000000000101', 'import',
                                          date_bin('30 minutes', now(), '2000-01-01') + interval '1 day', 1, 'x')$$,
  '%is a half hour that has not begun', 'an edit of the future');
SELECT throws_ok($$SELECT flows.withdraw_hh_adjustment('00000000-0000-0000-0000-000000000101', 'export', '2025-01-10 10:00+00', 'x')$$,
  'P0002', 'withdraw_hh_adjustment: register 00000000-0000-0000-0000-000000000101 has no estimate or edit in force for export at 2025-01-10 10:00:00+00',
  'withdrawing nothing');
SELECT throws_ok($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-01-10', '2025-01-11', spike_factor => 1)$$,
  '22023', 'validate_hh: spike_factor must be greater than 1, not 1', 'a spike factor that flags everything');
SELECT throws_ok($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-01-11', '2025-01-10')$$,
  '22023', 'validate_hh: to_date = 2025-01-10 must not be before from_date = 2025-01-11', 'a range that ends before it starts');
SELECT throws_ok($$SELECT * FROM flows.validate_hh('00000000-0000-0000-0000-000000000101', '2025-01-10', '2025-01-11', ARRAY['spikes'])$$,
  '22023', 'validate_hh: checks: unknown check ''spikes''', 'an unknown check');
SELECT throws_ok($$SELECT * FROM flows.estimate_gaps('00000000-0000-0000-0000-000000000101', '2025-01-10', '2025-01-11', 0)$$,
  '22023', 'estimate_gaps: max_gap_periods must be between 1 and 48, not 0', 'a gap limit out of range');
SELECT results_eq($$SELECT (SELECT count(*) FROM flows.hh_adjustments), (SELECT count(*) FROM flows.hh_flags)$$,
  $$SELECT (SELECT n FROM adjustments_before), (SELECT n FROM flags_before)$$, 'refusals write nothing');

SELECT * FROM finish();
ROLLBACK;
