-- Profile logs as the meter keeps them (0.3.0): one row per register,
-- direction and UTC day with the 48 half-hourly cumulative values, NULL where
-- the log has no point. Kept as rows of register_import they cost as much to
-- store as the half hours derived from them (a key entry per point); as days
-- they COPY ten times faster and still read as points through
-- flows.register_reads. register_import/register_export keep register reads
-- (sync, manual).
--
-- The derivation reads both for all changed channels in a few set-based
-- statements, derives each register once (flows.derive_register_hh, import
-- and export side by side) and writes register_interval_hh straight from it.
-- Written over 0.2.0 objects so the same text upgrades it.

CREATE TABLE flows.register_profile_days (
  register_id uuid NOT NULL,
  direction flows.energy_direction NOT NULL,
  timestamp timestamptz NOT NULL
    CONSTRAINT register_profile_days_at_utc_midnight CHECK (date_bin('1 day', timestamp, '2000-01-01 00:00+00') = timestamp),
  read_kwh numeric(15, 4)[] NOT NULL
    CONSTRAINT register_profile_days_48_half_hours
      CHECK (array_ndims(read_kwh) = 1 AND array_lower(read_kwh, 1) = 1 AND cardinality(read_kwh) = 48)
    CONSTRAINT register_profile_days_not_negative CHECK (0 <= ALL (read_kwh))
    CONSTRAINT register_profile_days_some_point CHECK (num_nonnulls(VARIADIC read_kwh) > 0),
  PRIMARY KEY (register_id, direction, timestamp)
);
COMMENT ON TABLE flows.register_profile_days IS
  'Profile-log points (authoritative cumulative kWh on half-hour boundaries, DOMAIN.md rule 7): read_kwh[i] is the value at timestamp + (i - 1) * 30 minutes (UTC), NULL where the log has no point. Add points with flows.record_profile_points (merges into existing days); COPY suits whole new days.';
COMMENT ON COLUMN flows.register_profile_days.timestamp IS 'The UTC day (midnight) the 48 points belong to.';

CREATE OR REPLACE FUNCTION flows.timeseries_tables()
RETURNS TABLE (table_name regclass, chunk_interval interval)
IMMUTABLE LANGUAGE sql AS $$
  VALUES ('flows.register_import'::regclass, '7 days'::interval),
         ('flows.register_export', '7 days'),
         ('flows.register_profile_days', '30 days'),
         ('flows.register_interval_hh', '30 days'),
         ('flows.meter_prepay_balance', '7 days'),
         ('flows.meter_voltage', '7 days'),
         ('flows.meter_3p_voltage', '7 days'),
         ('flows.meter_csq', '7 days'),
         ('flows.meter_health_history', '30 days'),
         ('flows.meter_event_log', '30 days'),
         ('flows.rollup_hh', '30 days'),
         ('flows.rollup_daily', '365 days'),
         ('flows.rollup_monthly', '3650 days')
$$;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'timescaledb')
     AND coalesce(current_setting('timescaledb.restoring', true), 'off') <> 'on' THEN
    PERFORM flows.enable_timescaledb();
  END IF;
END
$$;
INSERT INTO flows.retention_policies (table_name, keep) VALUES ('flows.register_profile_days', '90 days');
SELECT pg_catalog.pg_extension_config_dump('flows.register_profile_days', '');

