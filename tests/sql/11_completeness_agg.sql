-- flows.completeness_agg and its accessors (DOMAIN.md rule 11): present ÷
-- expected settlement periods (46/48/50 a day), the strict variant, missing
-- runs, rollup of day summaries into months, refusals, and a parallel plan
-- that combines partial states to the same answer as plain SQL.
BEGIN;
SELECT plan(24);
\ir fixtures.psql

CREATE TEMP TABLE hh (period_start timestamptz, partial boolean);
-- 2024-10-27 (50 periods): all but periods 11..20; periods 1 and 50 partial.
INSERT INTO hh SELECT flows.settlement_period_start('2024-10-27', p), p IN (1, 50)
  FROM generate_series(1, 50) p WHERE p NOT BETWEEN 11 AND 20;
-- 2024-03-31 (46 periods): complete.
INSERT INTO hh SELECT flows.settlement_period_start('2024-03-31', p), false FROM generate_series(1, 46) p;

SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start, partial), '2024-03-31', '2024-03-31') FROM hh),
  1.000000, 'a complete spring clock-change day: 46 of 46 periods');
SELECT is((SELECT flows.present_periods(flows.completeness_agg(period_start, partial), '2024-10-27', '2024-10-27') FROM hh),
  40, 'the autumn clock-change day has 40 of its 50 periods');
SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start, partial), '2024-10-27', '2024-10-27') FROM hh),
  0.800000, '... completeness 40 / 50 (partial rows count)');
SELECT is((SELECT flows.strict_completeness(flows.completeness_agg(period_start, partial), '2024-10-27', '2024-10-27') FROM hh),
  0.760000, '... strict completeness 38 / 50 (partial rows do not)');
SELECT results_eq($$SELECT * FROM flows.missing_periods((SELECT flows.completeness_agg(period_start, partial) FROM hh), '2024-10-26', '2024-10-27')$$,
  $$VALUES ('2024-10-25 23:00+00'::timestamptz, '2024-10-26 23:00+00'::timestamptz, 48),
           ('2024-10-27 04:00+00', '2024-10-27 09:00+00', 10)$$,
  'missing runs are maximal, in time order, counted in real half hours (the BST day before, periods 11-20)');
SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start, partial), '2024-03-30', '2024-03-31') FROM hh),
  round(46 / 94.0, 6), 'a range adds the expected periods of each settlement date');
SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start), '2024-03-31', '2024-03-31') FROM hh),
  1.000000, 'the one-argument form takes every row as full');
SELECT is((SELECT flows.strict_completeness(flows.completeness_agg(period_start), '2024-10-27', '2024-10-27') FROM hh),
  0.800000, '... so its strict completeness equals the loose one');
SELECT is((SELECT flows.present_periods(flows.completeness_agg(t, false), '2024-03-31', '2024-03-31')
             FROM (SELECT period_start FROM hh UNION ALL SELECT period_start FROM hh UNION ALL SELECT NULL) x(t)),
  46, 'duplicate rows count once and NULL period starts are skipped');
SELECT is((SELECT flows.completeness(flows.completeness_agg(t), '2024-01-01', '2024-01-02') FROM (SELECT NULL::timestamptz WHERE false) x(t)),
  0.000000, 'no rows: an empty summary, 0 complete');

-- Refusals.
SELECT throws_ok($$SELECT flows.completeness_agg('2024-01-01 00:10+00'::timestamptz, false)$$, '22023',
  'completeness_agg: period_start 2024-01-01T00:10:00+00:00 is not the start of a half-hour period (periods start at :00 or :30 UTC, DOMAIN.md rule 1)',
  'a period start off the half-hour grid is refused, naming the argument and the rule');
SELECT throws_ok($$SELECT flows.completeness_agg('infinity'::timestamptz)$$, '22008',
  'completeness_agg: period_start infinity has no settlement period', 'an infinite period start is refused');
SELECT throws_ok($$SELECT flows.completeness_agg('2024-01-01 00:00+00'::timestamptz, NULL)$$, '22004',
  NULL, 'a NULL partial flag is refused');
