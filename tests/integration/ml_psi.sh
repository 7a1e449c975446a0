#!/usr/bin/env bash
# Private id alignment of hetero jobs through the binary (docs/psi.md):
#  - ids the guest can guess (consecutive integers): the guest's analyst tests every candidate id
#    against everything the guest received (FATECTL_PSI_TRANSCRIPT) and recovers only the overlap
#    with ecdh, the host's whole id list with raw (so the analysis would catch a leak);
#  - the model and the predictions are identical to the raw path's (shipped breast data, two hosts);
#  - counts on every party, partial overlap, min_intersect_rows / min_intersect_ratio (exit 2 on
#    every party, each its own process), no common ids naming the files;
#  - leak checks: host column named like the label, a label copy on the guest and (privately) on a
#    host, one-class hetero refused before any key; homo one-class client trains; homo clients with
#    different columns named; a homo client's label copy refused; bench psi checks its own result.
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-ml-psi.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }
D=$SRC/examples/data

# ---- data with guessable ids ------------------------------------------------------------------
# guest: ids 1..400 with label; host: 201..600; host2: 301..700. Extra files for the leak checks.
$PY - "$T" <<'EOF'
import random, sys
t = sys.argv[1]
random.seed(7)
rows = {}
for i in range(1, 701):
    x = [random.gauss(0, 1) for _ in range(6)]
    z = 1.2 * x[0] - 0.8 * x[1] + 0.9 * x[3] - 1.1 * x[4] + 0.5 * x[5] + random.gauss(0, 0.5)
    rows[i] = (x, 1 if z > 0 else 0)
def write(name, ids, header, cells):
    with open(f"{t}/{name}", "w") as f:
        f.write(",".join(["id"] + header) + "\n")
        for i in ids:
            f.write(",".join([str(i)] + [("%.6f" % c if isinstance(c, float) else str(c)) for c in cells(i)]) + "\n")
G, H, H2 = range(1, 401), range(201, 601), range(301, 701)
write("guest.csv", G, ["y", "g0", "g1", "g2"], lambda i: [rows[i][1]] + rows[i][0][0:3])
write("host.csv", H, ["h0", "h1", "h2"], lambda i: rows[i][0][3:6])
write("host2.csv", H2, ["k0"], lambda i: rows[i][0][5:6])
write("host_y.csv", H, ["h0", "h1", "y"], lambda i: rows[i][0][3:5] + [random.gauss(0, 1)])
# a label copy under another name: equal to y on the common rows 201..400, noise elsewhere
write("host_copy.csv", H, ["h0", "flag", "h1"], lambda i: [rows[i][0][3], rows[i][1] if i <= 400 else random.randint(0, 1), rows[i][0][4]])
write("guest_copy.csv", G, ["y", "g0", "leak"], lambda i: [rows[i][1], rows[i][0][0], 5 - 3 * rows[i][1]])
write("guest_oneclass.csv", G, ["y", "g0"], lambda i: [1, rows[i][0][0]])
write("host_far.csv", range(1001, 1401), ["h0"], lambda i: [random.gauss(0, 1)])
EOF

mkjob() {  # name guest host [host2] -- extra param lines on stdin
  local name=$1 g=$2 h=$3 h2=${4:-} extra
  extra=$(cat)
  {
    echo "job: psi-$name"
    echo "domain: fate.org"
    echo "timeout: 2m"
    echo "parties:"
    echo "  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $g}"
    echo "  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $h}"
    [ -n "$h2" ] && echo "  - {id: 10002, role: host, listen: 127.0.0.1:0, data: $h2}"
    echo "  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
    echo "algorithm:"
    echo "  name: hetero_lr"
    echo "  params:"
    echo "    max_iter: 3"
    echo "    optimizer: nesterov_momentum_sgd"
    echo "    learning_rate: 0.15"
    echo "    alpha: 0.01"
    [ -n "$h2" ] && echo "    early_stop: weight_diff"
    echo "    init_param: {init_method: zeros, random_seed: 42}"
    echo "    encrypt_param: {key_length: 1024, allow_insecure_key_size: true}"
    [ -n "$extra" ] && echo "$extra"
  } >"$T/$name.yaml"
}

