#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running SBC on this host.
#   deploy/quickstart.sh          install, build (release), run the SBC in the foreground
# The SBC listens as deploy/sbc.sample.toml says (inside: 127.0.0.1:5060
# UDP+TCP, outside: 127.0.0.1:5080 UDP). Press Ctrl-C to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "quickstart: run as root (or install sudo): packages must be installed" >&2
  exit 1
fi

say "installing dependencies (Debian packages)"
deploy/install-deps.sh

say "building (release preset, this takes a few minutes the first time)"
cmake --preset release >/dev/null
if ! cmake --build --preset release -j "$(nproc)" --target sbc >var-build.log 2>&1; then
  tail -30 var-build.log >&2
  echo "quickstart: the build failed; the full log is in var-build.log" >&2
  exit 1
fi
rm -f var-build.log

config=${SBC_CONFIG:-deploy/sbc.sample.toml}
for port in 5060 5080; do
  if ss -Hlnu "sport = :$port" 2>/dev/null | grep -q . ; then
    echo "quickstart: UDP port $port is in use; stop what uses it or edit $config" >&2
    exit 1
  fi
done

say "starting the SBC with $config (Ctrl-C stops it)"
say "try it:  sipsak or sipp can send OPTIONS to sip:127.0.0.1:5060"
exec build/release/sbc/app/sbc --config "$config"