SELECT throws_ok($$SELECT flows.completeness(flows.completeness_agg(period_start), '2024-01-02', '2024-01-01') FROM hh$$, '22023',
  'completeness: to_date 2024-01-01 precedes from_date 2024-01-02', 'a reversed range is refused');
SELECT throws_ok($$SELECT flows.completeness(flows.completeness_agg(period_start), '-infinity', '2024-01-01') FROM hh$$, '22008',
  NULL, 'an infinite date is refused');

-- Text form: readable, and read back to the same summary.
SELECT is((SELECT flows.completeness_agg(period_start, partial)::text FROM hh WHERE period_start < '2024-10-27 03:00+00' AND period_start >= '2024-10-26'),
  '{"partial":["2024-10-26T23:00:00+00:00"],"present":[["2024-10-26T23:00:00+00:00","2024-10-27T03:00:00+00:00"]]}',
  'the text form lists runs of present periods and the partial ones');
SELECT is((SELECT s::text::flows.completeness_summary::text FROM (SELECT flows.completeness_agg(period_start, partial) s FROM hh) x),
  (SELECT flows.completeness_agg(period_start, partial)::text FROM hh), 'text round-trips');
SELECT throws_ok($$SELECT '{"present": [["2024-01-01T00:10:00Z", "2024-01-01T01:00:00Z"]]}'::flows.completeness_summary$$, '22023',
  'completeness_summary: 2024-01-01T00:10:00+00:00 is not on a half-hour boundary', 'text off the grid is refused');
SELECT throws_ok($$SELECT '{"runs": []}'::flows.completeness_summary$$, '22P02',
  'completeness_summary: "runs" is not a summary field', 'malformed text is refused');

-- Rollup: day summaries of a month give the month's summary.
CREATE TEMP TABLE daily AS
  SELECT (flows.settlement_period(period_start)).settlement_date AS d, flows.completeness_agg(period_start, partial) AS s
    FROM hh GROUP BY 1;
SELECT is((SELECT flows.rollup(s)::text FROM daily), (SELECT flows.completeness_agg(period_start, partial)::text FROM hh),
  'rollup of day summaries equals the summary of all rows');

-- Against plain SQL (flows.hh_completeness) on ~170,000 rows, and in parallel.
-- A regular table: parallel workers cannot scan temporary ones.
CREATE TABLE public.completeness_rows AS
  SELECT g AS period_start FROM generate_series('2020-01-01 00:00+00'::timestamptz, '2031-05-29', '30 minutes') g
   WHERE (extract(epoch FROM g)::bigint / 1800) % 7 <> 3 ORDER BY random();
INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh)
  SELECT '00000000-0000-0000-0000-000000000101', period_start, 0.1 FROM public.completeness_rows;
ANALYZE public.completeness_rows;
SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start), '2020-01-01', '2031-05-28') FROM public.completeness_rows),
          (SELECT completeness FROM flows.hh_completeness('00000000-0000-0000-0000-000000000101', '2020-01-01', '2031-05-28')),
  'equals flows.hh_completeness over eleven years');
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE line text; acc text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN ' || q LOOP acc := acc || line || E'\n'; END LOOP;
  RETURN acc;
END $f$;
SELECT matches(pg_temp.plan_of('SELECT flows.completeness_agg(period_start) FROM public.completeness_rows'), 'Partial Aggregate',
  'the planner may split completeness_agg across parallel workers');
SELECT is((SELECT flows.completeness(flows.completeness_agg(period_start), '2020-01-01', '2031-05-28') FROM public.completeness_rows),
          (SELECT completeness FROM flows.hh_completeness('00000000-0000-0000-0000-000000000101', '2020-01-01', '2031-05-28')),
  'the parallel plan combines partial states to the same answer');
SELECT results_eq($$SELECT * FROM flows.missing_periods((SELECT flows.completeness_agg(period_start) FROM public.completeness_rows), '2024-03-01', '2024-03-02')$$,
  $$SELECT gap_start, gap_end, periods FROM flows.missing_intervals('00000000-0000-0000-0000-000000000101', '2024-03-01 00:00+00', '2024-03-03 00:00+00')$$,
  '... and the same gaps as flows.missing_intervals');

SELECT * FROM finish();
ROLLBACK;
