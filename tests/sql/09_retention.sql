-- Retention: old time-series rows go (whole chunks on hypertables, batched
-- deletes on plain tables), recent ones stay; policies are validated.
BEGIN;
SELECT plan(7);
\ir fixtures.psql

SELECT is((SELECT keep FROM flows.retention_policies WHERE table_name = 'flows.register_import'::regclass), '90 days'::interval,
  'raw reads are kept 90 days by default');
SELECT is((SELECT keep FROM flows.retention_policies WHERE table_name = 'flows.register_interval_hh'::regclass), '2 years'::interval,
  'half-hourly data 2 years');
SELECT throws_ok($$INSERT INTO flows.retention_policies VALUES ('flows.escos', '1 year')$$, '22023',
  'retention_policies.table_name: flows.escos is not a Flows time-series table', 'only time-series tables have policies');
SELECT throws_ok($$UPDATE flows.retention_policies SET keep = '1 hour' WHERE table_name = 'flows.meter_csq'::regclass$$, '23514', NULL,
  'a policy keeps at least a day');
INSERT INTO flows.retention_policies VALUES ('flows.meter_csq', '30 days');
SELECT is((SELECT keep FROM flows.retention_policies WHERE table_name = 'flows.meter_csq'::regclass), '30 days'::interval,
  'inserting a policy replaces the table''s policy');

INSERT INTO flows.meter_csq (meter_id, timestamp, csq)
SELECT '00000000-0000-0000-0000-0000000000c1', g, 15 FROM generate_series(now() - interval '200 days', now(), '1 day') g;
SELECT ok((SELECT sum(removed) > 0 FROM flows.apply_retention() WHERE table_name = 'flows.meter_csq'::regclass),
  'retention removes something');
SELECT results_eq($$SELECT count(*) FILTER (WHERE timestamp < now() - interval '60 days') = 0,
                           count(*) FILTER (WHERE timestamp >= now() - interval '30 days') = 31
                      FROM flows.meter_csq$$,
  $$VALUES (true, true)$$, 'rows well past the policy are gone and recent ones kept');

SELECT * FROM finish();
ROLLBACK;
