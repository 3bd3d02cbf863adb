-- Retention of the time series (DOMAIN.md: raw reads 90 days, half-hourly 2
-- years): a policy per table, applied hourly by the worker — whole chunks
-- with drop_chunks on hypertables, bounded batched deletes on plain tables.

CREATE TABLE flows.retention_policies (
  table_name regclass PRIMARY KEY,
  keep interval NOT NULL CONSTRAINT retention_keep_at_least_a_day CHECK (keep >= interval '1 day'),
  enabled boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE flows.retention_policies IS 'How long each time-series table keeps its rows; applied hourly by the worker (flows.apply_retention).';

-- search_path without flows, so table names print schema-qualified in messages.
CREATE FUNCTION flows.check_retention_policy() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM flows.timeseries_tables() t WHERE t.table_name = NEW.table_name) THEN
    RAISE EXCEPTION 'retention_policies.table_name: % is not a Flows time-series table', NEW.table_name
      USING ERRCODE = 'invalid_parameter_value', HINT = 'see flows.timeseries_tables()';
  END IF;
  -- One policy per table: inserting one replaces the one there (so a restored
  -- dump's policies replace the defaults the install created).
  IF TG_OP = 'INSERT' THEN
    DELETE FROM flows.retention_policies r WHERE r.table_name = NEW.table_name;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER check_retention_policy BEFORE INSERT OR UPDATE ON flows.retention_policies
  FOR EACH ROW EXECUTE FUNCTION flows.check_retention_policy();

INSERT INTO flows.retention_policies (table_name, keep) VALUES
  ('flows.register_import', '90 days'), ('flows.register_export', '90 days'),
  ('flows.meter_voltage', '90 days'), ('flows.meter_3p_voltage', '90 days'), ('flows.meter_csq', '90 days'),
  ('flows.register_interval_hh', '2 years'), ('flows.meter_prepay_balance', '2 years'),
  ('flows.meter_health_history', '2 years'), ('flows.meter_event_log', '2 years');

CREATE FUNCTION flows.apply_retention(batch integer DEFAULT 50000)
RETURNS TABLE (table_name regclass, removed bigint, method text)
LANGUAGE plpgsql SET search_path = pg_catalog, flows AS $$
DECLARE
  p record;
  ts_schema name;
  is_hypertable boolean;
BEGIN
  SELECT n.nspname INTO ts_schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'timescaledb';
  FOR p IN SELECT * FROM flows.retention_policies r WHERE r.enabled ORDER BY r.table_name::text LOOP
    table_name := p.table_name;
    is_hypertable := false;
    IF ts_schema IS NOT NULL THEN
      EXECUTE 'SELECT EXISTS (SELECT FROM timescaledb_information.hypertables h JOIN pg_catalog.pg_class c
                               ON c.relname = h.hypertable_name WHERE h.hypertable_schema = ''flows'' AND c.oid = $1)'
        INTO is_hypertable USING p.table_name;
    END IF;
    IF is_hypertable THEN
      -- Whole chunks only: rows of a chunk that straddles the cut-off stay until the chunk ages out.
      EXECUTE format('SELECT count(*) FROM %I.drop_chunks(%L::regclass, older_than => now() - %L::interval)',
                     ts_schema, p.table_name, p.keep) INTO removed;
      method := 'chunks dropped';
    ELSE
      EXECUTE format('DELETE FROM %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE timestamp < now() - $1 LIMIT $2))',
                     p.table_name, p.table_name) USING p.keep, batch;
      GET DIAGNOSTICS removed = ROW_COUNT;
      method := 'rows deleted';
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION flows.apply_retention(integer) IS
  'Applies flows.retention_policies once: drop_chunks on hypertables, at most `batch` rows deleted per plain table.';
