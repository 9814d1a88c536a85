#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running SBC on this host, with its own
# PostgreSQL and an example configuration.
#
#   deploy/quickstart.sh          install, build (release), start PostgreSQL and the SBC
#   deploy/quickstart.sh stop     stop the SBC and PostgreSQL it started
#   deploy/quickstart.sh status   what runs, and where
#
# Everything lives under ./var/ (repo root): the PostgreSQL cluster
# (var/pgdata), the node config (var/sbc.toml), the secret key
# (var/secret.key), logs (var/log/), the CDR spool. Running it again reuses
# what exists: nothing is rebuilt, re-initialised or overwritten that is
# already there. Settings (environment):
#   QS_PG_PORT=55433      private PostgreSQL port (never the system cluster)
#   QS_INSIDE_PORT=5060   SIP towards PBXs (UDP+TCP on 127.0.0.1)
#   QS_OUTSIDE_PORT=5080  SIP towards carriers (UDP on 127.0.0.1)
#   QS_MGMT_PORT=8080     mgmt API (127.0.0.1)
#   QS_PBX=127.0.0.2:5060 QS_CARRIER=127.0.0.3:5060   the example trunks
#   QS_BUILD_DIR=build/release
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

pg_port=${QS_PG_PORT:-55433}
inside_port=${QS_INSIDE_PORT:-5060}
outside_port=${QS_OUTSIDE_PORT:-5080}
mgmt_port=${QS_MGMT_PORT:-8080}
pbx=${QS_PBX:-127.0.0.2:5060}
carrier=${QS_CARRIER:-127.0.0.3:5060}
build=${QS_BUILD_DIR:-build/release}

