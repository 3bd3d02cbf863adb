#!/usr/bin/env bash
# End-to-end tests: a PostgreSQL 15 + TimescaleDB cluster with flows_ext
# preloaded (so its worker runs), the mediator simulator serving the sample
# ESCO's meters, the pgTAP scenarios in this folder, then crash.sh.
# Needs flows_ext installed and the simulator built (scripts/test does both).
source "$(dirname "$0")/../../scripts/lib.sh"
port=55434
work=/tmp/flows-e2e
sim_bin=${FLOWS_SIM_BIN:-$FLOWS_ROOT/target/debug/flows-mediator-sim}
rm -rf "$work"; install -d -o postgres -g postgres "$work"
install -m 755 "$FLOWS_ROOT/tests/e2e/simctl" "$work/simctl"

# Durable as in production: the crash scenarios test what survives a crash.
export CLUSTER_EXTRA_CONF="fsync = on
synchronous_commit = on
full_page_writes = on
flows.meter_spacing = 0
flows.call_timeout = 1500
flows.retry_base = 500
flows.retry_cap = 2000
timescaledb.max_background_workers = 0
flows.refresh_interval = 1"
cluster_start e2e "$port" timescaledb,flows_ext
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE flows" -c "ALTER DATABASE flows SET search_path = \"\$user\", public, flows"
"${psql[@]}" -d flows -c "CREATE EXTENSION timescaledb" -c "CREATE EXTENSION flows_ext" -c "CREATE EXTENSION pgtap" \
  -f "$FLOWS_ROOT/examples/sample_esco.sql" -f "$FLOWS_ROOT/tests/e2e/setup.psql"

"${psql[@]}" -At -d flows -c "SELECT serial::text || ',' || hardware::text FROM flows.meter_registry ORDER BY 1" > "$work/meters.csv"
"$sim_bin" --listen 127.0.0.1:0 --control-port 0 --meters "$work/meters.csv" --latency-ms 1 --spacing-ms 0 \
  --consumption-scale 0 --initial-balance 5 --history-from 2020-01-01 --busy-timeout 1s \
  --state-file "$work/sim-state.json" > "$work/sim.out" 2> "$work/sim.log" &
sim_pid=$!
stop_all() { kill "$sim_pid" 2>/dev/null || true; cluster_stop e2e; }
[ -n "${E2E_KEEP:-}" ] || trap stop_all EXIT
for _ in $(seq 50); do [ "$(wc -l < "$work/sim.out")" -ge 2 ] && break; sleep 0.1; done
sim_port=$(awk '/^listening/ {split($2, a, ":"); print a[2]}' "$work/sim.out")
awk '/^control/ {split($2, a, ":"); print a[2]}' "$work/sim.out" > "$work/control-port"
[ -n "$sim_port" ] || die "the simulator did not start: $(cat "$work/sim.log")"
"${psql[@]}" -d flows -c "INSERT INTO flows.mediators (name, address, max_concurrency) VALUES ('simulator', '127.0.0.1:$sim_port', 30)" \
  -c "UPDATE flows.escos SET default_mediator_id = (SELECT id FROM flows.mediators WHERE name = 'simulator')"

rc=0
pg_prove -h /tmp -p "$port" -U postgres -d flows "$FLOWS_ROOT"/tests/e2e/*.sql || rc=1
E2E_PORT=$port E2E_SIM_PID=$sim_pid bash "$FLOWS_ROOT/tests/e2e/crash.sh" || rc=1
exit $rc
