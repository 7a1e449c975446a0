#!/usr/bin/env bash
# The main job on the bundled data, no cluster needed: builds fatectl if needed, then trains
# hetero logistic regression on FATE's breast data with every party (guest, host, arbiter) as its
# own local process over mutual TLS, and prints one line per epoch and the metrics.
# (1024-bit demo key with allow_insecure_key_size; FATE's benchmark settings — see the job file.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
build/fatectl version
out=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-demo.XXXXXX")
build/fatectl train --local --job examples/jobs/hetero-breast.yaml --out "$out/model" --run-dir "$out/run"
echo "outputs: $out/model/<party>/ (model.json, metrics.json, train.log); party logs: $out/run/"
