# Shared set-up of the SIP benchmarks (sourced by sip_load/run.sh and
# sip_memory/run.sh, never run alone): a release build, a private PostgreSQL,
# a database with a PBX trunk (127.0.0.2) and a carrier trunk (127.0.0.3)
# routed to a SIPp UAS, and the sbc itself. The caller sets `here`, cds to the
# repository and may set BENCH_BUILD_DIR, BENCH_PG_PORT, BENCH_KEEP,
# BENCH_SBC_WRAP, BENCH_SBC_BIN.
repo=$(pwd)
build=${BENCH_BUILD_DIR:-build/release}
pg_port=${BENCH_PG_PORT:-55497}
# BENCH_SBC_BIN: another sbc binary (absolute path), for A/B runs against a
# copy kept aside; sbc-migrate still comes from the build directory.
sbc_bin=${BENCH_SBC_BIN:-$repo/$build/sbc/app/sbc}
migrate_bin=$repo/$build/tools/sbc-migrate/sbc-migrate
work=$(mktemp -d /tmp/sip-bench.XXXXXX)
hz=$(getconf CLK_TCK)

say() { printf '==> %s\n' "$*"; }
die() { printf '%s: %s\n' "$(basename "$(dirname "$0")")" "$*" >&2; exit 1; }
free_port() {  # a port free for UDP and TCP on $1
  python3 - "$1" <<'PY'
import socket, sys
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[1], 0))
    p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind((sys.argv[1], p)); print(p); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
PY
}

pids=()
pg_started=0
db=sipbench_$$
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # A BENCH_SBC_WRAP that forks instead of exec'ing (heaptrack) leaves the
  # sbc a child of the recorded pid: stop it by its command line too.
  if [ -n "${work:-}" ]; then pkill -TERM -f -- "--config $work/sbc.toml" 2>/dev/null || true; fi
  for p in "${pids[@]}" $(pgrep -f -- "--config ${work:-/nonexistent}/sbc.toml" || true); do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "${dsn_admin:-}" ]; then
    psql -X -q -d "$dsn_admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  [ $pg_started = 1 ] && SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh stop || true
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi
}
trap bench_cleanup EXIT

bench_build() {  # builds the release (sbc, sbc-migrate) if missing
  command -v sipp >/dev/null || die "sipp missing: apt-get install sip-tester"
  { sipp -v 2>/dev/null || true; } | sed -n 's/^ *\(SIPp.*\)/    \1/p'
  if [ ! -x "$sbc_bin" ] || [ ! -x "$migrate_bin" ]; then
    say "building the release in $build (sbc, sbc-migrate)"
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG" >"$work/build.log" 2>&1
    cmake --build "$build" --target sbc sbc-migrate -j "$(nproc)" >>"$work/build.log" 2>&1 \
      || { tail -30 "$work/build.log" >&2; die "build failed"; }
  fi
  grep -q 'CMAKE_BUILD_TYPE:STRING=Rel' "$build/CMakeCache.txt" \
    || echo "    warning: $build is not a release build: the sbc's figures will be poor"
}

# bench_database UAS_PORT CHANNEL_LIMIT: private PostgreSQL, schema, trunks.
bench_database() {
  say "PostgreSQL (private, port $pg_port) and the sbc's configuration"
  if ! SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh status; then
    SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh start | sed 's/^/    /'
    pg_started=1
  fi
  dsn_admin=$(SBC_TEST_PG_PORT=$pg_port tests/pg/pg.sh dsn)
  dsn=${dsn_admin/dbname=postgres/dbname=$db}
  psql -X -q -d "$dsn_admin" -c "CREATE DATABASE $db" >/dev/null
  "$migrate_bin" --dsn "$dsn" --quiet
  psql -X -q -v ON_ERROR_STOP=1 -d "$dsn" >/dev/null <<SQL
INSERT INTO trunks (name, kind, realm) VALUES ('pbx', 'pbx', 'inside');
INSERT INTO trunk_acl (trunk_id, cidr) SELECT id, '127.0.0.2/32' FROM trunks WHERE name = 'pbx';
INSERT INTO trunks (name, kind, realm, max_calls) VALUES ('carrier', 'carrier', 'outside', $2);
INSERT INTO trunk_acl (trunk_id, cidr) SELECT id, '127.0.0.3/32' FROM trunks WHERE name = 'carrier';
INSERT INTO trunk_gateways (trunk_id, host, port, options_ping)
  SELECT id, '127.0.0.3', $1, false FROM trunks WHERE name = 'carrier';
INSERT INTO routes (prefix, trunk_id) SELECT '', id FROM trunks WHERE name = 'carrier';
SQL
}

# bench_start_sbc: the sbc on 127.0.0.1:$sbc_in_port (inside) and
# 127.0.0.10:$sbc_out_port (outside), log level warn; sets sbc_pid.
# BENCH_SBC_NODE: extra lines for its [node] table (sip_load: sip_scheduling).
# BENCH_PRESIZE_CPS: [sip] presize_cps (the rate its tables are sized for);
# unset: the sbc's default.
bench_start_sbc() {
  local sip_section=""
  [ -n "${BENCH_PRESIZE_CPS:-}" ] && sip_section="[sip]
presize_cps = $BENCH_PRESIZE_CPS"
  sbc_in_port=$(free_port 127.0.0.1)
  sbc_out_port=$(free_port 127.0.0.10)
  mgmt_port=$(free_port 127.0.0.1)
  cat >"$work/sbc.toml" <<TOML
[node]
name = "sip-bench"
log_level = "warn"
product = "edge-sbc"
shutdown_grace = 1
${BENCH_SBC_NODE:-}
[database]
dsn = "$dsn"
pool_threads = 2
[cdr]
spool_dir = "$work/cdr-spool"
$sip_section
[mgmt]
address = "127.0.0.1"
port = $mgmt_port
[[listen]]
realm = "inside"
transport = "udp"
address = "127.0.0.1"
port = $sbc_in_port
[[listen]]
realm = "outside"
transport = "udp"
address = "127.0.0.10"
port = $sbc_out_port
TOML
  # BENCH_SBC_WRAP: a command prefix that execs the sbc (env VAR=..., say),
  # for experiments; the pid stays the sbc's (one that forks, such as
  # "heaptrack -o FILE", works too: CPU figures then include the wrapper, and
  # the cleanup stops the sbc by its command line).
  # shellcheck disable=SC2086
  ${BENCH_SBC_WRAP:-} "$sbc_bin" --config "$work/sbc.toml" >"$work/sbc.log" 2>&1 &
  sbc_pid=$!
  pids+=("$sbc_pid")
  for _ in $(seq 1 100); do
    curl -fsS -m 1 "http://127.0.0.1:$mgmt_port/healthz" >/dev/null 2>&1 && break
    kill -0 "$sbc_pid" 2>/dev/null || { tail "$work/sbc.log" >&2; die "the sbc exited"; }
    sleep 0.2
  done
  curl -fsS -m 1 "http://127.0.0.1:$mgmt_port/healthz" >/dev/null || die "the sbc is not healthy"
}
