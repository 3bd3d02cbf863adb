#!/usr/bin/env bash
# Benchmark of the half-hourly pipeline (a README command, not a test), on a
# release build with TimescaleDB in its own cluster (port 55437):
#  1. HH ingest: REGISTERS registers x DAYS days of profile points COPYed into
#     flows.register_profile_days (a row per register and day, as profile logs
#     are read) and derived by flows.refresh_hh(), against COPY of
#     the same number of half-hourly rows into a bare hypertable; then two
#     floors of any pipeline that keeps register_interval_hh: the rows COPYed
#     into a bare hypertable with its primary key, and COPYed straight into
#     flows.register_interval_hh (checked, logged for the roll-ups), as history
#     from another system is loaded. Every file is in register order, as
#     profile logs arrive (a meter's log at a time);
#  2. roll-up refresh after one new day for every register (100 circuits of
#     10 registers, a property per meter, one site, one ESCO).
# Each timing is the best of RUNS (default 3) on fresh tables.
source "$(dirname "$0")/../scripts/lib.sh"
require_root
"$FLOWS_ROOT/scripts/setup"
cd "$FLOWS_ROOT"
REGISTERS=${REGISTERS:-1000}
DAYS=${DAYS:-7}
RUNS=${RUNS:-3}
port=55437
[ -n "${SKIP_INSTALL:-}" ] || cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
export CLUSTER_EXTRA_CONF="max_parallel_workers_per_gather = 0
timescaledb.max_background_workers = 0
shared_buffers = '1GB'
work_mem = '256MB'
max_wal_size = '4GB'"
cluster_start benchhh "$port" timescaledb
data=/tmp/flows-bench-hh
rm -rf "$data"; install -d -o postgres -g postgres "$data"
# BENCH_KEEP=1 leaves the cluster running for a closer look.
[ -n "${BENCH_KEEP:-}" ] || trap 'cluster_stop benchhh; rm -rf "$data"' EXIT
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
ms() { "${psql[@]}" -d flows -c '\timing on' "$@" | awk '/^Time:/ {t += $2} END {printf "%.0f", t}'; }
best() { sort -n | head -1; }

"${psql[@]}" -d postgres -c "CREATE DATABASE flows" -c "ALTER DATABASE flows SET search_path = \"\$user\", public, flows"
"${psql[@]}" -d flows -c "CREATE EXTENSION timescaledb" -c "CREATE EXTENSION flows_ext" 2>&1 | grep -v NOTICE || true
"${psql[@]}" -d flows <<SQL
INSERT INTO flows.escos (id, code, name) VALUES ('00000000-0000-0000-0000-0000000000e1', 'BENCH', 'Bench ESCO');
INSERT INTO flows.sites (id, esco_id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000e1', 'Bench site');
INSERT INTO flows.meter_registry (id, serial, esco_id)
  SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(g), 12, '0'))::uuid, 'EML' || (3000000000 + g)::text, '00000000-0000-0000-0000-0000000000e1'
    FROM generate_series(1, $REGISTERS) g;
INSERT INTO flows.meter_registers (register_id, meter_id, element)
  SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(g), 12, '0'))::uuid, ('00000000-0000-0000-0001-' || lpad(to_hex(g), 12, '0'))::uuid, 'SINGLE'
    FROM generate_series(1, $REGISTERS) g;
INSERT INTO flows.properties (id, plot, site_id, supply_meter_id)
  SELECT gen_random_uuid(), 'BN-' || g, '00000000-0000-0000-0000-0000000000a1', ('00000000-0000-0000-0001-' || lpad(to_hex(g), 12, '0'))::uuid
    FROM generate_series(1, $REGISTERS) g;
INSERT INTO flows.circuits (id, type, site_id, name)
  SELECT ('00000000-0000-0000-0003-' || lpad(to_hex(c), 12, '0'))::uuid, 'power', '00000000-0000-0000-0000-0000000000a1', 'circuit ' || c
    FROM generate_series(0, ($REGISTERS - 1) / 10) c;
