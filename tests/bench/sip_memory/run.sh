#!/usr/bin/env bash
# Memory per established call: N long calls through the sbc, VmRSS before
# and after.
#
#   tests/bench/sip_memory/run.sh                   100,000 calls at 1,000/s (~4 min)
#   tests/bench/sip_memory/run.sh --calls 2000 --rate 500    a smoke
#
# SIPp's built-in uac (127.0.0.2) -> sbc -> built-in uas (127.0.0.3), UDP,
# calls held (-d) until measured; the sbc as in sip_load (release build,
# topology hiding, channel accounting, CDRs to PostgreSQL, log level warn).
# Printed: VmRSS of the sbc idle, once every call is up, and again after the
# set-up transactions have expired (64*T1 = 32 s), each divided by N; and the
# slope: VmRSS growth per call between N/2 and N calls up. At a steady rate
# the set-up transactions alive (rate x 32 s) are the same at both points, so
# the slope is what one more established call keeps (both legs, their SDP),
# the figure to compare with the target (<= 3 KiB a call; 100,000 calls under
# 512 MiB). The absolute figures also hold glibc's high-water mark of those
# transactions, which it does not hand back to the kernel. Kamailio is not
# measured here: its dialogs live in a preallocated shared-memory pool, which
# VmRSS does not separate per call (PERFORMANCE.md quotes its 1.1-1.7 KiB a
# dialog from its own statistics).
#
# Settings: --calls N (100000), --rate R (1000), BENCH_BUILD_DIR (build/release,
# built if missing), BENCH_SBC_BIN (measure that sbc binary instead),
# BENCH_SBC_WRAP (a prefix, e.g. "env MALLOC_ARENA_MAX=2"), BENCH_TRIM=1
# (also VmRSS after a malloc_trim(0) through gdb), BENCH_PG_PORT (55497),
# BENCH_KEEP=1. Not a test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
calls=100000
rate=1000
while [ $# -gt 0 ]; do
  case $1 in
    --calls) calls=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: $0 [--calls N] [--rate R]" >&2; exit 2 ;;
  esac
done
# shellcheck source=../sip_load/common.sh
. "$here/../sip_load/common.sh"
# BENCH_SBC_BIN: another sbc binary to measure (e.g. a copy built before a
# change), with the build's sbc-migrate for the schema.
sbc_bin=${BENCH_SBC_BIN:-$sbc_bin}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
active_calls() {  # calls holding a channel on the carrier trunk (each call once)
  curl -fsS -m 2 "http://127.0.0.1:$mgmt_port/metrics" 2>/dev/null |
    awk '/^sbc_calls_active\{/ && /trunk="carrier"/ {n += $NF} END {printf "%d\n", n}'
}

say "peers and tools"
bench_build
uas_port=$(free_port 127.0.0.3)
bench_database "$uas_port" $((calls * 2))
say "starting the sbc ($sbc_bin)"
bench_start_sbc

# Several sockets' worth of queue: SIPp and the sbc exchange ~6 datagrams a
# call set-up.
ulimit -n 65536 2>/dev/null || true
sipp -sn uas -i 127.0.0.3 -p "$uas_port" -nostdin -buff_size 4194304 \
  -mp "$(free_port 127.0.0.3)" >"$work/uas.out" 2>&1 &
pids+=("$!")
sleep 0.5

sleep 1
rss0=$(rss_kib "$sbc_pid")
setup_s=$((calls / rate + 1))
# Held far longer than any set-up takes on a busy machine; torn down by
# killing SIPp at the end.
hold_ms=3600000
say "opening $calls calls at $rate/s (held $((hold_ms / 1000)) s); sbc VmRSS idle: $rss0 KiB"
sipp -sn uac 127.0.0.1:"$sbc_in_port" -i 127.0.0.2 -p "$(free_port 127.0.0.2)" \
  -mp "$(free_port 127.0.0.2)" -s 12125550123 -m "$calls" -l "$calls" -r "$rate" -rp 1000 \
  -d "$hold_ms" -nostdin -buff_size 4194304 -max_socket 65536 >"$work/uac.out" 2>&1 &
uac_pid=$!
pids+=("$uac_pid")

up=0
half_calls=0
half_rss=0
start_s=$SECONDS
last=-1
still=0
for _ in $(seq 1 $((setup_s * 8 + 240))); do
  up=$(active_calls)
  # Calls SIPp gave up on never come: stop once the count holds for 10 s.
  if [ "${up:-0}" = "$last" ]; then still=$((still + 1)); else still=0; last=${up:-0}; fi
  [ "$still" -ge 20 ] && break
  if [ "$half_calls" = 0 ] && [ "${up:-0}" -ge $((calls / 2)) ]; then
    half_rss=$(rss_kib "$sbc_pid")
    half_calls=$up
  fi
  [ "${up:-0}" -ge "$calls" ] && break
  kill -0 "$uac_pid" 2>/dev/null || break
  sleep 0.5
done
took=$((SECONDS - start_s))
sleep 3  # the last ACKs
rss1=$(rss_kib "$sbc_pid")
say "calls up: $up of $calls in ${took} s (about $((up / (took > 0 ? took : 1)))/s); sbc VmRSS $rss1 KiB"
[ "${up:-0}" -ge "$calls" ] || echo "    warning: not every call came up (see $work/uac.err with BENCH_KEEP=1)"
say "waiting 40 s for the set-up transactions to expire (64*T1)"
sleep 40
up2=$(active_calls)
rss2=$(rss_kib "$sbc_pid")
rss3=
if [ -n "${BENCH_TRIM:-}" ] && command -v gdb >/dev/null; then
  # How much of VmRSS is memory glibc holds free: ask it to hand that back
  # (malloc_trim(0) from gdb, timed: the sbc does not do this by itself).
  t0=$(date +%s%N)
  gdb -p "$sbc_pid" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1 || true
  trim_ms=$((($(date +%s%N) - t0) / 1000000))
  rss3=$(rss_kib "$sbc_pid")
fi

per_call() { echo "($1 - $rss0) * 1024 / $up" | bc; }
echo
say "summary: sbc memory per established call ($up calls, both legs, SDP kept)"
printf '    %-44s %10s %12s\n' "" "VmRSS KiB" "bytes/call"
printf '    %-44s %10s %12s\n' "idle" "$rss0" "-"
if [ "${up:-0}" -gt 0 ]; then
  printf '    %-44s %10s %12s\n' "all calls up (set-up transactions alive)" "$rss1" "$(per_call "$rss1")"
  printf '    %-44s %10s %12s\n' "40 s later ($up2 calls still up)" "$rss2" "$(per_call "$rss2")"
  [ -n "$rss3" ] && printf '    %-44s %10s %12s\n' "after malloc_trim(0) (gdb, ${trim_ms} ms)" "$rss3" \
    "$(per_call "$rss3")"
fi
if [ "$half_calls" -gt 0 ] && [ "$up" -gt "$half_calls" ]; then
  printf '    %-44s %10s %12s\n' "slope from $half_calls to $up calls up" "+$((rss1 - half_rss))" \
    "$(echo "($rss1 - $half_rss) * 1024 / ($up - $half_calls)" | bc)"
fi
