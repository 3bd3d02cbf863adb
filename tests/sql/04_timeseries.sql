-- Time-series storage: hypertables exactly when TimescaleDB is installed,
-- otherwise plain tables whose primary keys serve (key, time) queries.
BEGIN;
SELECT plan(5);
\ir fixtures.psql

CREATE TEMP TABLE ts_here AS
  SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb') AS present;
-- Dynamic, so this file also plans where TimescaleDB's views do not exist.
CREATE FUNCTION pg_temp.hypertables_in_flows() RETURNS int LANGUAGE plpgsql AS $f$
DECLARE n int;
BEGIN
  EXECUTE $q$SELECT count(*)::int FROM timescaledb_information.hypertables WHERE hypertable_schema = 'flows'$q$ INTO n;
  RETURN n;
END $f$;

SELECT is(
  (SELECT count(*)::int FROM flows.timeseries_tables() t
    WHERE EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.oid = t.table_name AND n.nspname = 'flows')),
  13, 'thirteen time-series tables are listed: nine from DOMAIN.md, profile-log days and three roll-up grains');

SELECT CASE WHEN (SELECT present FROM ts_here) THEN
  is(pg_temp.hypertables_in_flows(), 13,
     'with TimescaleDB every time-series table is a hypertable')
ELSE
  throws_ok('SELECT flows.enable_timescaledb()', '42704', 'TimescaleDB is not installed in this database',
     'without TimescaleDB, enable_timescaledb() says what is missing')
END;

SELECT CASE WHEN (SELECT present FROM ts_here) THEN
  is((SELECT count(*)::int FROM flows.enable_timescaledb() WHERE converted), 0, 'enable_timescaledb() is idempotent')
ELSE
  is((SELECT count(*)::int FROM pg_inherits), 0, 'without TimescaleDB the tables are plain tables')
END;

INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT '00000000-0000-0000-0000-000000000101', g, extract(epoch FROM g - '2025-01-01') / 3600
  FROM generate_series('2025-01-01 00:00+00'::timestamptz, '2025-03-01', '1 hour') g;
SELECT is((SELECT count(*)::int FROM flows.register_import
            WHERE register_id = '00000000-0000-0000-0000-000000000101'
              AND timestamp >= '2025-02-01' AND timestamp < '2025-02-02'), 24,
  'a day of hourly reads is there');
SET LOCAL enable_seqscan = off;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE line text; acc text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN ' || q LOOP acc := acc || line || E'\n'; END LOOP;
  RETURN acc;
END $f$;
SELECT matches(pg_temp.plan_of($q$SELECT * FROM flows.register_import
    WHERE register_id = '00000000-0000-0000-0000-000000000101' AND timestamp >= '2025-02-01' AND timestamp < '2025-02-02'$q$),
  'Index', 'a (register, time range) query is served by an index');

SELECT * FROM finish();
ROLLBACK;
