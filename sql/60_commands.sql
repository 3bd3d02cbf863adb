-- The durable command queue: one row per meter operation, carried out by
-- the background worker. Invariants: at most one running command per meter
-- (unique index), FIFO per meter (only a meter's oldest open command is
-- claimable), an attempt is counted when claimed (so a command that kills
-- the worker ends up dead, not in a crash loop), leases expire back to queued.

CREATE TYPE flows.command_status AS ENUM ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled');

CREATE TABLE flows.commands (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  operation text NOT NULL,
  args jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(args) = 'object'),
  status flows.command_status NOT NULL DEFAULT 'queued',
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz,
  idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  progress jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  error jsonb,
  created_by name NOT NULL DEFAULT current_user,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT commands_running_has_lease CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX commands_idempotency_key ON flows.commands (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX commands_one_running_per_meter ON flows.commands (meter_id) WHERE status = 'running';
CREATE INDEX commands_open_per_meter ON flows.commands (meter_id, id) WHERE status IN ('queued', 'running');
CREATE INDEX commands_finished ON flows.commands (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX commands_due ON flows.commands (next_attempt_at, id) WHERE status = 'queued';
CREATE TRIGGER touch_updated_at BEFORE UPDATE ON flows.commands
  FOR EACH ROW EXECUTE FUNCTION flows.touch_updated_at();
COMMENT ON TABLE flows.commands IS 'Meter operations queued for the background worker, with their attempts, result or error.';
COMMENT ON COLUMN flows.commands.progress IS 'What an attempt learned that the next must know (e.g. the balance before a token was sent).';
COMMENT ON COLUMN flows.commands.error IS 'Last failure: {class: retryable|permanent|unknown_outcome|refused, code, message}.';

-- The top-up token ledger. A token is accepted once per meter, ever.
CREATE TYPE flows.topup_status AS ENUM ('waiting_for_push', 'sending', 'completed', 'failed');
CREATE TABLE flows.prepay_topups (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  token flows.prepay_token NOT NULL,
  status flows.topup_status NOT NULL DEFAULT 'waiting_for_push',
  command_id bigint UNIQUE REFERENCES flows.commands (id) ON DELETE SET NULL,
  balance_before numeric(12, 5),
  balance_after numeric(12, 5),
  reason text,
  created_by name NOT NULL DEFAULT current_user,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  CONSTRAINT prepay_topups_token_once_per_meter UNIQUE (meter_id, token)
);
COMMENT ON TABLE flows.prepay_topups IS 'Top-up tokens received for meters and what became of them.';

-- The worker's own state, one row, for the health view.
CREATE TABLE flows.worker_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  pid integer,
  started_at timestamptz,
  last_tick_at timestamptz,
  in_flight integer NOT NULL DEFAULT 0,
  library_version text
);
INSERT INTO flows.worker_state DEFAULT VALUES;

-- The mediator that serves a meter: its own, else its ESCO's default.
CREATE FUNCTION flows.meter_mediator_id(meter flows.meter_registry) RETURNS uuid
STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT coalesce(meter.mediator_id, (SELECT e.default_mediator_id FROM flows.escos e WHERE e.id = meter.esco_id))
$$;

CREATE FUNCTION flows.require_active_meter(meter flows.meter_registry) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF meter.mode = 'passive' THEN
    RAISE EXCEPTION 'meter % is passive (a digital twin) and is never contacted', meter.serial
      USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'set meter_registry.mode to active for a real meter';
  END IF;
END
$$;

CREATE FUNCTION flows.enqueue_command(meter flows.meter_registry, operation text, args jsonb,
                                      idempotency_key text DEFAULT NULL, max_attempts integer DEFAULT 5)
RETURNS flows.commands
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
#variable_conflict use_column
DECLARE
  cmd flows.commands;
BEGIN
  PERFORM flows.require_active_meter(meter);
  PERFORM flows.check_meter_operation(operation, args);
  IF flows.meter_mediator_id(meter) IS NULL THEN
    RAISE EXCEPTION 'meter % has no mediator', meter.serial
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'set meter_registry.mediator_id, or escos.default_mediator_id for its ESCO';
  END IF;
  IF idempotency_key IS NOT NULL THEN
    SELECT * INTO cmd FROM flows.commands c WHERE c.idempotency_key = enqueue_command.idempotency_key;
    IF FOUND THEN
      IF cmd.meter_id <> meter.id OR cmd.operation <> enqueue_command.operation OR cmd.args <> enqueue_command.args THEN
        RAISE EXCEPTION 'idempotency key "%" was already used for another request', idempotency_key
          USING ERRCODE = 'unique_violation', HINT = 'use a new key for a new request';
      END IF;
      RETURN cmd;
    END IF;
  END IF;
  INSERT INTO flows.commands (meter_id, operation, args, idempotency_key, max_attempts)
  VALUES (meter.id, operation, args, idempotency_key, max_attempts)
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING * INTO cmd;
  IF NOT FOUND THEN
    -- A concurrent request with the same key won the race: answer with its command.
    RETURN flows.enqueue_command(meter, operation, args, idempotency_key, max_attempts);
  END IF;
  RETURN cmd;
END
$$;

CREATE FUNCTION flows.wake_worker_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM flows.wake_worker_at_commit();
  RETURN NULL;
END
$$;
CREATE TRIGGER wake_worker AFTER INSERT ON flows.commands
  FOR EACH STATEMENT EXECUTE FUNCTION flows.wake_worker_trigger();

-- Worker side --------------------------------------------------------------

-- Claims up to max_total due commands: each meter's oldest open command when
-- queued and due, within each mediator's free slots; marks them running with
-- a lease and counts the attempt. Returns what the worker needs as JSON.
CREATE FUNCTION flows.worker_claim(max_total integer, lease interval)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  claimed jsonb;
BEGIN
  -- Each meter's oldest open command is the first entry of that meter in the
  -- (meter_id, id) index: walk it meter by meter (a loose index scan), so a
  -- tick costs the number of meters with open commands, not the backlog.
  WITH RECURSIVE walk AS (
    (SELECT c.meter_id, c.id FROM flows.commands c
      WHERE c.status IN ('queued', 'running') ORDER BY c.meter_id, c.id LIMIT 1)
    UNION ALL
    SELECT n.meter_id, n.id
      FROM walk w
     CROSS JOIN LATERAL (SELECT c.meter_id, c.id FROM flows.commands c
                          WHERE c.status IN ('queued', 'running') AND c.meter_id > w.meter_id
                          ORDER BY c.meter_id, c.id LIMIT 1) n
  ), heads AS (
    SELECT c.id, c.meter_id, c.next_attempt_at
      FROM walk w JOIN flows.commands c ON c.id = w.id
     WHERE c.status = 'queued' AND c.next_attempt_at <= now()
  ), running_per_mediator AS (
    SELECT flows.meter_mediator_id(m) AS mediator_id, count(*) AS running
      FROM flows.commands c JOIN flows.meter_registry m ON m.id = c.meter_id
     WHERE c.status = 'running'
     GROUP BY 1
  ), candidates AS (
    SELECT h.id, md.id AS mediator_id, md.max_concurrency - coalesce(r.running, 0) AS free,
           row_number() OVER (PARTITION BY md.id ORDER BY h.next_attempt_at, h.id) AS rank
      FROM heads h
      JOIN flows.meter_registry m ON m.id = h.meter_id
      JOIN flows.mediators md ON md.id = flows.meter_mediator_id(m) AND md.enabled
      LEFT JOIN running_per_mediator r ON r.mediator_id = md.id
     WHERE m.mode = 'active'
  ), locked AS (
    SELECT c.id FROM flows.commands c
     WHERE c.id IN (SELECT id FROM candidates WHERE rank <= free ORDER BY id LIMIT max_total)
       AND c.status = 'queued'
     ORDER BY c.id
       FOR UPDATE SKIP LOCKED
  ), started AS (
    UPDATE flows.commands c
       SET status = 'running', attempts = c.attempts + 1, lease_expires_at = now() + lease,
           started_at = coalesce(c.started_at, now())
      FROM locked l WHERE c.id = l.id
    RETURNING c.*
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', s.id, 'serial', m.serial::text, 'hardware', m.hardware::text, 'operation', s.operation,
           'args', s.args || CASE WHEN s.operation = 'prepay_send_token'
                                  THEN jsonb_build_object('token', flows.prepay_token_digits(t.token)) ELSE '{}' END,
           'progress', s.progress, 'attempts', s.attempts, 'max_attempts', s.max_attempts,
           'mediator', jsonb_build_object('id', md.id, 'name', md.name, 'address', md.address,
             'tls_ca_pem', md.tls_ca_pem, 'tls_client_cert_pem', md.tls_client_cert_pem,
             'tls_client_key_pem', md.tls_client_key_pem, 'tls_server_name', md.tls_server_name))
           ORDER BY s.id), '[]')
    INTO claimed
    FROM started s
    JOIN flows.meter_registry m ON m.id = s.meter_id
    JOIN flows.mediators md ON md.id = flows.meter_mediator_id(m)
    LEFT JOIN flows.prepay_topups t ON t.command_id = s.id;
  UPDATE flows.prepay_topups t SET status = 'sending'
   WHERE t.command_id IN (SELECT (e->>'id')::bigint FROM jsonb_array_elements(claimed) e) AND t.status = 'waiting_for_push';
  RETURN claimed;
