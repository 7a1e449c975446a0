#!/usr/bin/env bash
# Hetero LR training speed (scripts/bench.sh lr): seconds per epoch on the bundled breast data
# with a 2048-bit key (target ≤ 1.5 s on 2 cores), and on a generated set of FATE's benchmark
# shape — 100,000 rows, guest 30 + host 300 features, 1024-bit key — where FATE 2.0 publishes
# 2 min 16 s per epoch on 16 cores (target ≤ 120 s here). JSON results in bench-results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
mkdir -p bench-results
echo "== hetero LR, breast (569 rows, 10 + 20 features), 2048-bit key"
build/fatectl bench lr --data breast --bits 2048 --epochs 3
build/fatectl bench lr --data breast --bits 2048 --epochs 3 -o json >bench-results/lr-breast.json
echo "== hetero LR, generated 100,000 rows, 30 + 300 features, 1024-bit key (one epoch; takes minutes)"
build/fatectl bench lr --data generated --bits 1024 --epochs 1 -o json | tee bench-results/lr-fate-shape.json
