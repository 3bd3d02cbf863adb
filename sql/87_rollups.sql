-- Roll-ups per circuit, property, site and ESCO at half-hourly, daily
-- (settlement date) and monthly grain (DOMAIN.md rule 9), materialized
-- incrementally: every change of half-hourly values or of membership logs
-- the (level, entity, time range) it affects in rollup_invalidations;
-- flows.refresh_rollups() recomputes exactly those settlement days and their
-- months. The views (circuit_interval_hh, …) read fresh: materialized rows
-- outside pending ranges, computed rows inside them.

CREATE TYPE flows.rollup_level AS ENUM ('circuit', 'property', 'site', 'esco');

-- Half-hourly values as the roll-ups and users see them, one row per
-- channel and half hour: the derived value, or the latest VEE adjustment
-- (flows.hh_adjustments) where there is one. quality_flags are the IEEE
-- 2030.5 reading quality bits: 1 valid, 2 manually edited, 8 estimated by
-- linear interpolation, 16 questionable, 32 derived (apportioned from reads).
CREATE TABLE flows.hh_adjustments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  direction flows.energy_direction NOT NULL,
  timestamp timestamptz NOT NULL
    CONSTRAINT hh_adjustments_on_half_hour CHECK (date_bin('30 minutes', timestamp, '2000-01-01 00:00+00') = timestamp),
  kind text NOT NULL CHECK (kind IN ('estimate', 'edit', 'withdrawal')),
  kwh numeric(14, 6) CONSTRAINT hh_adjustments_kwh_non_negative CHECK (kwh >= 0),
  method text NOT NULL CHECK (btrim(method) <> ''),
  reason text NOT NULL CONSTRAINT hh_adjustments_reason_given CHECK (btrim(reason) <> ''),
  created_by name NOT NULL DEFAULT current_user,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT hh_adjustments_value_unless_withdrawal CHECK ((kind = 'withdrawal') = (kwh IS NULL))
);
CREATE INDEX ON flows.hh_adjustments (register_id, direction, timestamp, id);
COMMENT ON TABLE flows.hh_adjustments IS
  'Append-only audit of VEE estimates and edits of half-hourly values; the latest per channel and half hour is in force (a withdrawal restores the derived value). Derived values are never overwritten.';

CREATE TABLE flows.hh_flags (
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  direction flows.energy_direction NOT NULL,
  timestamp timestamptz NOT NULL,
  check_name text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  flagged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (register_id, direction, timestamp, check_name)
);
COMMENT ON TABLE flows.hh_flags IS 'Validation findings that make a half-hourly value questionable (spike, zero run, reversal, daily sum mismatch).';

CREATE VIEW flows.hh_adjustments_in_force AS
  SELECT DISTINCT ON (register_id, direction, timestamp) *
    FROM flows.hh_adjustments ORDER BY register_id, direction, timestamp, id DESC;
COMMENT ON VIEW flows.hh_adjustments_in_force IS 'The latest VEE adjustment per channel and half hour.';

-- Derived values win over estimates (real data arrived); edits win over both.
CREATE VIEW flows.hh_values AS
  SELECT d.register_id, d.direction, d.timestamp,
         CASE WHEN a.kind = 'edit' THEN a.kwh ELSE d.kwh END AS kwh,
         d.kwh AS derived_kwh, d.partial,
         CASE WHEN a.kind = 'edit' THEN 2
              WHEN d.quality = 'actual' THEN 1 ELSE 33 END
           | CASE WHEN a.kind IS DISTINCT FROM 'edit' AND EXISTS (
                    SELECT FROM flows.hh_flags f
                     WHERE f.register_id = d.register_id AND f.direction = d.direction AND f.timestamp = d.timestamp)
                  THEN 16 ELSE 0 END AS quality_flags
    FROM (SELECT register_id, 'import'::flows.energy_direction AS direction, timestamp, import_kwh AS kwh,
                 import_quality AS quality, coalesce(import_partial, false) AS partial
            FROM flows.register_interval_hh WHERE import_kwh IS NOT NULL
          UNION ALL
          SELECT register_id, 'export', timestamp, export_kwh, export_quality, coalesce(export_partial, false)
            FROM flows.register_interval_hh WHERE export_kwh IS NOT NULL) d
    LEFT JOIN flows.hh_adjustments_in_force a
      ON a.register_id = d.register_id AND a.direction = d.direction AND a.timestamp = d.timestamp
  UNION ALL
  SELECT a.register_id, a.direction, a.timestamp, a.kwh, NULL, false,
         CASE a.kind WHEN 'edit' THEN 2
              ELSE 8 | CASE WHEN EXISTS (
                              SELECT FROM flows.hh_flags f
                               WHERE f.register_id = a.register_id AND f.direction = a.direction AND f.timestamp = a.timestamp)
                            THEN 16 ELSE 0 END END
    FROM flows.hh_adjustments_in_force a
   WHERE a.kind IN ('estimate', 'edit')
     AND NOT EXISTS (SELECT FROM flows.register_interval_hh h
                      WHERE h.register_id = a.register_id AND h.timestamp = a.timestamp
                        AND CASE a.direction WHEN 'import' THEN h.import_kwh ELSE h.export_kwh END IS NOT NULL);
