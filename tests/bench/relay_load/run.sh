#!/usr/bin/env bash
# Media relay benchmark: our media-relay against rtpengine (userspace,
# --table=-1), side by side in one run, driven by relay-loadgen.
#
#   tests/bench/relay_load/run.sh [--calls 100,500,1000] [--seconds 20] [--mode rtp|srtp|both]
#                                 [--pin | --no-pin]
#
# Each step (calls x mode) runs against our relay, then rtpengine, with the
# same generator: N calls, two legs each, 172-byte RTP (G.711, 20 ms) at 50
# packets/s per direction, i.e. 100 packets/s forwarded per call. srtp = leg A
# RTP, leg B SRTP (AES_CM_128_HMAC_SHA1_80): the relay unprotects one way and
# protects the other. CPU per packet is the relay's utime+stime
# (/proc/PID/stat, all threads) over the measured window divided by the
# packets that arrived in it.
#
# Settings (environment): BENCH_BUILD_DIR (default build/loadgen-rel, a gcc
# Release build of media-relay and relay-loadgen, built if missing),
# BENCH_WARMUP (1 s, not measured), BENCH_RELAY_WORKERS (our relay's packet
# threads) and BENCH_RTPENGINE_THREADS (rtpengine's): pinned, both default to
# the number of CPUs in BENCH_RELAY_CPUS (1), unpinned to 2 (on a contended
# machine the scheduler shares CPU per thread); two packet threads on one
# pinned core take turns and each one's packets wait for the other's turn,
# which is what made the p99 at 1,000 calls milliseconds. BENCH_NICE
# (-10: the generator and both relays run at this niceness so that, on a
# machine shared with builds, they get the CPU and the figures describe the
# relays rather than the neighbours; 0 for normal priority), BENCH_RT=1 runs
# the generator and both relays at SCHED_FIFO priority 1 instead (chrt; root):
# on a machine shared with builds, nice does not keep a compiler's time slice
# off the relay's core, FIFO does (the kernel still leaves others 5% of each
# core), so latency there describes the relays; BENCH_TICK_US (200): the
# generator's sub-tick, each a back-to-back burst of calls/(20 ms/tick) x 2
# packets (1000 before 2026-11-26 08:15); BENCH_KEEP=1 keeps the work
# directory. BENCH_RELAY_BIN runs that media-relay binary instead of the
# build's (an interleaved A/B against a copy kept aside).
# Pinning (--pin, the default on 2 or more cores; --no-pin to turn it off):
# the generator runs on BENCH_GEN_CPUS (default 0) and each relay, ours and
# rtpengine alike, on BENCH_RELAY_CPUS (default 1), so the relay under test
# never queues behind the generator for a core (at 1,000 calls the generator
# alone needs most of one) and latency p50/p99 describe the relay rather than
# the scheduler. Unpinned, both share all cores as before.
# Our relay's own forward delay (relay_forward_delay_seconds, kernel receive
# stamp to send) is read from its /metrics around each window and printed as
# "relay-internal p50/p99" next to the generator's one-way figures; rtpengine
# has no such metric. The relay runs with its defaults: one session in 8
# stamped ([node] forward_delay_sample); BENCH_FORWARD_DELAY=0 turns it off.
# The generator's sending thread runs at SCHED_FIFO when allowed (root), so
# its ticks start on time (late ticks in the table).
# Packet threads' scheduling, the same for both relays: BENCH_SCHED (fifo,
# the production setting of deploy/relay.sample.toml; other or rr) at
# BENCH_SCHED_PRIO (10). Ours gets [node] worker_scheduling/worker_priority,
# rtpengine --scheduling/--priority (its poller, timer and media-player
# threads; ours: its packet workers; neither's control threads). Where
# SCHED_FIFO is not allowed (not root) both fall back to other. The header
# prints what each relay's threads actually got (ps -L).
# A benchmark, not a test: no assertion on the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
repo=$(pwd)