INSERT INTO flows.circuit_register
  SELECT ('00000000-0000-0000-0003-' || lpad(to_hex((g - 1) / 10), 12, '0'))::uuid, ('00000000-0000-0000-0002-' || lpad(to_hex(g), 12, '0'))::uuid
    FROM generate_series(1, $REGISTERS) g;
-- Profile points: DAYS days (+ the closing point) and then one more day; HH rows for the bare table.
-- the value of a register's profile at t
CREATE FUNCTION pg_temp.profile(r uuid, t timestamptz) RETURNS numeric IMMUTABLE LANGUAGE sql AS
  \$\$ SELECT round((1000 + extract(epoch FROM t - '2025-06-01') / 1800 * (0.2 + (hashtext(r::text) & 255) / 1000.0))::numeric, 4) \$\$;
-- Profile days 0 .. DAYS-1 and the closing point of the last half hour (day DAYS, first slot).
COPY (SELECT r.register_id, 'import', d,
             ARRAY(SELECT CASE WHEN d + (i - 1) * interval '30 minutes' <= '2025-06-01'::timestamptz + interval '$DAYS days'
                               THEN pg_temp.profile(r.register_id, d + (i - 1) * interval '30 minutes') END
                     FROM generate_series(1, 48) i ORDER BY i)
        FROM flows.meter_registers r, generate_series('2025-06-01'::timestamptz, '2025-06-01'::timestamptz + interval '$DAYS days', '1 day') d
       ORDER BY 1, 3)
  TO '$data/days.csv' (FORMAT csv);
-- The next day: day DAYS whole, and the first point of the day after.
COPY (SELECT r.register_id, 'import', d,
             ARRAY(SELECT CASE WHEN d + (i - 1) * interval '30 minutes' <= '2025-06-01'::timestamptz + interval '$DAYS days' + interval '1 day'
                               THEN pg_temp.profile(r.register_id, d + (i - 1) * interval '30 minutes') END
                     FROM generate_series(1, 48) i ORDER BY i)
        FROM flows.meter_registers r, generate_series('2025-06-01'::timestamptz + interval '$DAYS days', '2025-06-01'::timestamptz + interval '$DAYS days' + interval '1 day', '1 day') d
       ORDER BY 1, 3)
  TO '$data/next_day.csv' (FORMAT csv);
COPY (SELECT r.register_id, t, round((0.2 + (hashtext(r.register_id::text) & 255) / 1000.0)::numeric, 6)
        FROM flows.meter_registers r, generate_series('2025-06-01'::timestamptz, '2025-06-01'::timestamptz + interval '$DAYS days' - interval '30 minutes', '30 minutes') t
       ORDER BY 1, 2)
  TO '$data/hh.csv' (FORMAT csv);
SQL
rows=$("${psql[@]}" -At -d flows -c "SELECT $REGISTERS * $DAYS * 48")

bare=() keyed=() direct=() pipe=()
for _ in $(seq "$RUNS"); do
  "${psql[@]}" -d flows -c "DROP TABLE IF EXISTS bare_hh" \
    -c "CREATE TABLE bare_hh (register_id uuid, timestamp timestamptz NOT NULL, kwh numeric(14, 6))" \
    -c "SELECT create_hypertable('bare_hh', by_range('timestamp', interval '30 days'))" -c "CHECKPOINT" >/dev/null
  bare+=("$(ms -c "COPY bare_hh FROM '$data/hh.csv' (FORMAT csv)")")
  "${psql[@]}" -d flows -c "DROP TABLE IF EXISTS keyed_hh" \
    -c "CREATE TABLE keyed_hh (register_id uuid, timestamp timestamptz, kwh numeric(14, 6), PRIMARY KEY (register_id, timestamp))" \
    -c "SELECT create_hypertable('keyed_hh', by_range('timestamp', interval '30 days'), create_default_indexes => false)" -c "CHECKPOINT" >/dev/null
  keyed+=("$(ms -c "COPY keyed_hh FROM '$data/hh.csv' (FORMAT csv)")")
  "${psql[@]}" -d flows -c "TRUNCATE flows.register_interval_hh, flows.rollup_invalidations" -c "CHECKPOINT"
  direct+=("$(ms -c "COPY flows.register_interval_hh (register_id, timestamp, import_kwh) FROM '$data/hh.csv' (FORMAT csv)")")
  "${psql[@]}" -d flows -c "TRUNCATE flows.register_profile_days, flows.register_interval_hh, flows.hh_invalidations, flows.rollup_invalidations" -c "CHECKPOINT"
  c=$(ms -c "COPY flows.register_profile_days FROM '$data/days.csv' (FORMAT csv)")
  d=$(ms -c "SELECT * FROM flows.refresh_hh()")
  pipe+=("$((c + d)) $c $d")