train() {  # name [extra args...]: in-process run; output in $T/name.out, exit code in $rc
  local name=$1; shift
  "$BIN" train --local --in-process --job "$T/$name.yaml" --out "$T/out-$name" "$@" >"$T/$name.out" 2>&1
  rc=$?
}

models_equal() {  # dirA dirB party...
  local a=$1 b=$2; shift 2
  for p in "$@"; do
    cmp -s <(grep -v '"job"' "$a/$p/model.json") <(grep -v '"job"' "$b/$p/model.json") || return 1
  done
}

analyse() {  # transcript: prints "host:recovered-count:first:last:docs" per host
  $PY "$SRC/tests/psi/analyst.py" "$1" "$T/guest.csv" 0 2000 | $PY -c '
import json, sys
r = json.load(sys.stdin)
for h in r["hosts"]:
    rec = [int(x) for x in h["recovered"]]
    print("%s:%d:%s:%s:%s" % (h["peer"], len(rec), min(rec) if rec else "-", max(rec) if rec else "-",
          h.get("transcript_matches_docs", "n/a")))'
}

# ---- 1. guessable ids: the guest recovers only the overlap --------------------------------------
mkjob ecdh "$T/guest.csv" "$T/host.csv" </dev/null
mkdir -p "$T/tr-ecdh" "$T/tr-raw"
FATECTL_PSI_TRANSCRIPT=$T/tr-ecdh train ecdh
if [ $rc -eq 0 ]; then ok "ecdh (the default): hetero job on guessable ids trains"; else bad "ecdh run failed (rc $rc)"; tail -5 "$T/ecdh.out"; fi
grep -q "id alignment (train, ecdh): 200 of the guest's 400 rows are common to every party" "$T/ecdh.out" \
  && grep -q "party 10000 (host): id alignment (train, ecdh): 200 of the host's 400 rows are common to every party (the guest has 400 ids)" "$T/ecdh.out" \
  && ok "counts: guest and host each print how many of their rows matched" || { bad "counts missing"; grep alignment "$T/ecdh.out"; }
grep -q "party 9999 (guest): partial overlap: 200 rows of the guest (50.0 %) have no match" "$T/ecdh.out" \
  && grep -q "party 10000 (host): partial overlap: 200 rows of the host" "$T/ecdh.out" \
  && ok "partial overlap reported on both sides" || bad "partial overlap not reported"
grep -q "PSI secret" "$T/ecdh.out" && ok "the transcript flag warns that it writes the PSI secret" || bad "no warning for FATECTL_PSI_TRANSCRIPT"
res=$(analyse "$T/tr-ecdh/9999-train.psi")
[ "$res" = "host 10000:200:201:400:True" ] \
  && ok "analyst, ecdh: of 2000 candidate ids only the 200 common ones (201..400) are recovered; transcript = docs/psi.md" \
  || bad "analyst, ecdh: $res"
mkjob raw "$T/guest.csv" "$T/host.csv" <<<"    intersect_method: raw"
FATECTL_PSI_TRANSCRIPT=$T/tr-raw train raw
[ $rc -eq 0 ] && grep -q "guest can test any candidate id" "$T/raw.out" && ok "raw: trains, with the warning that it reveals the host's ids" \
  || bad "raw run (rc $rc) or its warning"
res=$(analyse "$T/tr-raw/9999-train.psi")
[ "$res" = "host 10000:400:201:600:n/a" ] && ok "analyst, raw: recovers all 400 host ids 201..600 (the leak ecdh closes)" \
  || bad "analyst, raw: $res"
models_equal "$T/out-ecdh" "$T/out-raw" 9999 10000 && ok "ecdh and raw train identical models (guessable ids)" || bad "models differ"

# prediction aligned the same way
for m in ecdh raw; do
  "$BIN" predict --local --in-process --job "$T/$m.yaml" --out "$T/out-$m" >"$T/predict-$m.out" 2>&1 || bad "predict $m failed"
