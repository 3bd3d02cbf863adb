#!/usr/bin/env bash
# Crash scenarios (TAP): the worker killed with SIGKILL, and PostgreSQL
# restarted, while a token push is in flight. Nothing accepted is lost and
# no token reaches a meter twice. Run by run.sh with the cluster and the
# simulator up; E2E_PORT names the cluster's port.
source "$(dirname "$0")/../../scripts/lib.sh"
port=$E2E_PORT
dir=/tmp/flows-pg-e2e/data
q() { psql -X -At -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres -d flows -c "$1"; }
sim() { /tmp/flows-e2e/simctl "$@"; }
n=0 failed=0
check() { # check DESCRIPTION EXPECTED ACTUAL
  n=$((n + 1))
  if [ "$2" = "$3" ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   expected: $2"; echo "#        got: $3"; failed=$((failed + 1)); fi
}
wait_ready() { for _ in $(seq 100); do q "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
received() { sim state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["shadow"]["tokens"]["received_count"])'; }
wait_until() { # wait_until SECONDS CMD...: until CMD succeeds
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
echo "1..6"

# 1. SIGKILL of the worker after the token reached the meter, before we knew.
sim fault EML2200000008 hang_after_write:4000 once >/dev/null
cmd=$(q "SELECT (flows_api.push_token('EML2200000008', '99990000111122220300')).id")
wait_until 20 bash -c "[ \"\$(/tmp/flows-e2e/simctl state EML2200000008 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"shadow\"][\"tokens\"][\"received_count\"])')\" = 1 ]"
worker=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'flows mediator worker'")
kill -9 "$worker"
sleep 1; wait_ready
check "the killed worker's command completes after the restart" "succeeded|true" \
  "$(q "SELECT status || '|' || (result->>'applied_earlier') FROM flows.wait_for_command($cmd, '30 seconds')")"
check "the meter received that token exactly once" "1" "$(received EML2200000008)"
check "the top-up is completed with the balance risen once" "completed|8.00000" \
  "$(q "SELECT status || '|' || balance_after FROM flows.prepay_topups WHERE command_id = $cmd")"

# 2. PostgreSQL restarted while a token push waits on a slow meter.
sim fault EML2200000010 slow:1000 >/dev/null
cmd=$(q "SELECT (flows_api.push_token('EML2200000010', '44443333222211110200')).id")
status_is() { [ "$(q "SELECT status FROM flows.commands WHERE id = $1")" = "$2" ]; }
wait_until 20 status_is "$cmd" running
as_postgres "$PG_BIN/pg_ctl" -D "$dir" -m fast -w restart >/dev/null
wait_ready
sim fault EML2200000010 none >/dev/null
check "the command survives a server restart and completes" "succeeded" \
  "$(q "SELECT status FROM flows.wait_for_command($cmd, '30 seconds')")"
check "that token reached the meter exactly once" "1" "$(received EML2200000010)"
check "nothing is left queued or running" "0" "$(q "SELECT count(*) FROM flows.commands WHERE status IN ('queued', 'running')")"

echo "# crash scenarios: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