COMMENT ON VIEW flows.hh_values IS
  'Half-hourly values per channel in force: derived, or estimated/edited by VEE (quality_flags: 1 valid, 2 edited, 8 estimated, 16 questionable, 32 derived from reads).';

-- Who is in each roll-up: a circuit's registers; a property's meters (its
-- supply meter and the meters of its service heads); a site's circuits; an
-- ESCO's meters. Materialized, and re-derived when the topology changes.
CREATE TABLE flows.rollup_members (
  level flows.rollup_level NOT NULL,
  entity_id uuid NOT NULL,
  register_id uuid NOT NULL,
  PRIMARY KEY (level, entity_id, register_id)
);
CREATE INDEX ON flows.rollup_members (register_id);
COMMENT ON TABLE flows.rollup_members IS 'The registers each circuit, property, site and ESCO sums; maintained by triggers on the topology.';

CREATE VIEW flows.rollup_membership AS
  SELECT 'circuit'::flows.rollup_level AS level, cr.circuit_id AS entity_id, cr.register_id FROM flows.circuit_register cr
  UNION
  SELECT 'property', p.id, r.register_id
    FROM flows.properties p
    JOIN flows.properties_service_head ps ON ps.property_id = p.id
    JOIN flows.service_head_meter sm ON sm.service_head_id = ps.service_head_id
    JOIN flows.meter_registers r ON r.meter_id = sm.meter_id
  UNION
  SELECT 'property', p.id, r.register_id FROM flows.properties p JOIN flows.meter_registers r ON r.meter_id = p.supply_meter_id
  UNION
  SELECT 'site', c.site_id, cr.register_id FROM flows.circuits c JOIN flows.circuit_register cr ON cr.circuit_id = c.id
  UNION
  SELECT 'esco', m.esco_id, r.register_id FROM flows.meter_registry m JOIN flows.meter_registers r ON r.meter_id = m.id;

