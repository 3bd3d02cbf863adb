-- Tariff cost over half-hourly energy: a standing charge per settlement date
-- plus unit rates per element (A day, B night; SINGLE pays A's rate), each
-- half hour priced with the tariff in force then. The tariff history that
-- answers "in force then" is kept from meter_shadows.tariffs_active.

-- The tariff history ---------------------------------------------------------
CREATE TABLE flows.meter_tariff_history (
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  active_from timestamptz NOT NULL,
  tariff flows.tariff NOT NULL,
  PRIMARY KEY (meter_id, active_from)
);
COMMENT ON TABLE flows.meter_tariff_history IS
  'Every active tariff of a meter and when it took effect; the tariff in force at t is the latest row with active_from <= t.';
COMMENT ON COLUMN flows.meter_tariff_history.active_from IS
  'The tariff''s activation_datetime when it has one, else when the shadow first showed it as active.';
SELECT pg_catalog.pg_extension_config_dump('flows.meter_tariff_history', '');

CREATE FUNCTION flows.record_tariff_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  INSERT INTO flows.meter_tariff_history (meter_id, active_from, tariff)
  VALUES (NEW.meter_id, coalesce(flows.tariff_activation(NEW.tariffs_active), NEW.updated_at, now()), NEW.tariffs_active)
  ON CONFLICT (meter_id, active_from) DO UPDATE SET tariff = EXCLUDED.tariff;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION flows.record_tariff_history() IS 'Trigger: a changed active tariff enters flows.meter_tariff_history.';
CREATE TRIGGER record_tariff_history AFTER UPDATE OF tariffs_active ON flows.meter_shadows
  FOR EACH ROW
  WHEN (NEW.tariffs_active IS NOT NULL
        AND (OLD.tariffs_active IS NULL OR OLD.tariffs_active OPERATOR(flows.<>) NEW.tariffs_active))
  EXECUTE FUNCTION flows.record_tariff_history();

-- The aggregate --------------------------------------------------------------
CREATE TYPE flows.tariff_cost AS (
  days integer,
  standing_charge numeric,
  unit_cost_a numeric,
  unit_cost_b numeric,
  total numeric,
  energy_a_kwh numeric,
  energy_b_kwh numeric
);
COMMENT ON TYPE flows.tariff_cost IS
  'What flows.tariff_cost_agg returns: settlement dates charged, standing charge, unit cost per element and total (GBP, 5 decimals), energy per element (kWh; SINGLE counts under A).';

CREATE FUNCTION flows.tariff_cost_agg_push(internal, timestamptz, flows.register_element, numeric, flows.tariff, timestamptz)
  RETURNS internal IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_cost_agg_push';
CREATE FUNCTION flows.tariff_cost_agg_combine(internal, internal) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_cost_agg_combine';
CREATE FUNCTION flows.tariff_cost_agg_serial(internal) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_cost_agg_serial';
CREATE FUNCTION flows.tariff_cost_agg_deserial(bytea, internal) RETURNS internal
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_cost_agg_deserial';
CREATE FUNCTION flows.tariff_cost_agg_final(internal) RETURNS flows.tariff_cost
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_cost_agg_final';

CREATE AGGREGATE flows.tariff_cost_agg(period_start timestamptz, element flows.register_element, kwh numeric,
                                       tariff flows.tariff, tariff_from timestamptz) (
  SFUNC = flows.tariff_cost_agg_push, STYPE = internal, FINALFUNC = flows.tariff_cost_agg_final,
  COMBINEFUNC = flows.tariff_cost_agg_combine, SERIALFUNC = flows.tariff_cost_agg_serial,
  DESERIALFUNC = flows.tariff_cost_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.tariff_cost_agg(timestamptz, flows.register_element, numeric, flows.tariff, timestamptz) IS
  'Cost of HH rows, each joined to the tariff in force (tariff, active from tariff_from): one standing charge per settlement date with a row (a row with NULL kwh marks a date without energy), energy × unit rate per element, rounded once. Refuses rows without a tariff or priced with a superseded one.';

-- The bill of one meter ------------------------------------------------------
-- Imports are billed: register_interval_hh already holds a reversed
-- register's true import (the fan-out swaps directions when recording).
CREATE FUNCTION flows.meter_cost(meter_id uuid, from_date date, to_date date)
RETURNS TABLE (days integer, standing_charge numeric, unit_cost_a numeric, unit_cost_b numeric,
               total numeric, energy_a_kwh numeric, energy_b_kwh numeric)
STABLE PARALLEL SAFE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
BEGIN
  IF meter_cost.meter_id IS NULL OR from_date IS NULL OR to_date IS NULL THEN
    RAISE EXCEPTION 'meter_cost: meter_id, from_date and to_date are required'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT FROM flows.meter_registry m WHERE m.id = meter_cost.meter_id) THEN
    RAISE EXCEPTION 'meter_cost: unknown meter %', meter_cost.meter_id USING ERRCODE = 'no_data_found';
  END IF;
  IF to_date < from_date THEN
    RAISE EXCEPTION 'meter_cost: to_date % precedes from_date %', to_date, from_date
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'the range is the settlement dates from_date to to_date, both included';
  END IF;
  lo := flows.settlement_period_start(from_date, 1);
  hi := flows.settlement_period_start(to_date + 1, 1);
  -- Every settlement date of the range pays its standing charge: one row
  -- without energy at the start of each, beside the meter's HH rows.
  RETURN QUERY
  SELECT (x.c).days, (x.c).standing_charge, (x.c).unit_cost_a, (x.c).unit_cost_b, (x.c).total,
         (x.c).energy_a_kwh, (x.c).energy_b_kwh
    FROM (SELECT flows.tariff_cost_agg(r.period_start, r.element, r.kwh, t.tariff, t.active_from) AS c
            FROM (SELECT h.timestamp, reg.element, h.import_kwh
                    FROM flows.meter_registers reg
                    JOIN flows.register_interval_hh h ON h.register_id = reg.register_id
                   WHERE reg.meter_id = meter_cost.meter_id AND h.timestamp >= lo AND h.timestamp < hi
                  UNION ALL
                  SELECT flows.settlement_period_start(d::date, 1), NULL, NULL
                    FROM generate_series(from_date, to_date, interval '1 day') d) r (period_start, element, kwh)
            LEFT JOIN LATERAL (SELECT th.tariff, th.active_from FROM flows.meter_tariff_history th
                                WHERE th.meter_id = meter_cost.meter_id AND th.active_from <= r.period_start
                                ORDER BY th.active_from DESC LIMIT 1) t ON true) x;
END
$$;
COMMENT ON FUNCTION flows.meter_cost(uuid, date, date) IS
  'What a meter''s imports cost over settlement dates from_date..to_date: a standing charge per date plus unit rates per element, at the tariffs of flows.meter_tariff_history. Refuses a range the history does not cover.';