done
if cmp -s "$T/out-ecdh/9999/predictions.csv" "$T/out-raw/9999/predictions.csv" \
   && [ "$(tail -n +2 "$T/out-ecdh/9999/predictions.csv" | cut -d, -f1 | sort -n | sed -n '1p;$p' | tr '\n' ' ')" = "201 400 " ] \
   && [ "$(tail -n +2 "$T/out-ecdh/9999/predictions.csv" | wc -l)" = 200 ]; then
  ok "predict: ecdh aligns the 200 common rows, predictions identical to raw's"
else
  bad "predictions differ or are not the 200 common rows"
fi
grep -q "id alignment (predict, ecdh): 200 of the host's 400 rows" "$T/predict-ecdh.out" && ok "predict prints the counts" || bad "predict counts"

# ---- 2. shipped data: the model is the raw path's; over TLS processes too ---------------------
sed "s#\.\./data/#$D/#g" "$SRC/examples/jobs/hetero-breast.yaml" >"$T/breast.yaml"
sed "s#^    floating_point_precision: 23#    floating_point_precision: 23\n    intersect_method: raw#" "$T/breast.yaml" >"$T/breast-raw.yaml"
"$BIN" train --local --job "$T/breast.yaml" --out "$T/out-breast" --run-dir "$T/run-breast" >"$T/breast.out" 2>&1 || bad "breast ecdh (processes) failed"
"$BIN" train --local --in-process --job "$T/breast-raw.yaml" --out "$T/out-breast-raw" >"$T/breast-raw.out" 2>&1 || bad "breast raw failed"
grep -q "intersect_method: raw" "$T/breast-raw.yaml" && models_equal "$T/out-breast" "$T/out-breast-raw" 9999 10000 \
  && ok "hetero-breast: ecdh over TLS processes = raw, model identical" || bad "hetero-breast models differ"
sed "s#\.\./data/#$D/#g" "$SRC/examples/jobs/hetero-breast-2hosts.yaml" >"$T/breast2.yaml"
sed "s#^    early_stop: weight_diff#    early_stop: weight_diff\n    intersect_method: raw#" "$T/breast2.yaml" >"$T/breast2-raw.yaml"
"$BIN" train --local --in-process --job "$T/breast2.yaml" --out "$T/out-b2" >"$T/b2.out" 2>&1 || bad "2-host ecdh failed"
"$BIN" train --local --in-process --job "$T/breast2-raw.yaml" --out "$T/out-b2-raw" >"$T/b2-raw.out" 2>&1 || bad "2-host raw failed"
grep -q "intersect_method: raw" "$T/breast2-raw.yaml" && models_equal "$T/out-b2" "$T/out-b2-raw" 9999 10000 10002 \
  && ok "hetero-breast-2hosts: ecdh = raw, every model part identical" || bad "2-host models differ"

# ---- 3. multi-host with partial overlaps ---------------------------------------------------------
mkjob multi "$T/guest.csv" "$T/host.csv" "$T/host2.csv" </dev/null
mkdir -p "$T/tr-multi"
FATECTL_PSI_TRANSCRIPT=$T/tr-multi train multi
if [ $rc -eq 0 ] && grep -q "party 9999 (guest): id alignment (train, ecdh): 100 of the guest's 400 rows are common to every party" "$T/multi.out" \
   && grep -q "party 10000 (host): id alignment (train, ecdh): 100 of the host's 400 rows" "$T/multi.out" \
   && grep -q "party 10002 (host): id alignment (train, ecdh): 100 of the host's 400 rows" "$T/multi.out"; then
  ok "two hosts: intersection over all hosts (ids 301..400), counted on each party"
else
  bad "multi-host run (rc $rc)"; grep -i "alignment\|error" "$T/multi.out" | head
fi
res=$(analyse "$T/tr-multi/9999-train.psi" | tr '\n' ' ')
[ "$res" = "host 10000:200:201:400:True host 10002:100:301:400:True " ] \
  && ok "analyst, two hosts: the guest recovers each host's overlap with its own ids, nothing else" || bad "analyst, two hosts: $res"
