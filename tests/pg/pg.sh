#!/usr/bin/env bash
# A private PostgreSQL cluster for tests; never the system one.
#
#   pg.sh start   initdb (first time) and start; reuses a running cluster
#   pg.sh stop    stop it (fast shutdown); nothing is left running
#   pg.sh destroy stop it and remove its directory
#   pg.sh status  exit 0 when it runs
#   pg.sh dsn     print the libpq DSN of the server's "postgres" database
#   pg.sh psql    psql on it (extra arguments passed through)
#
# PORT from SBC_TEST_PG_PORT (default 55432); data and socket directory
# ${TMPDIR:-/tmp}/sbc-test-pg-PORT. As root the cluster belongs to the postgres
# user (initdb refuses root), otherwise to the current user.
set -euo pipefail

port=${SBC_TEST_PG_PORT:-55432}
base=${TMPDIR:-/tmp}
dir="$base/sbc-test-pg-$port"
data="$dir/data"
log="$dir/server.log"

bindir=${SBC_PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && bindir=$d
  done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 2
fi

if [ "$(id -u)" = 0 ]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

dsn() { echo "host=127.0.0.1 port=$port user=$owner dbname=postgres connect_timeout=5"; }

running() { [ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
  if running; then
    return 0
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    # The postgres user must reach the directory: every parent needs +x.
    chown postgres: "$dir"
    chmod 700 "$dir"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_owner "$bindir/initdb" -D "$data" -A trust -U "$owner" -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # A stale pid file from a killed server would make pg_ctl refuse to start.
  if [ -f "$data/postmaster.pid" ] && ! running; then
    rm -f "$data/postmaster.pid"
  fi
  as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c shared_buffers=64MB" \
    start >/dev/null || { tail -n 30 "$log" >&2; exit 1; }
}

stop() {
  if [ -f "$data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if running; then
    echo "pg.sh: server on port $port still running" >&2
    exit 1
  fi
}

case "${1:-}" in
  start) start; echo "postgres on 127.0.0.1:$port ($dir)" ;;
  stop) stop ;;
  destroy) stop; rm -rf "$dir" ;;
  status) running ;;
  dsn) dsn ;;
  psql) shift; exec "$bindir/psql" -X -q -v ON_ERROR_STOP=1 "$(dsn)" "$@" ;;
  *) echo "usage: $0 start|stop|destroy|status|dsn|psql [args]" >&2; exit 2 ;;
esac
