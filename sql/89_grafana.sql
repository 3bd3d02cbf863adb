-- What dashboards and reports read: Grafana's time-series shape (time,
-- value, metric) for any entity and bucket, and the everyday questions
-- (daily consumption, site totals by circuit type) as views over the
-- half-hourly data and the roll-ups.

CREATE FUNCTION flows.entity_name(level text, entity_id uuid) RETURNS text
STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT CASE level
    WHEN 'circuit' THEN (SELECT name FROM flows.circuits WHERE id = entity_id)
    WHEN 'property' THEN (SELECT plot FROM flows.properties WHERE id = entity_id)
    WHEN 'site' THEN (SELECT name FROM flows.sites WHERE id = entity_id)
    WHEN 'esco' THEN (SELECT code FROM flows.escos WHERE id = entity_id)
    WHEN 'meter' THEN (SELECT serial::text FROM flows.meter_registry WHERE id = entity_id)
    WHEN 'register' THEN (SELECT m.serial::text || ' ' || r.element FROM flows.meter_registers r
                            JOIN flows.meter_registry m ON m.id = r.meter_id WHERE r.register_id = entity_id)
  END
$$;

-- Energy of a circuit, property, site, ESCO, meter or register in buckets of
-- `bucket`: a multiple of 30 minutes (UTC-aligned), '1 day' (settlement
-- dates, Europe/London) or '1 month'. Two metrics: '<name> import' and
-- '<name> export'. Buckets without data are absent (Grafana draws gaps).
CREATE FUNCTION flows.energy_series(level text, entity_id uuid, from_ts timestamptz, to_ts timestamptz,
                                    bucket interval DEFAULT '30 minutes')
RETURNS TABLE ("time" timestamptz, value numeric, metric text)
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  name text;
  grain text := CASE WHEN bucket = interval '1 month' THEN 'month' WHEN bucket = interval '1 day' THEN 'day' ELSE 'hh' END;
