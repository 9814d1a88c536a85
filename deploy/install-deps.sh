#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running the
# project needs. Idempotent: packages already present are left alone, and
# nothing is downloaded when everything is installed.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang clang-tools
  libclang-rt-14-dev clang-format clang-tidy
  # libraries (Boost 1.81 only: libboost-dev is 1.74 and conflicts)
  libboost1.81-dev libboost-system1.81-dev libboost-json1.81-dev
  libssl-dev openssl
  libortp-dev libbctoolbox-dev libsrtp2-dev
  libpqxx-dev libpq-dev
  prometheus-cpp-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libargon2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # services and test peers
  postgresql sip-tester stunnel4 prometheus
  baresip-core  # SRTP call test (tests/integration/media); core: no GUI/X11 recommends
  # tools the tests use
  python3 python3-yaml curl procps iproute2 ca-certificates wrk shellcheck
)
PKGS+=(chromium); command -v npm >/dev/null || PKGS+=(nodejs npm)  # web UI; nodesource nodejs bundles npm

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E "$0" "$@"; fi
  echo "install-deps: run as root (or install sudo)" >&2
  exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