CREATE TABLE flows.rollup_invalidations (
  level flows.rollup_level NOT NULL,
  entity_id uuid NOT NULL,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON flows.rollup_invalidations (level, entity_id);
COMMENT ON TABLE flows.rollup_invalidations IS 'Time ranges of roll-ups whose inputs changed since the last flows.refresh_rollups(); consumed by it.';

-- The entities a register's changed range [from_ts, to_ts] touches.
CREATE FUNCTION flows.invalidate_rollups(register_ids uuid[], from_ts timestamptz[], to_ts timestamptz[])
RETURNS void LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  INSERT INTO flows.rollup_invalidations (level, entity_id, from_ts, to_ts)
  SELECT m.level, m.entity_id, min(c.from_ts), max(c.to_ts)
    FROM unnest(register_ids, from_ts, to_ts) c(register_id, from_ts, to_ts)
    JOIN flows.rollup_members m ON m.register_id = c.register_id
   GROUP BY m.level, m.entity_id
$$;

CREATE FUNCTION flows.sync_rollup_members() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF to_regclass('pg_temp.rollup_member_changes') IS NULL THEN
    CREATE TEMP TABLE rollup_member_changes (level flows.rollup_level, entity_id uuid, register_id uuid)
      ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.rollup_member_changes;
  WITH gone AS (
    DELETE FROM flows.rollup_members m
     WHERE NOT EXISTS (SELECT FROM flows.rollup_membership n
                        WHERE n.level = m.level AND n.entity_id = m.entity_id AND n.register_id = m.register_id)
    RETURNING m.*
  ), added AS (
    INSERT INTO flows.rollup_members SELECT * FROM flows.rollup_membership ON CONFLICT DO NOTHING RETURNING *
  )
  INSERT INTO pg_temp.rollup_member_changes SELECT * FROM gone UNION ALL SELECT * FROM added;
  -- A member joining or leaving changes the entity over the member's whole history.
  INSERT INTO flows.rollup_invalidations (level, entity_id, from_ts, to_ts)
  SELECT c.level, c.entity_id, h.first_at, h.last_at
    FROM pg_temp.rollup_member_changes c
    CROSS JOIN LATERAL (SELECT min(v.timestamp) AS first_at, max(v.timestamp) AS last_at FROM flows.hh_values v
                         WHERE v.register_id = c.register_id) h
   WHERE h.first_at IS NOT NULL;
  RETURN NULL;
END
$$;
-- Only the columns membership depends on (a meter's name or a circuit's
-- rating changing is no reason to recompute it).
DO $$
DECLARE t text[];
BEGIN
  FOREACH t SLICE 1 IN ARRAY ARRAY[['circuit_register', ''], ['circuits', 'site_id'],
                                  ['properties', 'site_id, supply_meter_id'], ['properties_service_head', ''],
                                  ['service_head_meter', ''], ['meter_registry', 'esco_id'],
                                  ['meter_registers', 'register_id, meter_id']] LOOP
    EXECUTE format('CREATE TRIGGER sync_rollup_members AFTER INSERT OR UPDATE %s OR DELETE OR TRUNCATE ON flows.%I
                      FOR EACH STATEMENT EXECUTE FUNCTION flows.sync_rollup_members()',
                   CASE WHEN t[2] <> '' THEN 'OF ' || t[2] ELSE '' END, t[1]);
  END LOOP;
END
$$;
INSERT INTO flows.rollup_members SELECT * FROM flows.rollup_membership ON CONFLICT DO NOTHING;

-- Rows of a register-keyed table that change what the roll-ups sum (VEE
-- adjustments and flags), from a transition table named changed_rows.
CREATE FUNCTION flows.log_rollup_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  PERFORM flows.invalidate_rollups(array_agg(register_id), array_agg(first_at), array_agg(last_at))
     FROM (SELECT register_id, min(timestamp) AS first_at, max(timestamp) AS last_at FROM changed_rows GROUP BY 1) c;
  RETURN NULL;
END
$$;
CREATE TRIGGER log_adjustments AFTER INSERT ON flows.hh_adjustments
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_rollup_changes();

-- Deleting a register (a cascade, from inside another trigger) takes its audit with it.
CREATE FUNCTION flows.refuse_adjustment_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'hh_adjustments is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'record a new adjustment (kind withdrawal restores the derived value) instead of changing history';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON flows.hh_adjustments
  FOR EACH STATEMENT EXECUTE FUNCTION flows.refuse_adjustment_changes();

-- Materialized roll-ups. `timestamp` is the half-hour start, the settlement
-- day's first instant (local midnight) or the month's; views show dates.
CREATE TABLE flows.rollup_hh (
  level flows.rollup_level NOT NULL,
  entity_id uuid NOT NULL,
  timestamp timestamptz NOT NULL,
  total_import_kwh numeric(18, 6) NOT NULL,
  total_export_kwh numeric(18, 6) NOT NULL,
  all_actual boolean NOT NULL,
  registers integer NOT NULL,
  PRIMARY KEY (level, entity_id, timestamp)
);
CREATE TABLE flows.rollup_daily (
  level flows.rollup_level NOT NULL,
  entity_id uuid NOT NULL,
  timestamp timestamptz NOT NULL,
  settlement_date date NOT NULL,
  total_import_kwh numeric(18, 6) NOT NULL,
  total_export_kwh numeric(18, 6) NOT NULL,
  periods integer NOT NULL,
  expected_periods integer NOT NULL,
  PRIMARY KEY (level, entity_id, timestamp)
);
CREATE TABLE flows.rollup_monthly (
  level flows.rollup_level NOT NULL,
  entity_id uuid NOT NULL,
  timestamp timestamptz NOT NULL,
  month date NOT NULL,
  total_import_kwh numeric(18, 6) NOT NULL,
  total_export_kwh numeric(18, 6) NOT NULL,
  days_in_month integer NOT NULL,
  days_with_data integer NOT NULL,
  PRIMARY KEY (level, entity_id, timestamp)
);
COMMENT ON TABLE flows.rollup_hh IS 'Materialized half-hourly sums per circuit, property, site and ESCO; read through the *_interval_hh views.';
COMMENT ON TABLE flows.rollup_daily IS 'Materialized sums per settlement date (Europe/London); read through the *_interval_daily views.';
COMMENT ON TABLE flows.rollup_monthly IS 'Materialized sums per calendar month of settlement dates; read through the *_interval_monthly views.';

-- Pending ranges, widened to whole settlement days and merged per entity.
CREATE VIEW flows.rollup_pending AS
  SELECT level, entity_id, lower(r) AS from_ts, upper(r) AS to_ts
    FROM (SELECT level, entity_id,
                 range_agg(tstzrange(flows.settlement_period_start(flows.settlement_date(from_ts), 1),
                                     flows.settlement_period_start(flows.settlement_date(to_ts) + 1, 1))) AS rs
            FROM flows.rollup_invalidations GROUP BY 1, 2) g,
         unnest(g.rs) r;

-- No SET clause: the planner inlines it (every name in it is qualified).
CREATE FUNCTION flows.rollup_hh_compute(level flows.rollup_level, entity_id uuid, from_ts timestamptz, to_ts timestamptz)
RETURNS SETOF flows.rollup_hh STABLE LANGUAGE sql AS $$
  SELECT rollup_hh_compute.level, rollup_hh_compute.entity_id, v.timestamp,
         coalesce(sum(v.kwh) FILTER (WHERE v.direction = 'import'), 0),
         coalesce(sum(v.kwh) FILTER (WHERE v.direction = 'export'), 0),
         bool_and(v.quality_flags = 1), count(DISTINCT v.register_id)::integer
    FROM flows.rollup_members m
    JOIN flows.hh_values v ON v.register_id = m.register_id AND v.timestamp >= from_ts AND v.timestamp < to_ts
   WHERE m.level = rollup_hh_compute.level AND m.entity_id = rollup_hh_compute.entity_id
   GROUP BY v.timestamp
$$;

CREATE VIEW flows.rollup_hh_fresh AS
  SELECT h.* FROM flows.rollup_hh h
   WHERE NOT EXISTS (SELECT FROM flows.rollup_invalidations i
                      WHERE i.level = h.level AND i.entity_id = h.entity_id
                        AND h.timestamp >= flows.settlement_period_start(flows.settlement_date(i.from_ts), 1)
                        AND h.timestamp < flows.settlement_period_start(flows.settlement_date(i.to_ts) + 1, 1))
  UNION ALL
  SELECT c.* FROM flows.rollup_pending p, LATERAL flows.rollup_hh_compute(p.level, p.entity_id, p.from_ts, p.to_ts) c;

CREATE VIEW flows.rollup_daily_fresh AS
  SELECT d.* FROM flows.rollup_daily d
   WHERE NOT EXISTS (SELECT FROM flows.rollup_invalidations i
                      WHERE i.level = d.level AND i.entity_id = d.entity_id
                        AND d.settlement_date BETWEEN flows.settlement_date(i.from_ts)
                                                  AND flows.settlement_date(i.to_ts))
  UNION ALL
  SELECT d.level, d.entity_id, flows.settlement_period_start(d.settlement_date, 1), d.settlement_date,
         d.import_kwh, d.export_kwh, d.periods, flows.settlement_periods(d.settlement_date)
    FROM (SELECT h.level, h.entity_id, flows.settlement_date(h.timestamp) AS settlement_date,
                 sum(h.total_import_kwh) AS import_kwh, sum(h.total_export_kwh) AS export_kwh, count(*)::integer AS periods
            FROM flows.rollup_pending p, LATERAL flows.rollup_hh_compute(p.level, p.entity_id, p.from_ts, p.to_ts) h
           GROUP BY 1, 2, 3) d;

CREATE VIEW flows.rollup_monthly_fresh AS
  SELECT m.* FROM flows.rollup_monthly m
   WHERE NOT EXISTS (SELECT FROM flows.rollup_invalidations i
                      WHERE i.level = m.level AND i.entity_id = m.entity_id
                        AND m.month BETWEEN date_trunc('month', flows.settlement_date(i.from_ts))::date
                                        AND flows.settlement_date(i.to_ts))
  UNION ALL
  SELECT d.level, d.entity_id, flows.settlement_period_start(mo.month, 1), mo.month,
         sum(d.total_import_kwh), sum(d.total_export_kwh),
         extract(day FROM mo.month + interval '1 month' - interval '1 day')::integer, count(*)::integer
    FROM (SELECT DISTINCT i.level, i.entity_id, date_trunc('month', x.d)::date AS month
            FROM flows.rollup_invalidations i,
                 generate_series(date_trunc('month', flows.settlement_date(i.from_ts)),
                                 flows.settlement_date(i.to_ts), interval '1 month') x(d)) mo
    JOIN flows.rollup_daily_fresh d
      ON d.level = mo.level AND d.entity_id = mo.entity_id
     AND d.settlement_date >= mo.month AND d.settlement_date < mo.month + interval '1 month'
   GROUP BY d.level, d.entity_id, mo.month;

CREATE FUNCTION flows.refresh_rollups()
RETURNS TABLE (entities integer, half_hours integer, days integer, months integer)
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('flows.refresh_rollups'));
  IF to_regclass('pg_temp.rollup_ranges') IS NULL THEN
    CREATE TEMP TABLE rollup_ranges (level flows.rollup_level, entity_id uuid, from_ts timestamptz, to_ts timestamptz)
      ON COMMIT DELETE ROWS;
  END IF;
  IF to_regclass('pg_temp.rollup_months') IS NULL THEN
    CREATE TEMP TABLE rollup_months (level flows.rollup_level, entity_id uuid, month date)
      ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.rollup_ranges, pg_temp.rollup_months;

  WITH taken AS (DELETE FROM flows.rollup_invalidations RETURNING *)
  INSERT INTO pg_temp.rollup_ranges
  SELECT level, entity_id, lower(r), upper(r)
    FROM (SELECT level, entity_id,
                 range_agg(tstzrange(flows.settlement_period_start(flows.settlement_date(from_ts), 1),
                                     flows.settlement_period_start(flows.settlement_date(to_ts) + 1, 1))) AS rs
            FROM taken GROUP BY 1, 2) g, unnest(g.rs) r;
  SELECT count(DISTINCT (level, entity_id))::integer, min(from_ts), max(to_ts) INTO entities, lo, hi FROM pg_temp.rollup_ranges;
  ANALYZE pg_temp.rollup_ranges;

  DELETE FROM flows.rollup_hh h USING pg_temp.rollup_ranges r
   WHERE h.level = r.level AND h.entity_id = r.entity_id AND h.timestamp >= r.from_ts AND h.timestamp < r.to_ts
     AND h.timestamp >= lo AND h.timestamp < hi;
  -- One pass over the half hours of every range (not a query per entity).
  INSERT INTO flows.rollup_hh
  SELECT r.level, r.entity_id, v.timestamp,
         coalesce(sum(v.kwh) FILTER (WHERE v.direction = 'import'), 0),
         coalesce(sum(v.kwh) FILTER (WHERE v.direction = 'export'), 0),
         bool_and(v.quality_flags = 1), count(DISTINCT v.register_id)::integer
    FROM pg_temp.rollup_ranges r
    JOIN flows.rollup_members m ON m.level = r.level AND m.entity_id = r.entity_id
    JOIN flows.hh_values v ON v.register_id = m.register_id AND v.timestamp >= r.from_ts AND v.timestamp < r.to_ts
   WHERE v.timestamp >= lo AND v.timestamp < hi  -- a constant envelope: the scan is restricted, not joined
   GROUP BY r.level, r.entity_id, v.timestamp;
  GET DIAGNOSTICS half_hours = ROW_COUNT;

  DELETE FROM flows.rollup_daily d USING pg_temp.rollup_ranges r
   WHERE d.level = r.level AND d.entity_id = r.entity_id AND d.timestamp >= r.from_ts AND d.timestamp < r.to_ts
     AND d.timestamp >= lo AND d.timestamp < hi;
  INSERT INTO flows.rollup_daily
  SELECT d.level, d.entity_id, flows.settlement_period_start(d.settlement_date, 1), d.settlement_date,
         d.import_kwh, d.export_kwh, d.periods, flows.settlement_periods(d.settlement_date)
    FROM (SELECT h.level, h.entity_id, flows.settlement_date(h.timestamp) AS settlement_date,
                 sum(h.total_import_kwh) AS import_kwh, sum(h.total_export_kwh) AS export_kwh, count(*)::integer AS periods
            FROM pg_temp.rollup_ranges r
            JOIN flows.rollup_hh h ON h.level = r.level AND h.entity_id = r.entity_id AND h.timestamp >= r.from_ts AND h.timestamp < r.to_ts
           WHERE h.timestamp >= lo AND h.timestamp < hi
           GROUP BY 1, 2, 3) d;
  GET DIAGNOSTICS days = ROW_COUNT;

  INSERT INTO pg_temp.rollup_months
  SELECT DISTINCT r.level, r.entity_id, date_trunc('month', x.d)::date
    FROM pg_temp.rollup_ranges r,
         generate_series(date_trunc('month', flows.settlement_date(r.from_ts)),
                         flows.settlement_date(r.to_ts - interval '1 microsecond'), interval '1 month') x(d);
  DELETE FROM flows.rollup_monthly m USING pg_temp.rollup_months r
   WHERE m.level = r.level AND m.entity_id = r.entity_id AND m.month = r.month;
  INSERT INTO flows.rollup_monthly
  SELECT r.level, r.entity_id, flows.settlement_period_start(r.month, 1), r.month,
         sum(d.total_import_kwh), sum(d.total_export_kwh),
         extract(day FROM r.month + interval '1 month' - interval '1 day')::integer, count(*)::integer
    FROM pg_temp.rollup_months r
    JOIN flows.rollup_daily d ON d.level = r.level AND d.entity_id = r.entity_id
     AND d.settlement_date >= r.month AND d.settlement_date < r.month + interval '1 month'
   GROUP BY r.level, r.entity_id, r.month;
  GET DIAGNOSTICS months = ROW_COUNT;
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION flows.refresh_rollups() IS
  'Recomputes the settlement days (and their months) of every roll-up with pending invalidations; returns entities, half hours, days and months written.';

