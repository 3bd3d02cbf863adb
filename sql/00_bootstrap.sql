-- Bootstrap: the API schema, the roles the install grants to, the enums of
-- DOMAIN.md and small shared helpers. The extension's own schema (`flows`)
-- comes from the control file.

DO $$
BEGIN
  IF current_setting('server_version_num')::int < 150000 THEN
    RAISE EXCEPTION 'flows_ext needs PostgreSQL 15 or later, this is %', current_setting('server_version')
      USING ERRCODE = 'feature_not_supported';
  END IF;
  -- Roles are cluster-wide: create the one the install grants to if missing.
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'flows_worker') THEN
    CREATE ROLE flows_worker NOLOGIN;
  END IF;
END
$$;
COMMENT ON ROLE flows_worker IS 'Flows background worker: the only role that may read prepay token digits.';

CREATE SCHEMA flows_api;
COMMENT ON SCHEMA flows_api IS 'The Flows API: views and functions exposed over HTTP by PostgREST.';

CREATE TYPE flows.meter_mode AS ENUM ('active', 'passive');
COMMENT ON TYPE flows.meter_mode IS 'active: a real meter that is talked to; passive: a digital twin, never contacted.';
CREATE TYPE flows.meter_hardware AS ENUM
  ('C1.w', 'B1.w', 'EMA1.w', 'P1.ax', 'P1.cx', 'SINGLE_PHASE_UNKNOWN', 'THREE_PHASE_UNKNOWN');
COMMENT ON TYPE flows.meter_hardware IS
  'Registry hardware string: C1.w twin element, B1.w / EMA1.w single element, P1.ax / P1.cx three phase.';
CREATE TYPE flows.register_element AS ENUM ('A', 'B', 'SINGLE');
CREATE TYPE flows.register_status AS ENUM ('enabled', 'replaced');
CREATE TYPE flows.circuit_type AS ENUM ('power', 'heat', 'solar');
CREATE TYPE flows.meter_health AS ENUM ('healthy', 'unhealthy');
CREATE TYPE flows.service_head_type AS ENUM ('customer_owned', 'network_owned');
CREATE TYPE flows.property_type AS ENUM ('residential', 'commercial', 'community', 'industrial', 'other');

CREATE FUNCTION flows.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION flows.touch_updated_at() IS 'Trigger: keeps updated_at at the time of the last change.';

-- Reads an interval setting with a default, so views work before the library is loaded.
CREATE FUNCTION flows.setting_interval(name text, fallback interval) RETURNS interval
STABLE PARALLEL SAFE LANGUAGE sql AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting(name, true), '')::interval, fallback)
$$;
CREATE FUNCTION flows.setting_numeric(name text, fallback numeric) RETURNS numeric
STABLE PARALLEL SAFE LANGUAGE sql AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting(name, true), '')::numeric, fallback)
$$;
