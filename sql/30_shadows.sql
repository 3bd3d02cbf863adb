-- meter_shadows: the digital twin, one row per meter, created with the meter.
-- updated_at is NULL until the twin first changes after creation.

CREATE TABLE flows.meter_shadows (
  meter_id uuid PRIMARY KEY REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  balance numeric(12, 5),
  emergency_credit numeric(12, 5),
  balance_updated_at timestamptz,
  tariffs_active flows.tariff,
  tariffs_future flows.tariff
    CONSTRAINT tariffs_future_has_activation CHECK (tariffs_future IS NULL OR flows.tariff_activation(tariffs_future) IS NOT NULL),
  import_a numeric(15, 4) CHECK (import_a >= 0),
  import_b numeric(15, 4) CHECK (import_b >= 0),
  export_a numeric(15, 4) CHECK (export_a >= 0),
  export_b numeric(15, 4) CHECK (export_b >= 0),
  csq smallint CONSTRAINT meter_shadows_csq_range CHECK (csq BETWEEN 0 AND 31),
  health flows.meter_health,
  health_details text,
  clock_time_diff_seconds integer,
  clock_time_diff_measured_at timestamptz,
  hardware text,
  firmware text,
  prepay_enabled boolean,
  last_online_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);
COMMENT ON TABLE flows.meter_shadows IS 'Live state of every meter (its digital twin), written by syncs.';
COMMENT ON COLUMN flows.meter_shadows.balance IS 'Prepay balance in GBP (negative when in debt).';
COMMENT ON COLUMN flows.meter_shadows.tariffs_active IS 'The tariff the meter runs now, as read from it. Never written directly to a meter.';
COMMENT ON COLUMN flows.meter_shadows.tariffs_future IS 'The future tariff written to and read back from the meter, with its activation_datetime.';
COMMENT ON COLUMN flows.meter_shadows.last_online_at IS 'When the meter last answered a sync.';
COMMENT ON COLUMN flows.meter_shadows.updated_at IS 'Last change; NULL while the twin is as created.';

CREATE TRIGGER touch_updated_at BEFORE UPDATE ON flows.meter_shadows
  FOR EACH ROW EXECUTE FUNCTION flows.touch_updated_at();

CREATE FUNCTION flows.create_meter_shadow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO flows.meter_shadows (meter_id) VALUES (NEW.id) ON CONFLICT (meter_id) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER create_meter_shadow AFTER INSERT ON flows.meter_registry
  FOR EACH ROW EXECUTE FUNCTION flows.create_meter_shadow();

-- An explicit shadow row (pg_restore, a data migration) replaces the blank
-- twin the meter's insert created, so restoring a dump needs no flags.
CREATE FUNCTION flows.replace_blank_shadow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM flows.meter_shadows s
   WHERE s.meter_id = NEW.meter_id AND s.updated_at IS NULL
     AND row(s.balance, s.emergency_credit, s.tariffs_active, s.tariffs_future, s.import_a, s.import_b,
             s.export_a, s.export_b, s.csq, s.health, s.hardware, s.firmware, s.prepay_enabled,
             s.last_online_at) IS NULL;
  RETURN NEW;
END
$$;
CREATE TRIGGER replace_blank_shadow BEFORE INSERT ON flows.meter_shadows
  FOR EACH ROW EXECUTE FUNCTION flows.replace_blank_shadow();
