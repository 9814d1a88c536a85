#!/usr/bin/env bash
# Calls per second: the sbc against Kamailio 5.6, side by side in one run.
#
#   tests/bench/sip_load/run.sh            the full run (~10 min on 2 cores)
#   BENCH_RATES="200" BENCH_CALLS=2000 tests/bench/sip_load/run.sh   a smoke
#
# SIPp uac (127.0.0.2) -> peer -> SIPp uas (127.0.0.3), UDP, zero-length
# calls (INVITE/180/200/ACK/BYE/200), -buff_size 4194304, BENCH_CALLS (>=
# 20,000) calls per step; the rate rises step by step (BENCH_RATES) and each
# peer stops at its first step with a failed call (or that falls 10% short
# of the rate). The peers, in alternation at each rate:
#   sbc       the release build: topology hiding, channel accounting (a limit
#             on the carrier trunk), CDRs written to PostgreSQL, log level warn
#   kamailio  5.6 as an SBC-like stateful proxy (kamailio.cfg.in: tm, rr,
#             dialog with a per-trunk profile limit, topoh), children=2,
#             -x tlsf -X tlsf -m 3072 (PERFORMANCE.md)
# A proxy with several workers may relay a 180 after its 200 (UDP has no
# order): the UAC runs with -default_behaviors all,-abortunexp so that a late
# provisional response is ignored rather than aborting the call; anything
# else unexpected still fails the call by its receive timeout.
# CPU per call is the peer's utime+stime (/proc/PID/stat; Kamailio: all its
# processes) over the step divided by the calls completed.
#
# Settings: BENCH_BUILD_DIR (default build/release; built if missing),
# BENCH_PG_PORT (55497), BENCH_RATES, BENCH_CALLS, BENCH_PEERS ("sbc kam";
# "sbc" alone for profiling), BENCH_KEEP=1 keeps the work directory,
# BENCH_SBC_BIN another sbc binary (A/B), BENCH_PRESIZE_CPS the sbc's [sip]
# presize_cps (8000), BENCH_SETTLE (40): before each step, wait up to that
# many seconds until both peers together use under 5% of a core over a
# second, so that neither step carries the other peer's after-work (Kamailio
# freeing its transactions and dialogs, the sbc's 32-s lingering ones); 0
# runs the steps back to back as before session 9. Not a test: no assertion
# on the figures.
#
# Scheduling, the same for both peers: BENCH_SCHED (other, the default: the
# normal policy, as every run before; fifo; rr) at BENCH_SCHED_PRIO (5, the
# sip_priority of deploy/sbc.sample.toml). Not fifo by default: here the SIPp
# generators share the two cores with the peer and sit in the measured path,
# and a real-time peer moves its run-queue wait onto them, so both peers'
# INVITE->200 tail got worse at fifo (docs/PERFORMANCE.md, session 9,
# sipsched); the relay bench pins generator and relays apart. The sbc gets
# [node] sip_scheduling/sip_priority (its SIP thread only); Kamailio gets
# real_time=7 rt_policy/rt_prio and the timer equivalents (every process: its
# two workers and its timers). SIPp stays at the normal policy. Where
# SCHED_FIFO is not allowed (not root) both fall back to other. The header
# prints what each peer's threads got (ps -L class/rtprio);
# BENCH_KAM_REALTIME replaces Kamailio's lines (e.g. "real_time=4\nrt_policy=2
# \nrt_prio=5": its timers normal). Each step's wait_us is the run-queue wait
# per call of the peer's SIP threads (/proc schedstat): what a real-time
# policy removes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
rates=${BENCH_RATES:-"1000 1500 2000 2500 3000 3500 4000 5000 6000"}
calls=${BENCH_CALLS:-20000}
peers=${BENCH_PEERS:-"sbc kam"}
# The sbc's tables sized for the highest step, so that no step rehashes them
# (docs/PERFORMANCE.md, session 6 tail latency).
export BENCH_PRESIZE_CPS=${BENCH_PRESIZE_CPS:-8000}
sched=${BENCH_SCHED:-other}
sched_prio=${BENCH_SCHED_PRIO:-5}
case $sched in other|fifo|rr) ;; *) echo "run.sh: BENCH_SCHED=other|fifo|rr" >&2; exit 2 ;; esac
if [ "$sched" != other ] && ! chrt -f 1 true 2>/dev/null; then
  echo "run.sh: SCHED_FIFO not allowed here: both peers at other" >&2
  sched=other
