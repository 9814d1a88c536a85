#!/bin/sh
# sbc-drain: take an sbc node out of service without cutting calls.
#
#   sbc-drain [--url http://127.0.0.1:8080] [--timeout SECONDS] [--exit] [--undo]
#
# POSTs /api/drain to the node's mgmt API (new INVITEs then get 503 with
# Retry-After, so PBXs and carriers fail over; calls in progress and their
# in-dialog requests go on; /healthz answers 503 "draining"), then waits until
# no call is left or the timeout (default 300 s) passes. --exit asks the sbc
# to stop by itself once idle (POST /api/drain?exit=1). --undo takes calls
# again (DELETE /api/drain). Exit status: 0 idle (or undone), 1 calls still up
# at the timeout, 2 the mgmt API did not answer.
#
# Used by the Kubernetes pre-stop hook (deploy/k8s/sbc-daemonset.yaml) and
# systemd's ExecStop (deploy/systemd/sbc.service). The drain requests are only
# accepted from the machine itself. Needs curl.
set -u
url=${SBC_MGMT_URL:-http://127.0.0.1:8080}
timeout=${DRAIN_SECONDS:-300}
query=""
method=POST
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --exit) query="?exit=1"; shift ;;
    --undo) method=DELETE; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "sbc-drain: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ! curl -fsS -m 5 -X "$method" "$url/api/drain$query" >/dev/null; then
  echo "sbc-drain: $method $url/api/drain failed" >&2
  exit 2
fi
[ "$method" = DELETE ] && { echo "sbc-drain: taking calls again"; exit 0; }

# GET /api/drain answers {"draining":true,...,"active_calls":N}.
waited=0
while :; do
  calls=$(curl -fsS -m 5 "$url/api/drain" 2>/dev/null |
          sed -n 's/.*"active_calls":\([0-9][0-9]*\).*/\1/p')
  if [ -z "$calls" ]; then
    # Gone: with --exit the sbc stops by itself once idle.
    [ -n "$query" ] && { echo "sbc-drain: the sbc has stopped"; exit 0; }
    echo "sbc-drain: $url/api/drain stopped answering" >&2
    exit 2
  fi
  if [ "$calls" = 0 ]; then
    echo "sbc-drain: no call left after ${waited}s"
    exit 0
  fi
  if [ "$waited" -ge "$timeout" ]; then
    echo "sbc-drain: $calls calls still up after ${timeout}s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done
