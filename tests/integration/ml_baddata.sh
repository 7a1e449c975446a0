#!/usr/bin/env bash
# Bad data stops a training job with exit 2 and a message naming file, row and column, before
# any Paillier key is generated; bad parameters are refused with file:line:col.
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
T=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-ml-bad.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
D=$SRC/examples/data
good_guest=$D/breast_hetero_guest.csv

mkjob() {  # name guest-file host-file [extra params]
  cat >"$T/$1.yaml" <<YAML
job: bad-$1
domain: fate.org
timeout: 1m
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $2}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $3}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}
algorithm:
  name: hetero_lr
  params:
    max_iter: 2
    encrypt_param: {key_length: 1024, allow_insecure_key_size: true}
${4:-}
YAML
}

expect() {  # name expected-substring mode
  local name=$1 want=$2 mode=${3:---in-process}
  "$BIN" train --local $mode --job "$T/$name.yaml" --out "$T/out-$name" --run-dir "$T/run-$name" >"$T/$name.out" 2>&1
  local rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$want" "$T/$name.out"; then
    if grep -q "generating" "$T/out-$name/10001/train.log" 2>/dev/null; then
      echo "FAIL $name: a key was generated before the data error"; fail=$((fail+1))
    else
      echo "ok   $name: exit 2, $(grep -F -- "$want" "$T/$name.out" | head -1 | sed 's/^.*error: //')"; pass=$((pass+1))
    fi
  else
    echo "FAIL $name: rc=$rc, wanted exit 2 with '$want'"; tail -5 "$T/$name.out"; fail=$((fail+1))
  fi
}

printf 'id,x0,x1\n1,0.5,0.1\n2,abc,0.2\n' >"$T/text.csv"
mkjob text "$good_guest" "$T/text.csv"
expect text "text.csv:3:2: x0: not a number: 'abc'"

printf 'id,y,x0\n1,1,0.5\n2,0,NaN\n' >"$T/nan.csv"
mkjob nan "$T/nan.csv" "$D/breast_hetero_host.csv"
expect nan "nan.csv:3:3: x0: not a finite number"

printf 'id,y,x0\n1,1,0.5\n1,0,0.2\n' >"$T/dup.csv"
mkjob dup "$T/dup.csv" "$D/breast_hetero_host.csv"
expect dup "dup.csv:3:1: id: duplicate id '1'"

printf 'id,x0\n1,0.5\n' >"$T/nolabel.csv"
mkjob nolabel "$T/nolabel.csv" "$D/breast_hetero_host.csv"
expect nolabel "nolabel.csv:1: y: no label column 'y'"

: >"$T/empty.csv"
mkjob empty "$good_guest" "$T/empty.csv"
expect empty "empty.csv:1: empty file"

mkjob missing "$good_guest" "$T/nope.csv"
expect missing "nope.csv: cannot open data file"

# Through separate party processes too: the failing host stops the job with its exit code.
mkjob text_proc "$good_guest" "$T/text.csv"
expect text_proc "text.csv:3:2: x0: not a number: 'abc'" ""

mkjob param "$good_guest" "$D/breast_hetero_host.csv" "    optimizer: adamw"
expect param "algorithm.params.optimizer: unknown value 'adamw'"

mkjob smallkey "$good_guest" "$D/breast_hetero_host.csv" "    lr: 1"
sed -i 's/, allow_insecure_key_size: true//; /    lr: 1/d' "$T/smallkey.yaml"
expect smallkey "allow_insecure_key_size"

echo "ml_baddata: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