fi
kam_realtime=""
if [ "$sched" != other ]; then
  export BENCH_SBC_NODE="sip_scheduling = \"$sched\"
sip_priority = $sched_prio"
  kp=$([ "$sched" = fifo ] && echo 2 || echo 1)  # Kamailio: 1 SCHED_RR, 2 SCHED_FIFO
  kam_realtime="real_time=7\nrt_policy=$kp\nrt_prio=$sched_prio\nrt_timer1_policy=$kp\nrt_timer1_prio=$sched_prio\nrt_timer2_policy=$kp\nrt_timer2_prio=$sched_prio"
fi
kam_realtime=${BENCH_KAM_REALTIME:-$kam_realtime}
# shellcheck source=common.sh
. "$here/common.sh"

# ---------------------------------------------------------------------------
say "peers and tools"
if [[ " $peers " == *" kam "* ]] && ! command -v kamailio >/dev/null; then
  [ "$(id -u)" = 0 ] || die "kamailio missing and not root: apt-get install kamailio"
  echo "    installing kamailio (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio >/dev/null
fi
{ kamailio -v 2>/dev/null || true; } | sed -n '1s/^/    /p'
bench_build

# ---------------------------------------------------------------------------
uas_sbc_port=$(free_port 127.0.0.3)
uas_kam_port=$(free_port 127.0.0.3)
kam_port=$(free_port 127.0.0.1)
limit=100000  # both peers count channels against a limit never reached
bench_database "$uas_sbc_port" "$limit"

say "starting the sbc ($sbc_bin) and kamailio"
bench_start_sbc

if [[ " $peers " == *" kam "* ]]; then
  sed -e "s/@PORT@/$kam_port/" -e "s/@UAS@/127.0.0.3:$uas_kam_port/" -e "s/@LIMIT@/$limit/" \
    -e "s/@REALTIME@/$kam_realtime/" "$here/kamailio.cfg.in" >"$work/kamailio.cfg"
  kamailio -f "$work/kamailio.cfg" -DD -E -x tlsf -X tlsf -m 3072 -M 32 >"$work/kamailio.log" 2>&1 &
  kam_pid=$!
  pids+=("$kam_pid")
  sleep 1
  kill -0 "$kam_pid" 2>/dev/null || { tail "$work/kamailio.log" >&2; die "kamailio exited"; }
fi

thread_sched() {  # "CLS/RTPRIO xN, ..." over every thread of the given pids
  ps -L -o cls=,rtprio= -p "$1" 2>/dev/null | awk '{k = $1 "/" $2; n[k]++} END {s = ""; for (k in n) s = s (s == "" ? "" : ", ") k " x" n[k]; print s}'
}
if [ "$sched" = other ]; then
  echo "    scheduling: normal policy for both peers (BENCH_SCHED=other or not permitted)"
else
  echo "    scheduling: SCHED_${sched^^} priority $sched_prio for both peers (sbc: sip_scheduling, its SIP thread; kamailio: real_time=7, every process)"
fi
echo "    threads got (ps -L class/rtprio x count): sbc $(thread_sched "$sbc_pid")${kam_pid:+; kamailio $(thread_sched "$kam_pid,$(pgrep -d, -P "$kam_pid")")}"

for peer in $peers; do
  port_var=uas_${peer}_port
  sipp -sf "$here/uas_rr.xml" -i 127.0.0.3 -p "${!port_var}" -nostdin -buff_size 4194304 \
    -mp "$(free_port 127.0.0.3)" -trace_err -error_file "$work/uas_$peer.err" \
    >"$work/uas_$peer.out" 2>&1 &
  pids+=("$!")
done
sleep 0.5

# ---------------------------------------------------------------------------
cpu_ticks() {  # utime+stime of a pid and its children processes (Kamailio forks);
  # with a second argument "usr", utime alone (the rest is the kernel's)
  local total=0 p field='$14 + $15'
  [ "${2:-}" = usr ] && field='$14'
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk "{print $field}" "/proc/$p/stat")))
  done
  echo $total
}

