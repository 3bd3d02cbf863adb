-- UK settlement periods (Europe/London): 48 a day, 46 on the spring clock
-- change, 50 in autumn; completeness and gaps use them.
BEGIN;
SELECT plan(14);
\ir fixtures.psql

SELECT is(flows.settlement_periods('2024-06-01'), 48, 'an ordinary day has 48 periods');
SELECT is(flows.settlement_periods('2024-03-31'), 46, 'the spring clock change has 46');
SELECT is(flows.settlement_periods('2024-10-27'), 50, 'the autumn clock change has 50');
SELECT results_eq($$SELECT * FROM flows.settlement_period('2024-10-27 00:30+00')$$,
  $$VALUES ('2024-10-27'::date, 4)$$, 'the repeated hour: 01:30 BST is period 4');
SELECT results_eq($$SELECT * FROM flows.settlement_period('2024-10-27 01:00+00')$$,
  $$VALUES ('2024-10-27'::date, 5)$$, '... and 01:00 GMT is period 5');
SELECT results_eq($$SELECT * FROM flows.settlement_period('2024-06-01 22:59+00')$$,
  $$VALUES ('2024-06-01'::date, 48)$$, 'in summer 23:59 BST is the last period of the local date');
SELECT results_eq($$SELECT * FROM flows.settlement_period('2024-06-01 23:00+00')$$,
  $$VALUES ('2024-06-02'::date, 1)$$, '... and midnight BST starts the next settlement date');
SELECT is(flows.settlement_period_start('2024-10-27', 50), '2024-10-27 23:30+00'::timestamptz, 'period 50 of the autumn day');
SELECT throws_ok($$SELECT flows.settlement_period_start('2024-03-31', 47)$$, '22023',
  'settlement date 2024-03-31 has periods 1 to 46, not 47', 'a period the day does not have is refused');
SELECT throws_ok($$SELECT * FROM flows.settlement_period('infinity')$$, '22008', NULL, 'infinity has no period');

-- A spring day of HH rows with two holes.
INSERT INTO flows.register_interval_hh (register_id, timestamp, import_kwh)
SELECT '00000000-0000-0000-0000-000000000101', g, 0.1
  FROM generate_series(flows.settlement_period_start('2024-03-31', 1), flows.settlement_period_start('2024-04-01', 1) - interval '30 minutes', '30 minutes') g
 WHERE g NOT IN ('2024-03-31 05:00+00', '2024-03-31 10:00+00', '2024-03-31 10:30+00');
SELECT results_eq($$SELECT * FROM flows.missing_intervals('00000000-0000-0000-0000-000000000101', '2024-03-31 00:00+00', '2024-03-31 23:00+00')$$,
  $$VALUES ('2024-03-31 05:00+00'::timestamptz, '2024-03-31 05:30+00'::timestamptz, 1),
           ('2024-03-31 10:00+00', '2024-03-31 11:00+00', 2)$$, 'missing intervals are the maximal runs of absent half hours');
SELECT results_eq($$SELECT * FROM flows.missing_intervals('00000000-0000-0000-0000-000000000101', '2024-03-31 04:59+00', '2024-03-31 05:30+00')$$,
  $$VALUES ('2024-03-31 05:00+00'::timestamptz, '2024-03-31 05:30+00'::timestamptz, 1)$$, 'a range start between boundaries counts from the next period');
SELECT results_eq($$SELECT * FROM flows.hh_completeness('00000000-0000-0000-0000-000000000101', '2024-03-31', '2024-03-31')$$,
  $$VALUES (46, 43, round(43 / 46.0, 6))$$, 'completeness of the 46-period day');
SELECT results_eq($$SELECT expected_periods FROM flows.hh_completeness('00000000-0000-0000-0000-000000000101', '2024-10-26', '2024-10-28')$$,
  $$VALUES (48 + 50 + 48)$$, 'expected periods follow the settlement calendar');

SELECT * FROM finish();
ROLLBACK;
