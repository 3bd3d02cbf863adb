#!/usr/bin/env bash
# Upgrade from the previous release: a database created with flows_ext 0.1.0
# (its install script is kept in tests/upgrade/) and holding data is updated
# with ALTER EXTENSION flows_ext UPDATE; its schema must then equal a fresh
# install's, its data must survive, and the new pipeline must work on it.
# Usage: upgrade.sh PORT (a cluster with flows_ext installed; TimescaleDB optional).
set -euo pipefail
port=$1
here=$(cd "$(dirname "$0")" && pwd)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
old=0.1.0
install -m 644 "$here/upgrade/flows_ext--$old.sql" "$("$pg_config" --sharedir)/extension/"
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
cleanup() {
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS flows_upgraded" -c "DROP DATABASE IF EXISTS flows_fresh" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
timescaledb=$("${psql[@]}" -At -d flows -c "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
for db in flows_upgraded flows_fresh; do
  "${psql[@]}" -d postgres -c "CREATE DATABASE $db" -c "ALTER DATABASE $db SET search_path = \"\$user\", public, flows"
  [ "$timescaledb" = 1 ] && "${psql[@]}" -d "$db" -c "CREATE EXTENSION timescaledb" 2>&1 | grep -v NOTICE || true
done
"${psql[@]}" -d flows_fresh -c "CREATE EXTENSION flows_ext"
new=$("${psql[@]}" -At -d flows_fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'flows_ext'")

"${psql[@]}" -d flows_upgraded <<SQL
CREATE EXTENSION flows_ext VERSION '$old';
\ir $here/sql/fixtures.psql
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
  SELECT '00000000-0000-0000-0000-000000000101', g, 100 + extract(epoch FROM g - '2024-01-01') / 7200
    FROM generate_series('2024-01-01'::timestamptz, '2024-01-03', '1 hour') g;
ALTER EXTENSION flows_ext UPDATE;
SQL

fail=0
check() { # check DESCRIPTION QUERY: the query must return t
  if [ "$("${psql[@]}" -At -d flows_upgraded -c "$2")" = t ]; then echo "ok - upgrade: $1"; else echo "not ok - upgrade: $1"; fail=1; fi
}
check "$old -> $new" "SELECT extversion = '$new' FROM pg_extension WHERE extname = 'flows_ext'"
check "reads kept" "SELECT count(*) = 49 FROM flows.register_import"
check "reads recorded before the upgrade are derived" \
  "SELECT (SELECT periods FROM flows.refresh_hh()) = 96 AND (SELECT sum(import_kwh) FROM flows.register_interval_hh) = 24"
check "roll-ups work" "SELECT (SELECT entities FROM flows.refresh_rollups()) = 4
      AND (SELECT sum(total_import_kwh) FROM flows.circuit_interval_daily) = 24"

schema() {
  pg_dump -h /tmp -p "$port" -U postgres -s -n flows -n flows_api "$1" | grep -v '^--' | grep -v '^$'
}
if diff <(schema flows_fresh) <(schema flows_upgraded) > /tmp/flows-upgrade.diff; then
  echo "ok - upgrade: the upgraded schema equals a fresh install of $new ($(schema flows_fresh | wc -l) lines)"
else
  echo "not ok - upgrade: schemas differ (< fresh, > upgraded):"; head -40 /tmp/flows-upgrade.diff; fail=1
fi
exit $fail
