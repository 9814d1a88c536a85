#!/usr/bin/env bash
# Do SIP calls keep flowing while the console is hammered? A steady SIPp call
# load through a release sbc, first alone, then while wrk hammers the
# console's cached authenticated GET; plus wrk alone for the console's own
# baseline. Prints the three runs side by side.
#
#   tests/bench/console_load/sip_and_wrk.sh [calls/s] [seconds] [wrk connections]
#   (defaults 300 calls/s, 30 s per run, 50 connections)
#
# SIPp uac (127.0.0.2) -> sbc -> SIPp uas (127.0.0.3), UDP, zero-length calls
# (tests/bench/sip_load/uac_rr.xml and uas_rr.xml, INVITE/180/200/ACK/BYE/200),
# with the sbc, PostgreSQL and trunks set up by tests/bench/sip_load/common.sh.
# sbc-admin on the same database (auth cache on, the default); wrk -t1
# --latency on GET /api/v1/session with a session cookie and keep-alive
# (the GET of console_load/run.sh). While SIPp runs, wrk starts 2 s after the
# first call and stops 2 s before the last.
#   SIP CPU per call: the sbc's utime+stime (/proc/PID/stat) over the run
#                     divided by the calls completed
#   INVITE->200:      SIPp's response-time (rtd on the 200) mean and the
#                     ResponseTimeRepartition bucket holding the 99th percentile
#   console:          wrk's requests/s and p99; sbc-admin CPU per request
#
# Settings: BENCH_BUILD_DIR (default build/release; needs sbc, sbc-migrate and
# sbc-admin there: cmake --preset release -B DIR && cmake --build DIR
# --target sbc sbc-admin sbc-migrate), BENCH_PG_PORT (default 55497),
# BENCH_KEEP=1 keeps the work directory. A benchmark, not a test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
rate=${1:-300}
seconds=${2:-30}
conns=${3:-50}
sip_dir=$here/../sip_load
# shellcheck source-path=SCRIPTDIR source=../sip_load/common.sh
. "$sip_dir/common.sh"
admin_bin=$repo/$build/admin-ui/sbc-admin

command -v wrk >/dev/null || die "wrk missing: apt-get install wrk"
bench_build
[ -x "$admin_bin" ] || die "no $admin_bin: cmake --build $build --target sbc-admin"

uas_port=$(free_port 127.0.0.3)
bench_database "$uas_port" 100000
say "starting the sbc ($sbc_bin), the SIPp uas and sbc-admin"
bench_start_sbc
sipp -sf "$sip_dir/uas_rr.xml" -i 127.0.0.3 -p "$uas_port" -nostdin -buff_size 4194304 \
  -mp "$(free_port 127.0.0.3)" -trace_err -error_file "$work/uas.err" >"$work/uas.out" 2>&1 &
pids+=("$!")

cat >"$work/admin.toml" <<TOML
log_level = "warn"
[http]
address = "127.0.0.1"
port = 0
[database]
dsn = "$dsn"
migrate = false
TOML
"$admin_bin" create-admin --config "$work/admin.toml" --username bench \
  --password-stdin <<<"bench-password-123" >/dev/null 2>&1 || die "create-admin failed"
