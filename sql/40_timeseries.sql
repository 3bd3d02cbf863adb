-- Time series. Plain tables with (key, time) primary keys; hypertables when
-- TimescaleDB is installed (now, or later through flows.enable_timescaledb()).

CREATE TABLE flows.register_import (
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  read_kwh numeric(15, 4) NOT NULL CHECK (read_kwh >= 0),
  interval interval,
  source text NOT NULL DEFAULT 'sync' CHECK (source IN ('sync', 'profile', 'manual')),
  PRIMARY KEY (register_id, timestamp)
);
COMMENT ON COLUMN flows.register_import.source IS 'sync: a register read; profile: a point of the meter''s half-hourly profile log; manual: entered by hand.';
COMMENT ON TABLE flows.register_import IS 'Cumulative import register reads (kWh) and the interval since the previous read.';

CREATE TABLE flows.register_export (LIKE flows.register_import INCLUDING ALL);
ALTER TABLE flows.register_export
  ADD FOREIGN KEY (register_id) REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE;
COMMENT ON TABLE flows.register_export IS 'Cumulative export register reads (kWh) and the interval since the previous read.';

CREATE TABLE flows.register_interval_hh (
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL
    CONSTRAINT register_interval_hh_on_half_hour CHECK (date_bin('30 minutes', timestamp, '2000-01-01 00:00+00') = timestamp),
  import_kwh numeric(14, 6) CHECK (import_kwh >= 0),
  export_kwh numeric(14, 6) CHECK (export_kwh >= 0),
  PRIMARY KEY (register_id, timestamp)
);
COMMENT ON TABLE flows.register_interval_hh IS 'Half-hourly energy per register; timestamp is the start of the half hour (UTC).';

CREATE TABLE flows.meter_prepay_balance (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  balance numeric(12, 5) NOT NULL,
  emergency_credit numeric(12, 5),
  PRIMARY KEY (meter_id, timestamp)
);
COMMENT ON TABLE flows.meter_prepay_balance IS 'Every change of a meter''s prepay balance (GBP).';

CREATE TABLE flows.meter_voltage (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  voltage numeric(6, 1) NOT NULL CHECK (voltage >= 0),
  PRIMARY KEY (meter_id, timestamp)
);
COMMENT ON TABLE flows.meter_voltage IS 'Instantaneous voltage of single-phase meters (V).';

CREATE TABLE flows.meter_3p_voltage (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  l1 numeric(6, 1) CHECK (l1 >= 0),
  l2 numeric(6, 1) CHECK (l2 >= 0),
  l3 numeric(6, 1) CHECK (l3 >= 0),
  PRIMARY KEY (meter_id, timestamp)
);
COMMENT ON TABLE flows.meter_3p_voltage IS 'Instantaneous voltage per line of three-phase meters (V).';

CREATE TABLE flows.meter_csq (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  csq smallint NOT NULL CONSTRAINT meter_csq_range CHECK (csq BETWEEN 0 AND 31),
  PRIMARY KEY (meter_id, timestamp)
);
COMMENT ON TABLE flows.meter_csq IS 'Signal quality: 0-9 poor, 10-14 fair, 15-19 good, 20-31 excellent.';

CREATE TABLE flows.meter_health_history (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  health flows.meter_health NOT NULL,
  reason text,
  PRIMARY KEY (meter_id, timestamp)
);
COMMENT ON TABLE flows.meter_health_history IS 'Every health transition of a meter.';

CREATE TABLE flows.meter_event_log (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  timestamp timestamptz NOT NULL,
  event_type text NOT NULL CHECK (btrim(event_type) <> ''),
  details jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (meter_id, timestamp, event_type)
);
COMMENT ON TABLE flows.meter_event_log IS 'Events read from the meter''s event log.';

-- The time-series tables and the chunk interval each gets as a hypertable:
-- a week of raw data per chunk, a month of half-hourly rows.
CREATE FUNCTION flows.timeseries_tables()
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
         ('flows.meter_event_log', '30 days')
$$;

CREATE FUNCTION flows.enable_timescaledb()
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
      EXECUTE format('SELECT %I.create_hypertable(%L::regclass, %I.by_range(''timestamp'', %L::interval), migrate_data => true)',
                     ts_schema, t.table_name, ts_schema, t.chunk_interval);
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION flows.enable_timescaledb() IS
  'Turns the Flows time-series tables into TimescaleDB hypertables (migrating existing rows); run after installing TimescaleDB in a database that had flows_ext without it. Idempotent.';

-- At install: hypertables when TimescaleDB is there, except while a dump is
-- being restored (TimescaleDB's own catalog rows then bring them back).
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'timescaledb')
     AND coalesce(current_setting('timescaledb.restoring', true), 'off') <> 'on' THEN
    PERFORM flows.enable_timescaledb();
  END IF;
END
$$;
