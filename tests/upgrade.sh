#!/usr/bin/env bash
# Upgrade from every earlier release: a database created with flows_ext
# 0.1.0 or 0.2.0 (their install scripts are kept in tests/upgrade/) and
# holding data is updated with ALTER EXTENSION flows_ext UPDATE; its schema
# must then equal a fresh install's, its data must survive, and the
# pipeline must work on it.
# Usage: upgrade.sh PORT (a cluster with flows_ext installed; TimescaleDB optional).
set -euo pipefail
port=$1
here=$(cd "$(dirname "$0")" && pwd)
pg_config=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
for old in 0.1.0 0.2.0; do
  install -m 644 "$here/upgrade/flows_ext--$old.sql" "$("$pg_config" --sharedir)/extension/"
done
psql=(psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p "$port" -U postgres)
cleanup() {
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS flows_upgraded" -c "DROP DATABASE IF EXISTS flows_fresh" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
timescaledb=$("${psql[@]}" -At -d flows -c "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
fail=0
check() { # check DESCRIPTION QUERY: the query must return t
  if [ "$("${psql[@]}" -At -d flows_upgraded -c "$2")" = t ]; then echo "ok - upgrade: $1"; else echo "not ok - upgrade: $1"; fail=1; fi
}
create_db() {
  "${psql[@]}" -d postgres -c "CREATE DATABASE $1" -c "ALTER DATABASE $1 SET search_path = \"\$user\", public, flows"
  [ "$timescaledb" = 1 ] && "${psql[@]}" -d "$1" -c "CREATE EXTENSION timescaledb" 2>&1 | grep -v NOTICE || true
}
create_db flows_fresh
"${psql[@]}" -d flows_fresh -c "CREATE EXTENSION flows_ext"
new=$("${psql[@]}" -At -d flows_fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'flows_ext'")

# 0.1.0: hourly reads, not yet derived (0.1.0 had no derivation).
create_db flows_upgraded
"${psql[@]}" -d flows_upgraded <<SQL
CREATE EXTENSION flows_ext VERSION '0.1.0';
\ir $here/sql/fixtures.psql
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
  SELECT '00000000-0000-0000-0000-000000000101', g, 100 + extract(epoch FROM g - '2024-01-01') / 7200
    FROM generate_series('2024-01-01'::timestamptz, '2024-01-03', '1 hour') g;
ALTER EXTENSION flows_ext UPDATE;
SQL
check "0.1.0 -> $new" "SELECT extversion = '$new' FROM pg_extension WHERE extname = 'flows_ext'"
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
if ! diff <(schema flows_fresh) <(schema flows_upgraded) > /tmp/flows-upgrade.diff; then
  echo "not ok - upgrade: schemas differ after 0.1.0 -> $new (< fresh, > upgraded):"; head -40 /tmp/flows-upgrade.diff; fail=1
fi
"${psql[@]}" -d postgres -c "DROP DATABASE flows_upgraded" >/dev/null

# 0.2.0: reads and profile points (then rows of register_import), derived.
create_db flows_upgraded
"${psql[@]}" -d flows_upgraded <<SQL
CREATE EXTENSION flows_ext VERSION '0.2.0';
\ir $here/sql/fixtures.psql
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
  SELECT '00000000-0000-0000-0000-000000000101', g, 100 + extract(epoch FROM g - '2024-01-01') / 7200
    FROM generate_series('2024-01-01'::timestamptz, '2024-01-03', '1 hour') g;
INSERT INTO flows.register_import (register_id, timestamp, read_kwh, source)
  SELECT '00000000-0000-0000-0000-000000000101', g, 200 + extract(epoch FROM g - '2024-01-04') / 3600, 'profile'
    FROM generate_series('2024-01-04 12:00'::timestamptz, '2024-01-05 12:00', '30 minutes') g;
INSERT INTO flows.register_export (register_id, timestamp, read_kwh, source)
  SELECT '00000000-0000-0000-0000-000000000101', g, 7, 'profile'
    FROM generate_series('2024-01-04 23:00'::timestamptz, '2024-01-05 01:00', '30 minutes') g;
\o /dev/null
SELECT * FROM flows.refresh_hh();
\o
CREATE TABLE public.hh_before AS SELECT * FROM flows.register_interval_hh;
ALTER EXTENSION flows_ext UPDATE;
SQL
check "0.2.0 -> $new" "SELECT extversion = '$new' FROM pg_extension WHERE extname = 'flows_ext'"
check "profile points moved into their days (import 2 days, export 2 days)" "SELECT count(*) = 4 FROM flows.register_profile_days"
check "... all 54 of them, and no register read lost" "SELECT (SELECT count(*) FROM flows.register_reads WHERE source = 'profile') = 54
      AND (SELECT count(*) FROM flows.register_import) = 49 AND NOT EXISTS (SELECT FROM flows.register_export)"
check "the move is derived again" "SELECT channels = 2 FROM flows.refresh_hh()"
check "... into the same half hours" "SELECT NOT EXISTS (SELECT * FROM public.hh_before EXCEPT SELECT * FROM flows.register_interval_hh)
      AND NOT EXISTS (SELECT * FROM flows.register_interval_hh EXCEPT SELECT * FROM public.hh_before)"
"${psql[@]}" -d flows_upgraded -c "DROP TABLE public.hh_before" >/dev/null

if diff <(schema flows_fresh) <(schema flows_upgraded) > /tmp/flows-upgrade.diff; then
  echo "ok - upgrade: the catalog upgraded from 0.1.0 and 0.2.0 equals a fresh install of $new ($(schema flows_fresh | wc -l) objects and attributes)"
else
  echo "not ok - upgrade: schemas differ (< fresh, > upgraded):"; head -40 /tmp/flows-upgrade.diff; fail=1
fi
exit $fail
