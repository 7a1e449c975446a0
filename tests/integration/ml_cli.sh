#!/usr/bin/env bash
# train / predict / run as an operator scripts them: -o json prints one JSON document on stdout
# (the parties' output and progress on stderr), progress within an epoch (batches done, rows
# encrypted) as plain periodic lines when stderr is not a terminal, predict prints its metrics
# table as train does.
set -uo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
export TMPDIR="$W"   # a failed --local run keeps its logs there
JOB="$SRC/examples/jobs/hetero-breast.yaml"
# shorten the job: 3 epochs are enough to see progress and metrics
mkdir -p "$W/jobs"; ln -s "$SRC/examples/data" "$W/data"   # the job names its data as ../data/
sed 's/max_iter: 30/max_iter: 3/' "$JOB" > "$W/jobs/job.yaml"
py() { /usr/bin/python3 "$@"; }

set +e
FATECTL_PROGRESS_SECONDS=0.05 "$FATECTL" train --local --job "$W/jobs/job.yaml" --out "$W/out" -o json > "$W/train.json" 2> "$W/train.err"
rc=$?
set -e
[ $rc = 0 ] && ok "train --local -o json exits 0" || not_ok "train -o json: exit $rc $(tail -3 "$W/train.err")"
py -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["ok"] and d["exitCode"]==0 and d["command"]=="train", d
assert sorted(p["role"] for p in d["parties"])==["arbiter","guest","host"], d["parties"]
assert d["metrics"]["content"]["train"]["auc"] > 0.9 and d["model"]["file"].endswith("/9999/model.json"), d' "$W/train.json" \
  && ok "stdout is one JSON document: parties, model, metrics" || not_ok "train json: $(head -c 300 "$W/train.json")"
grep -q "^\[9999 guest\] epoch 1/3  loss" "$W/train.err" && ok "epoch lines go to stderr" || not_ok "no epoch line on stderr"
grep -Eq "^\[9999 guest\] epoch [0-9]+/3: batch [0-9]+/1 done, [0-9]+/569 rows encrypted" "$W/train.err" \
  && ok "progress within an epoch: batches done, rows encrypted (plain lines, not a terminal)" || not_ok "no progress line: $(grep -c . "$W/train.err") lines"
grep -q $'\r' "$W/train.err" && not_ok "carriage returns without a terminal" || ok "no line rewriting without a terminal"
# a job without validation data (hetero-breast) still gets its report: the train curves alone
grep -q "report was not written" "$W/train.err" && not_ok "report: $(grep "report was not written" "$W/train.err")" \
  || ok "no warning about the report"
[ -s "$W/out/report.html" ] && grep -q "ROC" "$W/out/report.html" && ! grep -q ">validate" "$W/out/report.html" \
  && ok "report.html written from the train curves alone" || not_ok "no report.html with train curves in $W/out: $(ls "$W/out")"