var=$repo/var
pgdata=$var/pgdata
logdir=$var/log
sbc_pid=$var/run/sbc.pid
config=$var/sbc.toml
key=$var/secret.key
case "$build" in /*) ;; *) build=$repo/$build ;; esac
sbc_bin=$build/sbc/app/sbc
migrate_bin=$build/tools/sbc-migrate/sbc-migrate

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf 'quickstart: %s\n' "$1" >&2
  shift
  for fix in "$@"; do printf '  fix: %s\n' "$fix" >&2; done
  exit 1
}

pg_bindir() {
  local d best=
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && best=$d; done
  echo "$best"
}

# PostgreSQL refuses to run as root: as root the cluster belongs to the
# postgres user, otherwise to whoever runs this.
if [ "$(id -u)" = 0 ]; then
  pg_owner=postgres
  # From /: the postgres user may not be allowed into the current directory.
  as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
  pg_owner=$(id -un)
  as_pg() { "$@"; }
fi
dsn="host=127.0.0.1 port=$pg_port dbname=sbc user=$pg_owner connect_timeout=5"

sbc_running() { [ -f "$sbc_pid" ] && kill -0 "$(cat "$sbc_pid")" 2>/dev/null; }
pg_running() {
  local b
  b=$(pg_bindir)
  [ -n "$b" ] && [ -f "$pgdata/postmaster.pid" ] \
    && as_pg "$b/pg_ctl" -D "$(readlink -f "$pgdata")" status >/dev/null 2>&1
}

port_user() {  # $1 tcp|udp, $2 port: the process holding it, if any
  local flag=-Hlnt
  [ "$1" = udp ] && flag=-Hlnu
  ss "$flag" -p "sport = :$2" 2>/dev/null | head -1
}

check_port_free() {  # $1 tcp|udp, $2 port, $3 what, $4 env variable that moves it
  local who
  who=$(port_user "$1" "$2")
  if [ -n "$who" ]; then
    if [ "$4" != QS_PG_PORT ] && [ -f "$config" ]; then
      die "$3 port $2/$1 is in use: $who" \
        "stop what uses it, or change the port in $config (written on the first run)"
    fi
    die "$3 port $2/$1 is in use: $who" \
      "stop what uses it, or pick another port: $4=NNNN deploy/quickstart.sh"
  fi
}

# ---------------------------------------------------------------------------
do_stop() {
  local stopped=0
  if sbc_running; then
    say "stopping the SBC (pid $(cat "$sbc_pid"))"
    kill -TERM "$(cat "$sbc_pid")"
    for _ in $(seq 1 100); do sbc_running || break; sleep 0.1; done
    if sbc_running; then
      note "still running after 10 s; killing it"
      kill -KILL "$(cat "$sbc_pid")" 2>/dev/null || true
    fi
    stopped=1
  fi
  rm -f "$sbc_pid"
  if pg_running; then
    say "stopping PostgreSQL ($pgdata)"
    # The resolved path: var/ itself may be out of the postgres user's reach.
    as_pg "$(pg_bindir)/pg_ctl" -D "$(readlink -f "$pgdata")" -m fast -w -t 60 stop >/dev/null
    stopped=1
  fi
  [ $stopped = 1 ] || say "nothing was running"
}

do_status() {
  if sbc_running; then
    say "SBC running (pid $(cat "$sbc_pid")), log $logdir/sbc.log"
  else
    say "SBC not running"
  fi
  if pg_running; then say "PostgreSQL running on 127.0.0.1:$pg_port ($pgdata)"; else say "PostgreSQL not running"; fi
}

# ---------------------------------------------------------------------------
install_deps() {
  local need=()
  command -v cmake >/dev/null || need+=(cmake)
  command -v ninja >/dev/null || need+=(ninja-build)
  command -v sipp >/dev/null || need+=(sip-tester)
  command -v curl >/dev/null || need+=(curl)
  command -v openssl >/dev/null || need+=(openssl)
  [ -n "$(pg_bindir)" ] || need+=(postgresql)
  dpkg-query -W -f='${Status}' libpqxx-dev 2>/dev/null | grep -q 'install ok installed' || need+=(libpqxx-dev)
  if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
    say "checking dependencies (Debian packages; installs what is missing)"
    deploy/install-deps.sh | sed 's/^/    /'
  elif [ ${#need[@]} -gt 0 ]; then
    die "missing packages: ${need[*]} (installing them needs root)" \
      "run deploy/quickstart.sh as root once, or: sudo deploy/install-deps.sh"
  else
    say "dependencies present (not root: skipping the package check)"
  fi
}

build_release() {
  if [ -x "$sbc_bin" ] && [ -x "$migrate_bin" ] && [ -z "${QS_REBUILD:-}" ]; then
    say "release build present in $build (QS_REBUILD=1 rebuilds)"
    return
  fi
  mkdir -p "$logdir"
  say "building the release (sbc, sbc-migrate) in $build; the first time takes several minutes"
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG" >"$logdir/build.log" 2>&1; then
    tail -20 "$logdir/build.log" >&2
    die "configuring the build failed (full log: $logdir/build.log)" \
      "a missing library? run deploy/install-deps.sh as root"
  fi
  cmake --build "$build" --target sbc sbc-migrate -j "$(nproc)" >>"$logdir/build.log" 2>&1 &
  local pid=$! last= shown=
  while kill -0 $pid 2>/dev/null; do
    sleep 15
    last=$(grep -o '^\[[0-9]*/[0-9]*\]' "$logdir/build.log" | tail -1 || true)
    if [ -n "$last" ] && [ "$last" != "$shown" ]; then
      note "building... $last"
      shown=$last
    fi
  done
  if ! wait $pid; then
    grep -B2 -A8 -m3 'error' "$logdir/build.log" >&2 || tail -30 "$logdir/build.log" >&2
    die "the build failed (full log: $logdir/build.log)"
  fi
}

# The postgres user must be able to reach the data directory: every parent
# needs o+x. When ./var is not reachable (a home directory with mode 700),
# the cluster lives under /var/lib/edge-sbc/<hash of this checkout's path>
# and var/pgdata is a symlink to it.
place_cluster() {
  mkdir -p "$var"
  if [ -e "$pgdata" ] || [ -L "$pgdata" ]; then return; fi
  if [ "$pg_owner" = postgres ] && ! runuser -u postgres -- test -x "$var"; then
    local hash target
    hash=$(printf '%s' "$repo" | sha256sum | cut -c1-12)
    target=/var/lib/edge-sbc/$hash/pgdata
    mkdir -p "$(dirname "$target")"
    chown postgres: "$(dirname "$target")"
    ln -s "$target" "$pgdata"
    note "$var is not reachable by the postgres user: the cluster lives in $target"
    note "(var/pgdata links to it; remove both to start over)"
  fi
}

