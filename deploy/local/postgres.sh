#!/usr/bin/env bash
# Local PostgreSQL (Debian packages, no systemd) for tests. Needs root.
#
#   deploy/local/postgres.sh start          install if needed, start cluster <ver>/main, ensure role+db hhpu
#   deploy/local/postgres.sh stop           stop cluster <ver>/main
#   deploy/local/postgres.sh status         exit 0 if accepting connections, 3 if not
#   deploy/local/postgres.sh createdb NAME  create database NAME owned by hhpu (no-op if it exists)
#   deploy/local/postgres.sh dropdb NAME    drop database NAME (no-op if missing; ends open sessions)
#   deploy/local/postgres.sh dsn [NAME]     print the SQLAlchemy DSN
#   deploy/local/postgres.sh restart        stop (mode HHPU_PG_STOP_MODE: fast, or immediate = crash) and start
#   deploy/local/postgres.sh destroy        stop and delete a private cluster (refuses cluster "main")
#
# Env: HHPU_PG_PORT (default 5432), HHPU_RUN_DIR (lock file dir, default <repo>/.run),
#      HHPU_PG_CLUSTER (default main): another name gives a private cluster (its own port and data),
#      e.g. for fault tests that restart it; HHPU_PG_DATA_DIR: where a new cluster keeps its data.
# Role/password/db: hhpu/hhpu/hhpu. DSN: postgresql+psycopg://hhpu:hhpu@127.0.0.1:5432/hhpu
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
RUN="${HHPU_RUN_DIR:-$REPO/.run}"
PORT="${HHPU_PG_PORT:-5432}"
CLUSTER="${HHPU_PG_CLUSTER:-main}"
[[ "$CLUSTER" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "postgres.sh: bad cluster name '$CLUSTER'" >&2; exit 1; }
DATA_DIR="${HHPU_PG_DATA_DIR:-}"
ROLE=hhpu
CONF_NAME=90-hhpu-local.conf

die() { echo "postgres.sh: $*" >&2; exit 1; }

# fd 9 holds the lock: every command that may leave a server running gets 9>&-
lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/postgres.lock"
  flock -w 120 9 || die "could not take lock $RUN/postgres.lock"
}

as_postgres() {
  if [[ "$(id -un)" == postgres ]]; then
    "$@"
  elif [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    sudo -n -u postgres -- "$@"
  fi
}

# psql as the postgres superuser over the unix socket (peer auth), quiet, stop on error
psql_su() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }

have_server() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && command -v pg_ctlcluster >/dev/null; }