# On a terminal (util-linux `script` gives the binary a pseudo-terminal) the guest's progress line
# is rewritten in place: each update starts with "\r\e[K", behind the "[9999 guest]" prefix when a
# party runs as its own process (its output goes through the runner's pipe), and it is erased
# before the next line, so what the terminal shows in the end are the epoch lines alone. The same
# runs without a terminal write no carriage return at all. (10 epochs: the runner shows a line only
# while it is open, so the guest's several progress lines give it several chances on a busy machine.)
sed 's/max_iter: 30/max_iter: 10/' "$SRC/examples/jobs/hetero-breast.yaml" > "$W/jobs/job10.yaml"
tty_progress() {  # tty_progress LABEL FILE: FILE holds what the terminal received
  py - "$2" <<'PY' && ok "$1: the progress line is rewritten in place on a terminal" || not_ok "$1: no rewritten progress line"
import re, sys
raw = open(sys.argv[1], "rb").read().decode()
rewrites = re.findall(r"\r\x1b\[K(?:\x1b\[[0-9;]*m)?(?:\[9999 guest\](?:\x1b\[0m)? )?epoch [0-9]+/10: batch [0-9]+/1 done, [0-9]+/569 rows encrypted, [0-9]+s", raw)
assert rewrites, "no '\\r' rewrite of the progress line in %r" % raw[:2000]
# what the terminal shows: the text after each line's last carriage return (the pty ends every line
# with "\r\n"), without erase and colour sequences
shown = [re.sub(r"\x1b\[[0-9;]*[mK]", "", l.rstrip("\r").split("\r")[-1]) for l in raw.split("\n")]
left = [l for l in shown if "rows encrypted" in l]
assert not left, "progress left on the screen: %r" % left
assert sum(1 for l in shown if re.search(r"epoch [0-9]+/10  loss", l)) >= 3, shown
print("# %d rewrites, e.g. %r" % (len(rewrites), rewrites[0]))
PY
}
for mode in "" --in-process; do
  what="train --local${mode:+ $mode}"
  rm -rf "$W/out-tty"
  script -qec "'$FATECTL' train --local $mode --job '$W/jobs/job10.yaml' --out '$W/out-tty'" /dev/null > "$W/tty.out" 2>&1 </dev/null
  tty_progress "$what" "$W/tty.out"
  rm -rf "$W/out-tty"
  "$FATECTL" train --local $mode --job "$W/jobs/job10.yaml" --out "$W/out-tty" > "$W/notty.out" 2>&1 </dev/null
  grep -q $'\r' "$W/notty.out" && not_ok "$what without a terminal: carriage returns" \
    || ok "$what without a terminal: no carriage return ($(grep -c 'loss' "$W/notty.out") epoch lines)"
done

expect_rc 0 "predict --local prints the metrics table" -- "$FATECTL" predict --local --job "$W/jobs/job.yaml" --out "$W/out"
expect_contains "[9999 guest] DATA      SAMPLES   AUC" "predict: the table header"
expect_contains "[9999 guest] predict   569" "predict: the predict row"
expect_contains "metrics: $W/out/9999/predict-metrics.json" "predict: where the metrics are"
set +e; "$FATECTL" predict --local --in-process --job "$W/jobs/job.yaml" --out "$W/out" -o json > "$W/predict.json" 2>"$W/predict.err"; rc=$?; set -e
py -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert d["ok"] and d["command"]=="predict" and d["predictions"]["file"].endswith("/9999/predictions.csv"), d
assert d["metrics"]["content"]["predict"]["samples"]==569, d' "$W/predict.json" \
  && ok "predict --in-process -o json: one document" || not_ok "predict json (exit $rc): $(head -c 300 "$W/predict.json")"
set +e; "$FATECTL" run --local --job "$SRC/examples/jobs/echo.yaml" -o yaml > "$W/run.yaml" 2>"$W/run.err"; rc=$?; set -e
py -c '
import sys,yaml
d=yaml.safe_load(open(sys.argv[1]))
assert d["ok"] and len(d["parties"])==3 and all(p["exitCode"]==0 for p in d["parties"]), d' "$W/run.yaml" \
  && ok "run --local -o yaml: one document" || not_ok "run yaml (exit $rc): $(head -5 "$W/run.yaml")"
grep -q "echo: success" "$W/run.err" && ok "the parties' output went to stderr" || not_ok "no party output on stderr"
# a failing job still prints its document, saying so
sed 's#../data/breast_hetero_host.csv#../data/no-such-file.csv#' "$W/jobs/job.yaml" > "$W/jobs/broken.yaml"
set +e; "$FATECTL" train --local --job "$W/jobs/broken.yaml" --out "$W/out2" -o json > "$W/broken.json" 2>/dev/null; rc=$?; set -e
[ $rc = 2 ] && ok "a party that cannot read its data: exit 2" || not_ok "broken job: exit $rc"
py -c '
import json,sys
d=json.load(open(sys.argv[1]))
assert not d["ok"] and d["exitCode"]==2 and "metrics" not in d, d
assert any(p["result"]=="exit 2" and p["log"] for p in d["parties"]), d' "$W/broken.json" \
  && ok "-o json after a failure: ok false, each party's result and log" || not_ok "broken json: $(head -c 300 "$W/broken.json")"
finish