done
bare_ms=$(printf '%s\n' "${bare[@]}" | best)
keyed_ms=$(printf '%s\n' "${keyed[@]}" | best)
direct_ms=$(printf '%s\n' "${direct[@]}" | best)
read -r pipe_ms copy_ms derive_ms <<<"$(printf '%s\n' "${pipe[@]}" | best)"
derived=$("${psql[@]}" -At -d flows -c "SELECT count(*) FROM flows.register_interval_hh")
printf 'HH ingest, %s half hours (%s registers x %s days): COPY into a bare hypertable %s ms; COPY of profile days + refresh_hh %s ms (%s + %s; %s rows); pipeline speed %.2fx of bare COPY\n' \
  "$rows" "$REGISTERS" "$DAYS" "$bare_ms" "$pipe_ms" "$copy_ms" "$derive_ms" "$derived" "$(echo "$bare_ms / $pipe_ms" | bc -l)"

printf 'Floors of keeping register_interval_hh, the same half-hourly rows: COPY into a bare hypertable with its primary key %s ms (%.2fx); COPY into flows.register_interval_hh itself (checked, logged for the roll-ups; how history from another system is loaded) %s ms (%.2fx of bare COPY)\n' \
  "$keyed_ms" "$(echo "$bare_ms / $keyed_ms" | bc -l)" "$direct_ms" "$(echo "$bare_ms / $direct_ms" | bc -l)"

initial=$(ms -c "SELECT * FROM flows.refresh_rollups()")
"${psql[@]}" -d flows -c "VACUUM ANALYZE"
# The next day merges into the last day's row (UPDATE) and starts the next.
hh_day=$(ms -c "CREATE TEMP TABLE next_day (LIKE flows.register_profile_days)" \
            -c "COPY next_day FROM '$data/next_day.csv' (FORMAT csv)" \
            -c "UPDATE flows.register_profile_days d SET read_kwh = n.read_kwh FROM next_day n
                 WHERE d.register_id = n.register_id AND d.direction = n.direction AND d.timestamp = n.timestamp" \
            -c "INSERT INTO flows.register_profile_days SELECT n.* FROM next_day n
                 WHERE NOT EXISTS (SELECT FROM flows.register_profile_days d
                                    WHERE d.register_id = n.register_id AND d.direction = n.direction AND d.timestamp = n.timestamp)" \
            -c "SELECT * FROM flows.refresh_hh()")
day=$(ms -c "SELECT * FROM flows.refresh_rollups()")
check=$("${psql[@]}" -At -d flows -c "SELECT (SELECT sum(total_import_kwh) FROM flows.rollup_hh WHERE level = 'esco')
                                              = (SELECT sum(import_kwh) FROM flows.register_interval_hh)")
printf 'Roll-ups (%s circuits, %s properties, 1 site, 1 ESCO): first refresh of %s days %s ms; one new day: ingest + refresh_hh %s ms, refresh_rollups %s ms (ESCO total equals the HH total: %s)\n' \
  "$(( (REGISTERS + 9) / 10 ))" "$REGISTERS" "$DAYS" "$initial" "$hh_day" "$day" "$check"