-- The DOMAIN.md names, one set per level, reading fresh.
DO $$
DECLARE lvl text;
BEGIN
  FOREACH lvl IN ARRAY ARRAY['circuit', 'property', 'site', 'esco'] LOOP
    EXECUTE format($v$
      CREATE VIEW flows.%1$s_interval_hh AS
        SELECT entity_id AS %1$s_id, timestamp AS bucket, total_import_kwh, total_export_kwh,
               all_actual, registers
          FROM flows.rollup_hh_fresh WHERE level = %1$L;
      CREATE VIEW flows.%1$s_interval_daily AS
        SELECT entity_id AS %1$s_id, settlement_date AS bucket, total_import_kwh, total_export_kwh,
               periods, expected_periods
          FROM flows.rollup_daily_fresh WHERE level = %1$L;
      CREATE VIEW flows.%1$s_interval_monthly AS
        SELECT entity_id AS %1$s_id, month AS bucket, total_import_kwh, total_export_kwh,
               days_in_month, days_with_data
          FROM flows.rollup_monthly_fresh WHERE level = %1$L;
      COMMENT ON VIEW flows.%1$s_interval_hh IS 'Half-hourly import and export per %1$s (UTC half-hour start), materialized plus pending changes.';
      COMMENT ON VIEW flows.%1$s_interval_daily IS 'Import and export per %1$s and settlement date (Europe/London), materialized plus pending changes.';
      COMMENT ON VIEW flows.%1$s_interval_monthly IS 'Import and export per %1$s and month of settlement dates, materialized plus pending changes.';
    $v$, lvl);
  END LOOP;
