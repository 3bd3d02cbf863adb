#!/usr/bin/env bash
# Benchmark of flows.energy_agg (a README command, not a test): over READS
# cumulative reads (default 10,000,000) of one register, the time of
#   energy_agg(at, kwh)  vs  the same with window lag()  vs  sum(kwh),
# each the best of 3 runs, on a release build in its own cluster (port 55436).
source "$(dirname "$0")/../scripts/lib.sh"
require_root
"$FLOWS_ROOT/scripts/setup"
cd "$FLOWS_ROOT"
READS=${READS:-10000000}
port=55436
cargo pgrx install --release --pg-config "$PG_CONFIG" >/dev/null
export CLUSTER_EXTRA_CONF="max_parallel_workers_per_gather = 0
work_mem = '1GB'"
cluster_start benchenergy "$port" flows_ext
trap 'cluster_stop benchenergy' EXIT
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
"${psql[@]}" -d postgres -c "CREATE DATABASE flows"
"${psql[@]}" -d flows -c "CREATE EXTENSION flows_ext" \
  -c "CREATE TABLE reads AS SELECT '2020-01-01'::timestamptz + g * interval '1 minute' AS at,
        round(g * 0.0013, 4)::numeric(15,4) AS kwh FROM generate_series(1, $READS) g" -c "VACUUM ANALYZE reads"
best() { # best of 3, in ms
  for _ in 1 2 3; do "${psql[@]}" -d flows -c '\timing on' -c "$1" | awk '/^Time:/ {print $2}'; done | sort -n | head -1
}
agg=$(best "SELECT (flows.energy_agg(at, kwh)).advance_kwh FROM reads")
lag=$(best "SELECT sum(greatest(kwh - prev, 0)) FROM (SELECT kwh, lag(kwh) OVER (ORDER BY at) AS prev FROM reads) w")
sum=$(best "SELECT sum(kwh) FROM reads")
printf 'energy_agg over %s reads: %.0f ms; window lag: %.0f ms (%.2fx); sum(): %.0f ms (energy_agg costs %.2fx sum)\n' \
  "$READS" "$agg" "$lag" "$(echo "$lag / $agg" | bc -l)" "$sum" "$(echo "$agg / $sum" | bc -l)"
