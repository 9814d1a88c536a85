#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running SBC on this host, with its own
# PostgreSQL, media relay, console and an example configuration.
#
#   deploy/quickstart.sh [start] [--demo]   install, build (release), start everything
#   deploy/quickstart.sh stop               stop everything it started (the demo too)
#   deploy/quickstart.sh status             what runs, and where
#
# --demo also starts SIPp as a demo carrier and a demo PBX placing a trickle
# of calls (outbound 1 call/s, inbound 1 call/5 s, each ~9 s of G.711 audio
# and a DTMF digit that the answering side echoes back through the relay) so
# that the metrics, the CDRs' media counts and the dashboard move. The relay
# and the console start when their sources are in the tree (targets
# media-relay, sbc-admin).
#
# Everything lives under ./var/ (repo root): the PostgreSQL cluster
# (var/pgdata), the node configs (var/sbc.toml, var/relay.toml,
# var/admin.toml), the secret key (var/secret.key), the console's
# self-signed certificate (var/tls/), logs (var/log/), the CDR spool. Running
# it again reuses what exists: nothing is rebuilt, re-initialised or
# overwritten that is already there. Settings (environment):
#   QS_PG_PORT=55433      private PostgreSQL port (never the system cluster)
#   QS_INSIDE_PORT=5060   SIP towards PBXs (UDP+TCP on 127.0.0.1)
#   QS_OUTSIDE_PORT=5080  SIP towards carriers (UDP on 127.0.0.1)
#   QS_MGMT_PORT=8080     mgmt API (127.0.0.1)
#   QS_RELAY_PORT=7722    relay control (127.0.0.1); its /metrics on the next port
#   QS_RTP_PORTS=30000-39999  the relay's RTP ports
#   QS_CONSOLE_PORT=8443  console (HTTPS, 127.0.0.1)
#   QS_PBX=127.0.0.2:5060 QS_CARRIER=127.0.0.3:5060   the example trunks
#   QS_BUILD_DIR=build/release
#   QS_RELAY=0 QS_CONSOLE=0   leave the relay / the console out
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
relay_port=${QS_RELAY_PORT:-7722}
relay_http_port=$((relay_port + 1))
rtp_ports=${QS_RTP_PORTS:-30000-39999}
console_port=${QS_CONSOLE_PORT:-8443}

