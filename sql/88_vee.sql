-- Validation, estimation and editing (VEE) of half-hourly values, per
-- channel (register, direction). Derived values in register_interval_hh are
-- never changed: estimates, edits and withdrawals are appended to
-- hh_adjustments (87_rollups.sql), validation findings replace their own
-- earlier findings in hh_flags, and flows.hh_values shows the result.
-- One advisory lock per register serializes VEE writers of a register.

-- The value in force when an adjustment is made: derived values are
-- replaced in place by refresh_hh, so the log alone could not tell later
-- what an edit replaced. The VEE functions fill it (not a trigger: a
-- restore re-inserts the log and must not recompute it).
ALTER TABLE flows.hh_adjustments ADD COLUMN previous_kwh numeric(14, 6);
COMMENT ON COLUMN flows.hh_adjustments.previous_kwh IS
  'The value in force (flows.hh_values) just before this adjustment; NULL when the half hour had none.';

-- A flag sets the questionable bit of a value, so an 'actual' value stops
-- being all_actual in the roll-ups: flag changes invalidate them too.
CREATE TRIGGER log_flag_inserts AFTER INSERT ON flows.hh_flags
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_rollup_changes();
CREATE TRIGGER log_flag_deletes AFTER DELETE ON flows.hh_flags
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_rollup_changes();

-- Shared refusals: 22004 for a missing argument, 22023 for a broken rule,
-- P0002 for an unknown register; each message names the function and field.
CREATE FUNCTION flows.vee_refuse(fn text, message text, hint text DEFAULT NULL,
                                 code text DEFAULT 'invalid_parameter_value')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF hint IS NULL THEN
    RAISE EXCEPTION USING MESSAGE = fn || ': ' || message, ERRCODE = code;
  END IF;
  RAISE EXCEPTION USING MESSAGE = fn || ': ' || message, ERRCODE = code, HINT = hint;
END
$$;

CREATE FUNCTION flows.vee_lock_register(fn text, register_id uuid)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF register_id IS NULL THEN
    PERFORM flows.vee_refuse(fn, 'register_id is required', NULL, 'null_value_not_allowed');
  END IF;
  IF NOT EXISTS (SELECT FROM flows.meter_registers r WHERE r.register_id = vee_lock_register.register_id) THEN
    PERFORM flows.vee_refuse(fn, format('unknown register %s', register_id),
                             'registers are listed in flows.meter_registers', 'no_data_found');
  END IF;
  -- Serialize VEE writers of one register (estimates read what is in force, then append).
  PERFORM pg_advisory_xact_lock(hashtext('flows.vee'), hashtext(register_id::text));
END
$$;

-- The half hour a single-value edit or withdrawal addresses.
CREATE FUNCTION flows.vee_require_half_hour(fn text, field text, at timestamptz)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF at IS NULL THEN
    PERFORM flows.vee_refuse(fn, field || ' is required', NULL, 'null_value_not_allowed');
  END IF;
  IF NOT isfinite(at) OR date_bin('30 minutes', at, '2000-01-01 00:00+00') <> at THEN
    PERFORM flows.vee_refuse(fn, format('%s = %s is not the start of a half hour', field, at),
                             'half hours start at :00 and :30 UTC; date_bin(''30 minutes'', t, ''2000-01-01'') gives the start of t''s half hour');
  END IF;
  IF at >= now() THEN
    PERFORM flows.vee_refuse(fn, format('%s = %s is a half hour that has not begun', field, at));
  END IF;
END
$$;

