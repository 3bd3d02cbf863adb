-- Half-hourly derivation (DOMAIN.md "Half-hourly energy: the rules"): every
-- change to register_import/register_export logs the changed time range of
-- its channel (register, direction); flows.refresh_hh() re-derives only the
-- half hours those changes can affect, from the reads and profile points
-- around them, into register_interval_hh, with rollover, reversal and
-- exchange events in register_events. The worker runs it every
-- flows.hh_refresh_interval; anyone may CALL it for an immediate refresh.
--
-- Written as ALTERs over 0.1.0 objects so the same text upgrades 0.1.0.

CREATE TYPE flows.energy_direction AS ENUM ('import', 'export');
CREATE TYPE flows.hh_quality AS ENUM ('actual', 'estimated');
CREATE TYPE flows.register_event_kind AS ENUM ('rollover', 'reversal', 'exchange');

-- Rule 4 per register: a drop from within rollover_margin_kwh of
-- register_max_kwh is a rollover, any other drop a reversal.
ALTER TABLE flows.meter_registers
  ADD COLUMN register_max_kwh numeric(15, 4)
    CONSTRAINT meter_registers_max_positive CHECK (register_max_kwh > 0),
  ADD COLUMN rollover_margin_kwh numeric(15, 4)
    CONSTRAINT meter_registers_margin_within_max CHECK (rollover_margin_kwh IS NULL OR (
      register_max_kwh IS NOT NULL AND rollover_margin_kwh BETWEEN 0 AND register_max_kwh));
COMMENT ON COLUMN flows.meter_registers.register_max_kwh IS
  'Largest value the register shows before it wraps to zero; NULL: it never rolls over (every drop is a reversal).';
COMMENT ON COLUMN flows.meter_registers.rollover_margin_kwh IS
  'A drop from a value within this of register_max_kwh is a rollover; NULL: 1 % of register_max_kwh.';

ALTER TABLE flows.register_interval_hh
  ADD COLUMN import_quality flows.hh_quality,
  ADD COLUMN import_partial boolean,
  ADD COLUMN export_quality flows.hh_quality,
  ADD COLUMN export_partial boolean;
-- Rule 7: profile points sit on half-hour boundaries; refused on the way in.
ALTER TABLE flows.register_import ADD CONSTRAINT register_import_profile_on_half_hour
  CHECK (source <> 'profile' OR date_bin('30 minutes', timestamp, '2000-01-01 00:00+00') = timestamp);
ALTER TABLE flows.register_export ADD CONSTRAINT register_export_profile_on_half_hour
  CHECK (source <> 'profile' OR date_bin('30 minutes', timestamp, '2000-01-01 00:00+00') = timestamp);

COMMENT ON COLUMN flows.register_interval_hh.import_quality IS
  'actual: the half hour is bounded by two profile points; estimated: apportioned from cumulative reads.';
COMMENT ON COLUMN flows.register_interval_hh.import_partial IS
  'The reads cover only part of the half hour (the channel''s first or last half hour).';
COMMENT ON TABLE flows.register_interval_hh IS
  'Half-hourly energy per register, derived by flows.refresh_hh() from register_import/register_export (profile points are authoritative); timestamp is the start of the half hour (UTC). Rows of a re-derived range are replaced.';