# log_level warn hides the listening line: pick the port here instead.
admin_port=$(free_port 127.0.0.1)
sed -i "s/^port = 0$/port = $admin_port/" "$work/admin.toml"
"$admin_bin" --config "$work/admin.toml" >"$work/admin.log" 2>&1 &
admin_pid=$!
pids+=("$admin_pid")
cookie=$(python3 - "$admin_port" <<'PY'
import http.client, json, sys, time
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
        c.request("POST", "/api/v1/login", json.dumps({"username": "bench", "password": "bench-password-123"}),
                  {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        if r.status == 200:
            print(r.getheader("Set-Cookie").split(";", 1)[0]); break
    except OSError:
        pass
    time.sleep(0.1)
PY
)
[ -n "$cookie" ] || { tail "$work/admin.log" >&2; die "login to sbc-admin failed"; }
target=http://127.0.0.1:$admin_port/api/v1/session
wrk -t1 -c4 -d2s -H "Cookie: $cookie" "$target" >/dev/null  # warm up (session cached)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# stats FILE -> "successful failed mean_ms p99_bucket" from a SIPp -trace_stat file
stats() {
  python3 - "$1" <<'PY'
import sys
rows = [r.rstrip("\n").split(";") for r in open(sys.argv[1]) if r.strip()]
d = dict(zip(rows[0], rows[-1]))
def ms(v):
    h, m, s, us = (v or "0:0:0:0").split(":")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(us) / 1000
buckets = [(k.split("_", 1)[1], int(v or 0)) for k, v in d.items()
           if k.startswith("ResponseTimeRepartition1_")]
total, acc, p99 = sum(c for _, c in buckets), 0, "?"
for label, c in buckets:
    acc += c
    if total and acc >= 0.99 * total:
        p99 = label
        break
print(int(d.get("SuccessfulCall(C)", 0)), int(d.get("FailedCall(C)", 0)),
      f"{ms(d.get('ResponseTime1(C)')):.2f}", p99)
PY
}

# wrk_run SECONDS OUT: wrk with --latency; prints "req/s p99 admin_cpu_us_per_req"
wrk_run() {
  local c0 c1
  c0=$(ticks "$admin_pid")
  wrk -t1 -c"$conns" -d"$1s" --latency -H "Cookie: $cookie" "$target" >"$2"
  c1=$(ticks "$admin_pid")
  python3 - "$2" "$c0" "$c1" "$hz" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
m = re.search(r"(\d+) requests in", text)
n = int(m.group(1)) if m else 0
cpu = (int(sys.argv[3]) - int(sys.argv[2])) * 1e6 / int(sys.argv[4]) / n if n else 0
print(f"{rps:.0f}", p99, f"{cpu:.0f}")
PY
}

# sip_run NAME [wrk]: one SIPp uac run of $seconds at $rate; sets sip_line
# (and wrk_line when wrk ran alongside)
sip_run() {
  local name=$1 out=$work/uac_$1 c0 c1 pid rc ok failed mean p99 cpu
  c0=$(ticks "$sbc_pid")
  sipp -sf "$sip_dir/uac_rr.xml" "127.0.0.1:$sbc_in_port" -i 127.0.0.2 -p "$(free_port 127.0.0.2)" \
    -mp "$(free_port 127.0.0.2)" -s 12125550123 -m "$((rate * seconds))" -r "$rate" -rp 1000 \
    -nostdin -buff_size 4194304 -default_behaviors all,-abortunexp \
    -trace_stat -stf "$out.csv" -fd 1 -trace_err -error_file "$out.err" \
    -recv_timeout 5000 -timeout "$((seconds + 30))s" -timeout_error >"$out.screen" 2>&1 &
  pid=$!
  if [ "${2:-}" = wrk ]; then
    sleep 2
    read -r wrk_rps wrk_p99 wrk_cpu < <(wrk_run "$((seconds - 4))" "$work/wrk_$name.txt")
  fi
  set +e
  wait "$pid"
  rc=$?
  set -e
  c1=$(ticks "$sbc_pid")
  read -r ok failed mean p99 < <(stats "$out.csv")
  cpu=$( [ "$ok" -gt 0 ] && echo "($c1 - $c0) * 1000000 / $hz / $ok" | bc -l || echo 0)
  sip_ok=$ok sip_failed=$failed sip_mean=$mean sip_p99=$p99 sip_rc=$rc
  sip_cpu=$(printf '%.0f' "$cpu")
}

say "1/3 SIP alone: $rate calls/s for $seconds s"
sip_run alone
a=("$sip_ok" "$sip_failed" "$sip_cpu" "$sip_mean" "$sip_p99" "$sip_rc")
say "2/3 SIP while wrk -t1 -c$conns hammers GET /api/v1/session"
sip_run loaded wrk
b=("$sip_ok" "$sip_failed" "$sip_cpu" "$sip_mean" "$sip_p99" "$sip_rc")
wb=("$wrk_rps" "$wrk_p99" "$wrk_cpu")
say "3/3 wrk alone ($((seconds - 4)) s)"
read -r w_rps w_p99 w_cpu < <(wrk_run "$((seconds - 4))" "$work/wrk_alone.txt")

echo
say "side by side ($(nproc) cores shared by SIPp x2, the sbc, sbc-admin, PostgreSQL and wrk; load $(cut -d' ' -f1-3 /proc/loadavg))"
row() { printf '    %-34s %14s %14s %14s\n' "$@"; }
row "" "SIP alone" "SIP + wrk" "wrk alone"
row "SIP calls completed / failed" "${a[0]} / ${a[1]}" "${b[0]} / ${b[1]}" "-"
row "SIP CPU per call (sbc)" "${a[2]} us" "${b[2]} us" "-"
row "INVITE->200 mean" "${a[3]} ms" "${b[3]} ms" "-"
row "INVITE->200 p99 (SIPp bucket)" "${a[4]} ms" "${b[4]} ms" "-"
row "console requests/s" "-" "${wb[0]}" "$w_rps"
row "console p99" "-" "${wb[1]}" "$w_p99"
row "console CPU per request" "-" "${wb[2]} us" "$w_cpu us"
[ "${a[5]}" = 0 ] && [ "${b[5]}" = 0 ] || echo "    (SIPp exit codes: alone ${a[5]}, with wrk ${b[5]})"
