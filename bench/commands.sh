#!/usr/bin/env bash
# Benchmark of the command path (a README command, not a test):
#  1. 1,000 simulated meters, 200 ms latency, 2 s per-meter spacing, 10 reads
#     per meter queued at once: time to drain, commands/s, worker CPU;
#  2. the same reads run the way the original platform did (15 meters at a
#     time, each meter's reads in sequence) against a fresh simulator — on
#     BASELINE_METERS meters (default 150; the time scales linearly, 1000
#     runs ~25 minutes);
#  3. enqueue RPC latency under pgbench (p50/p99), the mediator disabled;
#  4. idle worker CPU over 30 s.
# Uses the release builds; runs its own cluster on port 55435.
source "$(dirname "$0")/../scripts/lib.sh"
require_root
"$FLOWS_ROOT/scripts/setup"
cd "$FLOWS_ROOT"
METERS=${METERS:-1000}
BASELINE_METERS=${BASELINE_METERS:-150}
port=55435
work=/tmp/flows-bench
READS=(csq prepay_balance voltage clock firmware prepay_enabled transaction_count backlight load_switch daylight_savings_correction)

log "building release: extension, simulator, baseline client"
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
cargo build --release -q -p flows-mediator-sim
cargo build --release -q -p flows-mediator --example baseline
rm -rf "$work"; install -d -o postgres -g postgres "$work"

export CLUSTER_EXTRA_CONF="flows.meter_spacing = 2000
flows.max_in_flight = 1000
timescaledb.max_background_workers = 0
max_connections = 100"
cluster_start bench "$port" timescaledb,flows_ext
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE flows" -c "ALTER DATABASE flows SET search_path = \"\$user\", public, flows"
"${psql[@]}" -d flows -c "CREATE EXTENSION timescaledb" -c "CREATE EXTENSION flows_ext"

start_sim() {
  "$FLOWS_ROOT/target/release/flows-mediator-sim" --listen 127.0.0.1:0 --generate "$METERS" --serial-prefix EML22 \
    --hardware B1.w --latency-ms 200 --spacing-ms 2000 > "$work/sim.out" 2> "$work/sim.log" &
  sim_pid=$!
  for _ in $(seq 100); do [ -s "$work/sim.out" ] && break; sleep 0.1; done
  sim_port=$(awk '/^listening/ {split($2, a, ":"); print a[2]}' "$work/sim.out")
}
cleanup() { kill "${sim_pid:-0}" 2>/dev/null || true; cluster_stop bench; }
trap cleanup EXIT
start_sim
"${psql[@]}" -d flows <<SQL
INSERT INTO flows.mediators (name, address, max_concurrency) VALUES ('sim', '127.0.0.1:$sim_port', 1000);
INSERT INTO flows.escos (code, name, default_mediator_id) SELECT 'BENCH', 'Benchmark', id FROM flows.mediators;
INSERT INTO flows.meter_registry (serial, hardware, esco_id)
SELECT format('EML22%s', lpad(i::text, 8, '0')), 'B1.w', (SELECT id FROM flows.escos) FROM generate_series(1, $METERS) i;
SQL

# The worker retries its connection every 5 s until database flows exists.
for _ in $(seq 100); do
  worker_pid=$("${psql[@]}" -At -d flows -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'flows mediator worker'")
  [ -n "$worker_pid" ] && break; sleep 0.2
done
[ -n "$worker_pid" ] || die "the flows worker did not start"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
ops=$(printf "'%s'," "${READS[@]}"); ops="ARRAY[${ops%,}]"

log "1. worker: $METERS meters x ${#READS[@]} reads"
cpu0=$(cpu_ticks "$worker_pid")
t0=$(date +%s.%N)
"${psql[@]}" -d flows -c "SELECT count(*) FROM flows.meter_registry m, flows_api.request_meter_read(m.serial::text, $ops)" >/dev/null
until [ "$("${psql[@]}" -At -d flows -c "SELECT count(*) FROM flows.commands WHERE status IN ('queued', 'running')")" = 0 ]; do sleep 0.2; done
t1=$(date +%s.%N)
cpu1=$(cpu_ticks "$worker_pid")
total=$("${psql[@]}" -At -d flows -c "SELECT count(*) || ' commands, ' || count(*) FILTER (WHERE status = 'succeeded') || ' succeeded' FROM flows.commands")
drain=$(echo "$t1 - $t0" | bc -l)
worker_line=$(printf 'worker: %s in %.1f s = %.0f commands/s; worker CPU %.1f s = %.0f%% of one core' "$total" "$drain" \
  "$(echo "$METERS * ${#READS[@]} / $drain" | bc -l)" "$(echo "($cpu1 - $cpu0) / $hz" | bc -l)" "$(echo "100 * ($cpu1 - $cpu0) / $hz / $drain" | bc -l)")
echo "$worker_line"

log "4. idle worker CPU over 30 s"
sleep 5
cpu0=$(cpu_ticks "$worker_pid"); sleep 30; cpu1=$(cpu_ticks "$worker_pid")
idle_line=$(printf 'idle worker: %.2f s CPU in 30 s' "$(echo "($cpu1 - $cpu0) / $hz" | bc -l)")
echo "$idle_line"

log "3. enqueue latency (pgbench, mediator disabled so the queue only grows)"
"${psql[@]}" -d flows -c "UPDATE flows.mediators SET enabled = false"
cat > "$work/enqueue.sql" <<SQL
\set m random(1, $METERS)
SELECT flows_api.request_meter_read('EML22' || lpad(:m::text, 8, '0'), ARRAY['csq']);
SQL
chown -R postgres "$work"
(cd "$work" && as_postgres pgbench -n -h /tmp -p "$port" -U postgres -c 2 -j 2 -T 15 -f "$work/enqueue.sql" -l --log-prefix="$work/pgb" flows > "$work/pgbench.out")
enqueue_line=$(cat "$work"/pgb.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "enqueue RPC (pgbench, 2 clients): %d calls, p50 %.2f ms, p99 %.2f ms", NR, a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
echo "$enqueue_line"

[ -n "${SKIP_BASELINE:-}" ] && exit 0
log "2. baseline: $BASELINE_METERS meters, 15 at a time, reads in sequence, fresh simulator"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true
start_sim
baseline_line=$("$FLOWS_ROOT/target/release/examples/baseline" "127.0.0.1:$sim_port" EML22 "$BASELINE_METERS" 15 "${READS[@]}")
echo "$baseline_line"
b_secs=$(echo "$baseline_line" | sed -E 's/.* in ([0-9.]+) s .*/\1/')
scaled=$(echo "$b_secs * $METERS / $BASELINE_METERS" | bc -l)
printf 'baseline scaled to %s meters: %.0f s; worker speed-up: %.1fx\n' "$METERS" "$scaled" "$(echo "$scaled / $drain" | bc -l)"
