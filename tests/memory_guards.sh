#!/usr/bin/env bash
# The memory guards: unit tests that count heap bytes with mallinfo2() and
# so skip themselves under ASan, which replaces the allocator (the build
# tests/run.sh makes). ctest's memory.guards builds their two binaries
# without sanitizers (gcc -O2, as the release preset) and runs them; it
# fails if a guard fails, or was skipped or missing.
#   memory_guards.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?build dir}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" -DSBC_BUILD_TESTS=ON -DSBC_SANITIZE= \
  >"$build.configure.log" 2>&1 || { tail -30 "$build.configure.log"; exit 1; }
cmake --build "$build" --target b2bua_engine_test txn_test -j "${SBC_JOBS:-2}" | tail -1

# run BINARY FILTER COUNT: the filter must select COUNT tests, all passed.
run() {
  local out n
  out=$("$build/$1" --gtest_filter="$2" 2>&1) || { echo "$out" | tail -40; exit 1; }
  echo "$out" | grep -E '^\[ figure \]|^\[  PASSED  \]|^\[  SKIPPED \]' || true
  if grep -q '^\[  SKIPPED \]' <<<"$out"; then
    echo "memory_guards: a guard skipped itself in a build without sanitizers"
    exit 1
  fi
  n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' <<<"$out")
  if [ "${n:-0}" -ne "$3" ]; then
    echo "memory_guards: $1 '$2' passed ${n:-0} tests, expected $3"
    exit 1
  fi
}
run tests/unit/b2bua/b2bua_engine_test 'EnginePerf.HeapBytesPerEstablishedCall' 1
run tests/unit/txn/txn_test 'TxnRequestMemory.*:TimerQueue.RunBucketGivesItsEntriesBack' 4
echo "memory guards: 5 passed without sanitizers"