calls_list=100,500,1000
seconds=20
mode=rtp
pin=${BENCH_PIN:-auto}
while [ $# -gt 0 ]; do
  case $1 in
    --pin) pin=1; shift ;;
    --no-pin) pin=0; shift ;;
    --calls) calls_list=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $mode in rtp) modes="rtp" ;; srtp) modes="srtp" ;; both) modes="rtp srtp" ;;
  *) echo "run.sh: --mode rtp|srtp|both" >&2; exit 2 ;; esac

build=${BENCH_BUILD_DIR:-build/loadgen-rel}
warmup=${BENCH_WARMUP:-1}
tick_us=${BENCH_TICK_US:-200}
forward_delay=true
[ "${BENCH_FORWARD_DELAY:-1}" = 0 ] && forward_delay=false
bench_nice=${BENCH_NICE:--10}
sched=${BENCH_SCHED:-fifo}
sched_prio=${BENCH_SCHED_PRIO:-10}
case $sched in other|fifo|rr) ;; *) echo "run.sh: BENCH_SCHED=other|fifo|rr" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/relay-load.XXXXXX)
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'relay_load: %s\n' "$*" >&2; exit 1; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$work"; else echo "work directory kept: $work" >&2; fi
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
prio=(nice -n "$bench_nice")
"${prio[@]}" true 2>/dev/null || { prio=(); bench_nice=0; }
prio_note="nice $bench_nice"
if [ "${BENCH_RT:-0}" = 1 ]; then
  chrt -f 1 true 2>/dev/null || die "BENCH_RT=1 needs chrt and the right to use SCHED_FIFO"
  prio=(chrt -f 1)
  prio_note="SCHED_FIFO 1"
fi
if [ "$sched" != other ] && ! chrt -f 1 true 2>/dev/null; then
  echo "run.sh: SCHED_FIFO not allowed here: both relays' packet threads at other" >&2
  sched=other