# Run-queue wait (ns, /proc schedstat field 2) of the peer's SIP threads:
# the sbc's SIP thread (tid = pid), every Kamailio process. What a real-time
# policy removes: time runnable but not running.
runq_ns() {
  local total=0 p t
  if [ "$1" = "$sbc_pid" ]; then
    t=$(awk '{print $2}' "/proc/$1/task/$1/schedstat" 2>/dev/null || echo 0)
    echo "${t:-0}"
    return
  fi
  for p in "$1" $(pgrep -P "$1" || true); do
    t=$(awk '{print $2}' "/proc/$p/schedstat" 2>/dev/null || echo 0)
    total=$((total + ${t:-0}))
  done
  echo $total
}

stat_summary() {  # SIPp -trace_stat file -> "successful failed call_rate mean_ms p99_ms over_10ms"
  python3 - "$1" <<'EOF'
import sys
rows = [r.rstrip("\n").split(";") for r in open(sys.argv[1]) if r.strip()]
d = dict(zip(rows[0], rows[-1]))
ok, failed = int(d.get("SuccessfulCall(C)", 0)), int(d.get("FailedCall(C)", 0))
def ms(v):
    h, m, s, us = (v or "0:0:0:0").split(":")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(us) / 1000
mean = ms(d.get("ResponseTime1(C)"))
buckets = [(k.split("_", 1)[1], int(v or 0)) for k, v in d.items()
           if k.startswith("ResponseTimeRepartition1_")]
total = sum(c for _, c in buckets)
p99, acc = "?", 0
for label, c in buckets:
    acc += c
    if total and acc >= 0.99 * total:
        p99 = label
        break
# Calls whose INVITE->200 took 10 ms or more (the p99 target's bound): the
# buckets "<20" and up, and ">=500" ("<10" holds 5-10 ms).
over10 = sum(c for label, c in buckets
             if label.startswith(">=") or (label.startswith("<") and float(label[1:]) > 10))
try:
    rate = float(d.get("CallRate(C)", 0))
except ValueError:
    rate = 0.0
print(ok, failed, f"{rate:.0f}", f"{mean:.1f}", p99, over10)
EOF
}

# Waits (up to BENCH_SETTLE s) until the peers' processes together used
# under 5% of a core over the last second; sets settled_s.
settle_max=${BENCH_SETTLE:-40}
settled_s=0
settle() {
  local t0=$SECONDS a b p
  settled_s=0
  [ "$settle_max" -gt 0 ] || return 0
  while [ $((SECONDS - t0)) -lt "$settle_max" ]; do
    a=0
    for p in ${sbc_pid:-} ${kam_pid:-}; do a=$((a + $(cpu_ticks "$p"))); done
    sleep 1
    b=0
    for p in ${sbc_pid:-} ${kam_pid:-}; do b=$((b + $(cpu_ticks "$p"))); done
    [ $(((b - a) * 20)) -lt "$hz" ] && break
  done
  settled_s=$((SECONDS - t0))
}

declare -A failed_at=()
results=()
step() {  # peer rate: runs one step, prints and records its line
  local peer=$1 rate=$2 target pid c0 c1 out
  if [ "$peer" = sbc ]; then target=127.0.0.1:$sbc_in_port; pid=$sbc_pid; else target=127.0.0.1:$kam_port; pid=$kam_pid; fi
  out=$work/uac_${peer}_$rate
  settle
  c0=$(cpu_ticks "$pid")
  u0=$(cpu_ticks "$pid" usr)
  w0=$(runq_ns "$pid")
  set +e
  sipp -sf "$here/uac_rr.xml" "$target" -i 127.0.0.2 -p "$(free_port 127.0.0.2)" \
    -mp "$(free_port 127.0.0.2)" -s 12125550123 -m "$calls" -r "$rate" -rp 1000 -nostdin \
    -buff_size 4194304 -default_behaviors all,-abortunexp \
    -trace_stat -stf "$out.csv" -fd 1 -trace_err -error_file "$out.err" \
    -recv_timeout 5000 -timeout "$((calls / rate + 30))s" -timeout_error >"$out.screen" 2>&1
  local rc=$?
  set -e
  c1=$(cpu_ticks "$pid")
  u1=$(cpu_ticks "$pid" usr)
  w1=$(runq_ns "$pid")
  local ok failed cps mean p99 over10 cpu_us usr_us verdict=ok line
  # SIPp's own cumulative call rate: what it managed to start per second.
  read -r ok failed cps mean p99 over10 < <(stat_summary "$out.csv")
  cpu_us=$( [ "$ok" -gt 0 ] && echo "($c1 - $c0) * 1000000 / $hz / $ok" | bc -l || echo 0)
  usr_us=$( [ "$ok" -gt 0 ] && echo "($u1 - $u0) * 1000000 / $hz / $ok" | bc -l || echo 0)
  wait_us=$( [ "$ok" -gt 0 ] && echo "($w1 - $w0) / 1000 / $ok" | bc -l || echo 0)
  if [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "$ok" -lt "$calls" ] \
     || [ "$(echo "$cps < 0.9 * $rate" | bc -l)" = 1 ]; then
    verdict=FAIL
    failed_at[$peer]=$rate
  fi
  line=$(printf '%-8s %6d %7d %7d %9.0f %8.0f %7.0f %9s %8s %8s %7.1f %8d  %s' "$peer" "$rate" \
    "$ok" "$failed" "$cps" "$cpu_us" "$usr_us" "$mean" "$p99" "$over10" "$wait_us" "$settled_s" "$verdict")
  echo "$line"
  results+=("$line")
}

