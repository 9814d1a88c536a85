#!/usr/bin/env bash
# Lint checks run by ctest:
#   lint.sh format            clang-format --dry-run -Werror over our C++ sources
#   lint.sh tidy BUILD_DIR    clang-tidy (.clang-tidy checks) over our .cc files
set -euo pipefail
cd "$(dirname "$0")/.."

sources() {
  git ls-files -co --exclude-standard -- '*.h' '*.cc' | grep -E '^(sbc|common|media-relay|admin-ui|tests)/' \
    | while read -r f; do [ -f "$f" ] && echo "$f"; done
}

case "${1:-}" in
  format)
    sources | xargs clang-format --dry-run -Werror
    echo "clang-format: $(sources | wc -l) files clean"
    ;;
  tidy)
    build=${2:?build dir}
    # Library and binary sources only; tests and fuzzers lean on macros that
    # trip checks meant for product code.
    mapfile -t files < <(sources | grep -E '\.cc$' | grep -vE '^tests/')
    run-clang-tidy -quiet -p "$build" -j "${SBC_JOBS:-2}" "${files[@]/#/$PWD/}" >/tmp/clang-tidy.$$ 2>&1 \
      || { grep -E 'warning:|error:' -A3 /tmp/clang-tidy.$$ | head -200; rm -f /tmp/clang-tidy.$$; exit 1; }
    rm -f /tmp/clang-tidy.$$
    echo "clang-tidy: ${#files[@]} files clean"
    ;;
  *)
    echo "usage: $0 format | tidy BUILD_DIR" >&2
    exit 2
    ;;
esac
