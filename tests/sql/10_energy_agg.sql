-- flows.energy_agg (DOMAIN.md rule 12): advances between consecutive
-- distinct reads, rollover and reversal, any arrival order, any grouping,
-- and parallel plans that combine partial states to the same answer.
BEGIN;
SELECT plan(10);

SELECT results_eq($$SELECT (s).first_kwh, (s).last_kwh, (s).advance_kwh, (s).reads, (s).reversals
                      FROM (SELECT flows.energy_agg(at, kwh) AS s FROM (VALUES
                        ('2025-01-01 02:00+00'::timestamptz, 103.0), ('2025-01-01 00:00+00', 100.0),
                        ('2025-01-01 01:00+00', 101.5), ('2025-01-01 01:00+00', 101.5)) v(at, kwh)) x$$,
  $$VALUES (100.0::numeric, 103.0::numeric, 3.0::numeric, 3::bigint, 0)$$,
  'advances sum over sorted, deduplicated reads, whatever the arrival order');
SELECT results_eq($$SELECT (s).advance_kwh, (s).reversals FROM (SELECT flows.energy_agg(at, kwh) AS s FROM (VALUES
                        ('2025-01-01 00:00+00'::timestamptz, 10.0), ('2025-01-01 01:00+00', 12.0),
                        ('2025-01-01 02:00+00', 11.0), ('2025-01-01 03:00+00', 13.0)) v(at, kwh)) x$$,
  $$VALUES (4.0::numeric, 1)$$, 'a drop is a reversal: no energy, later advances from the new value');
SELECT results_eq($$SELECT (s).advance_kwh, (s).rollovers FROM (SELECT flows.energy_agg(at, kwh, 100000, 10) AS s FROM (VALUES
                        ('2025-01-01 00:00+00'::timestamptz, 99990.0), ('2025-01-01 01:00+00', 99995.0),
                        ('2025-01-01 02:00+00', 5.0)) v(at, kwh)) x$$,
  $$VALUES (15.0::numeric, 1)$$, 'a drop from within the margin of the maximum is a rollover');
SELECT throws_like($$SELECT flows.energy_agg(at, kwh) FROM (VALUES ('2025-01-01 00:00+00'::timestamptz, 1.0), ('2025-01-01 00:00+00', 2.0)) v(at, kwh)$$,
  'energy_agg: %', 'two different reads at one instant are a conflict');
SELECT is((SELECT flows.energy_agg(at, kwh) FROM (VALUES (NULL::timestamptz, NULL::numeric)) v(at, kwh)), NULL,
  'no reads, no summary');
SELECT results_eq($$SELECT d, (s).advance_kwh FROM (
                      SELECT date_trunc('day', at) AS d, flows.energy_agg(at, kwh) AS s FROM (VALUES
                        ('2025-01-01 10:00+00'::timestamptz, 1.0), ('2025-01-01 20:00+00', 3.0),
                        ('2025-01-02 10:00+00', 10.0), ('2025-01-02 20:00+00', 11.0)) v(at, kwh) GROUP BY 1) x ORDER BY 1$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 2.0::numeric), ('2025-01-02 00:00+00', 1.0)$$,
  'a pair of reads straddling two groups belongs to neither');

-- The same answer as window-function SQL, and from a parallel plan.
-- A regular table: parallel workers cannot scan temporary ones.
CREATE TABLE public.energy_agg_reads AS
  SELECT '2025-01-01'::timestamptz + g * interval '1 minute' AS at,
         round((g * 0.013 + (g % 97) * 0.0001)::numeric, 4) AS kwh
    FROM generate_series(1, 200000) g ORDER BY random();
ANALYZE public.energy_agg_reads;
SELECT is((SELECT (flows.energy_agg(at, kwh)).advance_kwh FROM public.energy_agg_reads),
          (SELECT sum(greatest(kwh - prev, 0)) FROM (SELECT kwh, lag(kwh) OVER (ORDER BY at) AS prev FROM public.energy_agg_reads) w),
  'equals the window-function computation on 200,000 shuffled reads');
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
SELECT matches(pg_temp.plan_of('SELECT flows.energy_agg(at, kwh) FROM public.energy_agg_reads'), 'Partial Aggregate',
  'the planner may split energy_agg across parallel workers');
SELECT is((SELECT (flows.energy_agg(at, kwh)).advance_kwh FROM public.energy_agg_reads),
          (SELECT sum(greatest(kwh - prev, 0)) FROM (SELECT kwh, lag(kwh) OVER (ORDER BY at) AS prev FROM public.energy_agg_reads) w),
  'the parallel plan combines partial states to the same answer');
SELECT is((SELECT (flows.energy_agg(at, kwh)).reads FROM public.energy_agg_reads), 200000::bigint, '... counting every read once');

SELECT * FROM finish();
ROLLBACK;