-- Checked and logged like the reads: a changed day invalidates the half
-- hours whose points changed (all of a new or deleted day's).
CREATE FUNCTION flows.log_profile_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, direction, min(timestamp), max(timestamp) + interval '23 hours 30 minutes'
      FROM changed_rows GROUP BY 1, 2;
    PERFORM flows.lock_registers(ARRAY(SELECT DISTINCT register_id FROM changed_rows), TG_TABLE_NAME);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, direction, min(timestamp), max(timestamp) + interval '23 hours 30 minutes'
      FROM previous_rows GROUP BY 1, 2;
  ELSE
    PERFORM flows.lock_registers(ARRAY(SELECT DISTINCT register_id FROM changed_rows), TG_TABLE_NAME);
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, direction, min(at), max(at)
      FROM (SELECT coalesce(n.register_id, o.register_id) AS register_id, coalesce(n.direction, o.direction) AS direction,
                   coalesce(n.timestamp, o.timestamp) + (s.i - 1) * interval '30 minutes' AS at
              FROM changed_rows n
              FULL JOIN previous_rows o
                ON o.register_id = n.register_id AND o.direction = n.direction AND o.timestamp = n.timestamp,
                   generate_series(1, 48) s(i)
             WHERE n.read_kwh[s.i] IS DISTINCT FROM o.read_kwh[s.i]) c
     GROUP BY 1, 2;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER log_inserts AFTER INSERT ON flows.register_profile_days
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_profile_changes();
CREATE TRIGGER log_updates AFTER UPDATE ON flows.register_profile_days
  REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_profile_changes();
CREATE TRIGGER log_deletes AFTER DELETE ON flows.register_profile_days
  REFERENCING OLD TABLE AS previous_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_profile_changes();

CREATE OR REPLACE FUNCTION flows.delete_register_series() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  DELETE FROM flows.register_import WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.register_export WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.register_profile_days WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.register_interval_hh WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.hh_failures WHERE register_id IN (SELECT register_id FROM gone);
  RETURN NULL;
END
$$;

-- Points into their days, idempotently: a point already there with the same
-- value is a no-op, with another value a conflict (rule 3).
CREATE FUNCTION flows.record_profile_points(register_id uuid, direction flows.energy_direction,
                                            at timestamptz[], read_kwh numeric[])
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  p record;
  added integer;
BEGIN
  IF register_id IS NULL OR direction IS NULL THEN
    RAISE EXCEPTION 'record_profile_points: % must not be NULL', CASE WHEN register_id IS NULL THEN 'register_id' ELSE 'direction' END
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF coalesce(cardinality(at), 0) <> coalesce(cardinality(read_kwh), 0) THEN
    RAISE EXCEPTION 'record_profile_points: at has % instants but read_kwh has % values', coalesce(cardinality(at), 0), coalesce(cardinality(read_kwh), 0)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'one value per instant, in the same order';
  END IF;
  FOR p IN
    SELECT u.t, u.v, u.n FROM unnest(at, read_kwh) WITH ORDINALITY u(t, v, n)
     WHERE u.t IS NULL OR u.v IS NULL OR NOT isfinite(u.t)
        OR date_bin('30 minutes', u.t, '2000-01-01 00:00+00') <> u.t OR u.v < 0 OR u.v <> round(u.v, 4)
     ORDER BY u.n LIMIT 1
  LOOP
    IF p.t IS NULL OR p.v IS NULL THEN
      RAISE EXCEPTION 'record_profile_points: %[%] is NULL', CASE WHEN p.t IS NULL THEN 'at' ELSE 'read_kwh' END, p.n
        USING ERRCODE = 'null_value_not_allowed';
    ELSIF NOT isfinite(p.t) OR date_bin('30 minutes', p.t, '2000-01-01 00:00+00') <> p.t THEN
      RAISE EXCEPTION 'record_profile_points: at[%] = % is not on a half-hour boundary', p.n, p.t
        USING ERRCODE = 'check_violation', HINT = 'profile points sit on :00/:30 UTC boundaries';
    ELSIF p.v < 0 THEN
      RAISE EXCEPTION 'record_profile_points: read_kwh[%] = % is negative', p.n, p.v
        USING ERRCODE = 'check_violation', HINT = 'profile points are cumulative register values (kWh)';
    ELSE
      RAISE EXCEPTION 'record_profile_points: read_kwh[%] = % has more than 4 decimals', p.n, p.v
        USING ERRCODE = 'invalid_parameter_value', HINT = 'registers are read to 0.0001 kWh';
    END IF;
  END LOOP;
  FOR p IN
    SELECT u.t, min(u.v) AS a, max(u.v) AS b FROM unnest(at, read_kwh) u(t, v)
     GROUP BY u.t HAVING min(u.v) <> max(u.v) ORDER BY u.t LIMIT 1
  LOOP
    RAISE EXCEPTION 'record_profile_points: two values for the point at %: % and % kWh', p.t, p.a, p.b
      USING ERRCODE = 'unique_violation', HINT = 'a cumulative read is fixed once recorded';
  END LOOP;

  IF to_regclass('pg_temp.profile_points') IS NULL THEN
    CREATE TEMP TABLE profile_points (day timestamptz, slot integer, read_kwh numeric(15, 4)) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.profile_points;
  INSERT INTO pg_temp.profile_points
  SELECT DISTINCT date_bin('1 day', u.t, '2000-01-01 00:00+00'),
         1 + (extract(epoch FROM u.t - date_bin('1 day', u.t, '2000-01-01 00:00+00')) / 1800)::integer, u.v
    FROM unnest(at, read_kwh) u(t, v);
  FOR p IN
    SELECT x.day + (x.slot - 1) * interval '30 minutes' AS t, d.read_kwh[x.slot] AS stored, x.read_kwh AS offered
      FROM pg_temp.profile_points x
      JOIN flows.register_profile_days d
        ON d.register_id = record_profile_points.register_id AND d.direction = record_profile_points.direction
       AND d.timestamp = x.day
     WHERE d.read_kwh[x.slot] <> x.read_kwh
     ORDER BY 1 LIMIT 1
  LOOP
    RAISE EXCEPTION 'register %: the % profile point at % is % kWh, not %', register_id, direction, p.t, p.stored, p.offered
      USING ERRCODE = 'unique_violation', HINT = 'a cumulative read is fixed once recorded; delete the wrong one first';
  END LOOP;
  SELECT count(*) INTO added
    FROM pg_temp.profile_points x
   WHERE NOT EXISTS (SELECT FROM flows.register_profile_days d
                      WHERE d.register_id = record_profile_points.register_id AND d.direction = record_profile_points.direction
                        AND d.timestamp = x.day AND d.read_kwh[x.slot] IS NOT NULL);

  INSERT INTO flows.register_profile_days AS d (register_id, direction, timestamp, read_kwh)
  SELECT record_profile_points.register_id, record_profile_points.direction, days.day,
         ARRAY(SELECT x.read_kwh FROM generate_series(1, 48) s(i)
                 LEFT JOIN pg_temp.profile_points x ON x.day = days.day AND x.slot = s.i ORDER BY s.i)
    FROM (SELECT DISTINCT x.day FROM pg_temp.profile_points x) days
  ON CONFLICT ON CONSTRAINT register_profile_days_pkey DO UPDATE
     SET read_kwh = ARRAY(SELECT coalesce(u.offered, u.stored)
                            FROM unnest(EXCLUDED.read_kwh, d.read_kwh) WITH ORDINALITY u(offered, stored, i) ORDER BY u.i)
   WHERE EXISTS (SELECT FROM unnest(EXCLUDED.read_kwh, d.read_kwh) u(offered, stored)
                  WHERE u.offered IS NOT NULL AND u.stored IS NULL);
  RETURN added;
END
$$;
COMMENT ON FUNCTION flows.record_profile_points(uuid, flows.energy_direction, timestamptz[], numeric[]) IS
  'Records profile-log points (cumulative kWh on half-hour boundaries) of one channel into register_profile_days, idempotently; returns how many were new.';

-- A register read marked as a profile point goes to its day.
CREATE OR REPLACE FUNCTION flows.record_register_read(register_id uuid, is_import boolean, at timestamptz,
                                                      read_kwh numeric, source text DEFAULT 'sync')
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  tbl regclass := CASE WHEN is_import THEN 'flows.register_import' ELSE 'flows.register_export' END;
  existing numeric;
  prev_at timestamptz;
BEGIN
  IF source = 'profile' THEN
    PERFORM flows.record_profile_points(register_id, CASE WHEN is_import THEN 'import' ELSE 'export' END::flows.energy_direction,
                                        ARRAY[at], ARRAY[read_kwh]);
    RETURN;
  END IF;
  EXECUTE format('SELECT read_kwh FROM %s WHERE register_id = $1 AND timestamp = $2', tbl)
    INTO existing USING register_id, at;
  IF existing IS NOT NULL THEN
    IF existing <> read_kwh THEN
      RAISE EXCEPTION 'register % already has a read of % kWh at %, not %', register_id, existing, at, read_kwh
        USING ERRCODE = 'unique_violation', HINT = 'a cumulative read is fixed once recorded; correct it with an explicit DELETE first';
    END IF;
    RETURN;
  END IF;
  EXECUTE format('SELECT max(timestamp) FROM %s WHERE register_id = $1 AND timestamp < $2', tbl)
    INTO prev_at USING register_id, at;
  EXECUTE format('INSERT INTO %s (register_id, timestamp, read_kwh, interval, source) VALUES ($1, $2, $3, $2 - $4, $5)', tbl)
    USING register_id, at, read_kwh, prev_at, source;
  EXECUTE format('UPDATE %1$s SET interval = timestamp - $2
                   WHERE register_id = $1 AND timestamp = (SELECT min(timestamp) FROM %1$s WHERE register_id = $1 AND timestamp > $2)', tbl)
    USING register_id, at;
END
$$;

-- Profile points recorded as reads by 0.2.0 move to their days (the
-- triggers log both moves; the derivation gives the same half hours).
INSERT INTO flows.register_profile_days (register_id, direction, timestamp, read_kwh)
SELECT k.register_id, k.direction, k.day,
       ARRAY(SELECT r.read_kwh FROM generate_series(1, 48) s(i)
               LEFT JOIN (SELECT i.register_id, 'import'::flows.energy_direction AS direction, i.timestamp, i.read_kwh
                            FROM flows.register_import i WHERE i.source = 'profile'
                          UNION ALL
                          SELECT e.register_id, 'export'::flows.energy_direction, e.timestamp, e.read_kwh
                            FROM flows.register_export e WHERE e.source = 'profile') r
                 ON r.register_id = k.register_id AND r.direction = k.direction
                AND r.timestamp = k.day + (s.i - 1) * interval '30 minutes'
              ORDER BY s.i)
  FROM (SELECT DISTINCT register_id, 'import'::flows.energy_direction AS direction,
               date_bin('1 day', timestamp, '2000-01-01 00:00+00') AS day
          FROM flows.register_import WHERE source = 'profile'
        UNION
        SELECT DISTINCT register_id, 'export'::flows.energy_direction, date_bin('1 day', timestamp, '2000-01-01 00:00+00')
          FROM flows.register_export WHERE source = 'profile') k;
DELETE FROM flows.register_import WHERE source = 'profile';
DELETE FROM flows.register_export WHERE source = 'profile';
-- Chunks TimescaleDB created for those rows inside this script would count
-- as members of the extension (skipped by pg_dump, dropped with it): they
-- are data, like every other chunk.
DO $$
DECLARE
  chunk regclass;
BEGIN
  FOR chunk IN
    SELECT d.objid::regclass
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_class c ON c.oid = d.objid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
       AND d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'flows_ext')
       AND n.nspname = '_timescaledb_internal' AND c.relkind = 'r'
  LOOP
    EXECUTE format('ALTER EXTENSION flows_ext DROP TABLE %s', chunk);
  END LOOP;
END
$$;
ALTER TABLE flows.register_import
  DROP CONSTRAINT register_import_profile_on_half_hour,
  DROP CONSTRAINT register_import_source_check,
  ADD CONSTRAINT register_import_source_check CHECK (source IN ('sync', 'manual'));
ALTER TABLE flows.register_export
  DROP CONSTRAINT register_export_profile_on_half_hour,
  DROP CONSTRAINT register_import_source_check,
  ADD CONSTRAINT register_import_source_check CHECK (source IN ('sync', 'manual'));
COMMENT ON COLUMN flows.register_import.source IS
  'sync: a register read; manual: entered by hand. Profile-log points are in register_profile_days.';
COMMENT ON TABLE flows.register_interval_hh IS
  'Half-hourly energy per register, derived by flows.refresh_hh() from register_import/register_export and register_profile_days (profile points are authoritative); timestamp is the start of the half hour (UTC). Rows of a re-derived range are replaced.';

-- The register check and roll-up invalidation of changed half hours, from
-- the transition tables in Rust (src/hh_changes.rs): a refresh writes
-- hundreds of thousands at once and grouping them in SQL was a tenth of it.
CREATE OR REPLACE FUNCTION flows.log_hh_changes() RETURNS trigger
  LANGUAGE C AS 'MODULE_PATHNAME', 'log_hh_changes';

-- The grid check of half hours (rule 1) as a C function: date_bin() was a
-- twentieth of every refresh's insert.
CREATE FUNCTION flows.on_half_hour(timestamptz) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'on_half_hour';
COMMENT ON FUNCTION flows.on_half_hour(timestamptz) IS 'The instant is on a :00/:30 UTC boundary (DOMAIN.md rule 1).';
ALTER TABLE flows.register_interval_hh
  DROP CONSTRAINT register_interval_hh_on_half_hour,
  ADD CONSTRAINT register_interval_hh_on_half_hour CHECK (flows.on_half_hour(timestamp));

-- Every cumulative value of a channel: reads and profile points.
CREATE OR REPLACE VIEW flows.register_reads AS
  SELECT register_id, 'import'::flows.energy_direction AS direction, timestamp, read_kwh, source FROM flows.register_import
  UNION ALL
  SELECT register_id, 'export'::flows.energy_direction, timestamp, read_kwh, source FROM flows.register_export
  UNION ALL
  SELECT d.register_id, d.direction, d.timestamp + (u.i - 1) * interval '30 minutes', u.v::numeric(15, 4), 'profile'
    FROM flows.register_profile_days d, unnest(d.read_kwh) WITH ORDINALITY u(v, i)
   WHERE u.v IS NOT NULL;
COMMENT ON VIEW flows.register_reads IS
  'Every cumulative value by channel: register_import and register_export (source sync/manual) and the points of register_profile_days (source profile).';

-- refresh_hh now finds windows and their context inline (one plan for all
-- channels; SQL functions called per channel cost more than the derivation).
DROP FUNCTION flows.hh_window(uuid, flows.energy_direction, timestamptz, timestamptz);

-- One register's derivation as flows.refresh_hh() writes it, in the row
-- types of the tables it writes (so nothing is converted on the way in).
CREATE FUNCTION flows.derive_register_hh(
  register_id uuid, register_max_kwh numeric, rollover_margin_kwh numeric,
  installed_at timestamptz, installed_old_final_import_kwh numeric, installed_old_final_export_kwh numeric,
  installed_new_initial_import_kwh numeric, installed_new_initial_export_kwh numeric,
  removed_at timestamptz, removed_old_final_import_kwh numeric, removed_old_final_export_kwh numeric,
  removed_new_initial_import_kwh numeric, removed_new_initial_export_kwh numeric,
  import_window_start timestamptz, import_window_end timestamptz, import_read_at timestamptz[], import_read_kwh numeric[],
  import_profile_days timestamptz[], import_profile_kwh numeric[],
  export_window_start timestamptz, export_window_end timestamptz, export_read_at timestamptz[], export_read_kwh numeric[],
  export_profile_days timestamptz[], export_profile_kwh numeric[])
RETURNS SETOF flows.register_interval_hh
IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'derive_register_hh';
COMMENT ON FUNCTION flows.derive_register_hh IS
  'One register''s half hours in the windows given per direction, import and export side by side, as register_interval_hh holds them. Per direction: the window, the reads in it and the nearest on each side, the profile days overlapping it and the nearest on each side (2-D array, 48 values a day); exchanges as in register_exchanges.';
CREATE FUNCTION flows.derive_register_events(
  register_id uuid, register_max_kwh numeric, rollover_margin_kwh numeric,
  installed_at timestamptz, installed_old_final_import_kwh numeric, installed_old_final_export_kwh numeric,
  installed_new_initial_import_kwh numeric, installed_new_initial_export_kwh numeric,
  removed_at timestamptz, removed_old_final_import_kwh numeric, removed_old_final_export_kwh numeric,
  removed_new_initial_import_kwh numeric, removed_new_initial_export_kwh numeric,
  import_window_start timestamptz, import_window_end timestamptz, import_read_at timestamptz[], import_read_kwh numeric[],
  import_profile_days timestamptz[], import_profile_kwh numeric[],
  export_window_start timestamptz, export_window_end timestamptz, export_read_at timestamptz[], export_read_kwh numeric[],
  export_profile_days timestamptz[], export_profile_kwh numeric[])
RETURNS SETOF flows.register_events
IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'derive_register_events';
COMMENT ON FUNCTION flows.derive_register_events IS
  'The rollover, reversal and exchange events of the same derivation as flows.derive_register_hh (recorded_at now()).';

-- Channels whose derivation failed, with the changed range they keep until
-- their data changes again (then refresh_hh tries them once more).
CREATE TABLE flows.hh_failures (
  register_id uuid NOT NULL,
  direction flows.energy_direction NOT NULL,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  sqlstate text NOT NULL,
  message text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (register_id, direction)
);
COMMENT ON TABLE flows.hh_failures IS
  'Channels flows.refresh_hh() could not derive (the error, and the changed range kept for the next attempt); their half hours stay as they were. A change of their data, or flows.retry_hh_failures(), tries them again.';
SELECT pg_catalog.pg_extension_config_dump('flows.hh_failures', '');

CREATE FUNCTION flows.retry_hh_failures() RETURNS integer
LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  WITH queued AS (
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, direction, from_ts, to_ts FROM flows.hh_failures
    RETURNING 1
  )
  SELECT count(*)::integer FROM queued
$$;
COMMENT ON FUNCTION flows.retry_hh_failures() IS
  'Queues every channel of flows.hh_failures for the next flows.refresh_hh(); returns how many.';

-- What refresh_hh does for the channels in pg_temp.hh_refresh_windows: clear their
-- windows, derive and write the half hours and events. One statement set,
-- so a failing register can be retried alone.
CREATE FUNCTION flows.write_hh(OUT periods integer, OUT events integer)
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  -- Each window's context (flows_energy::Window::context): the reads in it
  -- and the nearest on each side; the profile days overlapping it and the
  -- nearest on each side (points beyond the context are harmless). In key
  -- order, as the index of the half hours likes their inserts.
  channel_contexts constant text := $q$
    SELECT w.register_id, w.direction, w.window_start, w.window_end,
           rc.read_at, rc.read_kwh, pc.days AS profile_days, pc.kwh AS profile_kwh
      FROM pg_temp.hh_refresh_windows w
      CROSS JOIN LATERAL (
        SELECT array_agg(r.timestamp) AS read_at, array_agg(r.read_kwh) AS read_kwh FROM (
          SELECT x.timestamp, x.read_kwh FROM flows.register_import x
           WHERE w.direction = 'import' AND x.register_id = w.register_id AND x.timestamp BETWEEN w.window_start AND w.window_end
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_import x
            WHERE w.direction = 'import' AND x.register_id = w.register_id AND x.timestamp < w.window_start
            ORDER BY x.timestamp DESC LIMIT 1)
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_import x
            WHERE w.direction = 'import' AND x.register_id = w.register_id AND x.timestamp > w.window_end
            ORDER BY x.timestamp LIMIT 1)
          UNION ALL
          SELECT x.timestamp, x.read_kwh FROM flows.register_export x
           WHERE w.direction = 'export' AND x.register_id = w.register_id AND x.timestamp BETWEEN w.window_start AND w.window_end
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_export x
            WHERE w.direction = 'export' AND x.register_id = w.register_id AND x.timestamp < w.window_start
            ORDER BY x.timestamp DESC LIMIT 1)
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_export x
            WHERE w.direction = 'export' AND x.register_id = w.register_id AND x.timestamp > w.window_end
            ORDER BY x.timestamp LIMIT 1)) r) rc
      CROSS JOIN LATERAL (
        SELECT array_agg(d.timestamp) AS days, array_agg(d.read_kwh) AS kwh FROM (
          SELECT x.timestamp, x.read_kwh FROM flows.register_profile_days x
           WHERE x.register_id = w.register_id AND x.direction = w.direction
             AND x.timestamp BETWEEN date_bin('1 day', w.window_start, '2000-01-01 00:00+00') AND w.window_end
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_profile_days x
            WHERE x.register_id = w.register_id AND x.direction = w.direction
              AND x.timestamp < date_bin('1 day', w.window_start, '2000-01-01 00:00+00')
            ORDER BY x.timestamp DESC LIMIT 1)
          UNION ALL
          (SELECT x.timestamp, x.read_kwh FROM flows.register_profile_days x
            WHERE x.register_id = w.register_id AND x.direction = w.direction AND x.timestamp > w.window_end
            ORDER BY x.timestamp LIMIT 1)) d) pc
     ORDER BY w.register_id, w.direction$q$;
  -- The channel's events (per channel) and the half hours of each register
  -- (both directions side by side) from the contexts while they are at hand.
  events_and_half_hours constant text := $q$
    contexts AS MATERIALIZED (%s),
    logged AS (
      INSERT INTO pg_temp.hh_new_events
      SELECT e.*
        FROM contexts c
        JOIN flows.meter_registers reg ON reg.register_id = c.register_id
        LEFT JOIN flows.register_exchanges xi ON xi.new_register_id = c.register_id
        LEFT JOIN flows.register_exchanges xr ON xr.old_register_id = c.register_id
        CROSS JOIN LATERAL (SELECT c.direction = 'import' AS i, c.direction = 'export' AS x) d
        CROSS JOIN LATERAL flows.derive_register_events(
          c.register_id, reg.register_max_kwh, reg.rollover_margin_kwh,
          xi.exchanged_at, xi.old_final_import_kwh, xi.old_final_export_kwh, xi.new_initial_import_kwh, xi.new_initial_export_kwh,
          xr.exchanged_at, xr.old_final_import_kwh, xr.old_final_export_kwh, xr.new_initial_import_kwh, xr.new_initial_export_kwh,
          CASE WHEN d.i THEN c.window_start END, CASE WHEN d.i THEN c.window_end END, CASE WHEN d.i THEN c.read_at END,
          CASE WHEN d.i THEN c.read_kwh END, CASE WHEN d.i THEN c.profile_days END, CASE WHEN d.i THEN c.profile_kwh END,
          CASE WHEN d.x THEN c.window_start END, CASE WHEN d.x THEN c.window_end END, CASE WHEN d.x THEN c.read_at END,
          CASE WHEN d.x THEN c.read_kwh END, CASE WHEN d.x THEN c.profile_days END, CASE WHEN d.x THEN c.profile_kwh END) e
    ),
    derived AS %s (
      SELECT d.*
        FROM (SELECT DISTINCT c.register_id FROM contexts c ORDER BY 1) g
        CROSS JOIN LATERAL (SELECT * FROM flows.meter_registers r WHERE r.register_id = g.register_id) reg
        LEFT JOIN contexts ci ON ci.register_id = g.register_id AND ci.direction = 'import'
        LEFT JOIN contexts ce ON ce.register_id = g.register_id AND ce.direction = 'export'
        LEFT JOIN LATERAL (SELECT * FROM flows.register_exchanges x WHERE x.new_register_id = g.register_id) xi ON true
        LEFT JOIN LATERAL (SELECT * FROM flows.register_exchanges x WHERE x.old_register_id = g.register_id) xr ON true
        CROSS JOIN LATERAL flows.derive_register_hh(
          g.register_id, reg.register_max_kwh, reg.rollover_margin_kwh,
          xi.exchanged_at, xi.old_final_import_kwh, xi.old_final_export_kwh, xi.new_initial_import_kwh, xi.new_initial_export_kwh,
          xr.exchanged_at, xr.old_final_import_kwh, xr.old_final_export_kwh, xr.new_initial_import_kwh, xr.new_initial_export_kwh,
          ci.window_start, ci.window_end, ci.read_at, ci.read_kwh, ci.profile_days, ci.profile_kwh,
          ce.window_start, ce.window_end, ce.read_at, ce.read_kwh, ce.profile_days, ce.profile_kwh) d
    )$q$;
  updated integer := 0;
