-- Fan-out from the digital twin: a change of a shadow's balance, csq, health
-- or register reads lands in the matching time series, stamped with the
-- time of the change. An unchanged value writes nothing.

CREATE FUNCTION flows.fan_out_shadow() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  at timestamptz := coalesce(NEW.updated_at, now());
  reading record;
BEGIN
  IF NEW.balance IS DISTINCT FROM OLD.balance AND NEW.balance IS NOT NULL THEN
    INSERT INTO flows.meter_prepay_balance (meter_id, timestamp, balance, emergency_credit)
    VALUES (NEW.meter_id, coalesce(NEW.balance_updated_at, at), NEW.balance, NEW.emergency_credit)
    ON CONFLICT (meter_id, timestamp) DO UPDATE SET balance = EXCLUDED.balance, emergency_credit = EXCLUDED.emergency_credit;
  END IF;
  IF NEW.csq IS DISTINCT FROM OLD.csq AND NEW.csq IS NOT NULL THEN
    INSERT INTO flows.meter_csq (meter_id, timestamp, csq) VALUES (NEW.meter_id, at, NEW.csq)
    ON CONFLICT (meter_id, timestamp) DO UPDATE SET csq = EXCLUDED.csq;
  END IF;
  IF NEW.health IS DISTINCT FROM OLD.health AND NEW.health IS NOT NULL THEN
    INSERT INTO flows.meter_health_history (meter_id, timestamp, health, reason)
    VALUES (NEW.meter_id, at, NEW.health, NEW.health_details)
    ON CONFLICT (meter_id, timestamp) DO UPDATE SET health = EXCLUDED.health, reason = EXCLUDED.reason;
  END IF;
  -- Register reads: element A or B of a twin meter, SINGLE otherwise (its
  -- reads arrive as element A); direction_reversed swaps import and export.
  FOR reading IN
    SELECT r.register_id, v.direction <> r.direction_reversed AS is_import, v.new_value
      FROM (VALUES ('A', true, NEW.import_a, OLD.import_a), ('A', false, NEW.export_a, OLD.export_a),
                   ('B', true, NEW.import_b, OLD.import_b), ('B', false, NEW.export_b, OLD.export_b))
           AS v(element, direction, new_value, old_value)
      JOIN flows.meter_registers r
        ON r.meter_id = NEW.meter_id AND r.status = 'enabled'
       AND (r.element::text = v.element OR (r.element = 'SINGLE' AND v.element = 'A'))
     WHERE v.new_value IS DISTINCT FROM v.old_value AND v.new_value IS NOT NULL
  LOOP
    PERFORM flows.record_register_read(reading.register_id, reading.is_import, at, reading.new_value, 'sync');
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER fan_out_shadow AFTER UPDATE ON flows.meter_shadows
  FOR EACH ROW EXECUTE FUNCTION flows.fan_out_shadow();

-- One cumulative read into register_import/register_export, idempotent:
-- the same (register, instant, value) again is a no-op, a different value at
-- the same instant is refused; `interval` is the gap to the previous read,
-- and the following read's gap is corrected when a late read lands between.
CREATE FUNCTION flows.record_register_read(register_id uuid, is_import boolean, at timestamptz,
                                           read_kwh numeric, source text DEFAULT 'sync')
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  tbl regclass := CASE WHEN is_import THEN 'flows.register_import' ELSE 'flows.register_export' END;
  existing numeric;
  prev_at timestamptz;
BEGIN
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
COMMENT ON FUNCTION flows.record_register_read(uuid, boolean, timestamptz, numeric, text) IS
  'Records one cumulative register read (import or export), idempotently and in time order whatever the arrival order.';
