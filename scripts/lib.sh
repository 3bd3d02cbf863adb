# Shared settings and helpers for the Flows scripts (sourced, not run).
# Everything here is idempotent: a step checks before it acts.

set -euo pipefail

FLOWS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PG_MAJOR_PGXS=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs
PGRX_VERSION=0.18.1
TIMESCALEDB_VERSION_PREFIX=2.19
# The platform's own cluster (scripts/up); tests make throw-away clusters.
FLOWS_CLUSTER=${FLOWS_CLUSTER:-flows}
FLOWS_PGPORT=${FLOWS_PGPORT:-5433}
FLOWS_DB=${FLOWS_DB:-flows}
FLOWS_SIM_PORT=${FLOWS_SIM_PORT:-50051}
FLOWS_SIM_CONTROL_PORT=${FLOWS_SIM_CONTROL_PORT:-50052}
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_postgres() { runuser -u postgres -- "$@"; }

require_root() {
  [ "$(id -u)" = 0 ] || die "run as root: the scripts install Debian packages and PostgreSQL extensions"
}

# A throw-away cluster for tests: cluster_start NAME PORT PRELOAD
# (data in /tmp/flows-pg-NAME, socket in /tmp, owned by postgres).
cluster_start() {
  local name=$1 port=$2 preload=$3 dir=/tmp/flows-pg-$1
  cluster_stop "$name"
  rm -rf "$dir"
  install -d -o postgres -g postgres "$dir"
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '/tmp'
shared_preload_libraries = '$preload'
timescaledb.telemetry_level = off
max_worker_processes = 16
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
${CLUSTER_EXTRA_CONF:-}
CONF
  # Descriptors 3-9 closed: a server must not inherit a caller's flock.
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- \
    || { cat "$dir/server.log" >&2; die "cluster $name did not start"; }
}

cluster_stop() {
  local dir=/tmp/flows-pg-$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
