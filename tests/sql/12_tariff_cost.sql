-- Tariff cost: the tariff history kept from meter_shadows, flows.tariff_cost_agg
-- (standing charge per settlement date, unit rates per element, the tariff in
-- force at each half hour), flows.meter_cost, refusals, and a parallel plan
-- with the same answer as plain SQL.
BEGIN;
SELECT plan(22);
\ir fixtures.psql

-- The history follows tariffs_active.
UPDATE flows.meter_shadows SET tariffs_active = '{"standing_charge": 0.5, "unit_rate_element_a": 0.25, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'
 WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT results_eq($$SELECT active_from, flows.tariff_amount(tariff, 'standing_charge') FROM flows.meter_tariff_history WHERE meter_id = '00000000-0000-0000-0000-0000000000c2'$$,
  $$VALUES (now(), 0.5::numeric)$$, 'a new active tariff enters the history, active from the shadow''s update');
UPDATE flows.meter_shadows SET tariffs_active = tariffs_active, csq = 20 WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT is((SELECT count(*)::integer FROM flows.meter_tariff_history), 1, 'the same tariff read again adds nothing');
UPDATE flows.meter_shadows SET tariffs_active = '{"standing_charge": 0.6, "unit_rate_element_a": 0.3, "unit_rate_element_b": 0.15, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2024-04-01T00:00:00+01:00"}'
 WHERE meter_id = '00000000-0000-0000-0000-0000000000c2';
SELECT is((SELECT active_from FROM flows.meter_tariff_history WHERE flows.tariff_amount(tariff, 'standing_charge') = 0.6), '2024-03-31 23:00+00'::timestamptz,
  'a tariff with an activation_datetime is active from then');
SELECT ok((SELECT extconfig @> ARRAY['flows.meter_tariff_history'::regclass::oid] FROM pg_extension WHERE extname = 'flows_ext'),
  'pg_dump keeps the history');

-- A known history for the twin-element meter (GMT in January: local = UTC).
DELETE FROM flows.meter_tariff_history;
INSERT INTO flows.meter_tariff_history VALUES
  ('00000000-0000-0000-0000-0000000000c2', '2024-01-01 00:00+00', '{"standing_charge": 0.5, "unit_rate_element_a": 0.25, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'),
  ('00000000-0000-0000-0000-0000000000c2', '2024-01-11 12:00+00', '{"standing_charge": 0.6, "unit_rate_element_a": 0.3, "unit_rate_element_b": 0.15, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}'),
  ('00000000-0000-0000-0000-0000000000c1', '2024-03-01 00:00+00', '{"standing_charge": 0.4, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.2, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}');
INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh, export_kwh) VALUES
  -- 2024-01-10: 3 kWh on A, 1 kWh on B (export is not billed).
  ('00000000-0000-0000-0000-000000000201', '2024-01-10 07:00+00', 1, 5), ('00000000-0000-0000-0000-000000000201', '2024-01-10 07:30+00', 1, 0),
  ('00000000-0000-0000-0000-000000000201', '2024-01-10 08:00+00', 1, 0),
  ('00000000-0000-0000-0000-000000000202', '2024-01-10 01:00+00', 0.5, 0), ('00000000-0000-0000-0000-000000000202', '2024-01-10 01:30+00', 0.5, 0),
  -- 2024-01-11: 1 kWh on A before the noon tariff change, 2 kWh after.
  ('00000000-0000-0000-0000-000000000201', '2024-01-11 11:30+00', 1, 0), ('00000000-0000-0000-0000-000000000201', '2024-01-11 12:00+00', 2, 0),
  -- The SINGLE meter across the spring clock change (local midnight 2024-04-01 is 2024-03-31 23:00 UTC).
  ('00000000-0000-0000-0000-000000000101', '2024-03-31 22:30+00', 1, 0), ('00000000-0000-0000-0000-000000000101', '2024-03-31 23:00+00', 1, 0);

SELECT results_eq($$SELECT * FROM flows.meter_cost('00000000-0000-0000-0000-0000000000c2', '2024-01-10', '2024-01-10')$$,
  $$VALUES (1, 0.50000, 0.75000, 0.10000, 1.35000, 3.000000, 1.000000)$$,
  'one day: standing charge, 3 kWh at 0.25 on A, 1 kWh at 0.10 on B');