BEGIN
  DELETE FROM pg_temp.hh_existing;
  DELETE FROM pg_temp.hh_new_events;
  -- Clear each channel's half hours in its window (the table's triggers log
  -- what changed for the roll-ups); rows left hold the other direction only.
  UPDATE flows.register_interval_hh h
     SET import_kwh = NULL, import_quality = NULL, import_partial = NULL
    FROM pg_temp.hh_refresh_windows w
   WHERE w.direction = 'import' AND h.register_id = w.register_id
     AND h.timestamp >= w.window_start AND h.timestamp < w.window_end AND h.import_kwh IS NOT NULL
     AND h.export_kwh IS NOT NULL;
  UPDATE flows.register_interval_hh h
     SET export_kwh = NULL, export_quality = NULL, export_partial = NULL
    FROM pg_temp.hh_refresh_windows w
   WHERE w.direction = 'export' AND h.register_id = w.register_id
     AND h.timestamp >= w.window_start AND h.timestamp < w.window_end AND h.export_kwh IS NOT NULL
     AND h.import_kwh IS NOT NULL;
  DELETE FROM flows.register_interval_hh h USING pg_temp.hh_refresh_windows w
   WHERE h.register_id = w.register_id AND h.timestamp >= w.window_start AND h.timestamp < w.window_end
     AND (h.import_kwh IS NULL OR w.direction = 'import') AND (h.export_kwh IS NULL OR w.direction = 'export');
  INSERT INTO pg_temp.hh_existing
  SELECT DISTINCT h.register_id, h.timestamp
    FROM pg_temp.hh_refresh_windows w
    JOIN flows.register_interval_hh h
      ON h.register_id = w.register_id AND h.timestamp >= w.window_start AND h.timestamp < w.window_end;
  ANALYZE pg_temp.hh_existing;

  -- Derive and write straight from the derivation: the rows left above are
  -- updated, the rest inserted.
  IF NOT EXISTS (SELECT FROM pg_temp.hh_existing) THEN
    EXECUTE format('WITH ' || events_and_half_hours || $q$
      INSERT INTO flows.register_interval_hh SELECT d.* FROM derived d$q$, channel_contexts, 'NOT MATERIALIZED');
    GET DIAGNOSTICS periods = ROW_COUNT;
  ELSE
    EXECUTE format('WITH ' || events_and_half_hours || $q$,
      updated AS (
        UPDATE flows.register_interval_hh h SET
          import_kwh = coalesce(d.import_kwh, h.import_kwh),
          import_quality = coalesce(d.import_quality, h.import_quality),
          import_partial = coalesce(d.import_partial, h.import_partial),
          export_kwh = coalesce(d.export_kwh, h.export_kwh),
          export_quality = coalesce(d.export_quality, h.export_quality),
          export_partial = coalesce(d.export_partial, h.export_partial)
          FROM derived d JOIN pg_temp.hh_existing e ON e.register_id = d.register_id AND e.at = d.timestamp
         WHERE h.register_id = d.register_id AND h.timestamp = d.timestamp
        RETURNING 1
      ), inserted AS (
        INSERT INTO flows.register_interval_hh SELECT d.* FROM derived d
         WHERE NOT EXISTS (SELECT FROM pg_temp.hh_existing e WHERE e.register_id = d.register_id AND e.at = d.timestamp)
        RETURNING 1
      )
      SELECT ((SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted))::integer$q$,
      channel_contexts, 'MATERIALIZED') INTO periods;
  END IF;

  -- Events: keep those derived again (and when they were first recorded).
  DELETE FROM flows.register_events e USING pg_temp.hh_refresh_windows w
   WHERE e.register_id = w.register_id AND e.direction = w.direction
     AND e.timestamp >= w.window_start AND e.timestamp < w.window_end
     AND NOT EXISTS (SELECT FROM pg_temp.hh_new_events d
                      WHERE d.register_id = e.register_id AND d.direction = e.direction AND d.timestamp = e.timestamp
                        AND d.kind = e.kind AND d.previous_at IS NOT DISTINCT FROM e.previous_at
                        AND d.previous_kwh IS NOT DISTINCT FROM e.previous_kwh AND d.new_kwh IS NOT DISTINCT FROM e.new_kwh);
  INSERT INTO flows.register_events (register_id, direction, timestamp, kind, previous_at, previous_kwh, new_kwh, advance_kwh)
  SELECT d.register_id, d.direction, d.timestamp, d.kind, d.previous_at, d.previous_kwh, d.new_kwh, d.advance_kwh
    FROM pg_temp.hh_new_events d
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS events = ROW_COUNT;
END
$$;
COMMENT ON FUNCTION flows.write_hh() IS
  'Internal to flows.refresh_hh(): derives and writes the half hours and events of the channels in pg_temp.hh_refresh_windows.';