END
$$;

-- Leases that ran out (worker or server died mid-command) go back to the
-- queue, or to dead when their attempts are spent. A token whose send may
-- have happened keeps its progress, so the next attempt verifies first.
CREATE FUNCTION flows.worker_recover_leases() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE n integer;
BEGIN
  WITH expired AS (
    UPDATE flows.commands c
       SET status = CASE WHEN c.attempts >= c.max_attempts THEN 'dead' ELSE 'queued' END::flows.command_status,
           lease_expires_at = NULL, next_attempt_at = now(),
           finished_at = CASE WHEN c.attempts >= c.max_attempts THEN now() END,
           error = jsonb_build_object('class', 'unknown_outcome', 'code', 'LEASE_EXPIRED',
                                      'message', 'the worker stopped while the command was running')
     WHERE c.status = 'running' AND c.lease_expires_at < now()
    RETURNING c.id, c.status
  )
  , gave_up AS (
    UPDATE flows.prepay_topups t SET status = 'failed', completed_at = now(),
           reason = 'gave up: the worker stopped mid-command too often'
      FROM expired e WHERE t.command_id = e.id AND e.status = 'dead'
  )
  SELECT count(*) INTO n FROM expired;
  RETURN n;
END
$$;

-- When the worker should look again if nothing wakes it: the earliest
-- future attempt of a meter's next command (work due now is claimed already
-- or waits for a running command, whose end wakes the worker anyway).
CREATE FUNCTION flows.worker_next_due() RETURNS timestamptz
STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT c.next_attempt_at
    FROM flows.commands c
    JOIN flows.meter_registry m ON m.id = c.meter_id AND m.mode = 'active'
    JOIN flows.mediators md ON md.id = flows.meter_mediator_id(m) AND md.enabled
   WHERE c.status = 'queued' AND c.next_attempt_at > now()
   ORDER BY c.next_attempt_at, c.id
   LIMIT 1
