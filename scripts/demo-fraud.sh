#!/usr/bin/env bash
# The reference architecture's workload at full size, no cluster needed: builds fatectl if
# needed, generates the credit-card-fraud-like set (284,807 rows, 0.17 % frauds, two banks;
# examples/data/fraud, same seed, same bytes), trains examples/jobs/homo-fraud.yaml with every
# party as its own local process over mutual TLS (preparation, class weights, validation, early
# stopping, threshold on validation), predicts the validation files and leaves the report at
# fatectl-out/homo-fraud/report.html (one self-contained HTML file: open it in any browser).
#   scripts/demo-fraud.sh [ROWS]     (ROWS defaults to 284807)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
rows=${1:-284807}
if [ ! -s examples/data/fraud/bank_a_train.csv ] || [ "$(cat examples/data/fraud/.rows 2>/dev/null)" != "$rows" ]; then
  build/fatectl data synth --out examples/data/fraud --rows "$rows"
  echo "$rows" >examples/data/fraud/.rows
fi
start=$(date +%s)
build/fatectl train --local --job examples/jobs/homo-fraud.yaml --out fatectl-out/homo-fraud
build/fatectl predict --local --job examples/jobs/homo-fraud.yaml --out fatectl-out/homo-fraud
echo "trained and predicted $rows rows in $(( $(date +%s) - start )) s"
echo "report: $FATECTL_ROOT/fatectl-out/homo-fraud/report.html"
echo "predictions: fatectl-out/homo-fraud/<party>/predictions.csv (id,label,predict_result,predict_score)"