SELECT results_eq($$SELECT * FROM flows.meter_cost('00000000-0000-0000-0000-0000000000c2', '2024-01-10', '2024-01-12')$$,
  $$VALUES (3, 1.60000, 1.60000, 0.10000, 3.30000, 6.000000, 1.000000)$$,
  'each half hour at the tariff in force then; each date''s standing charge at its midnight tariff, dates without data included');
SELECT results_eq($$SELECT days, standing_charge, unit_cost_a, unit_cost_b FROM flows.meter_cost('00000000-0000-0000-0000-0000000000c1', '2024-03-31', '2024-04-01')$$,
  $$VALUES (2, 0.80000, 0.40000, 0.00000)$$,
  'a SINGLE register pays rate A; the 46-period clock-change date pays one standing charge');
SELECT throws_like($$SELECT * FROM flows.meter_cost('00000000-0000-0000-0000-0000000000c2', '2023-12-31', '2024-01-10')$$,
  'tariff_cost_agg: no tariff in force at 2023-12-31T00:00:00+00:00%', 'a range the tariff history does not cover is refused');
SELECT throws_ok($$SELECT * FROM flows.meter_cost('00000000-0000-0000-0000-0000000000c2', '2024-01-10', '2024-01-09')$$, '22023',
  'meter_cost: to_date 2024-01-09 precedes from_date 2024-01-10', 'a reversed range is refused');
SELECT throws_ok($$SELECT * FROM flows.meter_cost(gen_random_uuid(), '2024-01-10', '2024-01-10')$$, 'P0002', NULL, 'an unknown meter is refused');

-- The aggregate directly.
CREATE TEMP TABLE t (tariff flows.tariff);
INSERT INTO t VALUES ('{"standing_charge": 0.5, "unit_rate_element_a": 0.12345, "unit_rate_element_b": 0.25, "prepayment_emergency_credit": 0, "prepayment_ecredit_availability": 0, "prepayment_debt_recovery_rate": 0}');
SELECT results_eq($$SELECT (c).* FROM (SELECT flows.tariff_cost_agg(g, 'A', 0.000001, t.tariff, '2024-01-01') c
                      FROM t, generate_series('2024-01-01 00:00+00'::timestamptz, '2024-01-03 01:30+00', '30 minutes') g) x$$,
  $$VALUES (3, 1.50000, 0.00001, 0.00000, 1.50001, 0.000100, 0.000000)$$,
  'unit cost is summed exactly and rounded once; one standing charge per date with rows');
SELECT is((SELECT flows.tariff_cost_agg(NULL, 'A', 1, t.tariff, '2024-01-01') FROM t), NULL, 'rows without a period start are skipped: no rows, no cost');
SELECT throws_ok($$SELECT flows.tariff_cost_agg('2024-01-01 00:00+00', 'A', 1, NULL, NULL)$$, 'P0002',
  'tariff_cost_agg: no tariff in force at 2024-01-01T00:00:00+00:00 (tariff is NULL)', 'a row without a tariff is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg('2024-01-01 00:00+00', 'A', 1, tariff, '2024-01-02') FROM t$$, '22023',
  'tariff_cost_agg: tariff_from 2024-01-02T00:00:00+00:00 is after period_start 2024-01-01T00:00:00+00:00: that tariff was not yet in force',
  'a tariff not yet in force is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg(p, 'A', 1, h.tariff, '2024-01-01') FROM flows.meter_tariff_history h,
                     (VALUES ('2024-01-11 12:30+00'::timestamptz)) v(p) WHERE h.meter_id = '00000000-0000-0000-0000-0000000000c2'$$, '22023',
  NULL, 'one tariff instant with two different tariffs is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg(p, 'A', 1, h.tariff, h.active_from) FROM flows.meter_tariff_history h,
                     (VALUES ('2024-01-11 12:30+00'::timestamptz)) v(p) WHERE h.meter_id = '00000000-0000-0000-0000-0000000000c2'$$, '22023',
  'tariff_cost_agg: the row at 2024-01-11T12:30:00+00:00 is priced with the tariff active from 2024-01-01T00:00:00+00:00, but the tariff active from 2024-01-11T12:00:00+00:00 replaced it',
  'a row priced with a superseded tariff is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg('2024-01-01 00:15+00', 'A', 1, tariff, '2024-01-01') FROM t$$, '22023',
  NULL, 'a period start off the half-hour grid is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg('2024-01-01 00:00+00', 'A', -1, tariff, '2024-01-01') FROM t$$, '22023',
  'tariff_cost_agg: kwh -1.000000 of the row at 2024-01-01T00:00:00+00:00 is negative: half-hourly energy never is (DOMAIN.md rule 4)',
  'negative energy is refused');