BEGIN
  IF level IS NULL OR level NOT IN ('circuit', 'property', 'site', 'esco', 'meter', 'register') THEN
    RAISE EXCEPTION 'energy_series: level must be circuit, property, site, esco, meter or register, not %', coalesce(level, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF from_ts IS NULL OR to_ts IS NULL OR to_ts <= from_ts THEN
    RAISE EXCEPTION 'energy_series: from_ts must be before to_ts'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'in Grafana pass $__timeFrom() and $__timeTo()';
  END IF;
  IF grain = 'hh' AND (bucket IS NULL OR bucket < interval '30 minutes' OR extract(epoch FROM bucket)::bigint % 1800 <> 0
                       OR date_part('month', bucket) <> 0 OR date_part('day', bucket) <> 0) THEN
    RAISE EXCEPTION 'energy_series: bucket must be a whole number of half hours (up to 23:30), 1 day or 1 month, not %', bucket
      USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. ''30 minutes'', ''2 hours'', ''1 day'', ''1 month''';
  END IF;
  name := flows.entity_name(level, entity_id);
  IF name IS NULL THEN
    RAISE EXCEPTION 'energy_series: no % with id %', level, entity_id USING ERRCODE = 'no_data_found';
  END IF;

  IF level IN ('circuit', 'property', 'site', 'esco') THEN
    RETURN QUERY
    WITH rows AS (
      SELECT h.timestamp AS t, h.total_import_kwh AS import_kwh, h.total_export_kwh AS export_kwh
        FROM flows.rollup_hh_fresh h
       WHERE grain = 'hh' AND h.level = energy_series.level::flows.rollup_level AND h.entity_id = energy_series.entity_id
         AND h.timestamp >= from_ts AND h.timestamp < to_ts
      UNION ALL
      SELECT d.timestamp, d.total_import_kwh, d.total_export_kwh
        FROM flows.rollup_daily_fresh d
       WHERE grain = 'day' AND d.level = energy_series.level::flows.rollup_level AND d.entity_id = energy_series.entity_id
         AND d.timestamp >= from_ts AND d.timestamp < to_ts
      UNION ALL
      SELECT m.timestamp, m.total_import_kwh, m.total_export_kwh
        FROM flows.rollup_monthly_fresh m
       WHERE grain = 'month' AND m.level = energy_series.level::flows.rollup_level AND m.entity_id = energy_series.entity_id
         AND m.timestamp >= from_ts AND m.timestamp < to_ts
    ), bucketed AS (
      SELECT CASE WHEN grain = 'hh' THEN date_bin(bucket, r.t, '2000-01-01 00:00+00') ELSE r.t END AS t,
             sum(r.import_kwh) AS import_kwh, sum(r.export_kwh) AS export_kwh
        FROM rows r GROUP BY 1
    )
    SELECT b.t, v.value, name || ' ' || v.direction
      FROM bucketed b, LATERAL (VALUES ('import', b.import_kwh), ('export', b.export_kwh)) v(direction, value)
     ORDER BY 1, 3;
  ELSE
    RETURN QUERY
    WITH rows AS (
      SELECT v.timestamp AS t, v.direction, v.kwh
        FROM flows.hh_values v
       WHERE v.register_id IN (SELECT r.register_id FROM flows.meter_registers r
                                WHERE (level = 'meter' AND r.meter_id = energy_series.entity_id)
                                   OR (level = 'register' AND r.register_id = energy_series.entity_id))
         AND v.timestamp >= CASE grain WHEN 'hh' THEN from_ts
                                       ELSE flows.settlement_period_start(flows.settlement_date(from_ts), 1) END
         AND v.timestamp < to_ts + CASE grain WHEN 'hh' THEN interval '0' ELSE interval '2 days' END
    ), bucketed AS (
      SELECT CASE grain
               WHEN 'hh' THEN date_bin(bucket, r.t, '2000-01-01 00:00+00')
               WHEN 'day' THEN flows.settlement_period_start(flows.settlement_date(r.t), 1)
               ELSE flows.settlement_period_start(date_trunc('month', flows.settlement_date(r.t))::date, 1)
             END AS t, r.direction, sum(r.kwh) AS value
        FROM rows r GROUP BY 1, 2
    )
    SELECT b.t, b.value, name || ' ' || b.direction
      FROM bucketed b WHERE b.t >= from_ts AND b.t < to_ts
     ORDER BY 1, 3;
  END IF;
END
$$;
COMMENT ON FUNCTION flows.energy_series(text, uuid, timestamptz, timestamptz, interval) IS
  'Grafana time series (time, value, metric) of import and export kWh of a circuit, property, site, esco, meter or register; bucket a multiple of 30 minutes, 1 day (settlement dates) or 1 month.';

-- A meter's live-state history: balance, emergency_credit, csq, voltage or
-- health (1 healthy, 0 unhealthy), in Grafana's shape.
CREATE FUNCTION flows.meter_series(meter_id uuid, measure text, from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE ("time" timestamptz, value numeric, metric text)
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
#variable_conflict use_variable
DECLARE
  serial text := (SELECT m.serial::text FROM flows.meter_registry m WHERE m.id = meter_id);
BEGIN
  IF serial IS NULL THEN
    RAISE EXCEPTION 'meter_series: no meter with id %', meter_id USING ERRCODE = 'no_data_found';
  END IF;
  IF measure IS NULL OR measure NOT IN ('balance', 'emergency_credit', 'csq', 'voltage', 'health') THEN
    RAISE EXCEPTION 'meter_series: measure must be balance, emergency_credit, csq, voltage or health, not %', coalesce(measure, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
    SELECT b.timestamp, CASE measure WHEN 'balance' THEN b.balance ELSE b.emergency_credit END, serial || ' ' || measure
      FROM flows.meter_prepay_balance b
     WHERE measure IN ('balance', 'emergency_credit') AND b.meter_id = meter_series.meter_id
       AND b.timestamp >= from_ts AND b.timestamp < to_ts
    UNION ALL
    SELECT c.timestamp, c.csq::numeric, serial || ' csq' FROM flows.meter_csq c
     WHERE measure = 'csq' AND c.meter_id = meter_series.meter_id AND c.timestamp >= from_ts AND c.timestamp < to_ts
    UNION ALL
    SELECT v.timestamp, v.voltage, serial || ' voltage' FROM flows.meter_voltage v
     WHERE measure = 'voltage' AND v.meter_id = meter_series.meter_id AND v.timestamp >= from_ts AND v.timestamp < to_ts
    UNION ALL
    SELECT h.timestamp, CASE h.health WHEN 'healthy' THEN 1 ELSE 0 END, serial || ' health' FROM flows.meter_health_history h
     WHERE measure = 'health' AND h.meter_id = meter_series.meter_id AND h.timestamp >= from_ts AND h.timestamp < to_ts
    ORDER BY 1;
END
$$;
COMMENT ON FUNCTION flows.meter_series(uuid, text, timestamptz, timestamptz) IS
  'Grafana time series (time, value, metric) of a meter''s balance, emergency_credit, csq, voltage or health (1 healthy, 0 unhealthy).';

CREATE VIEW flows.meter_daily_consumption AS
  SELECT m.id AS meter_id, m.serial, flows.settlement_date(v.timestamp) AS settlement_date,
         sum(v.kwh) FILTER (WHERE v.direction = 'import') AS import_kwh,
         sum(v.kwh) FILTER (WHERE v.direction = 'export') AS export_kwh,
         count(DISTINCT v.timestamp)::integer AS periods
    FROM flows.meter_registry m
    JOIN flows.meter_registers r ON r.meter_id = m.id
    JOIN flows.hh_values v ON v.register_id = r.register_id
   GROUP BY m.id, m.serial, 3;
COMMENT ON VIEW flows.meter_daily_consumption IS 'Import and export kWh per meter and settlement date, from the half-hourly values in force.';

CREATE VIEW flows.site_circuit_type_daily AS
  SELECT c.site_id, c.type AS circuit_type, d.bucket,
         sum(d.total_import_kwh) AS total_import_kwh, sum(d.total_export_kwh) AS total_export_kwh
    FROM flows.circuit_interval_daily d JOIN flows.circuits c ON c.id = d.circuit_id
   GROUP BY 1, 2, 3;
COMMENT ON VIEW flows.site_circuit_type_daily IS 'Site totals per circuit type (power, heat, solar) and settlement date.';