END
$$;

-- Roll-ups are time series too: hypertables when TimescaleDB is there, and
-- retention per DOMAIN.md (half-hourly 2 years, daily 5 years, monthly forever).
CREATE OR REPLACE FUNCTION flows.timeseries_tables()
RETURNS TABLE (table_name regclass, chunk_interval interval)
IMMUTABLE LANGUAGE sql AS $$
  VALUES ('flows.register_import'::regclass, '7 days'::interval),
         ('flows.register_export', '7 days'),
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
-- No time-only index on the hypertables: every query and retention goes
-- by (key, timestamp) primary keys or by chunk, and each extra index costs
-- every ingested row (a fifth of a COPY of reads).
CREATE OR REPLACE FUNCTION flows.enable_timescaledb()
RETURNS TABLE (table_name regclass, converted boolean)
LANGUAGE plpgsql AS $$
DECLARE
  t record;
  ts_schema name;
BEGIN
  SELECT n.nspname INTO ts_schema
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'timescaledb';
  IF ts_schema IS NULL THEN
    RAISE EXCEPTION 'TimescaleDB is not installed in this database'
      USING ERRCODE = 'undefined_object',
            HINT = 'Add timescaledb to shared_preload_libraries, restart, then CREATE EXTENSION timescaledb.';
  END IF;
  FOR t IN SELECT * FROM flows.timeseries_tables() LOOP
    table_name := t.table_name;
    converted := NOT EXISTS (
      SELECT FROM timescaledb_information.hypertables h JOIN pg_catalog.pg_class c ON c.oid = t.table_name
       WHERE h.hypertable_schema = 'flows' AND h.hypertable_name = c.relname);
    IF converted THEN
      EXECUTE format('SELECT %I.create_hypertable(%L::regclass, %I.by_range(''timestamp'', %L::interval),
                                                 create_default_indexes => false, migrate_data => true)',
                     ts_schema, t.table_name, ts_schema, t.chunk_interval);
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
DO $$
DECLARE t record;
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'timescaledb')
     AND coalesce(current_setting('timescaledb.restoring', true), 'off') <> 'on' THEN
    PERFORM flows.enable_timescaledb();
  END IF;
  -- Those 0.1.0 created.
  FOR t IN SELECT c.relname FROM flows.timeseries_tables() s JOIN pg_catalog.pg_class c ON c.oid = s.table_name LOOP
    EXECUTE format('DROP INDEX IF EXISTS flows.%I', t.relname || '_timestamp_idx');
  END LOOP;
