#!/usr/bin/env bash
# ctest bench.relay_load.smoke: relay-loadgen runs 20 calls for ~3 s through
# a private media-relay. No timing assertion: fails only when the generator
# errors or no packet arrives through the relay.
#   smoke.sh MEDIA_RELAY_BINARY RELAY_LOADGEN_BINARY
set -euo pipefail
relay_bin=$1
loadgen_bin=$2
work=$(mktemp -d /tmp/relay-load-smoke.XXXXXX)
relay_pid=
cleanup() {
  if [ -n "$relay_pid" ]; then
    kill -TERM "$relay_pid" 2>/dev/null || true
    wait "$relay_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
control_port=$(free_tcp_port)
http_port=$(free_tcp_port)
# A media port range of its own per run, below the ephemeral range, so that
# parallel ctest runs rarely meet.
port_min=$(( 20000 + (RANDOM % 500) * 20 ))
cat > "$work/relay.toml" <<CONF
[node]
log_level = "warn"
workers = 1
[realm.inside]
address = "127.0.0.1"
[realm.outside]
address = "127.0.0.1"
[ports]
min = $port_min
max = $(( port_min + 399 ))
[control]
address = "127.0.0.1"
port = $control_port
[http]
address = "127.0.0.1"
port = $http_port
CONF

"$relay_bin" --config "$work/relay.toml" > "$work/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$control_port") 2>/dev/null; then break; fi
  kill -0 "$relay_pid" 2>/dev/null || { echo "media-relay exited:"; cat "$work/relay.log"; exit 1; }
  sleep 0.1
done

rc=0
"$loadgen_bin" --relay ours --control "127.0.0.1:$control_port" --calls 20 --seconds 2 \
  --warmup 1 --relay-pid "$relay_pid" --label smoke --relay-metrics "127.0.0.1:$http_port" \
  > "$work/result.txt" || rc=$?
cat "$work/result.txt"
if [ $rc -ne 0 ]; then
  echo "relay-loadgen failed ($rc); relay log:"
  tail -50 "$work/relay.log"
  exit 1
fi
# The relay's own forward delay was read around the window (relay_forward_delay_seconds).
if ! grep -Eq ' relay_p99_us=[0-9]+ .*relay_delay_n=[1-9]' "$work/result.txt"; then
  echo "no relay-internal p99 from relay_forward_delay_seconds in the RESULT line"
  exit 1
fi
rc=0
"$loadgen_bin" --relay ours --control "127.0.0.1:$control_port" --calls 20 --seconds 2 \
  --warmup 1 --mode srtp --relay-pid "$relay_pid" --label smoke-srtp || rc=$?
if [ $rc -ne 0 ]; then
  echo "relay-loadgen --mode srtp failed ($rc); relay log:"
  tail -50 "$work/relay.log"
  exit 1
fi
