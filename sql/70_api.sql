-- The API (schema flows_api, exposed by PostgREST): RPCs that validate,
-- record and enqueue, then return the command at once; they never wait for a
-- meter. Named arguments; VOLATILE ones answer POST only.

CREATE VIEW flows_api.commands WITH (security_invoker = true) AS
SELECT c.id, m.serial::text AS serial, c.operation, c.args, c.status, c.attempts, c.max_attempts,
       c.next_attempt_at, c.result, c.error, c.idempotency_key, c.created_by, c.created_at,
       c.started_at, c.finished_at
  FROM flows.commands c JOIN flows.meter_registry m ON m.id = c.meter_id;
COMMENT ON VIEW flows_api.commands IS 'Meter commands and their outcome (status, attempts, result, error).';

CREATE FUNCTION flows.meter_by_serial(serial text) RETURNS flows.meter_registry
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE m flows.meter_registry;
BEGIN
  SELECT * INTO m FROM flows.meter_registry r WHERE r.serial OPERATOR(flows.=) meter_by_serial.serial::flows.meter_serial;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown meter %', serial::flows.meter_serial
      USING ERRCODE = 'no_data_found', HINT = 'the serial must be registered in meter_registry';
  END IF;
  RETURN m;
END
$$;

-- VOLATILE so it sees a command inserted earlier in the same statement.
CREATE FUNCTION flows.api_command(id bigint) RETURNS flows_api.commands
VOLATILE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT * FROM flows_api.commands c WHERE c.id = api_command.id
$$;

CREATE FUNCTION flows_api.push_token(serial text, token text, idempotency_key text DEFAULT NULL)
RETURNS flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  m flows.meter_registry := flows.meter_by_serial(serial);
  t flows.prepay_token := token::flows.prepay_token;
  topup flows.prepay_topups;
  cmd flows.commands;
BEGIN
  IF idempotency_key IS NOT NULL THEN
    -- A concurrent retry with the same key waits here, then finds the first one's command.
    PERFORM pg_advisory_xact_lock(hashtextextended('flows.idempotency_key:' || idempotency_key, 0));
    SELECT c.* INTO cmd FROM flows.commands c WHERE c.idempotency_key = push_token.idempotency_key;
    IF FOUND THEN
      IF NOT EXISTS (SELECT FROM flows.prepay_topups p WHERE p.command_id = cmd.id AND p.meter_id = m.id
                                                        AND p.token OPERATOR(flows.=) t) THEN
        RAISE EXCEPTION 'idempotency key "%" was already used for another request', idempotency_key
          USING ERRCODE = 'unique_violation', HINT = 'use a new key for a new request';
      END IF;
      RETURN flows.api_command(cmd.id);
    END IF;
  END IF;
  PERFORM flows.require_active_meter(m);
  SELECT * INTO topup FROM flows.prepay_topups p WHERE p.meter_id = m.id AND p.token OPERATOR(flows.=) t;
  IF FOUND THEN
    RAISE EXCEPTION 'token % was already received for meter % (top-up %, %)', t, m.serial, topup.id, topup.status
      USING ERRCODE = 'unique_violation', HINT = 'a token can be applied to a meter only once';
  END IF;
  BEGIN
    INSERT INTO flows.prepay_topups (meter_id, token) VALUES (m.id, t) RETURNING * INTO topup;
  EXCEPTION WHEN unique_violation THEN  -- the same token pushed concurrently
    RAISE EXCEPTION 'token % was already received for meter %', t, m.serial
      USING ERRCODE = 'unique_violation', HINT = 'a token can be applied to a meter only once';
  END;
  cmd := flows.enqueue_command(m, 'prepay_send_token', jsonb_build_object('topup_id', topup.id), idempotency_key);
  UPDATE flows.prepay_topups SET command_id = cmd.id WHERE id = topup.id;
  RETURN flows.api_command(cmd.id);
END
$$;
COMMENT ON FUNCTION flows_api.push_token(text, text, text) IS
  'Records a top-up token for a meter and queues its verified push: read balance, send token, read balance; completed only if the balance rose.';

CREATE FUNCTION flows.future_tariff_args(tariff jsonb, force boolean) RETURNS jsonb
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  t flows.tariff := tariff::flows.tariff;
  activation timestamptz := flows.tariff_activation(t);
