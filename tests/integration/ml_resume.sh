#!/usr/bin/env bash
# Kill-and-resume: a party dies after epoch 3 (FATECTL_TRAIN_CRASH_AFTER=<party>:<epochs>, the
# process exits 9 at once); every party is restarted with --resume and the final model must equal
# that of an uninterrupted run with the same seed. In-process (hetero, homo) and with separate
# party processes over TLS (hetero).
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
T=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-ml-resume.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
D=$SRC/examples/data
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

cat >"$T/hetero.yaml" <<YAML
job: resume-hetero
domain: fate.org
timeout: 2m
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_hetero_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_hetero_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}
algorithm:
  name: hetero_lr
  params:
    optimizer: rmsprop
    learning_rate: 0.1
    alpha: 0.01
    max_iter: 6
    batch_size: 200
    masked_rate: 1
    tol: 0.0000001
    init_param: {init_method: random_uniform, random_seed: 17}
    encrypt_param: {key_length: 1024, allow_insecure_key_size: true}
YAML
cat >"$T/homo.yaml" <<YAML
job: resume-homo
domain: fate.org
timeout: 2m
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_homo_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_homo_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}
algorithm:
  name: homo_lr
  params: {optimizer: adam, learning_rate: 0.05, max_iter: 8, batch_size: 64, alpha: 0.01, tol: 0.0000001,
           init_param: {init_method: random_uniform, random_seed: 23}}
YAML

models_equal() {  # dirA dirB party...
  local a=$1 b=$2; shift 2
  for p in "$@"; do
    cmp -s <(grep -v '"job"' "$a/$p/model.json") <(grep -v '"job"' "$b/$p/model.json") || return 1
  done
}

run_case() {  # name job mode crash-party parties...
  local name=$1 job=$2 mode=$3 crash=$4; shift 4
  "$BIN" train --local $mode --job "$job" --out "$T/$name-full" --run-dir "$T/run-$name-full" >"$T/$name-full.log" 2>&1 \
    || { bad "$name: uninterrupted run failed"; tail -5 "$T/$name-full.log"; return; }
  FATECTL_TRAIN_CRASH_AFTER=$crash:3 "$BIN" train --local $mode --job "$job" --out "$T/$name-cut" \
    --run-dir "$T/run-$name-cut1" >"$T/$name-cut1.log" 2>&1
  rc=$?
  [ $rc -ne 0 ] && ok "$name: the run stopped when party $crash died (exit $rc)" || bad "$name: the crashed run exited 0"
  [ -f "$T/$name-cut/$crash/checkpoint/epoch-3.yaml" ] && [ ! -f "$T/$name-cut/9999/model.json" ] \
    && ok "$name: checkpoint after epoch 3, no model yet" || bad "$name: unexpected state after the crash"
  "$BIN" train --local $mode --resume --job "$job" --out "$T/$name-cut" --run-dir "$T/run-$name-cut2" >"$T/$name-cut2.log" 2>&1 \
    || { bad "$name: resumed run failed"; tail -5 "$T/$name-cut2.log"; return; }
  # (in one process the other threads die with the crashing party, possibly before their own
  # epoch-3 checkpoint: then every party resumes after epoch 2)
  grep -Eq "resumed after epoch [23]" "$T/$name-cut/9999/train.log" && ok "$name: guest resumed from its checkpoint" \
    || bad "$name: guest did not resume from a checkpoint"
  models_equal "$T/$name-full" "$T/$name-cut" "$@" && ok "$name: resumed model equals the uninterrupted one" \
    || { bad "$name: models differ"; diff "$T/$name-full/9999/model.json" "$T/$name-cut/9999/model.json" | head; }
}

run_case hetero-threads "$T/hetero.yaml" --in-process 10000 9999 10000
run_case homo-threads "$T/homo.yaml" --in-process 9999 9999 10000
run_case hetero-processes "$T/hetero.yaml" "" 10000 9999 10000

echo "ml_resume: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