start_postgres() {
  local bindir
  bindir=$(pg_bindir)
  [ -n "$bindir" ] || die "PostgreSQL server binaries not found" "apt-get install postgresql (as root)"
  place_cluster
  if pg_running; then
    say "PostgreSQL already running on 127.0.0.1:$pg_port ($pgdata)"
    return
  fi
  local real
  real=$(readlink -f "$pgdata")
  if [ ! -f "$real/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in $pgdata (owner $pg_owner)"
    mkdir -p "$real"
    [ "$pg_owner" = postgres ] && chown postgres: "$real" && chmod 700 "$real"
    as_pg "$bindir/initdb" -D "$real" -A trust -U "$pg_owner" -E UTF8 --no-locale \
      >"$logdir/initdb.log" 2>&1 || { cat "$logdir/initdb.log" >&2; die "initdb failed"; }
  fi
  check_port_free tcp "$pg_port" PostgreSQL QS_PG_PORT
  say "starting PostgreSQL on 127.0.0.1:$pg_port"
  rm -f "$real/postmaster.pid"
  # The log goes inside the cluster directory: the postgres user owns it.
  as_pg "$bindir/pg_ctl" -D "$real" -l "$real/server.log" -w -t 60 \
    -o "-p $pg_port -k $real -c listen_addresses=127.0.0.1" start >/dev/null \
    || { tail -20 "$real/server.log" >&2; die "PostgreSQL did not start (log: $real/server.log)"; }
  ln -sf "$real/server.log" "$logdir/postgresql.log"
  if ! "$bindir/psql" -X -q -At -d "host=127.0.0.1 port=$pg_port dbname=postgres user=$pg_owner" \
       -c "SELECT 1 FROM pg_database WHERE datname = 'sbc'" | grep -q 1; then
    note "creating database sbc"
    "$bindir/psql" -X -q -d "host=127.0.0.1 port=$pg_port dbname=postgres user=$pg_owner" \
      -c "CREATE DATABASE sbc" >/dev/null
  fi
}

psql_sbc() { "$(pg_bindir)/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }

migrate_and_seed() {
  say "applying database migrations"
  "$migrate_bin" --dsn "$dsn" | sed 's/^/    /'
  if [ ! -f "$key" ]; then
    say "generating the secret key for trunk credentials ($key)"
    (umask 077; openssl rand -hex 32 >"$key")
  fi
  if [ "$(psql_sbc -c 'SELECT count(*) FROM trunks')" != 0 ]; then
    say "configuration present in the database (left as it is)"
    return
  fi
  local pbx_host=${pbx%:*} pbx_port=${pbx##*:} c_host=${carrier%:*} c_port=${carrier##*:}
  say "loading the example configuration (PBX $pbx, carrier $carrier)"
  psql_sbc <<SQL
BEGIN;
INSERT INTO trunks (name, kind, realm, description)
  VALUES ('pbx-example', 'pbx', 'inside', 'quickstart: a PBX on $pbx_host');
INSERT INTO trunk_acl (trunk_id, cidr)
  SELECT id, '$pbx_host/32' FROM trunks WHERE name = 'pbx-example';
INSERT INTO trunk_gateways (trunk_id, host, port, options_ping)
  SELECT id, '$pbx_host', $pbx_port, false FROM trunks WHERE name = 'pbx-example';
INSERT INTO trunks (name, kind, realm, description)
  VALUES ('carrier-example', 'carrier', 'outside', 'quickstart: a carrier on $c_host');
INSERT INTO trunk_acl (trunk_id, cidr)
  SELECT id, '$c_host/32' FROM trunks WHERE name = 'carrier-example';
INSERT INTO trunk_gateways (trunk_id, host, port, options_ping)
  SELECT id, '$c_host', $c_port, false FROM trunks WHERE name = 'carrier-example';
INSERT INTO dids (number, trunk_id)
  SELECT n, t.id FROM trunks t,
    unnest(ARRAY['+14155550100', '+14155550101', '+14155550102', '+14155550103']) AS n
  WHERE t.name = 'pbx-example';
INSERT INTO routes (prefix, trunk_id, description)
  SELECT '', id, 'default route' FROM trunks WHERE name = 'carrier-example';
COMMIT;
SQL
}

write_config() {
  if [ -f "$config" ]; then
    say "node configuration present ($config, left as it is)"
    return
  fi
  say "writing the node configuration $config"
  mkdir -p "$var/spool/cdr"
  cat >"$config" <<EOF
# Written by deploy/quickstart.sh; edit freely (it is not overwritten).
# Everything else (trunks, DIDs, routes) lives in PostgreSQL.
[node]
name = "quickstart"
log_level = "info"
product = "edge-sbc"
shutdown_grace = 5

[sip]
max_message_size = 65535
idle_timeout = 300
domains = ["sbc.localhost"]

[database]
dsn = "$dsn"
secret_key_file = "secret.key"
pool_threads = 2
migrate = false

[cdr]
spool_dir = "spool/cdr"

[mgmt]
address = "127.0.0.1"
port = $mgmt_port

[[listen]]
realm = "inside"
transport = "udp"
address = "127.0.0.1"
port = $inside_port

[[listen]]
realm = "inside"
transport = "tcp"
address = "127.0.0.1"
port = $inside_port

[[listen]]
realm = "outside"
transport = "udp"
address = "127.0.0.1"
port = $outside_port
EOF
}

config_value() {  # the first "key = value" of $1 under [$2]/[[$2]] in the config
  awk -v sect="$2" -v key="$1" '
    /^\[/ { gsub(/[\[\]]/, ""); s = $0; next }
    s == sect && $1 == key { sub(/^[^=]*=[ \t]*/, ""); gsub(/"/, ""); print; exit }' "$config"
}

start_sbc() {
  if sbc_running; then
    say "SBC already running (pid $(cat "$sbc_pid"))"
    return
  fi
  # The ports the config really uses (it may have been edited).
  local in_port out_port m_port
  m_port=$(config_value port mgmt)
  in_port=$(awk '/^\[\[listen\]\]/{n++} n==1 && $1=="port"{print $3; exit}' "$config")
  out_port=$(awk '/^realm *= *"outside"/{f=1} f && $1=="port"{print $3; exit}' "$config")
  check_port_free udp "$in_port" "SIP inside" QS_INSIDE_PORT
  check_port_free tcp "$in_port" "SIP inside" QS_INSIDE_PORT
  check_port_free udp "$out_port" "SIP outside" QS_OUTSIDE_PORT
  check_port_free tcp "$m_port" "mgmt" QS_MGMT_PORT
  mkdir -p "$var/run" "$logdir"
  say "starting the SBC (log: $logdir/sbc.log)"
  nohup "$sbc_bin" --config "$config" >>"$logdir/sbc.log" 2>&1 </dev/null &
  echo $! >"$sbc_pid"
  for _ in $(seq 1 100); do
    if ! sbc_running; then
      tail -20 "$logdir/sbc.log" >&2
      rm -f "$sbc_pid"
      die "the SBC exited at start (log above, full: $logdir/sbc.log)"
    fi
    if curl -fsS -m 1 "http://127.0.0.1:$m_port/healthz" >/dev/null 2>&1; then
      return
    fi
    sleep 0.2
  done
  tail -20 "$logdir/sbc.log" >&2
  die "the SBC runs but /healthz is not 200 after 20 s (no configuration loaded?)" \
    "check the database settings in $config and $logdir/sbc.log"
}

print_next_steps() {
  local in_port out_port m_port
  m_port=$(config_value port mgmt)
  in_port=$(awk '/^\[\[listen\]\]/{n++} n==1 && $1=="port"{print $3; exit}' "$config")
  out_port=$(awk '/^realm *= *"outside"/{f=1} f && $1=="port"{print $3; exit}' "$config")
  cat <<EOF

The SBC is running.
  PBX side (inside):     sip:127.0.0.1:$in_port (UDP, TCP); the example PBX trunk accepts
                         calls from ${pbx%:*} and delivers DIDs +14155550100..103 to $pbx
  Carrier side (outside): sip:127.0.0.1:$out_port (UDP); calls go to the carrier at $carrier
  mgmt API:              http://127.0.0.1:$m_port/healthz  /metrics  /api/calls  /api/trunks/usage
  database:              psql "$dsn"
                         (trunks, trunk_acl, trunk_gateways, dids, routes, cdrs; edits apply within 1 s)
  logs:                  $logdir/sbc.log

Point a PBX at it: give the PBX a SIP trunk to 127.0.0.1:$in_port and make it send from
${pbx%:*} (or add its address: INSERT INTO trunk_acl (trunk_id, cidr) SELECT id,
'192.0.2.10/32' FROM trunks WHERE name = 'pbx-example';).

Try a call with SIPp (a carrier that answers, then a PBX that calls):
  sipp -sn uas -i ${carrier%:*} -p ${carrier##*:} -m 1 &
  sipp -sn uac -i ${pbx%:*} -s 12125550123 -m 1 127.0.0.1:$in_port
  psql "$dsn" -c 'SELECT start_time, caller_in, callee_out, sip_code, duration_ms FROM cdrs'

Stop everything: deploy/quickstart.sh stop
EOF
}

case "${1:-start}" in
  start)
    install_deps
    build_release
    mkdir -p "$logdir"
    start_postgres
    migrate_and_seed
    write_config
    start_sbc
    print_next_steps
    ;;
  stop) do_stop ;;
  status) do_status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
