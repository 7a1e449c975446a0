#!/usr/bin/env bash
# Runs the input-parsing tests again with an AddressSanitizer + UBSan build of fatectl:
# broken specs, bad training data and parameters, key files, route files, job files, render,
# hostile input (tests/integration/hostile_input.sh) and every saved fuzz input.
# Any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --asan
export FATECTL_BINARY="$PWD/build-asan/fatectl" FATECTL_SOURCE_DIR="$PWD" FATECTL_BUILD_DIR="$PWD/build-asan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0; fail=0
# every saved fuzz finding and seed, through gcc's sanitizers too
cmake --build build-asan -j"${FATECTL_JOBS:-$(nproc)}" --target fatectl_fuzz_replay >build-asan/build-replay.log 2>&1 \
  || { tail -20 build-asan/build-replay.log >&2; exit 1; }
if build-asan/fatectl_fuzz_replay tests/fuzz; then pass=$((pass+1)); else fail=$((fail+1)); echo "asan: fuzz replay FAILED" >&2; fi
for t in tests/integration/hostile_input.sh tests/integration/spec_broken.sh tests/integration/ml_baddata.sh tests/integration/he_keys.sh tests/integration/exchange_routes.sh tests/integration/fed_local_run.sh tests/integration/render_cli.sh; do
  [ -f "$t" ] || continue
  if bash "$t"; then pass=$((pass+1)); else fail=$((fail+1)); echo "asan: $t FAILED" >&2; fi
done
echo "asan: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