BEGIN
  IF activation IS NULL THEN
    RAISE EXCEPTION 'tariff field "activation_datetime" is required for a future tariff'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'normally midnight UTC at the start of a quarter, at least 24 hours ahead';
  END IF;
  IF activation < now() + interval '24 hours' AND NOT force THEN
    RAISE EXCEPTION 'tariff field "activation_datetime" = % is less than 24 hours ahead', activation
      USING ERRCODE = 'invalid_parameter_value', HINT = 'activate at least 24 hours ahead, or pass force => true';
  END IF;
  RETURN (SELECT jsonb_object_agg(k, flows.tariff_amount(t, k)::text)
            FROM unnest(ARRAY['standing_charge', 'unit_rate_element_a', 'unit_rate_element_b', 'prepayment_emergency_credit',
                              'prepayment_ecredit_availability', 'prepayment_debt_recovery_rate']) k)
         || jsonb_build_object('activation_datetime', t::jsonb->'activation_datetime');
END
$$;

CREATE FUNCTION flows_api.set_future_tariff(serial text, tariff jsonb, idempotency_key text DEFAULT NULL,
                                            force boolean DEFAULT false)
RETURNS flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  RETURN flows.api_command((flows.enqueue_command(flows.meter_by_serial(serial), 'tariffs_future_write',
                                                  flows.future_tariff_args(tariff, force), idempotency_key)).id);
END
$$;
COMMENT ON FUNCTION flows_api.set_future_tariff(text, jsonb, text, boolean) IS
  'Queues writing a future tariff to a meter (then reading it back to verify). Activation at least 24 h ahead unless force.';

CREATE FUNCTION flows_api.set_future_tariff_for_esco(esco_code text, tariff jsonb, force boolean DEFAULT false)
RETURNS SETOF flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  args jsonb := flows.future_tariff_args(tariff, force);
  e flows.escos;
BEGIN
  SELECT * INTO e FROM flows.escos WHERE code = esco_code;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown ESCO %', esco_code USING ERRCODE = 'no_data_found';
  END IF;
  -- LATERAL, not (f()).*, which would call the volatile enqueue once per column.
  RETURN QUERY
    SELECT c.*
      FROM flows.meter_registry m
     CROSS JOIN LATERAL flows.enqueue_command(m, 'tariffs_future_write', args) q
     CROSS JOIN LATERAL flows.api_command(q.id) c
     WHERE m.esco_id = e.id AND m.mode = 'active'
     ORDER BY m.serial;
END
$$;
COMMENT ON FUNCTION flows_api.set_future_tariff_for_esco(text, jsonb, boolean) IS
  'Queues the same future tariff for every active meter of an ESCO: one command per meter.';

-- Reads that need arguments get the usual ones: the profile log of yesterday (UTC).
CREATE FUNCTION flows.default_read_args(operation text) RETURNS jsonb
STABLE LANGUAGE sql AS $$
  SELECT CASE operation
    WHEN 'profile_log' THEN jsonb_build_object('date', ((now() AT TIME ZONE 'UTC')::date - 1)::text)
    ELSE '{}'::jsonb END
$$;

CREATE FUNCTION flows_api.request_meter_read(serial text, operations text[], idempotency_key text DEFAULT NULL)
RETURNS SETOF flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  m flows.meter_registry := flows.meter_by_serial(serial);
  op text;
BEGIN
  IF coalesce(cardinality(operations), 0) = 0 THEN
    RAISE EXCEPTION 'operations must name at least one read' USING ERRCODE = 'invalid_parameter_value',
      HINT = format('reads: %s', array_to_string(flows.meter_operations('read'), ', '));
  END IF;
  FOREACH op IN ARRAY operations LOOP
    IF flows.meter_operation_kind(op) IS DISTINCT FROM 'read' THEN
      RAISE EXCEPTION 'operation "%" is not a meter read', op USING ERRCODE = 'invalid_parameter_value',
        HINT = format('reads: %s', array_to_string(flows.meter_operations('read'), ', '));
    END IF;
  END LOOP;
  RETURN QUERY
    SELECT c.*
      FROM unnest(operations) WITH ORDINALITY o(op, n)
     CROSS JOIN LATERAL flows.enqueue_command(m, o.op, flows.default_read_args(o.op),
                          CASE WHEN idempotency_key IS NOT NULL THEN idempotency_key || ':' || o.op END) q
     CROSS JOIN LATERAL flows.api_command(q.id) c
     ORDER BY o.n;
END
$$;
COMMENT ON FUNCTION flows_api.request_meter_read(text, text[], text) IS
  'Queues one read command per named operation (csq, prepay_balance, registers, tariffs_active, ...).';