CREATE OR REPLACE FUNCTION flows.refresh_hh(max_channels integer DEFAULT NULL)
RETURNS TABLE (channels integer, periods integer, events integer)
LANGUAGE plpgsql SET search_path = pg_catalog, flows SET work_mem = '64MB' AS $$
DECLARE
  register uuid;
  p integer;
  e integer;
  state text;
  message text;
BEGIN
  IF max_channels IS NOT NULL AND max_channels < 1 THEN
    RAISE EXCEPTION 'refresh_hh: max_channels must be at least 1, not %', max_channels
      USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL refreshes every channel with changes';
  END IF;
  -- One refresh at a time: two would interleave their writes of one channel.
  PERFORM pg_advisory_xact_lock(hashtext('flows.refresh_hh'));

  IF to_regclass('pg_temp.hh_refresh_windows') IS NULL THEN
    -- (hh_windows of 0.2.0 may live on in a session that has run it.)
    CREATE TEMP TABLE hh_refresh_windows (
      register_id uuid, direction flows.energy_direction, window_start timestamptz, window_end timestamptz,
      changed_from timestamptz, changed_to timestamptz
    ) ON COMMIT DELETE ROWS;
  END IF;
  IF to_regclass('pg_temp.hh_existing') IS NULL THEN
    CREATE TEMP TABLE hh_existing (register_id uuid, at timestamptz) ON COMMIT DELETE ROWS;
  END IF;
  IF to_regclass('pg_temp.hh_new_events') IS NULL THEN
    CREATE TEMP TABLE hh_new_events (LIKE flows.register_events) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.hh_refresh_windows, pg_temp.hh_existing, pg_temp.hh_new_events;

  -- Each channel's window: the half hours its changes can reach — to the
  -- nearest points outside them (a profile point supersedes reads up to
  -- half an hour away, rule 7).
  WITH chosen AS (
    SELECT i.register_id, i.direction FROM flows.hh_invalidations i
     GROUP BY 1, 2 ORDER BY min(i.logged_at) LIMIT max_channels
  ), taken AS (
    DELETE FROM flows.hh_invalidations i USING chosen c
     WHERE i.register_id = c.register_id AND i.direction = c.direction
    RETURNING i.register_id, i.direction, i.from_ts, i.to_ts
  ), retried AS (  -- a channel that failed before is tried again with what it kept
    DELETE FROM flows.hh_failures f USING chosen c
     WHERE f.register_id = c.register_id AND f.direction = c.direction
    RETURNING f.register_id, f.direction, f.from_ts, f.to_ts
  )
  INSERT INTO pg_temp.hh_refresh_windows
  SELECT t.register_id, t.direction,
         date_bin('30 minutes', coalesce(greatest(bi.at, be.at, bp.at), t.lo), '2000-01-01 00:00+00'),
         date_bin('30 minutes', coalesce(least(ai.at, ae.at, ap.at), t.hi), '2000-01-01 00:00+00') + interval '30 minutes',
         t.changed_from, t.changed_to
    FROM (SELECT register_id, direction, min(from_ts) AS changed_from, max(to_ts) AS changed_to,
                 greatest(min(from_ts), '1900-01-01 00:00+00') - interval '30 minutes' AS lo,
                 least(max(to_ts), '2200-01-01 00:00+00') + interval '30 minutes' AS hi
            FROM (SELECT * FROM taken UNION ALL SELECT * FROM retried) u GROUP BY 1, 2) t
    JOIN flows.meter_registers r ON r.register_id = t.register_id  -- deleted registers have no rows left
    LEFT JOIN LATERAL (SELECT x.timestamp AS at FROM flows.register_import x
                        WHERE t.direction = 'import' AND x.register_id = t.register_id AND x.timestamp < t.lo
                        ORDER BY x.timestamp DESC LIMIT 1) bi ON true
    LEFT JOIN LATERAL (SELECT x.timestamp AS at FROM flows.register_export x
                        WHERE t.direction = 'export' AND x.register_id = t.register_id AND x.timestamp < t.lo
                        ORDER BY x.timestamp DESC LIMIT 1) be ON true
    LEFT JOIN LATERAL (SELECT max(d.timestamp + (u.i - 1) * interval '30 minutes') AS at
                         FROM (SELECT x.timestamp, x.read_kwh FROM flows.register_profile_days x
                                WHERE x.register_id = t.register_id AND x.direction = t.direction AND x.timestamp < t.lo
                                ORDER BY x.timestamp DESC LIMIT 2) d,
                              unnest(d.read_kwh) WITH ORDINALITY u(v, i)
                        WHERE u.v IS NOT NULL AND d.timestamp + (u.i - 1) * interval '30 minutes' < t.lo) bp ON true
    LEFT JOIN LATERAL (SELECT x.timestamp AS at FROM flows.register_import x
                        WHERE t.direction = 'import' AND x.register_id = t.register_id AND x.timestamp > t.hi
                        ORDER BY x.timestamp LIMIT 1) ai ON true
    LEFT JOIN LATERAL (SELECT x.timestamp AS at FROM flows.register_export x
                        WHERE t.direction = 'export' AND x.register_id = t.register_id AND x.timestamp > t.hi
                        ORDER BY x.timestamp LIMIT 1) ae ON true
    LEFT JOIN LATERAL (SELECT min(d.timestamp + (u.i - 1) * interval '30 minutes') AS at
                         FROM (SELECT x.timestamp, x.read_kwh FROM flows.register_profile_days x
                                WHERE x.register_id = t.register_id AND x.direction = t.direction
                                  AND x.timestamp > t.hi - interval '1 day'
                                ORDER BY x.timestamp LIMIT 2) d,
                              unnest(d.read_kwh) WITH ORDINALITY u(v, i)
                        WHERE u.v IS NOT NULL AND d.timestamp + (u.i - 1) * interval '30 minutes' > t.hi) ap ON true;
  SELECT count(*)::integer INTO channels FROM pg_temp.hh_refresh_windows;
  ANALYZE pg_temp.hh_refresh_windows;

  -- A register whose derivation fails (data no rule can place, e.g. exchanges
  -- out of order, or a read so far off that a half hour overflows) must not
  -- hold the others back: on failure each register is tried alone, and the
  -- failing ones keep their changed range in hh_failures until their data
  -- changes again (or flows.retry_hh_failures()).
  BEGIN
    SELECT w.periods, w.events INTO periods, events FROM flows.write_hh() w;
  EXCEPTION WHEN OTHERS THEN
    periods := 0;
    events := 0;
    IF to_regclass('pg_temp.hh_batch') IS NULL THEN
      CREATE TEMP TABLE hh_batch (LIKE pg_temp.hh_refresh_windows) ON COMMIT DROP;
    END IF;
    DELETE FROM pg_temp.hh_batch;
    INSERT INTO pg_temp.hh_batch SELECT * FROM pg_temp.hh_refresh_windows;
    FOR register IN SELECT DISTINCT b.register_id FROM pg_temp.hh_batch b ORDER BY 1 LOOP
      DELETE FROM pg_temp.hh_refresh_windows;
      INSERT INTO pg_temp.hh_refresh_windows SELECT * FROM pg_temp.hh_batch b WHERE b.register_id = register;
      BEGIN
        SELECT w.periods, w.events INTO p, e FROM flows.write_hh() w;
        periods := periods + p;
        events := events + e;
      EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
        INSERT INTO flows.hh_failures AS f (register_id, direction, from_ts, to_ts, sqlstate, message)
        SELECT b.register_id, b.direction, b.changed_from, b.changed_to, state, message
          FROM pg_temp.hh_batch b WHERE b.register_id = register
        ON CONFLICT (register_id, direction) DO UPDATE
           SET from_ts = least(f.from_ts, EXCLUDED.from_ts), to_ts = greatest(f.to_ts, EXCLUDED.to_ts),
               sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, failed_at = now();
        RAISE WARNING 'refresh_hh: register % not derived: % (SQLSTATE %)', register, message, state
          USING HINT = 'its half hours stay as they were and the change is kept in flows.hh_failures; correct the data (that derives it again) or SELECT flows.retry_hh_failures()';
      END;
    END LOOP;
  END;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION flows.refresh_hh(integer) IS
  'Re-derives register_interval_hh and register_events for the channels whose reads or profile points changed (oldest changes first, at most max_channels); returns channels, half-hour rows written and new events.';
