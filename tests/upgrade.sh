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
check "reads recorded before the upgrade are queued and derived" "SELECT periods = 96 FROM flows.refresh_hh()"
check "... conserving their energy" "SELECT sum(import_kwh) = 24 FROM flows.register_interval_hh"
check "roll-ups work" "SELECT (SELECT entities FROM flows.refresh_rollups()) = 4
      AND (SELECT sum(total_import_kwh) FROM flows.circuit_interval_daily) = 24"

# The extension as the catalogs see it (pg_dump skips extension members):
# members, columns, constraints, indexes, functions, aggregates, views,
# triggers, enum labels, comments and the tables pg_dump keeps.
schema() {
  "${psql[@]}" -At -d "$1" <<'SQL'
WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname IN ('flows', 'flows_api')),
ext AS (SELECT oid, extconfig FROM pg_extension WHERE extname = 'flows_ext')
SELECT * FROM (
  SELECT 'member', pg_describe_object(classid, objid, objsubid), ''
    FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND refobjid = (SELECT oid FROM ext) AND deptype = 'e'
  UNION ALL
  SELECT 'column', c.oid::regclass::text || '.' || a.attname || ' #' || a.attnum,
         format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind IN ('r', 'p', 'v', 'c')
  UNION ALL
  SELECT 'constraint', conrelid::regclass::text || ' ' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT 'function', p.oid::regprocedure::text, md5(pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ns) AND p.prokind IN ('f', 'p')
  UNION ALL
  SELECT 'aggregate', a.aggfnoid::regprocedure::text,
         concat_ws(' ', a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggtranstype::regtype)
    FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace IN (SELECT oid FROM ns)
  UNION ALL
  SELECT 'view', c.oid::regclass::text, md5(pg_get_viewdef(c.oid))
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ns) AND c.relkind = 'v'
  UNION ALL
  SELECT 'trigger', t.tgrelid::regclass::text || ' ' || t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace IN (SELECT oid FROM ns) AND NOT t.tgisinternal
  UNION ALL
  SELECT 'enum', e.enumtypid::regtype::text, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace IN (SELECT oid FROM ns) GROUP BY 1, 2
  UNION ALL
  SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), md5(d.description)
    FROM pg_description d JOIN pg_depend x ON x.classid = d.classoid AND x.objid = d.objoid
   WHERE x.refobjid = (SELECT oid FROM ext) AND x.deptype = 'e'
  UNION ALL
  SELECT 'dumped', t::regclass::text, '' FROM ext, unnest(ext.extconfig) t
) s(kind, name, definition) ORDER BY 1, 2, 3;
SQL
}
if diff <(schema flows_fresh) <(schema flows_upgraded) > /tmp/flows-upgrade.diff; then
  echo "ok - upgrade: the upgraded catalog equals a fresh install of $new ($(schema flows_fresh | wc -l) objects and attributes)"
else
  echo "not ok - upgrade: schemas differ (< fresh, > upgraded):"; head -40 /tmp/flows-upgrade.diff; fail=1
fi
exit $fail