END
$$;
INSERT INTO flows.retention_policies (table_name, keep) VALUES
  ('flows.rollup_hh', '2 years'), ('flows.rollup_daily', '5 years');

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['register_exchanges', 'register_events', 'hh_invalidations', 'hh_adjustments', 'hh_flags',
                           'rollup_invalidations', 'rollup_hh', 'rollup_daily', 'rollup_monthly']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('flows.%I', t)::regclass, '');
  END LOOP;
END
$$;

-- What the worker runs every flows.refresh_interval. At most `max_channels`
-- channels a run, so a large backlog (history just loaded) never holds the
-- worker's commands back for long; true when work is left, and the worker
-- then runs again at its next tick. A failure is logged and leaves the
-- invalidations in place for the next run.
CREATE FUNCTION flows.worker_refresh(max_channels integer DEFAULT 2000) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  hh record;
  r record;
BEGIN
  BEGIN
    SELECT * INTO hh FROM flows.refresh_hh(max_channels);
    SELECT * INTO r FROM flows.refresh_rollups();
    IF hh.channels > 0 OR r.entities > 0 THEN
      RAISE DEBUG 'flows refresh: % channels, % half hours; % roll-ups, % half hours, % days, % months',
        hh.channels, hh.periods, r.entities, r.half_hours, r.days, r.months;
    END IF;
    RETURN hh.channels = max_channels AND EXISTS (SELECT FROM flows.hh_invalidations);
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'flows refresh failed: % (SQLSTATE %)', SQLERRM, SQLSTATE
      USING HINT = 'the changed ranges stay in flows.hh_invalidations and flows.rollup_invalidations; run SELECT * FROM flows.refresh_hh() to see the error';
    RETURN false;
  END;
END
$$;