SELECT throws_ok($$SELECT flows.tariff_cost_agg('2024-01-01 00:00+00', NULL, 1, tariff, '2024-01-01') FROM t$$, '22004',
  NULL, 'energy without an element is refused');

-- Against plain SQL, and in parallel: 200,000 half hours over two tariffs.
CREATE TABLE public.tariff_cost_rows AS
  SELECT g AS period_start, (ARRAY['A', 'B', 'SINGLE'])[1 + (extract(epoch FROM g)::bigint / 1800) % 3]::flows.register_element AS element,
         round(((extract(epoch FROM g)::bigint / 1800) % 1000) * 0.000731, 6) AS kwh,
         h.tariff, h.active_from AS tariff_from
    FROM generate_series('2013-01-01 00:00+00'::timestamptz, '2013-01-01 00:00+00'::timestamptz + 199999 * interval '30 minutes', '30 minutes') g
    CROSS JOIN LATERAL (SELECT * FROM (VALUES
             ('2013-01-01 00:00+00'::timestamptz, '{"standing_charge": 0.5, "unit_rate_element_a": 0.25, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 0, "prepayment_ecredit_availability": 0, "prepayment_debt_recovery_rate": 0}'::flows.tariff),
             ('2019-06-15 12:30+00', '{"standing_charge": 0.65432, "unit_rate_element_a": 0.31234, "unit_rate_element_b": 0.14321, "prepayment_emergency_credit": 0, "prepayment_ecredit_availability": 0, "prepayment_debt_recovery_rate": 0}'))
             v(active_from, tariff) WHERE v.active_from <= g ORDER BY v.active_from DESC LIMIT 1) h
   ORDER BY random();
ANALYZE public.tariff_cost_rows;
CREATE FUNCTION pg_temp.plain_cost() RETURNS TABLE (days bigint, standing numeric, unit_a numeric, unit_b numeric) LANGUAGE sql AS $f$
  WITH dates AS (SELECT DISTINCT (period_start AT TIME ZONE 'Europe/London')::date AS d FROM public.tariff_cost_rows),
       tariffs AS MATERIALIZED (SELECT DISTINCT tariff_from, flows.tariff_amount(tariff, 'standing_charge') AS standing FROM public.tariff_cost_rows)
  SELECT (SELECT count(*) FROM dates),
         (SELECT sum((SELECT t.standing FROM tariffs t WHERE t.tariff_from <= flows.settlement_period_start(d, 1)
                       ORDER BY t.tariff_from DESC LIMIT 1)) FROM dates),
         round(sum(kwh * flows.tariff_amount(tariff, 'unit_rate_element_a')) FILTER (WHERE element <> 'B'), 5),
         round(sum(kwh * flows.tariff_amount(tariff, 'unit_rate_element_b')) FILTER (WHERE element = 'B'), 5)
    FROM public.tariff_cost_rows
$f$;
CREATE TEMP TABLE plain AS SELECT * FROM pg_temp.plain_cost();
SELECT results_eq($$SELECT (c).days::bigint, (c).standing_charge, (c).unit_cost_a, (c).unit_cost_b
                      FROM (SELECT flows.tariff_cost_agg(period_start, element, kwh, tariff, tariff_from) c FROM public.tariff_cost_rows) x$$,
  $$SELECT * FROM plain$$, 'equals plain SQL on 200,000 shuffled half hours over two tariffs');
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
SELECT matches(pg_temp.plan_of('SELECT flows.tariff_cost_agg(period_start, element, kwh, tariff, tariff_from) FROM public.tariff_cost_rows'),
  'Partial Aggregate', 'the planner may split tariff_cost_agg across parallel workers');
SELECT results_eq($$SELECT (c).days::bigint, (c).standing_charge, (c).unit_cost_a, (c).unit_cost_b
                      FROM (SELECT flows.tariff_cost_agg(period_start, element, kwh, tariff, tariff_from) c FROM public.tariff_cost_rows) x$$,
  $$SELECT * FROM plain$$, 'the parallel plan combines partial states to the same answer');

SELECT * FROM finish();
ROLLBACK;
