-- What a successful command means for the domain: the shadow (and, through
-- its fan-out, the time series), the token ledger, the event log and the
-- profile points. A meter that answered is healthy and online.

CREATE FUNCTION flows.apply_command_result(cmd flows.commands, result jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  m flows.meter_registry;
  reg record;
BEGIN
  SELECT * INTO m FROM flows.meter_registry WHERE id = cmd.meter_id;
  UPDATE flows.meter_shadows SET health = 'healthy', health_details = NULL, last_online_at = now()
   WHERE meter_id = cmd.meter_id;

  CASE cmd.operation
  WHEN 'prepay_balance' THEN
    UPDATE flows.meter_shadows SET balance = (result->>'balance')::numeric, balance_updated_at = now()
     WHERE meter_id = cmd.meter_id;
  WHEN 'csq' THEN
    UPDATE flows.meter_shadows SET csq = (result->>'csq')::smallint WHERE meter_id = cmd.meter_id;
  WHEN 'clock' THEN
    UPDATE flows.meter_shadows SET clock_time_diff_seconds = (result->>'clock_time_diff_seconds')::integer,
           clock_time_diff_measured_at = now()
     WHERE meter_id = cmd.meter_id;
  WHEN 'registers' THEN
    UPDATE flows.meter_shadows SET import_a = (result->>'import_a')::numeric, export_a = (result->>'export_a')::numeric,
           import_b = (result->>'import_b')::numeric, export_b = (result->>'export_b')::numeric
     WHERE meter_id = cmd.meter_id;
  WHEN 'three_phase_registers' THEN
    UPDATE flows.meter_shadows SET import_a = (result->>'active_import')::numeric,
           export_a = (result->>'active_export')::numeric
     WHERE meter_id = cmd.meter_id;
  WHEN 'voltage' THEN
    INSERT INTO flows.meter_voltage (meter_id, timestamp, voltage)
    VALUES (cmd.meter_id, now(), (result->>'voltage')::numeric) ON CONFLICT DO NOTHING;
  WHEN 'three_phase_voltage' THEN
    INSERT INTO flows.meter_3p_voltage (meter_id, timestamp, l1, l2, l3)
    VALUES (cmd.meter_id, now(), (result->>'l1')::numeric, (result->>'l2')::numeric, (result->>'l3')::numeric)
    ON CONFLICT DO NOTHING;
  WHEN 'tariffs_active' THEN
    UPDATE flows.meter_shadows SET tariffs_active = (result->'tariff')::flows.tariff WHERE meter_id = cmd.meter_id;
  WHEN 'tariffs_future' THEN
    UPDATE flows.meter_shadows SET tariffs_future = (result->'tariff')::flows.tariff WHERE meter_id = cmd.meter_id;
  WHEN 'tariffs_future_write' THEN
    UPDATE flows.meter_shadows SET tariffs_future = (result->'read_back')::flows.tariff WHERE meter_id = cmd.meter_id;
  WHEN 'hardware' THEN
    UPDATE flows.meter_shadows SET hardware = result->>'hardware' WHERE meter_id = cmd.meter_id;
  WHEN 'firmware' THEN
    UPDATE flows.meter_shadows SET firmware = result->>'firmware' WHERE meter_id = cmd.meter_id;
  WHEN 'prepay_enabled' THEN
    UPDATE flows.meter_shadows SET prepay_enabled = (result->>'prepay_enabled')::boolean WHERE meter_id = cmd.meter_id;
  WHEN 'prepay_enabled_write' THEN
    UPDATE flows.meter_shadows SET prepay_enabled = (cmd.args->>'enabled')::boolean WHERE meter_id = cmd.meter_id;
  WHEN 'clock_time_write' THEN
    UPDATE flows.meter_shadows SET clock_time_diff_seconds = 0, clock_time_diff_measured_at = now()
     WHERE meter_id = cmd.meter_id;
  WHEN 'prepay_send_token' THEN
    UPDATE flows.prepay_topups
       SET status = 'completed', completed_at = now(),
           balance_before = (result->>'balance_before')::numeric, balance_after = (result->>'balance_after')::numeric,
           reason = CASE WHEN (result->>'applied_earlier')::boolean THEN 'applied by an earlier attempt (verified)' END
     WHERE command_id = cmd.id;
    UPDATE flows.meter_shadows SET balance = (result->>'balance_after')::numeric, balance_updated_at = now()
     WHERE meter_id = cmd.meter_id AND result->>'balance_after' IS NOT NULL;
  WHEN 'event_log' THEN
    INSERT INTO flows.meter_event_log (meter_id, timestamp, event_type, details)
    SELECT cmd.meter_id, (e->>'timestamp')::timestamptz, e->>'event_type', coalesce(e->'details', '{}')
      FROM jsonb_array_elements(result->'events') e
    ON CONFLICT DO NOTHING;
  WHEN 'profile_log' THEN
    FOR reg IN
      SELECT r.register_id, r.direction_reversed, p.key, (p.point->>'timestamp')::timestamptz AS at,
             (p.point->>p.key)::numeric AS value
        FROM jsonb_array_elements(result->'points') pt(point)
       CROSS JOIN LATERAL (SELECT pt.point AS point, k AS key FROM unnest(ARRAY['import_a', 'export_a', 'import_b', 'export_b']) k) p
        JOIN flows.meter_registers r ON r.meter_id = cmd.meter_id AND r.status = 'enabled'
         AND (r.element::text = upper(right(p.key, 1)) OR (r.element = 'SINGLE' AND right(p.key, 1) = 'a'))
       WHERE p.point->>p.key IS NOT NULL
    LOOP
      PERFORM flows.record_register_read(reg.register_id, (reg.key LIKE 'import%') <> reg.direction_reversed,
                                         reg.at, reg.value, 'profile');
    END LOOP;
  ELSE
    NULL;  -- reads kept in the command's result only (serial, transaction count, flags, settings)
  END CASE;
END
$$;
