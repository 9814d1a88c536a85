#!/usr/bin/env bash
# wrk against sbc-admin: an authenticated GET /api/v1/session with keep-alive,
# with the session/token cache off (every request a database round trip, the
# "before") and on (the "after"). Prints wrk's summary for both.
#
#   tests/bench/console_load/run.sh [seconds] [connections]
#
# Needs a release build of sbc-admin (BENCH_BUILD_DIR, default
# build/console-rel: cmake --preset release -B build/console-rel
# -DCMAKE_BUILD_TYPE=Release && cmake --build build/console-rel --target
# sbc-admin), wrk (Debian package), psql and a PostgreSQL of its own
# (tests/pg/pg.sh on BENCH_PG_PORT, default 55577). A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$(pwd)
build=${BENCH_BUILD_DIR:-build/console-rel}
pg_port=${BENCH_PG_PORT:-55577}
seconds=${1:-10}
conns=${2:-50}
admin_bin=$repo/$build/admin-ui/sbc-admin
work=$(mktemp -d /tmp/console-bench.XXXXXX)
db=consolebench_$$
pid=
pg_started=0

say() { printf '==> %s\n' "$*"; }
die() { printf 'console_load: %s\n' "$*" >&2; exit 1; }
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "${dsn_admin:-}" ]; then
    psql -X -q -d "$dsn_admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  [ $pg_started = 1 ] && SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh stop >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || die "wrk missing: apt-get install wrk"
[ -x "$admin_bin" ] || die "no $admin_bin: build sbc-admin in $build first (see the header)"
grep -q 'CMAKE_BUILD_TYPE:STRING=Rel' "$build/CMakeCache.txt" \
  || echo "    warning: $build is not a release build"

say "PostgreSQL (private, port $pg_port)"
if ! SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh status >/dev/null 2>&1; then
  SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh start | sed 's/^/    /'
  pg_started=1
fi
dsn_admin=$(SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh dsn)
dsn=${dsn_admin/dbname=postgres/dbname=$db}
psql -X -q -d "$dsn_admin" -c "CREATE DATABASE $db" >/dev/null

# run CACHE(true|false): starts sbc-admin, logs in, runs wrk, stops it.
run() {
  cat >"$work/admin.toml" <<TOML
log_level = "info"
[http]
address = "127.0.0.1"
port = 0
[database]
dsn = "$dsn"
migrate = true
[auth]
cache = $1
TOML
  "$admin_bin" create-admin --config "$work/admin.toml" --username bench \
    --password-stdin <<<"bench-password-123" >/dev/null 2>&1 || true
  : >"$work/admin.log"
  "$admin_bin" --config "$work/admin.toml" >"$work/admin.log" 2>&1 &
  pid=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/admin.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$work/admin.log"; die "sbc-admin did not start"; }
  local cookie
  cookie=$(python3 - "$port" <<'PY'
import http.client, json, sys, time
for _ in range(100):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
    c.request("POST", "/api/v1/login", json.dumps({"username": "bench", "password": "bench-password-123"}),
              {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status == 200:
        print(r.getheader("Set-Cookie").split(";", 1)[0]); break
    time.sleep(0.1)
PY
)
  [ -n "$cookie" ] || die "login failed"
  wrk -t1 -c4 -d2s -H "Cookie: $cookie" "http://127.0.0.1:$port/api/v1/session" >/dev/null  # warm up
  local cpu0 cpu1
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wrk -t1 -c"$conns" -d"${seconds}s" --latency -H "Cookie: $cookie" \
    "http://127.0.0.1:$port/api/v1/session" | sed 's/^/    /'
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo "    sbc-admin CPU: $(( (cpu1 - cpu0) * 1000 / $(getconf CLK_TCK) )) ms"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

say "auth cache off: every request asks PostgreSQL (wrk -t1 -c$conns -d${seconds}s)"
run false
say "auth cache on (wrk -t1 -c$conns -d${seconds}s)"
run true