"$BIN" predict --local --in-process --job "$T/multi.yaml" --out "$T/out-multi" >"$T/predict-multi.out" 2>&1 \
  && [ "$(tail -n +2 "$T/out-multi/9999/predictions.csv" | wc -l)" = 100 ] && ok "two hosts: predict scores the 100 rows common to all" \
  || bad "two-host predict"

# ---- 4. refusals: exit 2, a clear message, no key generated --------------------------------------
refused() {  # name expected-text what: exit 2, the guest's error (its train.log) says why
  local name=$1 want=$2 what=$3
  train "$name"
  if [ $rc -eq 2 ] && cat "$T/$name.out" "$T/out-$name"/*/train.log 2>/dev/null | grep -qF -- "$want"; then
    if grep -q "generating" "$T/out-$name/10001/train.log" 2>/dev/null; then bad "$what: a key was generated first"
    else ok "$what: exit 2, $(cat "$T/$name.out" "$T/out-$name"/*/train.log 2>/dev/null | grep -F -- "$want" | head -1 | sed 's/^.*refused: //; s/^error: //' | cut -c1-150)"; fi
  else
    bad "$what: rc=$rc, wanted exit 2 with '$want'"; tail -3 "$T/$name.out"
  fi
}
mkjob hosty "$T/guest.csv" "$T/host_y.csv" </dev/null
refused hosty "host_y.csv:1: y: the host's data has a column named like the guest's label column 'y'" "host column named like the label"
mkjob hosty-ok "$T/guest.csv" "$T/host_y.csv" <<<"    allow_host_label_column: true"
train hosty-ok
[ $rc -eq 0 ] && ok "allow_host_label_column: true trains with the host's column 'y' as a feature" || bad "allow_host_label_column (rc $rc)"
mkjob hostcopy "$T/guest.csv" "$T/host_copy.csv" </dev/null
refused hostcopy "a feature column of host 10000" "host column that copies the label (private check)"
grep -q "host_copy.csv:1: flag: this column is a copy of the guest's label on the 200 rows" "$T/out-hostcopy/10000/train.log" \
  && ok "the host's own log names its column 'flag'" || bad "the host does not name its copied column"
grep -q "flag" "$T/out-hostcopy/9999/train.log" && bad "the guest learned the host's column name" || ok "the guest is not told the host's column name"
mkjob guestcopy "$T/guest_copy.csv" "$T/host.csv" </dev/null
refused guestcopy "guest_copy.csv:1: leak: this column is a copy of the label 'y'" "guest column that copies the label"
grep -q "leak" "$T/out-guestcopy/10000/train.log" && bad "the host learned the guest's column name" \
  || { grep -q "guest 9999 refused its own training data" "$T/out-guestcopy/10000/train.log" \
       && ok "the host is told only that the guest refused its own data" || bad "the host's log lacks the refusal"; }
mkjob oneclass "$T/guest_oneclass.csv" "$T/host.csv" </dev/null
refused oneclass "all have label 1 (positive): hetero logistic regression needs both classes" "one-class hetero"
grep -q "^error: .*guest_oneclass.csv: y: the 400 rows of the file all have label 1" "$T/oneclass.out" \
  && ok "in-process, the console shows the original failure (the guest's), not a peer's relay of it" \
  || { bad "in-process error is not the guest's own"; tail -1 "$T/oneclass.out"; }
mkjob far "$T/guest.csv" "$T/host_far.csv" </dev/null
refused far "no ids in common between $T/guest.csv (guest 9999) and $T/host_far.csv (host 10000)" "no shared ids"
mkjob ratio "$T/guest.csv" "$T/host.csv" <<<"    min_intersect_ratio: 0.6"
refused ratio "min_intersect_ratio: only 200 of the guest's 400 rows (50.0 %)" "min_intersect_ratio"
mkjob rsa "$T/guest.csv" "$T/host.csv" <<<"    intersect_method: rsa"
refused rsa "algorithm.params.intersect_method: 'rsa' is FATE's" "intersect_method rsa"

# min_intersect_rows, each party its own process over TLS: every party ends with exit 2
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$BIN" certs init --domain fate.org --dir "$T/certs" >/dev/null 2>&1 \
  && "$BIN" certs issue --party 9999 --party 10000 --party 10001 --dir "$T/certs" >/dev/null 2>&1 || bad "certs"
