#!/usr/bin/env bash
# Benchmarks: scripts/bench.sh [render|paillier|transport|lr|apply|emulator|psi|all]
# Figures go to stdout (and bench-results/*.json); compare ratios, not absolute times.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
what="${1:-all}"
run() {
  local name="$1"; shift
  if [ "$what" = all ] || [ "$what" = "$name" ]; then echo "== $name"; "$@"; fi
}
mkdir -p bench-results
run render    bash -c 'build/fatectl bench render -o json | tee bench-results/render.json'
run paillier  bash -c 'build/fatectl bench paillier --bits 2048 -o json | tee bench-results/paillier.json'
run transport bash -c '[ -x scripts/bench-transport.sh ] && scripts/bench-transport.sh | tee bench-results/transport.txt'
run lr        bash -c '[ -x scripts/bench-lr.sh ] && scripts/bench-lr.sh | tee bench-results/lr.txt'
run apply     bash -c '[ -x scripts/bench-apply.sh ] && scripts/bench-apply.sh | tee bench-results/apply.txt'
run emulator  bash -c '[ -x scripts/bench-emulator.sh ] && scripts/bench-emulator.sh | tee bench-results/emulator.txt'
run psi       bash -c '[ -x scripts/bench-psi.sh ] && scripts/bench-psi.sh | tee bench-results/psi.txt'