$$;

CREATE FUNCTION flows.worker_checkpoint(command_id bigint, progress jsonb) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  UPDATE flows.commands SET progress = commands.progress || worker_checkpoint.progress
   WHERE id = command_id AND status = 'running';
$$;

-- Applies a batch of outcomes: [{id, status: succeeded|failed, result,
-- class, code, message, partial, retry_at}]. Each in its own subtransaction,
-- so one result the domain refuses fails that command only.
CREATE FUNCTION flows.worker_complete(outcomes jsonb, meter_spacing interval DEFAULT '0') RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  o jsonb;
  cmd flows.commands;
BEGIN
  FOR o IN SELECT * FROM jsonb_array_elements(outcomes) LOOP
    SELECT * INTO cmd FROM flows.commands WHERE id = (o->>'id')::bigint AND status = 'running' FOR UPDATE;
    CONTINUE WHEN NOT FOUND;  -- cancelled meanwhile, or its lease was recovered
    BEGIN
      IF o->>'status' = 'succeeded' THEN
        UPDATE flows.commands SET status = 'succeeded', result = o->'result', error = NULL,
               lease_expires_at = NULL, finished_at = now()
         WHERE id = cmd.id;
        PERFORM flows.apply_command_result(cmd, o->'result');
        -- Pace the meter: its next command no sooner than the mediator would answer it.
        UPDATE flows.commands SET next_attempt_at = greatest(next_attempt_at, now() + meter_spacing)
         WHERE meter_id = cmd.meter_id AND status = 'queued';
      ELSE
        PERFORM flows.fail_command(cmd, o);
      END IF;
    EXCEPTION WHEN OTHERS THEN
      PERFORM flows.fail_command(cmd, jsonb_build_object('class', 'permanent', 'code', 'RESULT_REFUSED',
        'message', format('the result could not be recorded: %s (%s)', SQLERRM, SQLSTATE), 'partial', o->'result'));
    END;
  END LOOP;