mkjob minrows "$T/guest.csv" "$T/host.csv" <<<"    min_intersect_rows: 300"
sed -i "s#^timeout: 2m#timeout: 2m\ncertificates: $T/certs#; s#listen: 127.0.0.1:0#listen: 127.0.0.1:PORT#" "$T/minrows.yaml"
for p in 1 2 3; do sed -i "0,/127.0.0.1:PORT/s//127.0.0.1:$(free_port)/" "$T/minrows.yaml"; done
declare -A prc
for p in 9999 10000 10001; do
  "$BIN" train --job "$T/minrows.yaml" --party-id $p --out "$T/out-minrows" >"$T/minrows-$p.out" 2>&1 &
  PIDS+=($!); eval "pid_$p=$!"
done
for p in 9999 10000 10001; do eval "wait \$pid_$p"; prc[$p]=$?; done
PIDS=()
if [ "${prc[9999]}${prc[10000]}${prc[10001]}" = 222 ] \
   && grep -q "min_intersect_rows: only 200 rows are common to every party, fewer than the 300" "$T/minrows-10001.out" \
   && grep -q "min_intersect_rows" "$T/minrows-10000.out"; then
  ok "min_intersect_rows: guest, host and arbiter (separate processes) each exit 2 naming the setting"
else
  bad "min_intersect_rows exit codes guest/host/arbiter: ${prc[9999]}/${prc[10000]}/${prc[10001]}"; tail -2 "$T"/minrows-*.out
fi

# ---- 5. homo: a one-class client trains; different columns are named ------------------------------
(head -1 "$D/breast_homo_host.csv"; tail -n +2 "$D/breast_homo_host.csv" | awk -F, '$2==0') >"$T/homo_oneclass.csv"
cut -d, -f1-5,7- "$D/breast_homo_host.csv" >"$T/homo_cols.csv"
awk -F, -v OFS=, 'NR>1{$6=2*$2+1} {print}' "$D/breast_homo_host.csv" >"$T/homo_copy.csv"  # x3 = 2y+1
for c in oneclass cols copy; do
  cat >"$T/homo-$c.yaml" <<YAML
job: psi-homo-$c
domain: fate.org
timeout: 2m
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_homo_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $T/homo_$c.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}
algorithm:
  name: homo_lr
  params: {max_iter: 3, optimizer: adam, learning_rate: 0.05, init_param: {init_method: zeros, random_seed: 1}}
YAML
done
train homo-oneclass
[ $rc -eq 0 ] && grep -q '"one_class": true' "$T/out-homo-oneclass/10000/metrics.json" \
  && ok "homo: a client with only one class trains (its metrics say AUC is undefined)" || { bad "homo one-class (rc $rc)"; tail -3 "$T/homo-oneclass.out"; }
train homo-cols
[ $rc -eq 2 ] && grep -q "host 10000 ($T/homo_cols.csv) has different feature columns: lacks x3" "$T/homo-cols.out" \
  && ok "homo: different columns are named ($(grep -o 'lacks [^(]*' "$T/homo-cols.out" | head -1))" || { bad "homo columns (rc $rc)"; tail -2 "$T/homo-cols.out"; }

train homo-copy
[ $rc -eq 2 ] && grep -q "homo_copy.csv:1: x3: this column is a copy of the label 'y'" "$T/homo-copy.out" \
  && ok "homo: a client's column that copies the label is refused (exit 2, file and column named)" || { bad "homo label copy (rc $rc)"; tail -2 "$T/homo-copy.out"; }

# ---- 6. the benchmark checks its own result --------------------------------------------------------
"$BIN" bench psi --rows 3000 >"$T/bench.out" 2>&1 && grep -q "result checked" "$T/bench.out" && grep -q "OpenSSL alone" "$T/bench.out" \
  && ok "bench psi: $(grep "^PSI" "$T/bench.out" | cut -c1-100)" || { bad "bench psi"; cat "$T/bench.out"; }

echo "ml_psi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