var=$repo/var
pgdata=$var/pgdata
logdir=$var/log
rundir=$var/run
config=$var/sbc.toml
relay_config=$var/relay.toml
admin_config=$var/admin.toml
key=$var/secret.key
tlsdir=$var/tls
case "$build" in /*) ;; *) build=$repo/$build ;; esac
sbc_bin=$build/sbc/app/sbc
migrate_bin=$build/tools/sbc-migrate/sbc-migrate
relay_bin=$build/media-relay/relay/media-relay
admin_bin=$build/admin-ui/sbc-admin
# The relay and the console are built and started when their sources are here.
with_relay=0
with_admin=0
[ -f media-relay/relay/CMakeLists.txt ] && [ "${QS_RELAY:-1}" != 0 ] && with_relay=1
[ -f admin-ui/CMakeLists.txt ] && [ "${QS_CONSOLE:-1}" != 0 ] && with_admin=1
demo=0
admin_password=

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

# Background processes by name: var/run/<name>.pid.
proc_running() { [ -f "$rundir/$1.pid" ] && kill -0 "$(cat "$rundir/$1.pid")" 2>/dev/null; }
proc_stop() {  # $1 name, $2 what, $3 seconds before SIGKILL; false if it was not running
  if ! proc_running "$1"; then
    rm -f "$rundir/$1.pid"
    return 1
  fi
  local pid
  pid=$(cat "$rundir/$1.pid")
  say "stopping $2 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $(($3 * 10))); do proc_running "$1" || break; sleep 0.1; done
  if proc_running "$1"; then
    note "still running after $3 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$rundir/$1.pid"
}
proc_start() {  # $1 name, $2 log file, then the command
  local name=$1 logf=$2
  shift 2
  mkdir -p "$rundir" "$logdir"
  nohup "$@" >>"$logf" 2>&1 </dev/null &
  echo $! >"$rundir/$name.pid"
}
wait_http() {  # $1 name, $2 URL, $3 log, $4 what: waits up to 20 s for a 200
  for _ in $(seq 1 100); do
    if ! proc_running "$1"; then
      tail -20 "$3" >&2
      rm -f "$rundir/$1.pid"
      die "$4 exited at start (log above, full: $3)"
    fi
    curl -fsSk -m 1 "$2" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

sbc_running() { proc_running sbc; }
pg_running() {
  local b
  b=$(pg_bindir)
  [ -n "$b" ] && [ -f "$pgdata/postmaster.pid" ] \
    && as_pg "$b/pg_ctl" -D "$(readlink -f "$pgdata")" status >/dev/null 2>&1
}

port_user() {  # $1 tcp|udp, $2 port, [$3 address]: the process holding it, if any
  local flag=-Hlnt filter="sport = :$2"
  [ "$1" = udp ] && flag=-Hlnu
  [ -n "${3:-}" ] && filter="$filter and ( src $3 or src 0.0.0.0 )"
  ss "$flag" -p "$filter" 2>/dev/null | head -1
}

# $1 tcp|udp, $2 port, $3 what, $4 the setting that moves it: an environment
# variable, or the config file that holds the port once written; [$5 address]
check_port_free() {
  local who
  who=$(port_user "$1" "$2" "${5:-}")
  [ -z "$who" ] && return 0
  case "$4" in
    QS_*) die "$3 port $2/$1 is in use: $who" \
            "stop what uses it, or pick another port: $4=... deploy/quickstart.sh" ;;
    *) die "$3 port $2/$1 is in use: $who" \
         "stop what uses it, or change the port in $4" ;;
  esac
}

# ---------------------------------------------------------------------------
do_stop() {
  local stopped=0
  for d in demo-pbx-out demo-carrier-in demo-pbx-uas demo-carrier-uas; do
    proc_stop "$d" "the demo's SIPp ($d)" 5 && stopped=1
  done
  proc_stop sbc-admin "the console" 10 && stopped=1
  # The SBC ends its calls (BYE/CANCEL) within shutdown_grace: give it time.
  proc_stop sbc "the SBC" 10 && stopped=1
  proc_stop media-relay "the media relay" 10 && stopped=1
  if pg_running; then
    say "stopping PostgreSQL ($pgdata)"
    # The resolved path: var/ itself may be out of the postgres user's reach.
    as_pg "$(pg_bindir)/pg_ctl" -D "$(readlink -f "$pgdata")" -m fast -w -t 60 stop >/dev/null
    stopped=1
  fi
  [ $stopped = 1 ] || say "nothing was running"
}

do_status() {
  local name what
  for name in media-relay sbc sbc-admin; do
    case $name in
      media-relay) what="media relay" ;;
      sbc) what="SBC" ;;
      *) what="console" ;;
    esac
    if proc_running "$name"; then
      say "$what running (pid $(cat "$rundir/$name.pid")), log $logdir/$name.log"
    else
      say "$what not running"
    fi
  done
  if sbc_running && [ -f "$config" ]; then
    note "healthz: $(curl -sS -m 2 "http://127.0.0.1:$(config_value port mgmt)/healthz" 2>&1 || true)"
  fi
  if proc_running demo-pbx-out; then
    say "demo running (SIPp PBX and carrier placing calls; log $logdir/demo.log)"
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
  local targets=(sbc sbc-migrate) have=1
  { [ -x "$sbc_bin" ] && [ -x "$migrate_bin" ]; } || have=0
  if [ $with_relay = 1 ]; then targets+=(media-relay); [ -x "$relay_bin" ] || have=0; fi
  if [ $with_admin = 1 ]; then targets+=(sbc-admin admin-web); [ -x "$admin_bin" ] && [ -f admin-ui/web/dist/index.html ] || have=0; fi
  if [ $have = 1 ] && [ -z "${QS_REBUILD:-}" ]; then
    say "release build present in $build (QS_REBUILD=1 rebuilds)"
    return
  fi
  mkdir -p "$logdir"
  say "building the release (${targets[*]}) in $build; the first time takes several minutes"
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g -DNDEBUG" >"$logdir/build.log" 2>&1; then
    tail -20 "$logdir/build.log" >&2
    die "configuring the build failed (full log: $logdir/build.log)" \
      "a missing library? run deploy/install-deps.sh as root"
  fi
  cmake --build "$build" --target "${targets[@]}" -j "$(nproc)" >>"$logdir/build.log" 2>&1 &
  local pid=$! last='' shown=
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
  if [ $with_relay = 1 ]; then
    cat >>"$config" <<EOF

# Media through the relay started next to it (var/relay.toml).
[[relay]]
address = "127.0.0.1"
port = $relay_port

[media]
# A call whose legs carry no RTP this long ends (hold-aware).
timeout = 60
EOF
  fi
}

config_value() {  # the first "key = value" of $1 under [$2]/[[$2]] in $3 (default: the sbc's)
  awk -v sect="$2" -v key="$1" '
    /^\[/ { gsub(/[\[\]]/, ""); s = $0; next }
    s == sect && $1 == key { sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]*#.*/, ""); gsub(/"/, ""); print; exit }' "${3:-$config}"
}

