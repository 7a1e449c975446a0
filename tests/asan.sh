#!/usr/bin/env bash
# Runs the input-parsing tests again with an AddressSanitizer + UBSan build of fatectl:
# broken specs, bad training data and parameters, key files, route files, job files, render.
# Any sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --asan
export FATECTL_BINARY="$PWD/build-asan/fatectl" FATECTL_SOURCE_DIR="$PWD" FATECTL_BUILD_DIR="$PWD/build-asan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0; fail=0
for t in tests/integration/spec_broken.sh tests/integration/ml_baddata.sh tests/integration/he_keys.sh tests/integration/exchange_routes.sh tests/integration/fed_local_run.sh tests/integration/render_cli.sh; do
  [ -f "$t" ] || continue
  if bash "$t"; then pass=$((pass+1)); else fail=$((fail+1)); echo "asan: $t FAILED" >&2; fi
done
echo "asan: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