CREATE FUNCTION flows.vee_require_reason(fn text, reason text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF reason IS NULL OR btrim(reason) = '' THEN
    PERFORM flows.vee_refuse(fn, 'reason must not be empty', 'say why, e.g. the fault ticket or the customer''s read; it is kept in the audit');
  END IF;
END
$$;

CREATE FUNCTION flows.hh_value_in_force(register_id uuid, direction flows.energy_direction, at timestamptz)
RETURNS numeric STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT v.kwh FROM flows.hh_values v
   WHERE v.register_id = hh_value_in_force.register_id AND v.direction = hh_value_in_force.direction AND v.timestamp = at
$$;
COMMENT ON FUNCTION flows.hh_value_in_force(uuid, flows.energy_direction, timestamptz) IS
  'The value of one half hour of a channel in force (flows.hh_values.kwh); NULL when it has none.';

-- The cumulative register value of a channel at an instant: the read there,
-- else linear in real time between the reads either side (rule 5), unless
-- the register dropped between them (rollover or reversal: unknown).
CREATE FUNCTION flows.register_value_at(register_id uuid, direction flows.energy_direction, at timestamptz)
RETURNS numeric STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT CASE WHEN p.timestamp = at THEN p.read_kwh
              WHEN n.read_kwh >= p.read_kwh
                THEN p.read_kwh + round((n.read_kwh - p.read_kwh) * extract(epoch FROM at - p.timestamp)
                                        / extract(epoch FROM n.timestamp - p.timestamp), 6)
         END
    FROM (SELECT r.timestamp, r.read_kwh FROM flows.register_reads r
           WHERE r.register_id = register_value_at.register_id AND r.direction = register_value_at.direction
             AND r.timestamp <= at
           ORDER BY r.timestamp DESC LIMIT 1) p
    LEFT JOIN LATERAL (SELECT r.timestamp, r.read_kwh FROM flows.register_reads r
                        WHERE r.register_id = register_value_at.register_id AND r.direction = register_value_at.direction
                          AND r.timestamp > at
                        ORDER BY r.timestamp LIMIT 1) n ON true
$$;
COMMENT ON FUNCTION flows.register_value_at(uuid, flows.energy_direction, timestamptz) IS
  'Cumulative kWh of a channel at an instant: the read at it, else interpolated linearly between the reads either side; NULL when unknown (no read on one side, or a drop between them).';

-- Rule-4 advance of a channel over [from_ts, to_ts]: the values at both ends
-- (register_value_at) and the reads between, through flows.energy_agg with
-- the register's rollover spec. NULL when an end is unknown or an exchange
-- of the register falls inside (its energy comes from exchange values).
CREATE FUNCTION flows.register_advance(register_id uuid, direction flows.energy_direction,
                                       from_ts timestamptz, to_ts timestamptz)
RETURNS numeric STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  WITH ends AS (
    SELECT flows.register_value_at(register_id, direction, from_ts) AS v0,
           flows.register_value_at(register_id, direction, to_ts) AS v1
  ), points AS (
    SELECT from_ts AS at, e.v0 AS kwh FROM ends e
    UNION ALL
    SELECT r.timestamp, r.read_kwh FROM flows.register_reads r
     WHERE r.register_id = register_advance.register_id AND r.direction = register_advance.direction
       AND r.timestamp > from_ts AND r.timestamp < to_ts
    UNION ALL
    SELECT to_ts, e.v1 FROM ends e
  )
  SELECT CASE WHEN e.v0 IS NOT NULL AND e.v1 IS NOT NULL AND from_ts <= to_ts
               AND NOT EXISTS (SELECT FROM flows.register_exchanges x
                                WHERE register_advance.register_id IN (x.old_register_id, x.new_register_id)
                                  AND x.exchanged_at BETWEEN from_ts AND to_ts)
              THEN (SELECT (flows.energy_agg(p.at, p.kwh, reg.register_max_kwh,
                                             coalesce(reg.rollover_margin_kwh, reg.register_max_kwh / 100))).advance_kwh
                      FROM points p)
         END
    FROM ends e JOIN flows.meter_registers reg ON reg.register_id = register_advance.register_id
$$;
COMMENT ON FUNCTION flows.register_advance(uuid, flows.energy_direction, timestamptz, timestamptz) IS
  'Energy a channel''s register advanced over [from_ts, to_ts] (rule 4, with rollovers) from its reads, the ends read or interpolated; NULL when it cannot be told.';

-- ---------------------------------------------------------------- validation

CREATE FUNCTION flows.validate_hh(
  register_id uuid,
  from_date date,
  to_date date,
  checks text[] DEFAULT ARRAY['gap', 'spike', 'zero_run', 'reversal', 'daily_sum'],
  spike_factor numeric DEFAULT 10,
  spike_floor_kwh numeric DEFAULT 3,
  context_days integer DEFAULT 7,
  zero_run_periods integer DEFAULT 8,
  zero_run_min_daily_kwh numeric DEFAULT 1,
  daily_tolerance_kwh numeric DEFAULT 0.01,
  daily_tolerance_ratio numeric DEFAULT 0.005)
RETURNS TABLE (direction flows.energy_direction, check_name text, from_ts timestamptz, to_ts timestamptz,
               periods integer, details jsonb)
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
#variable_conflict use_column
DECLARE
  fn constant text := 'validate_hh';
  known constant text[] := ARRAY['gap', 'spike', 'zero_run', 'reversal', 'daily_sum'];
  reg uuid := validate_hh.register_id;
  range_start timestamptz;
  range_end timestamptz;
  unknown_check text;
BEGIN
  -- Every refusal before any write.
  IF from_date IS NULL OR to_date IS NULL THEN
    PERFORM flows.vee_refuse(fn, CASE WHEN from_date IS NULL THEN 'from_date' ELSE 'to_date' END || ' is required',
                             NULL, 'null_value_not_allowed');
  END IF;
  IF NOT isfinite(from_date) OR NOT isfinite(to_date) THEN
    PERFORM flows.vee_refuse(fn, 'from_date and to_date must be finite settlement dates');
  END IF;
  IF to_date < from_date THEN
    PERFORM flows.vee_refuse(fn, format('to_date = %s must not be before from_date = %s', to_date, from_date),
                             'both are settlement dates and both are included');
  END IF;
  IF checks IS NULL OR cardinality(checks) = 0 THEN
    PERFORM flows.vee_refuse(fn, 'checks must name at least one check', 'checks: ' || array_to_string(known, ', '));
  END IF;
  SELECT c INTO unknown_check FROM unnest(checks) c WHERE c IS NULL OR NOT c = ANY (known) LIMIT 1;
  IF FOUND THEN
    PERFORM flows.vee_refuse(fn, format('checks: unknown check %s', coalesce(quote_literal(unknown_check), 'NULL')),
                             'checks: ' || array_to_string(known, ', '));
  END IF;
  IF spike_factor IS NULL OR spike_factor <= 1 THEN
    PERFORM flows.vee_refuse(fn, format('spike_factor must be greater than 1, not %s', coalesce(spike_factor::text, 'NULL')),
                             'a value above spike_factor × the median of its context is a spike');
  END IF;
  IF spike_floor_kwh IS NULL OR spike_floor_kwh < 0 THEN
    PERFORM flows.vee_refuse(fn, format('spike_floor_kwh must be at least 0, not %s', coalesce(spike_floor_kwh::text, 'NULL')),
                             'values at or below the floor are never spikes');
  END IF;
  IF context_days IS NULL OR context_days NOT BETWEEN 0 AND 31 THEN
    PERFORM flows.vee_refuse(fn, format('context_days must be between 0 and 31, not %s', coalesce(context_days::text, 'NULL')),
                             'the settlement days either side of a value that set its typical level');
  END IF;
  IF zero_run_periods IS NULL OR zero_run_periods < 2 THEN
    PERFORM flows.vee_refuse(fn, format('zero_run_periods must be at least 2, not %s', coalesce(zero_run_periods::text, 'NULL')),
                             'a run of at least this many consecutive 0 kWh half hours is questionable');
  END IF;
  IF zero_run_min_daily_kwh IS NULL OR zero_run_min_daily_kwh < 0 THEN
    PERFORM flows.vee_refuse(fn, format('zero_run_min_daily_kwh must be at least 0, not %s', coalesce(zero_run_min_daily_kwh::text, 'NULL')),
                             'zero runs are only questionable on a channel that normally imports at least this much a day');
  END IF;
  IF daily_tolerance_kwh IS NULL OR daily_tolerance_kwh < 0 THEN
    PERFORM flows.vee_refuse(fn, format('daily_tolerance_kwh must be at least 0, not %s', coalesce(daily_tolerance_kwh::text, 'NULL')));
  END IF;
  IF daily_tolerance_ratio IS NULL OR daily_tolerance_ratio NOT BETWEEN 0 AND 1 THEN
    PERFORM flows.vee_refuse(fn, format('daily_tolerance_ratio must be between 0 and 1, not %s', coalesce(daily_tolerance_ratio::text, 'NULL')),
                             'a day is flagged when |Σ half hours − register advance| > greatest(daily_tolerance_kwh, daily_tolerance_ratio × advance)');
  END IF;
  PERFORM flows.vee_lock_register(fn, reg);

  range_start := flows.settlement_period_start(from_date, 1);
  range_end := flows.settlement_period_start(to_date + 1, 1);
  IF EXISTS (SELECT FROM flows.hh_invalidations i WHERE i.register_id = reg) THEN
    RAISE NOTICE 'validate_hh: register % has read changes not derived yet; the half hours are checked as they stand', reg
      USING HINT = 'SELECT * FROM flows.refresh_hh() first to check the latest reads';
  END IF;

  IF to_regclass('pg_temp.vee_values') IS NULL THEN
    CREATE TEMP TABLE vee_values (direction flows.energy_direction, timestamp timestamptz, settlement_date date,
                                  kwh numeric, partial boolean) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE vee_channels (direction flows.energy_direction) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE vee_findings (direction flows.energy_direction, check_name text, from_ts timestamptz,
                                    to_ts timestamptz, periods integer, details jsonb) ON COMMIT DELETE ROWS;
    CREATE TEMP TABLE vee_flagged (direction flows.energy_direction, timestamp timestamptz, check_name text,
                                   details jsonb) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.vee_values, pg_temp.vee_channels, pg_temp.vee_findings, pg_temp.vee_flagged;

  -- The values in force over the range and its context days.
  INSERT INTO pg_temp.vee_values
  SELECT v.direction, v.timestamp, flows.settlement_date(v.timestamp), v.kwh, v.partial
    FROM flows.hh_values v
   WHERE v.register_id = reg
     AND v.timestamp >= flows.settlement_period_start(from_date - context_days, 1)
     AND v.timestamp < flows.settlement_period_start(to_date + 1 + context_days, 1);
  -- A channel exists once it has reads or values; a register that never
  -- exported has no export gaps.
  INSERT INTO pg_temp.vee_channels
  SELECT d FROM unnest(enum_range(NULL::flows.energy_direction)) d
   WHERE EXISTS (SELECT FROM flows.register_reads r WHERE r.register_id = reg AND r.direction = d)
      OR EXISTS (SELECT FROM pg_temp.vee_values v WHERE v.direction = d);
  -- Real row counts: default estimates of empty temp tables make plans
  -- costly enough for JIT, which then takes longer than the queries.
  ANALYZE pg_temp.vee_values, pg_temp.vee_channels;

  IF 'gap' = ANY (checks) THEN
    INSERT INTO pg_temp.vee_findings
    SELECT g.direction, 'gap', min(g.p), max(g.p) + interval '30 minutes', count(*)::integer,
           jsonb_build_object('settlement_date', flows.settlement_date(min(g.p)))
      FROM (SELECT c.direction, p, p - row_number() OVER (PARTITION BY c.direction ORDER BY p) * interval '30 minutes' AS island
              FROM pg_temp.vee_channels c,
                   generate_series(range_start, range_end - interval '30 minutes', interval '30 minutes') p
             WHERE NOT EXISTS (SELECT FROM pg_temp.vee_values v WHERE v.direction = c.direction AND v.timestamp = p)) g
     GROUP BY g.direction, g.island;
  END IF;

  IF 'spike' = ANY (checks) THEN
    INSERT INTO pg_temp.vee_flagged
    SELECT v.direction, v.timestamp, 'spike',
           jsonb_build_object('kwh', v.kwh, 'median_kwh', m.median_kwh, 'spike_factor', spike_factor,
                              'spike_floor_kwh', spike_floor_kwh, 'context_days', context_days)
      FROM (SELECT DISTINCT x.direction, x.settlement_date FROM pg_temp.vee_values x
             WHERE x.timestamp >= range_start AND x.timestamp < range_end) d
           CROSS JOIN LATERAL (
             SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY c.kwh) AS median_kwh FROM pg_temp.vee_values c
              WHERE c.direction = d.direction
                AND c.settlement_date BETWEEN d.settlement_date - context_days AND d.settlement_date + context_days) m
           JOIN pg_temp.vee_values v ON v.direction = d.direction AND v.settlement_date = d.settlement_date
     WHERE v.timestamp >= range_start AND v.timestamp < range_end
       AND v.kwh > spike_floor_kwh AND v.kwh > spike_factor * m.median_kwh;
    INSERT INTO pg_temp.vee_findings
    SELECT f.direction, 'spike', f.timestamp, f.timestamp + interval '30 minutes', 1, f.details
      FROM pg_temp.vee_flagged f WHERE f.check_name = 'spike';
  END IF;

  -- Runs of consecutive 0 kWh import half hours (a missing half hour ends a
  -- run), where the rest of the run's context days import enough a day.
  IF 'zero_run' = ANY (checks) THEN
    WITH z AS (
      SELECT v.direction, v.timestamp, v.settlement_date,
             v.timestamp - row_number() OVER (ORDER BY v.timestamp) * interval '30 minutes' AS island
        FROM pg_temp.vee_values v WHERE v.direction = 'import' AND v.kwh = 0
    ), runs AS (
      SELECT z.direction, min(z.timestamp) AS first_at, max(z.timestamp) + interval '30 minutes' AS end_at,
             count(*)::integer AS n, min(z.settlement_date) AS first_day, max(z.settlement_date) AS last_day
        FROM z GROUP BY z.direction, z.island HAVING count(*) >= zero_run_periods
    ), judged AS (
      SELECT r.*, (SELECT round(avg(c.kwh) * 48, 6) FROM pg_temp.vee_values c
                    WHERE c.direction = r.direction
                      AND c.settlement_date BETWEEN r.first_day - context_days AND r.last_day + context_days
                      AND NOT (c.timestamp >= r.first_at AND c.timestamp < r.end_at)) AS typical_daily_kwh
        FROM runs r
       WHERE r.first_at < range_end AND r.end_at > range_start
    ), found AS (
      INSERT INTO pg_temp.vee_findings
      SELECT j.direction, 'zero_run', j.first_at, j.end_at, j.n,
             jsonb_build_object('typical_daily_kwh', j.typical_daily_kwh, 'zero_run_periods', zero_run_periods,
                                'zero_run_min_daily_kwh', zero_run_min_daily_kwh)
        FROM judged j WHERE j.typical_daily_kwh >= zero_run_min_daily_kwh
      RETURNING *
    )
    INSERT INTO pg_temp.vee_flagged
    SELECT f.direction, p, 'zero_run', jsonb_build_object('run_from', f.from_ts, 'run_to', f.to_ts) || f.details
      FROM found f, generate_series(f.from_ts, f.to_ts - interval '30 minutes', interval '30 minutes') p;
  END IF;

  IF 'reversal' = ANY (checks) THEN
    WITH found AS (
      INSERT INTO pg_temp.vee_findings
      SELECT e.direction, 'reversal', date_bin('30 minutes', e.timestamp, '2000-01-01 00:00+00'),
             date_bin('30 minutes', e.timestamp, '2000-01-01 00:00+00') + interval '30 minutes', 1,
             jsonb_build_object('at', e.timestamp, 'previous_at', e.previous_at,
                                'previous_kwh', e.previous_kwh, 'new_kwh', e.new_kwh)
        FROM flows.register_events e
       WHERE e.register_id = reg AND e.kind = 'reversal' AND e.timestamp >= range_start AND e.timestamp < range_end
      RETURNING *
    )
    INSERT INTO pg_temp.vee_flagged
    SELECT f.direction, f.from_ts, 'reversal', f.details FROM found f;
  END IF;

  -- A complete settlement day (every period has a whole value) whose values
  -- sum to other than what the register advanced from its first to its
  -- last instant.
  IF 'daily_sum' = ANY (checks) THEN
    WITH days AS (
      SELECT c.direction, d::date AS day, count(v.timestamp) AS n, sum(v.kwh) AS hh_sum_kwh,
             coalesce(bool_or(v.partial), false) AS any_partial
        FROM pg_temp.vee_channels c
             CROSS JOIN generate_series(from_date, to_date, interval '1 day') d
             LEFT JOIN pg_temp.vee_values v ON v.direction = c.direction AND v.settlement_date = d::date
       GROUP BY c.direction, d
    ), judged AS (
      SELECT d.*, flows.register_advance(reg, d.direction, flows.settlement_period_start(d.day, 1),
                                         flows.settlement_period_start(d.day + 1, 1)) AS advance_kwh
        FROM days d WHERE d.n = flows.settlement_periods(d.day) AND NOT d.any_partial
    ), found AS (
      INSERT INTO pg_temp.vee_findings
      SELECT j.direction, 'daily_sum', flows.settlement_period_start(j.day, 1),
             flows.settlement_period_start(j.day + 1, 1), j.n::integer,
             jsonb_build_object('settlement_date', j.day, 'hh_sum_kwh', j.hh_sum_kwh,
                                'register_advance_kwh', j.advance_kwh, 'difference_kwh', j.hh_sum_kwh - j.advance_kwh)
        FROM judged j
       WHERE abs(j.hh_sum_kwh - j.advance_kwh) > greatest(daily_tolerance_kwh, daily_tolerance_ratio * j.advance_kwh)
      RETURNING *
    )
    INSERT INTO pg_temp.vee_flagged
    SELECT f.direction, v.timestamp, 'daily_sum', f.details
      FROM found f JOIN pg_temp.vee_values v
        ON v.direction = f.direction AND v.timestamp >= f.from_ts AND v.timestamp < f.to_ts;
  END IF;

  -- Replace the findings of the checks run: drop those not found again, add
  -- new ones (first flagged_at kept), so unchanged flags cause no roll-up work.
  DELETE FROM flows.hh_flags f
   WHERE f.register_id = reg AND f.timestamp >= range_start AND f.timestamp < range_end
     AND f.check_name = ANY (checks)
     AND NOT EXISTS (SELECT FROM pg_temp.vee_flagged n
                      WHERE n.direction = f.direction AND n.timestamp = f.timestamp AND n.check_name = f.check_name);
  INSERT INTO flows.hh_flags AS f (register_id, direction, timestamp, check_name, details)
  SELECT DISTINCT ON (n.direction, n.timestamp, n.check_name) reg, n.direction, n.timestamp, n.check_name, n.details
    FROM pg_temp.vee_flagged n
   WHERE n.timestamp >= range_start AND n.timestamp < range_end
   ORDER BY n.direction, n.timestamp, n.check_name
  ON CONFLICT (register_id, direction, timestamp, check_name) DO UPDATE SET details = EXCLUDED.details
   WHERE f.details IS DISTINCT FROM EXCLUDED.details;

  RETURN QUERY SELECT f.direction, f.check_name, f.from_ts, f.to_ts, f.periods, f.details
                 FROM pg_temp.vee_findings f ORDER BY f.direction, f.from_ts, f.check_name;