make_console_cert() {
  if [ -f "$tlsdir/console.crt" ] && [ -f "$tlsdir/console.key" ]; then
    say "console certificate present ($tlsdir/console.crt)"
    return
  fi
  say "generating a self-signed TLS certificate for the console ($tlsdir/console.crt, 1 year)"
  mkdir -p "$tlsdir"
  if ! (umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
          -subj "/CN=localhost/O=edge-sbc quickstart" \
          -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
          -keyout "$tlsdir/console.key" -out "$tlsdir/console.crt") >"$logdir/openssl.log" 2>&1; then
    cat "$logdir/openssl.log" >&2
    die "openssl could not make the certificate" "apt-get install openssl (as root)"
  fi
}

write_relay_config() {
  if [ -f "$relay_config" ]; then
    say "relay configuration present ($relay_config, left as it is)"
    return
  fi
  say "writing the relay configuration $relay_config"
  cat >"$relay_config" <<EOF
# Written by deploy/quickstart.sh; edit freely (it is not overwritten).
# Every key: deploy/relay.sample.toml.
[node]
name = "quickstart-relay"
log_level = "info"
workers = 1

[realm.inside]
address = "127.0.0.1"

[realm.outside]
address = "127.0.0.1"

[ports]
min = ${rtp_ports%-*}
max = ${rtp_ports#*-}

[control]
address = "127.0.0.1"
port = $relay_port

[http]
address = "127.0.0.1"
port = $relay_http_port
EOF
}

start_relay() {
  if proc_running media-relay; then
    say "media relay already running (pid $(cat "$rundir/media-relay.pid"))"
    return
  fi
  local c_port h_port
  c_port=$(config_value port control "$relay_config")
  h_port=$(config_value port http "$relay_config")
  check_port_free tcp "$c_port" "relay control" "$relay_config" 127.0.0.1
  check_port_free tcp "$h_port" "relay metrics" "$relay_config" 127.0.0.1
  say "starting the media relay (control 127.0.0.1:$c_port, log $logdir/media-relay.log)"
  proc_start media-relay "$logdir/media-relay.log" "$relay_bin" --config "$relay_config"
  wait_http media-relay "http://127.0.0.1:$h_port/healthz" "$logdir/media-relay.log" "the media relay" \
    || die "the relay runs but /healthz is not 200 after 20 s" "read $logdir/media-relay.log"
}

write_admin_config() {
  if [ -f "$admin_config" ]; then
    say "console configuration present ($admin_config, left as it is)"
    return
  fi
  say "writing the console configuration $admin_config"
  cat >"$admin_config" <<EOF
# Written by deploy/quickstart.sh; edit freely (it is not overwritten).
# Every key: deploy/admin.sample.toml.
log_level = "info"

[http]
address = "127.0.0.1"
port = $console_port
certificate = "tls/console.crt"
private_key = "tls/console.key"
static_dir = "$repo/admin-ui/web/dist"

[database]
dsn = "$dsn"
pool_threads = 2
migrate = false
secret_key_file = "secret.key"
EOF
}

create_console_admin() {
  if [ "$(psql_sbc -c "SELECT count(*) FROM users WHERE username = 'admin'")" != 0 ]; then
    say "console user admin present (its password was printed on the first run)"
    return
  fi
  local password
  password=$(openssl rand -base64 24 | tr -d '/+=\n' | cut -c1-16)
  say "creating the console user admin"
  if ! printf '%s\n' "$password" | "$admin_bin" create-admin --config "$admin_config" \
         --username admin --password-stdin >"$logdir/create-admin.log" 2>&1; then
    cat "$logdir/create-admin.log" >&2
    die "sbc-admin create-admin failed (log above)"
  fi
  admin_password=$password
}

start_admin() {
  if proc_running sbc-admin; then
    say "console already running (pid $(cat "$rundir/sbc-admin.pid"))"
    return
  fi
  local port
  port=$(config_value port http "$admin_config")
  check_port_free tcp "$port" "console" "$admin_config" 127.0.0.1
  say "starting the console (https://127.0.0.1:$port/, log $logdir/sbc-admin.log)"
  proc_start sbc-admin "$logdir/sbc-admin.log" "$admin_bin" --config "$admin_config"
  wait_http sbc-admin "https://127.0.0.1:$port/healthz" "$logdir/sbc-admin.log" "the console" \
    || die "the console runs but /healthz is not 200 after 20 s" "read $logdir/sbc-admin.log"
}

# The demo: a carrier and a PBX on the example trunks' addresses, calls both
# ways. The callers run SIPp's built-in uac_pcap scenario: 8 s of G.711 from
# SIPp's own pcap files, then an RFC 4733 digit, then BYE; it reads them from
# pcap/ under its working directory (var/demo) and sends them through a raw
# socket, from the port its SDP offers (-mp 7000 and up), so as root only:
# otherwise the calls carry no audio. The answering sides (built-in uas) echo
# every RTP packet back (-rtp_echo on -mp 6000), so media flows both ways
# through the relay.
start_demo() {
  command -v sipp >/dev/null || die "sipp not found (needed by --demo)" "apt-get install sip-tester (as root)"
  if proc_running demo-pbx-out; then
    say "demo already running"
    return
  fi
  local in_port out_port p_host=${pbx%:*} p_port=${pbx##*:} c_host=${carrier%:*} c_port=${carrier##*:}
  in_port=$(awk '/^\[\[listen\]\]/{n++} n==1 && $1=="port"{print $3; exit}' "$config")
  out_port=$(awk '/^realm *= *"outside"/{f=1} f && $1=="port"{print $3; exit}' "$config")
  check_port_free udp "$c_port" "demo carrier (SIPp) $c_host" "the carrier-example gateway (trunk_gateways)" "$c_host"
  check_port_free udp "$p_port" "demo PBX (SIPp) $p_host" "the pbx-example gateway (trunk_gateways)" "$p_host"
  say "starting the demo: SIPp carrier on $carrier, PBX on $pbx (log $logdir/demo.log)"
  # A long-running demo on a busy machine: SIPp's watchdog must not end it.
  local common=(-nostdin -trace_err -error_file "$logdir/demo-errors.log"
                -watchdog_minor_threshold 2000 -watchdog_major_threshold 10000
                -watchdog_minor_maxtriggers 1000000 -watchdog_major_maxtriggers 1000000)
  local pcaps=/usr/share/sip-tester
  mkdir -p "$var/demo/pcap"
  ln -sf "$pcaps/g711a.pcap" "$pcaps/dtmf_2833_1.pcap" "$var/demo/pcap/"
  [ "$(id -u)" = 0 ] || note "not root: SIPp cannot play its audio (raw socket), the demo calls carry no RTP"
  proc_start demo-carrier-uas "$logdir/demo.log" sipp -sn uas -i "$c_host" -p "$c_port" \
    -rtp_echo -mi "$c_host" -mp 6000 "${common[@]}"
  proc_start demo-pbx-uas "$logdir/demo.log" sipp -sn uas -i "$p_host" -p "$p_port" \
    -rtp_echo -mi "$p_host" -mp 6000 "${common[@]}"
  sleep 1
  note "outbound: the PBX calls 12125550123 through the SBC, 1 call/s, ~9 s of audio each"
  (cd "$var/demo" && proc_start demo-pbx-out "$logdir/demo.log" sipp -sn uac_pcap -i "$p_host" \
    -p $((p_port + 2)) -mi "$p_host" -mp 7000 -s 12125550123 -r 1 -l 40 "${common[@]}" \
    "127.0.0.1:$in_port")
  note "inbound: the carrier calls +14155550100 (a DID of the PBX), 1 call/5 s, ~9 s of audio each"
  (cd "$var/demo" && proc_start demo-carrier-in "$logdir/demo.log" sipp -sn uac_pcap -i "$c_host" \
    -p $((c_port + 2)) -mi "$c_host" -mp 7000 -s +14155550100 -r 1 -rp 5000 -l 10 "${common[@]}" \
    "127.0.0.1:$out_port")
  sleep 2
  for d in demo-carrier-uas demo-pbx-uas demo-pbx-out demo-carrier-in; do
    if ! proc_running "$d"; then
      tail -20 "$logdir/demo.log" >&2
      die "the demo's SIPp $d exited" "read $logdir/demo.log and $logdir/demo-errors.log"
    fi
  done
}

start_sbc() {
  if sbc_running; then
    say "SBC already running (pid $(cat "$rundir/sbc.pid"))"
    return
  fi
  # The ports the config really uses (it may have been edited).
  local in_port out_port m_port
  m_port=$(config_value port mgmt)
  in_port=$(awk '/^\[\[listen\]\]/{n++} n==1 && $1=="port"{print $3; exit}' "$config")
  out_port=$(awk '/^realm *= *"outside"/{f=1} f && $1=="port"{print $3; exit}' "$config")
  check_port_free udp "$in_port" "SIP inside" "$config" 127.0.0.1
  check_port_free tcp "$in_port" "SIP inside" "$config" 127.0.0.1
  check_port_free udp "$out_port" "SIP outside" "$config" 127.0.0.1
  check_port_free tcp "$m_port" "mgmt" "$config" 127.0.0.1
  say "starting the SBC (log: $logdir/sbc.log)"
  proc_start sbc "$logdir/sbc.log" "$sbc_bin" --config "$config"
  if ! wait_http sbc "http://127.0.0.1:$m_port/healthz" "$logdir/sbc.log" "the SBC"; then
    tail -20 "$logdir/sbc.log" >&2
    die "the SBC runs but /healthz is not 200 after 20 s (no configuration loaded?)" \
      "check the database settings in $config and $logdir/sbc.log"
  fi
  if [ $with_relay = 1 ] && ! grep -q '^\[\[relay\]\]' "$config"; then
    note "$config has no [[relay]] (written by an older quickstart): media is not anchored."
    note "To anchor it, add a [[relay]] section with address = \"127.0.0.1\" and port = $relay_port, then restart."
  fi
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
EOF
  if proc_running media-relay; then
    echo "  media relay:           control 127.0.0.1:$(config_value port control "$relay_config"), metrics http://127.0.0.1:$(config_value port http "$relay_config")/metrics"
  fi
  if proc_running sbc-admin; then
    echo "  console:               https://127.0.0.1:$(config_value port http "$admin_config")/  (self-signed certificate: $tlsdir/console.crt)"
    if [ -n "$admin_password" ]; then
      echo "                         user admin, password $admin_password   (shown this once: note it now)"
    else
      echo "                         user admin (its password was printed on the first run)"
    fi
  fi
  cat <<EOF
  database:              psql "$dsn"
                         (trunks, trunk_acl, trunk_gateways, dids, routes, cdrs; edits apply within 1 s)
  logs:                  $logdir/sbc.log

Point a PBX at it: give the PBX a SIP trunk to 127.0.0.1:$in_port and make it send from
${pbx%:*} (or add its address: INSERT INTO trunk_acl (trunk_id, cidr) SELECT id,
'192.0.2.10/32' FROM trunks WHERE name = 'pbx-example';).

CDRs: psql "$dsn" -c 'SELECT start_time, caller_in, callee_out, sip_code, duration_ms FROM cdrs'
EOF
  if ! proc_running demo-pbx-out; then
    cat <<EOF

Try a call with SIPp (a carrier that answers, then a PBX that calls), or run
deploy/quickstart.sh --demo for a steady trickle of calls:
  sipp -sn uas -i ${carrier%:*} -p ${carrier##*:} -m 1 &
  sipp -sn uac -i ${pbx%:*} -s 12125550123 -m 1 127.0.0.1:$in_port
EOF
  fi
  cat <<EOF

Watch it: deploy/prometheus/prometheus.yml scrapes these ports as they are
(prometheus --config.file=deploy/prometheus/prometheus.yml) and
deploy/grafana/sbc-dashboard.json is the dashboard (docs/OPERATIONS.md).
EOF
  if proc_running demo-pbx-out; then
    echo "Demo: calls flow both ways (log $logdir/demo.log); watch http://127.0.0.1:$m_port/metrics"
  fi
  echo
  echo "Stop everything: deploy/quickstart.sh stop"
}

action=start
for arg in "$@"; do
  case "$arg" in
    start|stop|status) action=$arg ;;
    --demo) demo=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [start|stop|status] [--demo]" >&2; exit 2 ;;
  esac
done

case "$action" in
  start)
    mkdir -p "$logdir" "$rundir"
    install_deps
    build_release
    start_postgres
    migrate_and_seed
    write_config
    if [ $with_relay = 1 ]; then
      write_relay_config
      start_relay
    fi
    start_sbc
    if [ $with_admin = 1 ]; then
      make_console_cert
      write_admin_config
      create_console_admin
      start_admin
    fi
    if [ $demo = 1 ]; then start_demo; fi
    print_next_steps
    ;;
  stop) do_stop ;;
  status) do_status ;;
esac
