#!/usr/bin/env bash
# The reference architecture's workload through the binary (issue 17): `fatectl data synth` makes a
# credit-card-fraud-like set (50,000 rows here, 0.2 % frauds, 30 features on different scales,
# empty cells, no id column) for two banks; examples/jobs/homo-fraud.yaml trains it as users run
# it (one process per party, mutual TLS) with data preparation, federated statistics,
# class_weight: balanced, validation, early stopping and a threshold chosen on validation; then
# `fatectl predict`. tests/ml/check_fraud.py checks the preparation against values computed
# independently, the validation AUC against scikit-learn's class-weighted LR on the pooled,
# identically prepared data, predictions, curves (sklearn AUC/AP, FATE's KS/ROC/PR/lift/gain) and
# the threshold; tests/report/check_report.py opens the report in headless Chromium and checks the
# charts on screen. Then the ways it fails: unscaled data overflows the aggregation (names the
# column, suggests scaling), settings that cannot work (exit 2), a report of nothing.
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-ml-fraud.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
expect() {  # name rc pattern log: exit code and a line of output
  local name=$1 want=$2 pat=$3 got=$4
  if [ "$got" = "$want" ] && grep -q -- "$pat" "$T/$name.log"; then ok "$name (exit $got: $(grep -m1 -o -- "$pat.\{0,60\}" "$T/$name.log"))"
  else bad "$name: exit $got (want $want), output:"; tail -5 "$T/$name.log"; fi
}

# 1. the data, twice: same seed, same bytes
"$BIN" data synth --out "$T/data" --rows 50000 --seed 3 --positive-rate 0.002 >"$T/synth.log" 2>&1 \
  && "$BIN" data synth --out "$T/again" --rows 50000 --seed 3 --positive-rate 0.002 -o json >"$T/synth.json" 2>&1
if [ -s "$T/data/bank_a_train.csv" ] && cmp -s "$T/data/bank_b_validate.csv" "$T/again/bank_b_validate.csv" \
   && head -1 "$T/data/bank_a_train.csv" | grep -q '^Time,V1,.*,V28,Amount,Class$' && grep -q '"positives"' "$T/synth.json"; then
  ok "data synth: 4 files, header Time,V1..V28,Amount,Class, deterministic ($(awk 'NR==4{print $2" rows, "$3" frauds in "$1}' "$T/synth.log"))"
else bad "data synth"; cat "$T/synth.log"; fi

# 2. the example job on that data, trained through separate processes
sed "s#\.\./data/fraud/#$T/data/#g" "$SRC/examples/jobs/homo-fraud.yaml" >"$T/homo-fraud.yaml"
if "$BIN" train --local --job "$T/homo-fraud.yaml" --out "$T/out" --run-dir "$T/run" >"$T/train.log" 2>&1; then
  if grep -q '\] epoch 1/300' "$T/train.log" && grep -q '\] DATA ' "$T/train.log" && grep -q "^report: $T/out/report.html" "$T/train.log" \
     && grep -q '\] threshold 0\.[0-9]* (max_f1 on the validation data), model of iteration [0-9]* (early stopping\|best validation)' "$T/train.log"; then
    ok "train --local: epoch lines, the metrics table, the threshold and model kept, 'report: OUT/report.html'"
  else bad "train output"; tail -20 "$T/train.log"; fi
else bad "train failed"; tail -30 "$T/train.log"; fi
if "$BIN" predict --local --job "$T/homo-fraud.yaml" --out "$T/out" --run-dir "$T/run-p" >"$T/predict.log" 2>&1; then
  ok "predict --local"
else bad "predict failed"; tail -20 "$T/predict.log"; fi

# 3. everything checked independently of fatectl
if $PY "$SRC/tests/ml/check_fraud.py" "$T/homo-fraud.yaml" "$T/out" >"$T/check.log" 2>&1; then
  ok "check_fraud.py: $(grep -c '^ok' "$T/check.log") checks"
else bad "check_fraud.py"; fi
sed 's/^/     /' "$T/check.log"
for f in 9999 10000; do
  $PY - "$T/out/$f/metrics.json" <<'EOF' >"$T/es.log" 2>&1 && ok "bank $f: validated every 10 epochs, $(cat "$T/es.log")" || { bad "validation history of $f"; cat "$T/es.log"; }
import json, sys
m = json.load(open(sys.argv[1]))
v = [h["epoch"] for h in m["history"] if "validate" in h]
assert v and all(e % 10 == 0 for e in v), v
assert m["early_stopped"] == (m["epochs"] < 300), m
b = m.get("best_iteration")
assert b in v, (b, v)
print("early stopped %s, model of iteration %s of %s" % (m["early_stopped"], b, m["epochs"]))
EOF
done

# 4. the report, as a person sees it (headless Chromium through the DevTools protocol)
if $PY "$SRC/tests/report/check_report.py" "$T/out/report.html" "$T/report.png" --charts 14 --parties 2 >"$T/chromium.log" 2>&1; then
  ok "report in Chromium: $(grep -c '^ok' "$T/chromium.log") checks, screenshot $(stat -c %s "$T/report.png") bytes"
