#!/usr/bin/env bash
# The one test command: installs what is missing, configures, builds and runs
# every suite (unit, RFC 4475, integration over UDP/TCP/TLS, fuzz smoke,
# benchmark smoke, lint), ending with ctest's summary.
#
#   tests/run.sh                 everything (clang, ASan+UBSan, -Werror)
#   tests/run.sh -R rfc4475      only tests whose name matches (ctest -R)
#   SBC_PRESET=dev tests/run.sh  another CMake preset (see CMakePresets.json)
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${SBC_PRESET:-ci}
jobs=${SBC_JOBS:-2}

step() { printf '\n==> %s\n' "$*"; }

# ccache keys on paths relative to the checkout, so a fresh clone elsewhere
# reuses what an earlier build compiled.
export CCACHE_BASEDIR="$PWD"

step "dependencies"
deploy/install-deps.sh

step "configure (preset $preset)"
cmake --preset "$preset" >/dev/null

step "build"
cmake --build --preset "$preset" -j "$jobs"

step "test"
# ctest's own summary is the last thing printed.
ctest --preset "$preset" -j "$jobs" --timeout 600 "$@"
