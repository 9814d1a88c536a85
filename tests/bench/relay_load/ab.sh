#!/usr/bin/env bash
# Interleaved A/B of two media-relay binaries at 1,000 calls (or CALLS):
# both run at once, pinned on BENCH_RELAY_CPUS (1) with the same settings
# (worker_scheduling BENCH_SCHED, default fifo, priority 10; nice -10), the
# generator on BENCH_GEN_CPUS (0); the steps alternate A, B, A, B... so that
# a shared machine's drift hits both alike. Swap the arguments for a second
# series: the second of a pair can be favoured. One line per step: CPU us
# per packet (utime+stime), its user part, p99 (generator / relay's own),
# loss, late generator ticks. BENCH_RELAY_WORKERS (1): packet threads of each
# binary (e.g. 2 with BENCH_RELAY_CPUS=1,2 on a host with 3+ cores).
#   tests/bench/relay_load/ab.sh BIN_A BIN_B PAIRS rtp|srtp [CALLS] [SECONDS]
# Needs relay-loadgen in BENCH_BUILD_DIR (build/loadgen-rel; run.sh builds it).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,13p' "$0"; exit 2; }
bin_a=$1 bin_b=$2 pairs=$3 mode=$4 calls=${5:-1000} secs=${6:-10}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
loadgen=$repo/${BENCH_BUILD_DIR:-build/loadgen-rel}/tests/bench/relay_load/relay-loadgen
[ -x "$loadgen" ] || { echo "ab.sh: $loadgen missing (run run.sh once)" >&2; exit 1; }
gen_cpus=${BENCH_GEN_CPUS:-0}
relay_cpus=${BENCH_RELAY_CPUS:-1}
work=$(mktemp -d /tmp/relay-ab.XXXXXX)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() {
  python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}
declare -A pid ctl http
start() {  # name binary first-media-port
  ctl[$1]=$(free_port)
  http[$1]=$(free_port)
  cat > "$work/$1.toml" <<CONF
[node]
log_level = "warn"
workers = ${BENCH_RELAY_WORKERS:-1}
worker_scheduling = "${BENCH_SCHED:-fifo}"
worker_priority = ${BENCH_SCHED_PRIO:-10}
[realm.inside]
address = "127.0.0.1"
[realm.outside]
address = "127.0.0.1"
[ports]
min = $3
max = $(($3 + 4999))
[control]
address = "127.0.0.1"
port = ${ctl[$1]}
[http]
address = "127.0.0.1"
port = ${http[$1]}
CONF
  nice -n -10 taskset -c "$relay_cpus" "$2" --config "$work/$1.toml" > "$work/$1.log" 2>&1 &
  pid[$1]=$!
  pids+=("$!")
}
start A "$bin_a" 10000
start B "$bin_b" 16000
sleep 1
echo "A=$bin_a B=$bin_b mode=$mode calls=$calls window=${secs}s"
for i in $(seq 1 "$pairs"); do
  for x in A B; do
    nice -n -10 taskset -c "$gen_cpus" "$loadgen" --relay ours --control "127.0.0.1:${ctl[$x]}" \
      --relay-pid "${pid[$x]}" --calls "$calls" --mode "$mode" --seconds "$secs" --warmup 1 \
      --tick-us 200 --label "$x" --relay-metrics "127.0.0.1:${http[$x]}" 2>>"$work/loadgen.log" |
      grep '^RESULT' | awk -v x="$x" -v i="$i" '{
        for (k = 1; k <= NF; k++) { split($k, a, "="); v[a[1]] = a[2] }
        printf "%s %s us/pkt=%s user=%s p99=%s relay_p99=%s loss=%s late=%s\n", i, x,
          v["relay_us_per_pkt"], v["relay_user_us_per_pkt"], v["p99_us"], v["relay_p99_us"],
          v["loss_pct"], v["late_ticks"] }'
    sleep 1
  done
done