-- Both registers of an exchange: the old takes no point after exchanged_at,
-- the new none before; final/initial values are reads at exchanged_at.
CREATE TABLE flows.register_exchanges (
  old_register_id uuid PRIMARY KEY REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  new_register_id uuid NOT NULL UNIQUE REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  exchanged_at timestamptz NOT NULL,
  old_final_import_kwh numeric(15, 4) CHECK (old_final_import_kwh >= 0),
  old_final_export_kwh numeric(15, 4) CHECK (old_final_export_kwh >= 0),
  new_initial_import_kwh numeric(15, 4) CHECK (new_initial_import_kwh >= 0),
  new_initial_export_kwh numeric(15, 4) CHECK (new_initial_export_kwh >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT register_exchanges_two_registers CHECK (old_register_id <> new_register_id)
);
COMMENT ON TABLE flows.register_exchanges IS
  'Meter (register) exchanges: the old register is replaced by the new one at exchanged_at. Without final/initial values the energy in between is unknown.';

-- Derived events, one per channel, instant and kind; recorded_at is when
-- the derivation first saw it.
CREATE TABLE flows.register_events (
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  direction flows.energy_direction NOT NULL,
  timestamp timestamptz NOT NULL,
  kind flows.register_event_kind NOT NULL,
  previous_at timestamptz,
  previous_kwh numeric(15, 4),
  new_kwh numeric(15, 4),
  advance_kwh numeric(15, 6),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (register_id, direction, timestamp, kind)
);
COMMENT ON TABLE flows.register_events IS
  'Rollovers (advance (max - previous) + new), reversals (advance 0) and exchanges found by the half-hourly derivation, with both points.';

-- Changed ranges of channels not yet re-derived.
CREATE TABLE flows.hh_invalidations (
  register_id uuid NOT NULL,
  direction flows.energy_direction NOT NULL,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON flows.hh_invalidations (register_id, direction);
COMMENT ON TABLE flows.hh_invalidations IS
  'Time ranges of register reads changed since the last flows.refresh_hh(); consumed by it.';

-- Referential integrity of the high-volume series by statement, not by row:
-- a foreign key checks every inserted row with its own lookup, which more
-- than doubles the cost of a COPY of reads or a refresh of half hours. The
-- statement trigger below locks each referenced register once (FOR KEY
-- SHARE, as a foreign key does) and refuses unknown ones; deleting a
-- register deletes its series (as ON DELETE CASCADE did).
ALTER TABLE flows.register_import DROP CONSTRAINT register_import_register_id_fkey;
ALTER TABLE flows.register_export DROP CONSTRAINT register_export_register_id_fkey;
ALTER TABLE flows.register_interval_hh DROP CONSTRAINT register_interval_hh_register_id_fkey;

CREATE FUNCTION flows.lock_registers(register_ids uuid[], table_name text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  missing uuid;
BEGIN
  PERFORM FROM flows.meter_registers r WHERE r.register_id = ANY (register_ids) FOR KEY SHARE;
  SELECT x INTO missing FROM unnest(register_ids) x
   WHERE NOT EXISTS (SELECT FROM flows.meter_registers r WHERE r.register_id = x) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%.register_id: register % does not exist', table_name, coalesce(missing::text, 'NULL')
      USING ERRCODE = 'foreign_key_violation', HINT = 'every row refers to a row of flows.meter_registers';
  END IF;
END
$$;

-- Any change of half-hourly rows (the refresh's, or rows loaded directly,
-- e.g. history from another system) is checked and logged for the roll-ups.
CREATE FUNCTION flows.log_hh_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM flows.lock_registers(ARRAY(SELECT DISTINCT register_id FROM changed_rows), TG_TABLE_NAME);
    PERFORM flows.invalidate_rollups(array_agg(register_id), array_agg(first_at), array_agg(last_at))
       FROM (SELECT register_id, min(timestamp) AS first_at, max(timestamp) AS last_at FROM changed_rows GROUP BY 1) c;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM flows.invalidate_rollups(array_agg(register_id), array_agg(first_at), array_agg(last_at))
       FROM (SELECT register_id, min(timestamp) AS first_at, max(timestamp) AS last_at FROM previous_rows GROUP BY 1) c;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER log_inserts AFTER INSERT ON flows.register_interval_hh
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_hh_changes();
CREATE TRIGGER log_updates AFTER UPDATE ON flows.register_interval_hh
  REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_hh_changes();
CREATE TRIGGER log_deletes AFTER DELETE ON flows.register_interval_hh
  REFERENCING OLD TABLE AS previous_rows FOR EACH STATEMENT EXECUTE FUNCTION flows.log_hh_changes();

CREATE FUNCTION flows.delete_register_series() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  DELETE FROM flows.register_import WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.register_export WHERE register_id IN (SELECT register_id FROM gone);
  DELETE FROM flows.register_interval_hh WHERE register_id IN (SELECT register_id FROM gone);
  RETURN NULL;
END
$$;
CREATE TRIGGER delete_register_series AFTER DELETE ON flows.meter_registers
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION flows.delete_register_series();

-- Both read tables as one relation, so the derivation's queries are static.
CREATE VIEW flows.register_reads AS
  SELECT register_id, 'import'::flows.energy_direction AS direction, timestamp, read_kwh, source FROM flows.register_import
  UNION ALL
  SELECT register_id, 'export'::flows.energy_direction, timestamp, read_kwh, source FROM flows.register_export;
COMMENT ON VIEW flows.register_reads IS 'register_import and register_export with a direction column.';

CREATE FUNCTION flows.log_read_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  dir flows.energy_direction := TG_ARGV[0];
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM flows.lock_registers(ARRAY(SELECT DISTINCT register_id FROM changed_rows), TG_TABLE_NAME);
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, dir, min(timestamp), max(timestamp) FROM changed_rows GROUP BY register_id;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT register_id, dir, min(timestamp), max(timestamp) FROM previous_rows GROUP BY register_id;
  END IF;
  RETURN NULL;
END
$$;
DO $$
DECLARE dir text;
BEGIN
  FOREACH dir IN ARRAY ARRAY['import', 'export'] LOOP
    EXECUTE format('CREATE TRIGGER log_inserts AFTER INSERT ON flows.register_%1$s
                      REFERENCING NEW TABLE AS changed_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION flows.log_read_changes(%1$L)', dir);
    EXECUTE format('CREATE TRIGGER log_updates AFTER UPDATE ON flows.register_%1$s
                      REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION flows.log_read_changes(%1$L)', dir);
    EXECUTE format('CREATE TRIGGER log_deletes AFTER DELETE ON flows.register_%1$s
                      REFERENCING OLD TABLE AS previous_rows
                      FOR EACH STATEMENT EXECUTE FUNCTION flows.log_read_changes(%1$L)', dir);
  END LOOP;
END
$$;

-- A register's rollover parameters change all of its history; an exchange
-- changes both registers around its instant.
CREATE FUNCTION flows.log_register_spec_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
  SELECT NEW.register_id, d, '-infinity', 'infinity' FROM unnest(enum_range(NULL::flows.energy_direction)) d;
  RETURN NULL;
END
$$;
CREATE FUNCTION flows.log_exchange_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  x flows.register_exchanges;
BEGIN
  FOREACH x IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW] WHEN 'DELETE' THEN ARRAY[OLD] ELSE ARRAY[OLD, NEW] END LOOP
    INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
    SELECT r, d, x.exchanged_at, x.exchanged_at
      FROM unnest(ARRAY[x.old_register_id, x.new_register_id]) r, unnest(enum_range(NULL::flows.energy_direction)) d;
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER log_rollover_changes AFTER UPDATE OF register_max_kwh, rollover_margin_kwh ON flows.meter_registers
  FOR EACH ROW WHEN (OLD.register_max_kwh IS DISTINCT FROM NEW.register_max_kwh
                     OR OLD.rollover_margin_kwh IS DISTINCT FROM NEW.rollover_margin_kwh)
  EXECUTE FUNCTION flows.log_register_spec_change();

-- An exchange replaces the old register (so the new one may be the enabled
-- register of its element) and the new register joins the old one's circuits.
CREATE FUNCTION flows.apply_register_exchange() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
BEGIN
  UPDATE flows.meter_registers SET status = 'replaced'
   WHERE register_id = NEW.old_register_id AND status <> 'replaced';
  INSERT INTO flows.circuit_register (circuit_id, register_id)
  SELECT circuit_id, NEW.new_register_id FROM flows.circuit_register WHERE register_id = NEW.old_register_id
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER apply_register_exchange AFTER INSERT ON flows.register_exchanges
  FOR EACH ROW EXECUTE FUNCTION flows.apply_register_exchange();
CREATE TRIGGER log_exchange_changes AFTER INSERT OR UPDATE OR DELETE ON flows.register_exchanges
  FOR EACH ROW EXECUTE FUNCTION flows.log_exchange_change();

-- The half hours [window_start, window_end) whose rows a change of a
-- channel's points within [from_ts, to_ts] can affect: the spans touching it
-- end at the nearest points outside, and a profile point can supersede reads
-- up to half an hour away (rule 7).
CREATE FUNCTION flows.hh_window(register_id uuid, direction flows.energy_direction,
                                from_ts timestamptz, to_ts timestamptz,
                                OUT window_start timestamptz, OUT window_end timestamptz)
STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT date_bin('30 minutes', coalesce(
             (SELECT max(r.timestamp) FROM flows.register_reads r
               WHERE r.register_id = hh_window.register_id AND r.direction = hh_window.direction
                 AND r.timestamp < from_ts - interval '30 minutes'),
             from_ts - interval '30 minutes'), '2000-01-01 00:00+00'),
         date_bin('30 minutes', coalesce(
             (SELECT min(r.timestamp) FROM flows.register_reads r
               WHERE r.register_id = hh_window.register_id AND r.direction = hh_window.direction
                 AND r.timestamp > to_ts + interval '30 minutes'),
             to_ts + interval '30 minutes'), '2000-01-01 00:00+00') + interval '30 minutes'
$$;

-- One channel's derivation of a window, from the window's context: for reads
-- and for profile points separately, the points inside it plus the nearest
-- one on each side (see flows_energy::Window::context).
CREATE FUNCTION flows.derive_channel(register_id uuid, direction flows.energy_direction,
                                     window_start timestamptz, window_end timestamptz)
RETURNS TABLE (kind text, at timestamptz, kwh numeric, quality flows.hh_quality, partial boolean,
               previous_at timestamptz, previous_kwh numeric, new_kwh numeric)
STABLE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  WITH context AS (
    SELECT r.source = 'profile' AS is_profile, r.timestamp, r.read_kwh
      FROM flows.register_reads r
     WHERE r.register_id = derive_channel.register_id AND r.direction = derive_channel.direction
       AND r.timestamp BETWEEN window_start AND window_end
    UNION ALL
    SELECT s.is_profile, p.timestamp, p.read_kwh
      FROM (VALUES (true), (false)) s(is_profile),
           LATERAL (SELECT * FROM ((SELECT r.timestamp, r.read_kwh FROM flows.register_reads r
                                     WHERE r.register_id = derive_channel.register_id AND r.direction = derive_channel.direction
                                       AND (r.source = 'profile') = s.is_profile AND r.timestamp < window_start
                                     ORDER BY r.timestamp DESC LIMIT 1)
                                    UNION ALL
                                    (SELECT r.timestamp, r.read_kwh FROM flows.register_reads r
                                     WHERE r.register_id = derive_channel.register_id AND r.direction = derive_channel.direction
                                       AND (r.source = 'profile') = s.is_profile AND r.timestamp > window_end
                                     ORDER BY r.timestamp LIMIT 1)) n) p
  ), points AS (
    SELECT array_agg(timestamp) FILTER (WHERE NOT is_profile) AS read_at,
           array_agg((read_kwh * 1000000)::int8) FILTER (WHERE NOT is_profile) AS read_micro,
           array_agg(timestamp) FILTER (WHERE is_profile) AS profile_at,
           array_agg((read_kwh * 1000000)::int8) FILTER (WHERE is_profile) AS profile_micro
      FROM context
  )
  SELECT d.kind, d.at, d.micro_kwh * 0.000001, d.quality::flows.hh_quality, d.partial,
         d.previous_at, d.previous_micro * 0.000001, coalesce(d.new_micro * 0.000001, x.new_initial)
    FROM points p
         JOIN flows.meter_registers reg ON reg.register_id = derive_channel.register_id
         LEFT JOIN LATERAL (
           SELECT e.exchanged_at,
                  CASE derive_channel.direction WHEN 'import' THEN e.new_initial_import_kwh ELSE e.new_initial_export_kwh END AS new_initial,
                  CASE derive_channel.direction WHEN 'import' THEN e.old_final_import_kwh ELSE e.old_final_export_kwh END AS old_final
             FROM flows.register_exchanges e WHERE e.old_register_id = derive_channel.register_id) x ON true
         LEFT JOIN LATERAL (
           SELECT e.exchanged_at,
                  CASE derive_channel.direction WHEN 'import' THEN e.new_initial_import_kwh ELSE e.new_initial_export_kwh END AS new_initial
             FROM flows.register_exchanges e WHERE e.new_register_id = derive_channel.register_id) i ON true,
         LATERAL flows.derive_hh(window_start, window_end, p.read_at, p.read_micro, p.profile_at, p.profile_micro,
                                 (reg.register_max_kwh * 1000000)::int8, (reg.rollover_margin_kwh * 1000000)::int8,
                                 i.exchanged_at, (i.new_initial * 1000000)::int8,
                                 x.exchanged_at, (x.old_final * 1000000)::int8) d
$$;
COMMENT ON FUNCTION flows.derive_channel(uuid, flows.energy_direction, timestamptz, timestamptz) IS
  'The half-hourly rows (kind hh) and events of one channel for the half hours starting in [window_start, window_end), as flows.refresh_hh() writes them.';

CREATE FUNCTION flows.refresh_hh(max_channels integer DEFAULT NULL)
RETURNS TABLE (channels integer, periods integer, events integer)
LANGUAGE plpgsql SET search_path = pg_catalog, flows SET work_mem = '64MB' AS $$
BEGIN
  IF max_channels IS NOT NULL AND max_channels < 1 THEN
    RAISE EXCEPTION 'refresh_hh: max_channels must be at least 1, not %', max_channels
      USING ERRCODE = 'invalid_parameter_value', HINT = 'NULL refreshes every channel with changes';
  END IF;
  -- One refresh at a time: two would interleave their writes of one channel.
  PERFORM pg_advisory_xact_lock(hashtext('flows.refresh_hh'));

  IF to_regclass('pg_temp.hh_windows') IS NULL THEN
    CREATE TEMP TABLE hh_windows (
      register_id uuid, direction flows.energy_direction, window_start timestamptz, window_end timestamptz
    ) ON COMMIT DELETE ROWS;
  END IF;
  IF to_regclass('pg_temp.hh_derived') IS NULL THEN
    CREATE TEMP TABLE hh_derived (
      register_id uuid, direction flows.energy_direction, kind text, at timestamptz, kwh numeric,
      quality flows.hh_quality, partial boolean, previous_at timestamptz, previous_kwh numeric, new_kwh numeric
    ) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.hh_windows, pg_temp.hh_derived;

  WITH chosen AS (
    SELECT i.register_id, i.direction FROM flows.hh_invalidations i
     GROUP BY 1, 2 ORDER BY min(i.logged_at) LIMIT max_channels
  ), taken AS (
    DELETE FROM flows.hh_invalidations i USING chosen c
     WHERE i.register_id = c.register_id AND i.direction = c.direction
    RETURNING i.*
  )
  INSERT INTO pg_temp.hh_windows
  SELECT t.register_id, t.direction, w.window_start, w.window_end
    FROM (SELECT register_id, direction, min(from_ts) AS from_ts, max(to_ts) AS to_ts FROM taken GROUP BY 1, 2) t
         JOIN flows.meter_registers r ON r.register_id = t.register_id,  -- deleted registers have no rows left
         LATERAL flows.hh_window(t.register_id, t.direction,
                                 greatest(t.from_ts, '1900-01-01 00:00+00'), least(t.to_ts, '2200-01-01 00:00+00')) w;
  INSERT INTO pg_temp.hh_derived
  SELECT w.register_id, w.direction, d.*
    FROM pg_temp.hh_windows w, LATERAL flows.derive_channel(w.register_id, w.direction, w.window_start, w.window_end) d;

  -- Replace each channel's half hours in its window (the table's triggers
  -- log what changed for the roll-ups).
  UPDATE flows.register_interval_hh h
     SET import_kwh = NULL, import_quality = NULL, import_partial = NULL
    FROM pg_temp.hh_windows w
   WHERE w.direction = 'import' AND h.register_id = w.register_id
     AND h.timestamp >= w.window_start AND h.timestamp < w.window_end AND h.import_kwh IS NOT NULL;
  UPDATE flows.register_interval_hh h
     SET export_kwh = NULL, export_quality = NULL, export_partial = NULL
    FROM pg_temp.hh_windows w
   WHERE w.direction = 'export' AND h.register_id = w.register_id
     AND h.timestamp >= w.window_start AND h.timestamp < w.window_end AND h.export_kwh IS NOT NULL;
  -- Write both directions of a half hour at once: update the rows that
  -- exist (few: a window's edges, or re-derived data), insert the rest with
  -- no ON CONFLICT (much slower per row on a hypertable), straight from the
  -- derivation (no further copy).
  IF to_regclass('pg_temp.hh_existing') IS NULL THEN
    CREATE TEMP TABLE hh_existing (register_id uuid, at timestamptz) ON COMMIT DELETE ROWS;
  END IF;
  TRUNCATE pg_temp.hh_existing;
  ANALYZE pg_temp.hh_windows;
  INSERT INTO pg_temp.hh_existing
  SELECT DISTINCT h.register_id, h.timestamp
    FROM pg_temp.hh_windows w
    JOIN flows.register_interval_hh h
      ON h.register_id = w.register_id AND h.timestamp >= w.window_start AND h.timestamp < w.window_end;
  ANALYZE pg_temp.hh_existing;
  UPDATE flows.register_interval_hh h SET
    import_kwh = coalesce(m.import_kwh, h.import_kwh),
    import_quality = coalesce(m.import_quality, h.import_quality),
    import_partial = coalesce(m.import_partial, h.import_partial),
    export_kwh = coalesce(m.export_kwh, h.export_kwh),
    export_quality = coalesce(m.export_quality, h.export_quality),
    export_partial = coalesce(m.export_partial, h.export_partial)
    FROM (SELECT d.register_id, d.at,
                 max(d.kwh) FILTER (WHERE d.direction = 'import') AS import_kwh,
                 max(d.quality) FILTER (WHERE d.direction = 'import') AS import_quality,
                 bool_or(d.partial) FILTER (WHERE d.direction = 'import') AS import_partial,
                 max(d.kwh) FILTER (WHERE d.direction = 'export') AS export_kwh,
                 max(d.quality) FILTER (WHERE d.direction = 'export') AS export_quality,
                 bool_or(d.partial) FILTER (WHERE d.direction = 'export') AS export_partial
            FROM pg_temp.hh_existing e
            JOIN pg_temp.hh_derived d ON d.register_id = e.register_id AND d.at = e.at AND d.kind = 'hh'
           GROUP BY d.register_id, d.at) m
   WHERE h.register_id = m.register_id AND h.timestamp = m.at;
  INSERT INTO flows.register_interval_hh
         (register_id, timestamp, import_kwh, import_quality, import_partial, export_kwh, export_quality, export_partial)
  SELECT d.register_id, d.at,
         max(d.kwh) FILTER (WHERE d.direction = 'import'), max(d.quality) FILTER (WHERE d.direction = 'import'),
         bool_or(d.partial) FILTER (WHERE d.direction = 'import'),
         max(d.kwh) FILTER (WHERE d.direction = 'export'), max(d.quality) FILTER (WHERE d.direction = 'export'),
         bool_or(d.partial) FILTER (WHERE d.direction = 'export')
    FROM pg_temp.hh_derived d
   WHERE d.kind = 'hh'
     AND NOT EXISTS (SELECT FROM pg_temp.hh_existing e WHERE e.register_id = d.register_id AND e.at = d.at)
   GROUP BY d.register_id, d.at;
  DELETE FROM flows.register_interval_hh h USING pg_temp.hh_windows w
   WHERE h.register_id = w.register_id AND h.timestamp >= w.window_start AND h.timestamp < w.window_end
     AND h.import_kwh IS NULL AND h.export_kwh IS NULL;

  -- Events: keep those derived again (and when they were first recorded).
  DELETE FROM flows.register_events e USING pg_temp.hh_windows w
   WHERE e.register_id = w.register_id AND e.direction = w.direction
     AND e.timestamp >= w.window_start AND e.timestamp < w.window_end
     AND NOT EXISTS (SELECT FROM pg_temp.hh_derived d
                      WHERE d.register_id = e.register_id AND d.direction = e.direction AND d.at = e.timestamp
                        AND d.kind = e.kind::text AND d.previous_at IS NOT DISTINCT FROM e.previous_at
                        AND d.previous_kwh IS NOT DISTINCT FROM e.previous_kwh AND d.new_kwh IS NOT DISTINCT FROM e.new_kwh);
  INSERT INTO flows.register_events (register_id, direction, timestamp, kind, previous_at, previous_kwh, new_kwh, advance_kwh)
  SELECT d.register_id, d.direction, d.at, d.kind::flows.register_event_kind, d.previous_at, d.previous_kwh, d.new_kwh, d.kwh
    FROM pg_temp.hh_derived d WHERE d.kind <> 'hh'
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS events = ROW_COUNT;

  SELECT count(*)::integer INTO channels FROM pg_temp.hh_windows;
  SELECT count(*)::integer INTO periods FROM pg_temp.hh_derived WHERE kind = 'hh';
  RETURN NEXT;
END
$$;
COMMENT ON FUNCTION flows.refresh_hh(integer) IS
  'Re-derives register_interval_hh and register_events for the channels whose reads changed (oldest changes first, at most max_channels); returns channels, half hours written and new events.';

-- Reads recorded before this version (an upgrade) are derived at the next refresh.
INSERT INTO flows.hh_invalidations (register_id, direction, from_ts, to_ts)
SELECT register_id, direction, min(timestamp), max(timestamp) FROM flows.register_reads GROUP BY 1, 2;
