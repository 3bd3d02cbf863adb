#!/usr/bin/env bash
# pg_dump / pg_restore round trip of a database with flows_ext: every row of
# every flows table must come back identical. Usage: dump_restore.sh PORT
# (database `flows` on that port has the extensions; TimescaleDB optional).
set -euo pipefail
port=$1
here=$(cd "$(dirname "$0")" && pwd)
dump=$(mktemp /tmp/flows-dump.XXXXXX)
chmod 644 "$dump"
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
# Leave the source database as the SQL suite found it, whatever happens.
cleanup() {
  rm -f "$dump"
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS flows_restored" >/dev/null 2>&1 || true
  "${psql[@]}" -d flows -c "TRUNCATE flows.escos, flows.mediators CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"${psql[@]}" -d flows <<SQL
BEGIN;
\ir $here/sql/fixtures.psql
UPDATE flows.meter_shadows SET balance = 12.34567, emergency_credit = 5, csq = 17, health = 'healthy',
  tariffs_future = '{"standing_charge": 0.6, "unit_rate_element_a": 0.3, "unit_rate_element_b": 0.15, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2025-04-01T00:00:00Z"}',
  import_a = 1234.5, last_online_at = '2025-01-01 12:00+00';
-- Disabled: the cluster's worker must not change these rows while they are dumped.
INSERT INTO flows.mediators (name, address, enabled) VALUES ('sim', '127.0.0.1:50051', false);
UPDATE flows.escos SET default_mediator_id = (SELECT id FROM flows.mediators WHERE name = 'sim');
SELECT flows_api.push_token('EML2137580826', '12345678901234567890', 'dump-1');
SELECT flows_api.request_meter_read('EML2207642296', ARRAY['csq', 'registers']);
INSERT INTO flows.register_import (register_id, timestamp, read_kwh, interval)
  SELECT '00000000-0000-0000-0000-000000000101', g, 100 + extract(epoch FROM g - '2024-01-01') / 36000, '1 hour'
    FROM generate_series('2024-01-01'::timestamptz, '2024-03-01', '1 hour') g;
INSERT INTO flows.register_export (register_id, timestamp, read_kwh) VALUES ('00000000-0000-0000-0000-000000000201', '2024-02-01', 7);
INSERT INTO flows.register_export (register_id, timestamp, read_kwh) VALUES ('00000000-0000-0000-0000-000000000201', '2024-02-02', 6.5);
-- Derived data, a roll-up and an edit: all of it must come back (and a
-- refresh after the restore must derive the same).
SELECT * FROM flows.refresh_hh();
SELECT * FROM flows.refresh_rollups();
INSERT INTO flows.hh_adjustments (register_id, direction, timestamp, kind, kwh, method, reason)
  VALUES ('00000000-0000-0000-0000-000000000101', 'import', '2024-01-10 12:00+00', 'edit', 0.5, 'manual', 'dump test');
SELECT * FROM flows.refresh_rollups();
INSERT INTO flows.meter_prepay_balance VALUES ('00000000-0000-0000-0000-0000000000c1', '2024-02-01', 12.34567, 5);
INSERT INTO flows.meter_voltage VALUES ('00000000-0000-0000-0000-0000000000c1', '2024-02-01', 241.5);
INSERT INTO flows.meter_3p_voltage VALUES ('00000000-0000-0000-0000-0000000000c2', '2024-02-01', 240.1, 239.9, 241);
INSERT INTO flows.meter_csq VALUES ('00000000-0000-0000-0000-0000000000c1', '2024-02-01', 17);
INSERT INTO flows.meter_health_history VALUES ('00000000-0000-0000-0000-0000000000c1', '2024-02-01', 'healthy', 'sync ok');
INSERT INTO flows.meter_event_log VALUES ('00000000-0000-0000-0000-0000000000c1', '2024-02-01', 'power_fail', '{"index": 3}');
COMMIT;
SQL

# Every row of every flows table, in key order, as one checksum per table.
checksums() {
  PGOPTIONS='-c flows.reveal_tokens=on' "${psql[@]}" -At -d "$1" <<'SQL'
CREATE FUNCTION pg_temp.table_checksums() RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE t name; n bigint; h text;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
            WHERE s.nspname = 'flows' AND c.relkind IN ('r', 'p')
              AND c.relname <> 'worker_state'  -- the live worker's heartbeat, not data
            ORDER BY 1 LOOP
    EXECUTE format('SELECT count(*), md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM flows.%I t', t)
      INTO n, h;
    RETURN NEXT t || ' ' || n || ' ' || h;
  END LOOP;
END $f$;
SELECT * FROM pg_temp.table_checksums();
SQL
}

timescaledb=$("${psql[@]}" -At -d flows -c "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
PGOPTIONS='-c flows.reveal_tokens=on' pg_dump -h /tmp -p "$port" -U postgres -Fc -d flows -f "$dump" 2>/dev/null
"${psql[@]}" -d postgres -c "CREATE DATABASE flows_restored"
"${psql[@]}" -d postgres -c "ALTER DATABASE flows_restored SET search_path = \"\$user\", public, flows"
if [ "$timescaledb" = 1 ]; then
  "${psql[@]}" -d flows_restored -c "CREATE EXTENSION timescaledb" -c "SELECT timescaledb_pre_restore()" >/dev/null
fi
pg_restore -h /tmp -p "$port" -U postgres -d flows_restored --exit-on-error "$dump"
if [ "$timescaledb" = 1 ]; then
  "${psql[@]}" -d flows_restored -c "SELECT timescaledb_post_restore()" >/dev/null
fi

# The restore's own inserts log work for the derivation: doing it must change nothing.
"${psql[@]}" -d flows_restored -c "SELECT * FROM flows.refresh_hh()" -c "SELECT * FROM flows.refresh_rollups()" >/dev/null
before=$(checksums flows)
after=$(checksums flows_restored)
rows=$(echo "$before" | awk '{s += $2} END {print s}')
if [ "$before" = "$after" ]; then
  echo "ok - pg_dump/pg_restore round trip: $(echo "$before" | wc -l) tables, $rows rows identical (timescaledb=$timescaledb)"
else
  echo "not ok - pg_dump/pg_restore round trip differs (timescaledb=$timescaledb):"
  diff <(echo "$before") <(echo "$after") || true
  exit 1
fi