else bad "report in Chromium"; fi
sed 's/^/     /' "$T/chromium.log"
[ -n "${FATECTL_BUILD_DIR:-}" ] && [ -s "$T/report.png" ] && cp "$T/report.png" "$FATECTL_BUILD_DIR/ml_fraud-report.png"
# ... and the check fails on a page that fetches or logs something
sed 's#</body>#<img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body>#' "$T/out/report.html" >"$T/tampered.html"
if $PY "$SRC/tests/report/check_report.py" "$T/tampered.html" "$T/tampered.png" --charts 14 --parties 2 >"$T/tampered.log" 2>&1; then
  bad "check_report.py accepted a page with a script, an external image and a console error"
elif grep -q '^FAIL the page requested nothing' "$T/tampered.log" && grep -q '^FAIL no console' "$T/tampered.log"; then
  ok "check_report.py refuses a page that fetches, runs scripts or logs errors"
else bad "tampered page: unexpected result"; cat "$T/tampered.log"; fi

# 5. fatectl report: one party's directory, a chosen file, nothing to report
"$BIN" report "$T/out/10000" --out "$T/bank-b.html" >"$T/report1.log" 2>&1
if [ $? -eq 0 ] && grep -q "report: $T/bank-b.html" "$T/report1.log" && grep -q 'Party 10000 (host)' "$T/bank-b.html" \
   && ! grep -q 'Party 9999' "$T/bank-b.html" && ! grep -qi '<script' "$T/bank-b.html"; then
  ok "report of one party's directory"
else bad "report of a party directory"; cat "$T/report1.log"; fi
mkdir -p "$T/empty"
"$BIN" report "$T/empty" >"$T/report-empty.log" 2>&1; expect report-empty 2 "no metrics.json" $?

# 5b. killed after epoch 25 (two validations done) and resumed: the same model as the uninterrupted
#     run (preparation re-fitted, validation state and best models from the checkpoints)
FATECTL_TRAIN_CRASH_AFTER=10000:25 "$BIN" train --local --in-process --job "$T/homo-fraud.yaml" --out "$T/out-r" \
  >"$T/crash.log" 2>&1
crash_rc=$?
"$BIN" train --local --in-process --resume --job "$T/homo-fraud.yaml" --out "$T/out-r" >"$T/resume.log" 2>&1
resume_rc=$?
if [ "$crash_rc" = 9 ] && [ "$resume_rc" = 0 ] \
   && cmp -s <(grep -v '"job"' "$T/out/9999/model.json") <(grep -v '"job"' "$T/out-r/9999/model.json") \
   && cmp -s <(grep -v '"job"' "$T/out/10000/model.json") <(grep -v '"job"' "$T/out-r/10000/model.json"); then
  ok "killed after epoch 25 and resumed: both banks' models equal the uninterrupted run's"
else bad "resume (crash rc $crash_rc, resume rc $resume_rc)"; tail -3 "$T/resume.log"; diff <(grep -v '"job"' "$T/out/9999/model.json") <(grep -v '"job"' "$T/out-r/9999/model.json") | head; fi

# 6. how it fails
# unscaled features: the aggregate overflows at once; the message names the column and suggests scaling
sed -e '/feature_scale:/d' -e '/method: standard_scale/d' -e '/homo_statistics/d' -e 's/learning_rate: 0.15/learning_rate: 0.5/' \
  "$T/homo-fraud.yaml" >"$T/unscaled.yaml"
"$BIN" train --local --in-process --job "$T/unscaled.yaml" --out "$T/out-unscaled" >"$T/unscaled.log" 2>&1
expect unscaled 1 "column 'Time'.*standard_scale" $?
# federated statistics cannot give minima/maxima
sed 's/method: standard_scale/method: min_max_scale/' "$T/homo-fraud.yaml" >"$T/minmax.yaml"
"$BIN" train --local --in-process --job "$T/minmax.yaml" --out "$T/o" >"$T/minmax.log" 2>&1
expect minmax 2 "minmax.yaml:[0-9]*:[0-9]*: algorithm.params.homo_statistics: federated statistics" $?
sed 's/class_weight: balanced/class_weight: heavy/' "$T/homo-fraud.yaml" >"$T/cw.yaml"
"$BIN" train --local --in-process --job "$T/cw.yaml" --out "$T/o" >"$T/cw.log" 2>&1
expect cw 2 "cw.yaml:[0-9]*:[0-9]*: algorithm.params.class_weight: expected 'balanced'" $?
sed '/validation_freqs/d' "$T/homo-fraud.yaml" >"$T/es.yaml"
"$BIN" train --local --in-process --job "$T/es.yaml" --out "$T/o" >"$T/es.log" 2>&1
expect es 2 "algorithm.params.early_stopping_rounds: needs validation_freqs" $?
# an empty cell where no fill applies: file, column and row
sed -e '/missing_fill/d' "$T/homo-fraud.yaml" >"$T/nofill.yaml"
"$BIN" train --local --in-process --job "$T/nofill.yaml" --out "$T/o" >"$T/nofill.log" 2>&1
expect nofill 2 "bank_[ab]_train.csv:[0-9]*:[0-9]*: .*empty cell" $?

echo "ml_fraud: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