say "stepping the rate: $rates (calls/s), $calls calls per step"
printf '%-8s %6s %7s %7s %9s %8s %7s %9s %8s %8s %7s %8s  %s\n' peer rate calls failed "calls/s" \
  "cpu_us" "usr_us" "mean_ms" "p99_ms" ">=10ms" "wait_us" "settle_s" verdict
echo "    (calls/s: SIPp's achieved rate; cpu_us: peer CPU per call, usr_us the user-space part"
echo "     of it (the rest is the kernel's: sockets, wakeups, page faults); p99_ms: SIPp's bucket;"
echo "     >=10ms: calls whose INVITE->200 took 10 ms or more; wait_us: run-queue wait per"
echo "     call of the peer's SIP threads: the sbc's SIP thread, every Kamailio process;"
echo "     settle_s: seconds waited before the step for both peers to go quiet)"
for rate in $rates; do
  for peer in $peers; do
    [ -n "${failed_at[$peer]:-}" ] && continue
    step "$peer" "$rate"
  done
  all_failed=1
  for peer in $peers; do [ -n "${failed_at[$peer]:-}" ] || all_failed=0; done
  [ $all_failed = 1 ] && break
done

# ---------------------------------------------------------------------------
best() {  # highest rate a peer passed, and its CPU per call there
  printf '%s\n' "${results[@]}" | awk -v p="$1" '$1 == p && $NF == "ok" {r = $2; c = $6} END {print (r ? r : 0), (c ? c : "-")}'
}
read -r sbc_best sbc_cpu < <(best sbc)
read -r kam_best kam_cpu < <(best kam)
echo
say "summary (same run, same machine; $(nproc) cores shared with SIPp)"
printf '    %-28s %12s %12s\n' "" sbc kamailio
printf '    %-28s %12s %12s\n' "highest zero-failure rate" "$sbc_best/s" "$kam_best/s"
printf '    %-28s %12s %12s\n' "CPU per call at that rate" "${sbc_cpu} us" "${kam_cpu} us"
printf '    %-28s %12s %12s\n' "first failing rate" "${failed_at[sbc]:-none}" "${failed_at[kam]:-none}"
printf '    %-28s %12s %12s\n' "scheduling (BENCH_SCHED)" "$sched/$([ "$sched" = other ] && echo - || echo "$sched_prio")" "same"
# The CDR writer batches: count after the sbc has stopped (SIGTERM flushes).
kill -TERM "$sbc_pid" 2>/dev/null || true
for _ in $(seq 1 300); do kill -0 "$sbc_pid" 2>/dev/null || break; sleep 0.1; done
sbc_calls=$(printf '%s\n' "${results[@]}" | awk '$1 == "sbc" {n += $3} END {print n + 0}')
cdrs=$(psql -X -q -At -d "$dsn" -c "SELECT count(*) FROM cdrs" 2>/dev/null || echo "?")
echo "    CDRs written by the sbc: $cdrs for $sbc_calls calls"