END
$$;
COMMENT ON FUNCTION flows.validate_hh(uuid, date, date, text[], numeric, numeric, integer, integer, numeric, numeric, numeric) IS
  'Validates a register''s half-hourly values over settlement dates from_date..to_date per channel and replaces the findings of the checks run in hh_flags; returns them (gaps are returned only: they have no value to flag).
Checks: gap (half hours without a value); spike (kwh > spike_floor_kwh and > spike_factor × the median of the channel over the value''s settlement day ± context_days); zero_run (≥ zero_run_periods consecutive 0 kWh import half hours when the rest of the context imports ≥ zero_run_min_daily_kwh a day); reversal (the half hour of a register reversal event); daily_sum (a complete day whose values differ from the register advance between its first and last instant by more than greatest(daily_tolerance_kwh, daily_tolerance_ratio × advance)).';

-- ---------------------------------------------------------------- estimation

CREATE FUNCTION flows.estimate_gaps(
  register_id uuid,
  from_ts timestamptz,
  to_ts timestamptz,
  max_gap_periods integer DEFAULT 4,
  reason text DEFAULT 'short gap filled by linear interpolation (VEE)')
RETURNS TABLE (direction flows.energy_direction, "timestamp" timestamptz, kwh numeric, method text,
               gap_start timestamptz, gap_end timestamptz, gap_advance_kwh numeric, adjustment_id bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
#variable_conflict use_column
DECLARE
  fn constant text := 'estimate_gaps';
  reg uuid := estimate_gaps.register_id;
  first_p timestamptz;
  end_p timestamptz;
BEGIN
  IF from_ts IS NULL OR to_ts IS NULL THEN
    PERFORM flows.vee_refuse(fn, CASE WHEN from_ts IS NULL THEN 'from_ts' ELSE 'to_ts' END || ' is required',
                             NULL, 'null_value_not_allowed');
  END IF;
  IF NOT isfinite(from_ts) OR NOT isfinite(to_ts) OR to_ts <= from_ts THEN
    PERFORM flows.vee_refuse(fn, format('to_ts = %s must be after from_ts = %s, both finite', to_ts, from_ts),
                             'gaps whose half hours all lie in [from_ts, to_ts) are estimated');
  END IF;
  IF max_gap_periods IS NULL OR max_gap_periods NOT BETWEEN 1 AND 48 THEN
    PERFORM flows.vee_refuse(fn, format('max_gap_periods must be between 1 and 48, not %s', coalesce(max_gap_periods::text, 'NULL')),
                             'only short gaps are estimated; a longer one needs a reading or an edit');
  END IF;
  PERFORM flows.vee_require_reason(fn, reason);
  PERFORM flows.vee_lock_register(fn, reg);

  first_p := date_bin('30 minutes', from_ts - interval '1 microsecond', '2000-01-01 00:00+00') + interval '30 minutes';
  end_p := date_bin('30 minutes', to_ts, '2000-01-01 00:00+00');
  IF end_p <= first_p THEN
    RETURN;  -- no whole half hour in the range
  END IF;

  IF to_regclass('pg_temp.vee_estimates') IS NULL THEN
    CREATE TEMP TABLE vee_estimates (direction flows.energy_direction, timestamp timestamptz, kwh numeric,
                                     method text, gap_start timestamptz, gap_end timestamptz,
                                     gap_advance_kwh numeric, previous_kwh numeric) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.vee_estimates;

  -- Each half hour of the range and one either side: a value (derived, or
  -- edited by a person), a hole (nothing, or only an estimate), or blocked
  -- (a person withdrew what was there: not estimated again).
  WITH slots AS (
    SELECT d AS direction, p,
           CASE WHEN v.derived_kwh IS NOT NULL OR a.kind = 'edit' THEN 'value'
                WHEN a.kind = 'withdrawal' THEN 'blocked' ELSE 'hole' END AS status,
           v.kwh
      FROM unnest(enum_range(NULL::flows.energy_direction)) d
           CROSS JOIN generate_series(first_p - interval '30 minutes', end_p, interval '30 minutes') p
           LEFT JOIN flows.hh_values v ON v.register_id = reg AND v.direction = d AND v.timestamp = p
           LEFT JOIN flows.hh_adjustments_in_force a ON a.register_id = reg AND a.direction = d AND a.timestamp = p
  ), islands AS (
    SELECT s.*, p - row_number() OVER (PARTITION BY s.direction ORDER BY p) * interval '30 minutes' AS island
      FROM slots s WHERE s.status <> 'value'
  ), gaps AS (
    SELECT i.direction, min(i.p) AS gap_start, max(i.p) + interval '30 minutes' AS gap_end, count(*)::integer AS n
      FROM islands i GROUP BY i.direction, i.island
    HAVING bool_and(i.status = 'hole') AND count(*) <= max_gap_periods
       AND min(i.p) >= first_p AND max(i.p) < end_p
  ), bounded AS (
    SELECT g.*, l.kwh AS left_kwh, r.kwh AS right_kwh,
           flows.register_advance(reg, g.direction, g.gap_start, g.gap_end) AS advance_kwh
      FROM gaps g
      JOIN slots l ON l.direction = g.direction AND l.p = g.gap_start - interval '30 minutes'
      JOIN slots r ON r.direction = g.direction AND r.p = g.gap_end
  ), shaped AS (
    -- Interpolated shape of period k of n: left + (right - left) * k / (n + 1).
    SELECT b.*, k, b.gap_start + (k - 1) * interval '30 minutes' AS at,
           b.left_kwh + (b.right_kwh - b.left_kwh) * k / (b.n + 1) AS shape, h.kwh AS previous_kwh
      FROM bounded b
           CROSS JOIN generate_series(1, b.n) k
           JOIN slots h ON h.direction = b.direction AND h.p = b.gap_start + (k - 1) * interval '30 minutes'
  ), scaled AS (
    -- Scaled to the register advance by cumulative rounding, so the gap's
    -- estimates sum to it exactly; an all-zero shape spreads it evenly.
    SELECT s.*,
           CASE WHEN s.advance_kwh IS NULL THEN round(s.shape, 6)
                ELSE round(s.advance_kwh * CASE WHEN sum(s.shape) OVER w = 0 THEN s.k::numeric / s.n
                                                ELSE sum(s.shape) OVER (w ORDER BY s.k) / sum(s.shape) OVER w END, 6)
                   - coalesce(round(s.advance_kwh * CASE WHEN sum(s.shape) OVER w = 0 THEN (s.k - 1)::numeric / s.n
                                                         ELSE sum(s.shape) OVER (w ORDER BY s.k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                                                              / sum(s.shape) OVER w END, 6), 0)
           END AS estimate
      FROM shaped s
    WINDOW w AS (PARTITION BY s.direction, s.gap_start)
  )
  INSERT INTO pg_temp.vee_estimates
  SELECT s.direction, s.at, s.estimate,
         CASE WHEN s.advance_kwh IS NULL THEN 'linear_interpolation' ELSE 'linear_interpolation_scaled' END,
         s.gap_start, s.gap_end, s.advance_kwh, s.previous_kwh
    FROM scaled s;

  -- Idempotent: an estimate equal to the one in force is not appended again.
  RETURN QUERY
  WITH added AS (
    INSERT INTO flows.hh_adjustments (register_id, direction, timestamp, kind, kwh, method, reason, previous_kwh)
    SELECT reg, e.direction, e.timestamp, 'estimate', e.kwh, e.method, reason, e.previous_kwh
      FROM pg_temp.vee_estimates e
     WHERE NOT EXISTS (SELECT FROM flows.hh_adjustments_in_force a
                        WHERE a.register_id = reg AND a.direction = e.direction AND a.timestamp = e.timestamp
                          AND a.kind = 'estimate' AND a.kwh = e.kwh)
     ORDER BY e.direction, e.timestamp
    RETURNING id, direction, timestamp
  )
  SELECT e.direction, e.timestamp, e.kwh, e.method, e.gap_start, e.gap_end, e.gap_advance_kwh, a.id
    FROM added a JOIN pg_temp.vee_estimates e ON e.direction = a.direction AND e.timestamp = a.timestamp
   ORDER BY e.direction, e.timestamp;
END
$$;
COMMENT ON FUNCTION flows.estimate_gaps(uuid, timestamptz, timestamptz, integer, text) IS
  'Estimates short gaps of a register''s channels (at most max_gap_periods half hours without a derived or edited value, all within [from_ts, to_ts), a value on both sides) by linear interpolation between the neighbours, scaled so the gap sums to the register advance over it when the reads tell it (method linear_interpolation_scaled, else linear_interpolation); appends them to hh_adjustments and returns them. Idempotent; half hours whose adjustment was withdrawn are left alone.';

-- ---------------------------------------------------------------- editing

CREATE FUNCTION flows.edit_hh(register_id uuid, direction flows.energy_direction, at timestamptz,
                              kwh numeric, reason text)
RETURNS flows.hh_adjustments
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  fn constant text := 'edit_hh';
  added flows.hh_adjustments;
BEGIN
  IF direction IS NULL THEN
    PERFORM flows.vee_refuse(fn, 'direction is required', 'import or export', 'null_value_not_allowed');
  END IF;
  PERFORM flows.vee_require_half_hour(fn, 'at', at);
  IF kwh IS NULL THEN
    PERFORM flows.vee_refuse(fn, 'kwh is required', 'to restore the derived value, use flows.withdraw_hh_adjustment',
                             'null_value_not_allowed');
  END IF;
  IF kwh < 0 THEN
    PERFORM flows.vee_refuse(fn, format('kwh = %s must not be negative', kwh),
                             'energy is never negative: exported energy is an edit of the export channel');
  END IF;
  IF kwh <> round(kwh, 6) THEN
    PERFORM flows.vee_refuse(fn, format('kwh = %s has more than 6 decimal places', kwh), 'values are kept to 1e-6 kWh');
  END IF;
  IF kwh >= 100000000 THEN
    PERFORM flows.vee_refuse(fn, format('kwh = %s is too large for a half hour', kwh), NULL, 'numeric_value_out_of_range');
  END IF;
  PERFORM flows.vee_require_reason(fn, reason);
  PERFORM flows.vee_lock_register(fn, edit_hh.register_id);

  INSERT INTO flows.hh_adjustments (register_id, direction, timestamp, kind, kwh, method, reason, previous_kwh)
  VALUES (edit_hh.register_id, edit_hh.direction, at, 'edit', kwh, 'manual', reason,
          flows.hh_value_in_force(edit_hh.register_id, edit_hh.direction, at))
  RETURNING * INTO added;
  RETURN added;
END
$$;
COMMENT ON FUNCTION flows.edit_hh(uuid, flows.energy_direction, timestamptz, numeric, text) IS
  'Sets the value in force of one half hour of a channel (a manual edit, kept in hh_adjustments with who, when, why and the value it replaced); returns the adjustment.';

CREATE FUNCTION flows.withdraw_hh_adjustment(register_id uuid, direction flows.energy_direction, at timestamptz,
                                             reason text)
RETURNS flows.hh_adjustments
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  fn constant text := 'withdraw_hh_adjustment';
  added flows.hh_adjustments;
BEGIN
  IF direction IS NULL THEN
    PERFORM flows.vee_refuse(fn, 'direction is required', 'import or export', 'null_value_not_allowed');
  END IF;
  PERFORM flows.vee_require_half_hour(fn, 'at', at);
  PERFORM flows.vee_require_reason(fn, reason);
  PERFORM flows.vee_lock_register(fn, withdraw_hh_adjustment.register_id);
  IF NOT EXISTS (SELECT FROM flows.hh_adjustments_in_force a
                  WHERE a.register_id = withdraw_hh_adjustment.register_id
                    AND a.direction = withdraw_hh_adjustment.direction
                    AND a.timestamp = at AND a.kind <> 'withdrawal') THEN
    PERFORM flows.vee_refuse(fn, format('register %s has no estimate or edit in force for %s at %s',
                                        withdraw_hh_adjustment.register_id, direction, at),
                             'flows.hh_audit shows the half hour''s history', 'no_data_found');
  END IF;

  INSERT INTO flows.hh_adjustments (register_id, direction, timestamp, kind, kwh, method, reason, previous_kwh)
  VALUES (withdraw_hh_adjustment.register_id, withdraw_hh_adjustment.direction, at, 'withdrawal', NULL, 'manual', reason,
          flows.hh_value_in_force(withdraw_hh_adjustment.register_id, withdraw_hh_adjustment.direction, at))
  RETURNING * INTO added;
  RETURN added;
END
$$;
COMMENT ON FUNCTION flows.withdraw_hh_adjustment(uuid, flows.energy_direction, timestamptz, text) IS
  'Withdraws the estimate or edit in force for one half hour of a channel: the derived value (or none) is in force again; the withdrawal is kept in hh_adjustments. estimate_gaps does not estimate that half hour again.';

-- ---------------------------------------------------------------- audit

-- Per channel and half hour: the derived value (seq 0), every adjustment in
-- order (seq 1, 2, …), then the validation flags (seq NULL); each row
-- carries the value in force and its quality flags, and in_force marks the
-- entry that value comes from.
CREATE VIEW flows.hh_audit AS
  SELECT d.register_id, d.direction, d.timestamp, 0::bigint AS seq, 'derived'::text AS entry, d.kwh,
         NULL::text AS method, NULL::text AS reason, NULL::name AS created_by, NULL::timestamptz AS created_at,
         NULL::numeric AS previous_kwh, NULL::bigint AS adjustment_id,
         v.kwh IS NOT NULL AND v.quality_flags & 2 = 0 AS in_force,
         v.kwh AS value_in_force, v.quality_flags
    FROM (SELECT register_id, 'import'::flows.energy_direction AS direction, timestamp, import_kwh AS kwh
            FROM flows.register_interval_hh WHERE import_kwh IS NOT NULL
          UNION ALL
          SELECT register_id, 'export', timestamp, export_kwh
            FROM flows.register_interval_hh WHERE export_kwh IS NOT NULL) d
    LEFT JOIN flows.hh_values v ON v.register_id = d.register_id AND v.direction = d.direction AND v.timestamp = d.timestamp
  UNION ALL
  SELECT a.register_id, a.direction, a.timestamp, a.seq, a.kind, a.kwh, a.method, a.reason, a.created_by, a.created_at,
         a.previous_kwh, a.id,
         a.id = f.id AND (a.kind = 'edit' OR (a.kind = 'estimate' AND v.derived_kwh IS NULL)),
         v.kwh, v.quality_flags
    FROM (SELECT x.*, row_number() OVER (PARTITION BY x.register_id, x.direction, x.timestamp ORDER BY x.id) AS seq
            FROM flows.hh_adjustments x) a
    JOIN flows.hh_adjustments_in_force f ON f.register_id = a.register_id AND f.direction = a.direction AND f.timestamp = a.timestamp
    LEFT JOIN flows.hh_values v ON v.register_id = a.register_id AND v.direction = a.direction AND v.timestamp = a.timestamp
  UNION ALL
  SELECT g.register_id, g.direction, g.timestamp, NULL, 'flag', NULL, g.check_name, g.details::text, NULL, g.flagged_at,
         NULL, NULL, false, v.kwh, v.quality_flags
    FROM flows.hh_flags g
    LEFT JOIN flows.hh_values v ON v.register_id = g.register_id AND v.direction = g.direction AND v.timestamp = g.timestamp;
COMMENT ON VIEW flows.hh_audit IS
  'The history of each half-hourly value per channel: derived value (seq 0), estimates, edits and withdrawals in order (seq 1…, with who, when, why, method and the value replaced), validation flags (entry flag, seq NULL); value_in_force and quality_flags as flows.hh_values shows them. Filter by register_id, direction and timestamp; ORDER BY timestamp, seq NULLS LAST.';