pg_version() { # newest installed server version
  local d
  d="$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sed 's#^/usr/lib/postgresql/\([^/]*\)/bin/postgres$#\1#' | sort -V | tail -1)"
  [[ -n "$d" ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
  echo "$d"
}

install_server() {
  [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed and installing it needs root"
  echo "postgres.sh: installing PostgreSQL with apt-get ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  local log
  log="$(mktemp)"
  # 9>&-: apt may start the cluster itself, and the server must not inherit the lock fd
  if ! { apt-get update -qq && apt-get install -y -qq postgresql; } >"$log" 2>&1 9>&-; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install postgresql failed"
  fi
  rm -f "$log"
  have_server || die "apt-get installed postgresql but no server binary was found"
}

is_running() { # exit 0 if cluster is up (pg_ctlcluster status: 0 up, 3 down, 4 no such cluster)
  pg_ctlcluster "$1" "$CLUSTER" status >/dev/null 2>&1
}

cluster_exists() { pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$CLUSTER" '$1 == v && $2 == c {f = 1} END {exit !f}'; }

write_conf() { # version -> exit 0 if the conf file changed
  local dir="/etc/postgresql/$1/$CLUSTER/conf.d" want
  mkdir -p "$dir"
  want="# Written by deploy/local/postgres.sh: test settings, NOT crash safe.
port = $PORT
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
"
  if [[ -f "$dir/$CONF_NAME" ]] && [[ "$(cat "$dir/$CONF_NAME")" == "${want%$'\n'}" ]]; then
    return 1
  fi
  printf '%s' "$want" >"$dir/$CONF_NAME"
  chown postgres:postgres "$dir/$CONF_NAME" 2>/dev/null || true
  return 0
}

wait_ready() {
  local deadline=$((SECONDS + 60))
  until pg_isready -q -h 127.0.0.1 -p "$PORT" -t 2; do
    ((SECONDS < deadline)) || die "PostgreSQL not accepting connections on 127.0.0.1:$PORT after 60s (see /var/log/postgresql/postgresql-$V-$CLUSTER.log)"
    sleep 0.5
  done
}

ensure_db() { # name -> "created" or "exists"
  local name="$1"
  if [[ "$(psql_su -tAc "SELECT 1 FROM pg_database WHERE datname = '${name//\'/\'\'}'")" == 1 ]]; then
    echo exists
  else
    as_postgres createdb -p "$PORT" -O "$ROLE" -- "$name"
    echo created
  fi
}

check_name() {
  [[ "${1:-}" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "bad database name '${1:-}' (use [A-Za-z_][A-Za-z0-9_]*)"
}

dsn() { echo "postgresql+psycopg://$ROLE:$ROLE@127.0.0.1:$PORT/${1:-$ROLE}"; }

cmd_start() {
  lock
  have_server || install_server
  V="$(pg_version)"
  if ! cluster_exists "$V"; then
    local datadir=()
    if [[ -n "$DATA_DIR" ]]; then
      mkdir -p "$DATA_DIR"
      chown postgres:postgres "$DATA_DIR"
      datadir=(-d "$DATA_DIR")
    fi
    pg_createcluster "${datadir[@]}" -p "$PORT" "$V" "$CLUSTER" >/dev/null 9>&-
  fi
  local changed=0
  if write_conf "$V"; then changed=1; fi
  if is_running "$V"; then
    if ((changed)); then
      pg_ctlcluster --skip-systemctl-redirect "$V" "$CLUSTER" restart 9>&-
    fi
  else
    pg_ctlcluster --skip-systemctl-redirect "$V" "$CLUSTER" start 9>&-
  fi
  wait_ready
  psql_su -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$ROLE';
  END IF;
END
\$\$;
SQL
  ensure_db "$ROLE" >/dev/null
  echo "postgres: PostgreSQL $V running at 127.0.0.1:$PORT; DSN $(dsn)"
}

cmd_stop() {
  lock
  if ! have_server; then
    echo "postgres: not installed"
    return 0
  fi
  V="$(pg_version)"
  if ! cluster_exists "$V" || ! is_running "$V"; then
    echo "postgres: not running"
    return 0
  fi
  pg_ctlcluster --skip-systemctl-redirect "$V" "$CLUSTER" stop
  echo "postgres: stopped cluster $V/$CLUSTER"
}

cmd_restart() {
  local mode="${HHPU_PG_STOP_MODE:-fast}"
  [[ "$mode" =~ ^(smart|fast|immediate)$ ]] || die "bad HHPU_PG_STOP_MODE '$mode'"
  have_server || die "PostgreSQL is not installed; run: $0 start"
  V="$(pg_version)"
  (
    lock
    if is_running "$V"; then
      pg_ctlcluster --skip-systemctl-redirect "$V" "$CLUSTER" stop -m "$mode"
    fi
  )
  cmd_start
}

cmd_destroy() {
  [[ "$CLUSTER" != main ]] || die "refusing to destroy cluster main (HHPU_PG_CLUSTER names a private one)"
  have_server || return 0
  V="$(pg_version)"
  lock
  cluster_exists "$V" || { echo "postgres: no cluster $V/$CLUSTER"; return 0; }
  pg_dropcluster --stop "$V" "$CLUSTER"
  echo "postgres: cluster $V/$CLUSTER stopped and deleted"
}

cmd_status() {
  if have_server && pg_isready -q -h 127.0.0.1 -p "$PORT" -t 2; then
    echo "postgres: running at 127.0.0.1:$PORT; DSN $(dsn)"
    return 0
  fi
  echo "postgres: not running at 127.0.0.1:$PORT"
  return 3
}

require_up() {
  have_server || die "PostgreSQL is not installed; run: $0 start"
  pg_isready -q -h 127.0.0.1 -p "$PORT" -t 5 || die "PostgreSQL is not running on 127.0.0.1:$PORT; run: $0 start"
}

cmd_createdb() {
  check_name "${1:-}"
  require_up
  local r
  r="$(ensure_db "$1")"
  echo "postgres: database $1 $r; DSN $(dsn "$1")"
}

cmd_dropdb() {
  check_name "${1:-}"
  case "$1" in postgres | template0 | template1 | "$ROLE") die "refusing to drop database $1" ;; esac
  require_up
  as_postgres dropdb -p "$PORT" --if-exists --force -- "$1" 2>/dev/null ||
    as_postgres dropdb -p "$PORT" --if-exists -- "$1"
  echo "postgres: database $1 dropped (if it existed)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  createdb) cmd_createdb "${2:-}" ;;
  dropdb) cmd_dropdb "${2:-}" ;;
  dsn) dsn "${2:-}" ;;
  restart) cmd_restart ;;
  destroy) cmd_destroy ;;
  *) echo "usage: $0 {start|stop|restart|destroy|status|createdb NAME|dropdb NAME|dsn [NAME]}" >&2; exit 2 ;;
esac