fi
rtpe_sched=()
[ "$sched" != other ] && rtpe_sched=(--scheduling="$sched" --priority="$sched_prio")
# "policy/priority xN" per thread class of a process, e.g. "FF/10 x4, TS/- x4".
thread_sched() {
  ps -L -o cls=,rtprio= -p "$1" 2>/dev/null | awk '{k = $1 "/" $2; n[k]++} END {s = ""; for (k in n) s = s (s == "" ? "" : ", ") k " x" n[k]; print s}'
}
gen_cpus=${BENCH_GEN_CPUS:-0}
relay_cpus=${BENCH_RELAY_CPUS:-1}
if [ "$pin" = auto ]; then
  pin=0
  [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && pin=1
fi
gen_pin=()
relay_pin=()
threads=2
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || die "--pin needs taskset (util-linux)"
  gen_pin=(taskset -c "$gen_cpus")
  relay_pin=(taskset -c "$relay_cpus")
  # One packet thread per pinned core (a CPU list such as 1, 1,3 or 2-3).
  threads=$(python3 -c "import sys; print(sum(int(b)-int(a)+1 for a,_,b in (p.partition('-') if '-' in p else (p,'-',p) for p in sys.argv[1].split(','))))" "$relay_cpus")
fi
workers=${BENCH_RELAY_WORKERS:-$threads}
rtpe_threads=${BENCH_RTPENGINE_THREADS:-$threads}

free_port() {  # $1 = tcp|udp
  python3 -c "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1]=='tcp' else socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}
wait_tcp() {  # port pid
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------
say "builds ($build, gcc Release)"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSBC_BUILD_TESTS=ON >/dev/null
fi
targets="relay-loadgen"
have_relay=0
target_list=$(cmake --build "$build" --target help 2>/dev/null || true)
if grep -q '^media-relay:' <<< "$target_list"; then
  targets="$targets media-relay"
  have_relay=1
fi
cmake --build "$build" --target $targets -j2 >/dev/null || die "build failed"
loadgen=$build/tests/bench/relay_load/relay-loadgen
relay_bin=$(find "$build/media-relay" -name media-relay -type f -perm -u+x 2>/dev/null | head -1)
# BENCH_RELAY_BIN: another media-relay binary (an A/B against a copy kept aside).
if [ -n "${BENCH_RELAY_BIN:-}" ]; then relay_bin=$BENCH_RELAY_BIN; have_relay=1; fi
[ $have_relay = 1 ] && [ -z "$relay_bin" ] && have_relay=0

command -v rtpengine >/dev/null || die "rtpengine missing: apt-get install -y rtpengine-daemon"

# ---------------------------------------------------------------------------
say "rtpengine $(rtpengine --version 2>&1 | awk '{print $2}') userspace, $rtpe_threads threads"
ng_port=$(free_port udp)
"${prio[@]}" "${relay_pin[@]}" rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng="127.0.0.1:$ng_port" \
  --foreground --log-stderr --log-level=4 --port-min=20000 --port-max=29999 \
  --num-threads="$rtpe_threads" --delete-delay=0 --timeout=60 "${rtpe_sched[@]}" > "$work/rtpengine.log" 2>&1 &
rtpe_pid=$!
pids+=("$rtpe_pid")
for _ in $(seq 1 100); do
  grep -q 'Startup complete' "$work/rtpengine.log" 2>/dev/null && break
  kill -0 "$rtpe_pid" 2>/dev/null || { cat "$work/rtpengine.log" >&2; die "rtpengine did not start"; }
  sleep 0.1
done

relay_pid=
if [ $have_relay = 1 ]; then
  say "our media-relay ($relay_bin), $workers worker(s)"
  control_port=$(free_port tcp)
  http_port=$(free_port tcp)
  cat > "$work/relay.toml" <<CONF
[node]
log_level = "warn"
workers = $workers
forward_delay = $forward_delay
worker_scheduling = "$sched"
worker_priority = $sched_prio
[realm.inside]
address = "127.0.0.1"
[realm.outside]
address = "127.0.0.1"
[ports]
min = 10000
max = 19999
[control]
address = "127.0.0.1"
port = $control_port
[http]
address = "127.0.0.1"
port = $http_port
CONF
  "${prio[@]}" "${relay_pin[@]}" "$relay_bin" --config "$work/relay.toml" > "$work/relay.log" 2>&1 &
  relay_pid=$!
  pids+=("$relay_pid")
  wait_tcp "$control_port" "$relay_pid" || { cat "$work/relay.log" >&2; die "media-relay did not start"; }
else
  say "our media-relay is not built yet: rtpengine alone"
fi

rtpe_got=$(thread_sched "$rtpe_pid")
ours_got=
[ -n "$relay_pid" ] && ours_got=$(thread_sched "$relay_pid")
say "threads: ours ${ours_got:-none}; rtpengine $rtpe_got"

# ---------------------------------------------------------------------------
results=$work/results
: > "$results"
step() {  # relay-kind control pid calls mode [metrics IP:PORT]
  local out drops metrics=()
  [ -n "${6:-}" ] && metrics=(--relay-metrics "$6")
  python3 "$here/udp_drops.py" save "$work/drops.json" 2>/dev/null || true
  if out=$("${prio[@]}" "${gen_pin[@]}" "$loadgen" --relay "$1" --control "$2" --relay-pid "$3" --calls "$4" --mode "$5" \
      --seconds "$seconds" --warmup "$warmup" --tick-us "$tick_us" --label "$1" "${metrics[@]}" 2>>"$work/loadgen.log"); then
    # Socket receive-queue overflows during the step: on the relays' ports
    # (the relay read too late) or elsewhere (the generator's sockets, or
    # anything else on the machine).
    drops=$(python3 "$here/udp_drops.py" diff "$work/drops.json" 10000-29999=relay 2>/dev/null \
      | sed 's/relay=/drops_relay=/; s/other=/drops_other=/' || true)
    echo "$(echo "$out" | grep '^RESULT') $drops" >> "$results"
  else
    echo "RESULT label=$1 relay=$1 mode=$5 calls=$4 failed=1" >> "$results"
    tail -3 "$work/loadgen.log" >&2
  fi
  sleep 1
}
IFS=, read -r -a steps <<< "$calls_list"
for m in $modes; do
  for n in "${steps[@]}"; do
    if [ $have_relay = 1 ]; then
      say "$m, $n calls: media-relay"
      step ours "127.0.0.1:$control_port" "$relay_pid" "$n" "$m" "127.0.0.1:$http_port"
    fi
    say "$m, $n calls: rtpengine"
    step rtpengine "127.0.0.1:$ng_port" "$rtpe_pid" "$n" "$m"
  done
done

# ---------------------------------------------------------------------------
echo
echo "Media relay benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "NOTE: generator (2 threads), relay and rtpengine share these $(nproc) cores; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Window ${seconds} s per step after ${warmup} s warm-up, generator sub-tick ${tick_us} us; ours: $workers worker(s), forward_delay $forward_delay; rtpengine: $rtpe_threads threads, userspace; generator and relays at $prio_note."
if [ "$sched" = other ]; then
  echo "Packet threads: normal policy for both relays (BENCH_SCHED=other or not permitted)."
else
  echo "Packet threads: SCHED_$(tr a-z A-Z <<< "$sched") priority $sched_prio for both relays (ours worker_scheduling, rtpengine --scheduling/--priority)."
fi
echo "Threads got (ps -L class/rtprio x count): ours ${ours_got:-not run}; rtpengine $rtpe_got."
if [ "$pin" = 1 ]; then
  echo "Pinned: generator on CPU(s) $gen_cpus, each relay on CPU(s) $relay_cpus (taskset)."
else
  echo "Not pinned: generator and relay share all cores."
fi
echo
awk -v ours=$have_relay '
function val(line, key,   re, m) {
  re = " " key "=[^ ]*"
  if (match(" " line, re)) { m = substr(" " line, RSTART + length(key) + 2, RLENGTH - length(key) - 2); return m }
  return ""
}
{
  k = val($0, "mode") SUBSEP val($0, "calls"); r = val($0, "relay")
  if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  row[k, r] = $0
}
function cell(line, internal) {
  if (line == "") return internal ? "| - | - | - | - | - | - " : "| - | - | - | - | - "
  if (val(line, "failed") == "1") return internal ? "| failed | | | | | " : "| failed | | | | "
  c = sprintf("| %s / %s | %s (%s/%s) | %s / %s ", val(line, "pps"), val(line, "offered_pps"), val(line, "loss_pct"),
              val(line, "drops_relay"), val(line, "drops_other"), val(line, "p50_us"), val(line, "p99_us"))
  if (internal) c = c sprintf("| %s / %s ", val(line, "relay_p50_us"), val(line, "relay_p99_us"))
  return c sprintf("| %s (%s) | %s (%s) ", val(line, "relay_us_per_pkt"), val(line, "relay_user_us_per_pkt"), val(line, "gen_cpu_pct"), val(line, "late_ticks"))
}
END {
  printf "| mode | calls | ours pps fwd / offered | loss %% (drops relay/other) | p50/p99 us | relay-internal p50/p99 us | CPU us/pkt (user) | gen %% (late ticks) | rtpengine pps fwd / offered | loss %% (drops relay/other) | p50/p99 us | CPU us/pkt (user) | gen %% (late ticks) | CPU ratio ours/rtpe |\n"
  printf "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, parts, SUBSEP)
    o = row[k, "ours"]; e = row[k, "rtpengine"]
    ratio = "-"
    if (o != "" && e != "" && val(o, "relay_us_per_pkt") + 0 > 0 && val(e, "relay_us_per_pkt") + 0 > 0)
      ratio = sprintf("%.2f", val(o, "relay_us_per_pkt") / val(e, "relay_us_per_pkt"))
    printf "| %s | %s %s%s| %s |\n", parts[1], parts[2], cell(o, 1), cell(e, 0), ratio
  }
}' "$results"
echo
echo "p50/p99: one-way, the generator's send() to the kernel's receive stamp of the forwarded packet. relay-internal: our relay's own relay_forward_delay_seconds over the window (kernel receive stamp to its send); rtpengine has no such metric. CPU us/pkt (user): utime+stime of the relay process per forwarded packet (its user-space part). late ticks: generator sub-ticks started more than 2 ms late (the generator's sending thread runs at SCHED_FIFO when allowed)."
echo
echo "Raw generator lines: (loss counts packets sent in the window that did not arrive; latency is one-way, send() to kernel receive stamp)"
sed 's/^/  /' "$results"