CREATE FUNCTION flows_api.request_meter_write(serial text, operation text, args jsonb DEFAULT '{}',
                                              idempotency_key text DEFAULT NULL)
RETURNS flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF operation NOT IN ('clock_time_write', 'prepay_enabled_write', 'backlight_write', 'load_switch_write',
                       'daylight_savings_correction_enabled_write') THEN
    RAISE EXCEPTION 'operation "%" is not a meter write this function makes', operation
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'writes: clock_time_write, prepay_enabled_write, backlight_write, load_switch_write, daylight_savings_correction_enabled_write; tariffs and tokens have their own functions';
  END IF;
  RETURN flows.api_command((flows.enqueue_command(flows.meter_by_serial(serial), operation, coalesce(args, '{}'),
                                                  idempotency_key)).id);
END
$$;
COMMENT ON FUNCTION flows_api.request_meter_write(text, text, jsonb, text) IS
  'Queues a meter write: clock sync, prepay enable/disable, backlight, load switch, daylight-savings flag.';

CREATE FUNCTION flows_api.command_status(command_id bigint) RETURNS flows_api.commands
STABLE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE c flows_api.commands := flows.api_command(command_id);
BEGIN
  IF c.id IS NULL THEN
    RAISE EXCEPTION 'unknown command %', command_id USING ERRCODE = 'no_data_found';
  END IF;
  RETURN c;
END
$$;
COMMENT ON FUNCTION flows_api.command_status(bigint) IS 'One command with its status, result or error.';

CREATE FUNCTION flows_api.cancel_command(command_id bigint) RETURNS flows_api.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE c flows.commands;
BEGIN
  SELECT * INTO c FROM flows.commands WHERE id = command_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown command %', command_id USING ERRCODE = 'no_data_found';
  END IF;
  IF c.status <> 'queued' THEN
    RAISE EXCEPTION 'command % is %, only queued commands can be cancelled', command_id, c.status
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  UPDATE flows.commands SET status = 'cancelled', finished_at = now() WHERE id = command_id;
  UPDATE flows.prepay_topups SET status = 'failed', reason = 'cancelled', completed_at = now() WHERE flows.prepay_topups.command_id = cancel_command.command_id;
  RETURN flows.api_command(command_id);
END
$$;
COMMENT ON FUNCTION flows_api.cancel_command(bigint) IS 'Cancels a queued command (a running one cannot be).';

-- For psql users: block until a command has finished (or the timeout).
CREATE FUNCTION flows.wait_for_command(command_id bigint, timeout interval DEFAULT '60 seconds')
RETURNS flows_api.commands
VOLATILE LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + timeout;
  c flows_api.commands;
BEGIN
  -- A row we can see whose inserting transaction is still in progress is ours.
  IF EXISTS (SELECT FROM flows.commands
              WHERE id = command_id
                AND txid_status((txid_current() >> 32 << 32) | xmin::text::bigint) = 'in progress') THEN
    RAISE EXCEPTION 'command % was created in this transaction; the worker sees it only after COMMIT', command_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  LOOP
    c := flows_api.command_status(command_id);
    EXIT WHEN c.status NOT IN ('queued', 'running') OR clock_timestamp() >= deadline;
    PERFORM pg_sleep(0.02);
  END LOOP;
  RETURN c;
END
$$;
COMMENT ON FUNCTION flows.wait_for_command(bigint, interval) IS
  'Waits until a command is no longer queued or running, or the timeout passes, and returns it.';

CREATE VIEW flows.worker_health AS
SELECT w.pid, w.started_at, w.last_tick_at, w.in_flight, w.library_version,
       (SELECT jsonb_object_agg(coalesce(q.mediator, '(none)'), q.depth) FROM (
          SELECT md.name AS mediator, count(*) AS depth
            FROM flows.commands c JOIN flows.meter_registry m ON m.id = c.meter_id
            LEFT JOIN flows.mediators md ON md.id = flows.meter_mediator_id(m)
           WHERE c.status IN ('queued', 'running') GROUP BY md.name) q) AS queue_depth,
       (SELECT jsonb_agg(e ORDER BY e.at DESC) FROM (
          SELECT c.id, c.operation, c.error, c.updated_at AS at FROM flows.commands c
           WHERE c.error IS NOT NULL AND c.updated_at > now() - interval '1 hour'
           ORDER BY c.updated_at DESC LIMIT 20) e) AS recent_errors
  FROM flows.worker_state w;
COMMENT ON VIEW flows.worker_health IS 'The background worker: last tick, commands in flight, queue depth per mediator, errors of the last hour.';