END
$$;

CREATE FUNCTION flows.fail_command(cmd flows.commands, o jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  class text := coalesce(o->>'class', 'permanent');
  retry boolean := class IN ('retryable', 'unknown_outcome') AND cmd.attempts < cmd.max_attempts;
  final flows.command_status := CASE WHEN retry THEN 'queued'
                                     WHEN class IN ('retryable', 'unknown_outcome') THEN 'dead'
                                     ELSE 'failed' END;
BEGIN
  UPDATE flows.commands
     SET status = final, lease_expires_at = NULL,
         next_attempt_at = coalesce((o->>'retry_at')::timestamptz, now()),
         finished_at = CASE WHEN retry THEN NULL ELSE now() END,
         progress = progress || coalesce(o->'partial', '{}') || CASE WHEN class = 'unknown_outcome'
                      THEN '{"unknown_outcome": true}'::jsonb ELSE '{}' END,
         error = jsonb_build_object('class', class, 'code', o->>'code', 'message', o->>'message', 'attempt', cmd.attempts)
   WHERE id = cmd.id;
  IF NOT retry AND cmd.operation = 'prepay_send_token' THEN
    UPDATE flows.prepay_topups SET status = 'failed', completed_at = now(), reason = o->>'message',
           balance_before = coalesce((o->'partial'->>'balance_before')::numeric, balance_before),
           balance_after = (o->'partial'->>'balance_after')::numeric
     WHERE command_id = cmd.id;
  END IF;
  -- A meter that did not answer is unhealthy; a refusal by the domain is not a health matter.
  IF class IN ('retryable', 'unknown_outcome') OR o->>'code' IN ('NOT_FOUND', 'INTERNAL', 'DEADLINE_EXCEEDED') THEN
    UPDATE flows.meter_shadows SET health = 'unhealthy', csq = NULL,
           health_details = format('%s: %s', o->>'code', o->>'message')
     WHERE meter_id = cmd.meter_id;
  END IF;
END
$$;

CREATE FUNCTION flows.worker_heartbeat(pid integer, in_flight integer, library_version text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  UPDATE flows.worker_state
     SET pid = worker_heartbeat.pid, in_flight = worker_heartbeat.in_flight, last_tick_at = now(),
         library_version = worker_heartbeat.library_version,
         started_at = CASE WHEN worker_state.pid IS DISTINCT FROM worker_heartbeat.pid THEN now() ELSE started_at END;
$$;

-- Finished commands older than `older_than` go, at most `batch` at a time.
CREATE FUNCTION flows.purge_commands(older_than interval DEFAULT '30 days', batch integer DEFAULT 10000)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE n integer;
BEGIN
  DELETE FROM flows.commands WHERE id IN (
    SELECT c.id FROM flows.commands c
     WHERE c.finished_at < now() - older_than AND c.status IN ('succeeded', 'failed', 'dead', 'cancelled')
       AND NOT EXISTS (SELECT FROM flows.prepay_topups t WHERE t.command_id = c.id)
     ORDER BY c.finished_at LIMIT batch);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION flows.purge_commands(interval, integer) IS
  'Deletes finished commands older than the given age in one bounded batch (top-up commands stay with their ledger rows); the worker calls it hourly.';
