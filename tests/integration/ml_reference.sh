#!/usr/bin/env bash
# fatectl's federated LR against the plaintext numpy reference (tests/ml/reference.py) trained with
# the same seed and parameters: weights within 1e-4, AUC within 0.001, and (converged runs) AUC
# within 0.01 of scikit-learn's exact logistic regression. Hetero with one and two hosts, masked
# mini-batches with mask_gradients, homo with two and three clients, breast and default-credit.
# Also `fatectl predict` on two of the trained models (tests/ml/check_predict.py), and data
# preparation, sample weights and validation with early stopping (cases 7-10).
# Small on purpose: 1024-bit keys (insecure flag), few epochs, default-credit subsampled.
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/fatectl-ml-ref.XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
D=$SRC/examples/data

# default-credit subsample (hetero: the first 1500 rows of each side; ids intersect)
head -n 1501 "$D/default_credit_hetero_guest.csv" >"$T/dc_guest.csv"
head -n 1501 "$D/default_credit_hetero_host.csv" >"$T/dc_host.csv"

job() {  # name algorithm params-yaml parties-yaml
  cat >"$T/$1.yaml" <<YAML
job: $1
domain: fate.org
timeout: 5m
parties:
$4
algorithm:
  name: $2
  params:
$3
YAML
}

check() {  # name guest-id [--sklearn] [--process]
  local name=$1 guest=$2 extra=${3:-} mode=--in-process
  [ "${4:-}" = "--process" ] && mode=""
  local out="$T/out-$name"
  if ! "$BIN" train --local $mode --job "$T/$name.yaml" --out "$out" --run-dir "$T/run-$name" >"$T/$name.log" 2>&1; then
    echo "FAIL $name: fatectl train failed"; tail -20 "$T/$name.log"; fail=$((fail+1)); return
  fi
  if ! $PY "$SRC/tests/ml/reference.py" "$T/$name.yaml" >"$T/$name.ref.json" 2>"$T/$name.ref.err"; then
    echo "FAIL $name: reference failed"; cat "$T/$name.ref.err"; fail=$((fail+1)); return
  fi
  if $PY "$SRC/tests/ml/compare.py" "$out" "$T/$name.ref.json" "$guest" $extra >"$T/$name.cmp" 2>&1; then
    echo "ok   $name: $(tr '\n' ' ' <"$T/$name.cmp")"; pass=$((pass+1))
  else
    echo "FAIL $name:"; cat "$T/$name.cmp"; fail=$((fail+1))
  fi
}

predict() {  # name guest-id [--process]: fatectl predict on the training output, checked independently
  local name=$1 guest=$2 mode=--in-process
  [ "${3:-}" = "--process" ] && mode=""
  if ! "$BIN" predict --local $mode --job "$T/$name.yaml" --out "$T/out-$name" --run-dir "$T/run-$name-predict" \
      >"$T/$name.predict.log" 2>&1; then
    echo "FAIL $name predict: fatectl predict failed"; tail -20 "$T/$name.predict.log"; fail=$((fail+1)); return
  fi
  if $PY "$SRC/tests/ml/check_predict.py" "$T/$name.yaml" "$T/out-$name" "$guest" >"$T/$name.pcmp" 2>&1; then
    echo "ok   $name predict: $(cat "$T/$name.pcmp")"; pass=$((pass+1))
  else
    echo "FAIL $name predict:"; cat "$T/$name.pcmp"; fail=$((fail+1))
  fi
}

KEY="    encrypt_param: {key_length: 1024, allow_insecure_key_size: true}"

# 1. hetero, one host, breast, full batch (FATE's benchmark settings), through separate processes
job hetero1 hetero_lr "$KEY
    alpha: 0.01
    optimizer: nesterov_momentum_sgd
    learning_rate: 0.15
    max_iter: 30
    init_param: {init_method: zeros, random_seed: 42}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_hetero_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_hetero_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero1 9999 --sklearn --process
predict hetero1 9999 --process

# 2. hetero, two hosts, breast (centralised path, weight_diff), random init, adagrad
job hetero2 hetero_lr "$KEY
    alpha: 0.01
    optimizer: adagrad
    learning_rate: 0.1
    max_iter: 6
    early_stop: weight_diff
    init_param: {init_method: random_uniform, random_seed: 5}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_hetero_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_hetero_host_1.csv}
  - {id: 10002, role: host, listen: 127.0.0.1:0, data: $D/breast_hetero_host_2.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero2 9999

# 3. hetero, one host, breast, masked mini-batches + mask_gradients + adam + L1
job hetero_mb hetero_lr "$KEY
    penalty: L1
    alpha: 0.001
    optimizer: adam
    learning_rate: 0.05
    max_iter: 2
    batch_size: 150
    masked_rate: 2
    mask_gradients: true
    init_param: {init_method: random_normal, random_seed: 9}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_hetero_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_hetero_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero_mb 9999

# 4. hetero, default-credit (subsample), one host, trained to near sklearn's optimum
job hetero_dc hetero_lr "$KEY
    alpha: 0.01
    optimizer: nesterov_momentum_sgd
    learning_rate: 0.15
    max_iter: 15
    init_param: {init_method: zeros, random_seed: 1}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $T/dc_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $T/dc_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero_dc 9999 --sklearn

# 4b. hetero, default-credit (subsample), two hosts (the host file twice under two ids)
job hetero_dc2 hetero_lr "$KEY
    alpha: 0.01
    optimizer: sgd
    learning_rate: 0.15
    max_iter: 3
    early_stop: weight_diff
    init_param: {init_method: zeros, random_seed: 3}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $T/dc_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $T/dc_host.csv}
  - {id: 10002, role: host, listen: 127.0.0.1:0, data: $T/dc_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero_dc2 9999

# 5. homo, breast, two clients, full batch, 30 epochs, aggregation every 2 epochs
job homo_breast homo_lr "    alpha: 0.01
    optimizer: sgd
    learning_rate: 0.5
    max_iter: 30
    aggregate_iters: 2
    tol: 0.000001
    init_param: {init_method: zeros, random_seed: 42}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/breast_homo_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/breast_homo_host.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check homo_breast 9999 --sklearn
predict homo_breast 9999

# 6. homo, default-credit, three clients (24,000 rows), shuffled mini-batches
job homo_dc homo_lr "    alpha: 0.01
    optimizer: sgd
    learning_rate: 0.5
    max_iter: 5
    batch_size: 500
    init_param: {init_method: random_uniform, random_seed: 11}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $D/default_credit_homo_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $D/default_credit_homo_host_1.csv}
  - {id: 10002, role: host, listen: 127.0.0.1:0, data: $D/default_credit_homo_host_2.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check homo_dc 9999 --sklearn

# 7-10. data preparation, sample weights and validation (issue 17): breast files with empty cells,
# a weight column and train/validation splits, made here deterministically.
$PY - "$D" "$T" <<'PYEOF'
import csv, sys
src, out = sys.argv[1], sys.argv[2]
def rw(name, dst, blank_every, blank_col, extra=None, keep=None):
    rows = list(csv.reader(open("%s/%s" % (src, name))))
    head, body = rows[0], rows[1:]
    if keep is not None:
        body = [r for r in body if keep(r)]
    c = head.index(blank_col)
    for i, r in enumerate(body):
        if i % blank_every == 3:
            r[c] = "" if i % 2 else "NA"
    if extra:
        head = head + [extra[0]]
        body = [r + [extra[1](r)] for r in body]
    with open("%s/%s" % (out, dst), "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([head] + body)
train = lambda r: int(r[0]) % 4 != 0
valid = lambda r: int(r[0]) % 4 == 0
rw("breast_hetero_guest.csv", "bg.csv", 17, "x3")
rw("breast_hetero_host.csv", "bh.csv", 23, "x5")
wt = ("wt", lambda r: str(1 + int(r[0]) % 3))
rw("breast_hetero_guest.csv", "bg_train.csv", 13, "x1", wt, train)
rw("breast_hetero_guest.csv", "bg_valid.csv", 13, "x1", None, valid)
rw("breast_hetero_host.csv", "bh_train.csv", 11, "x7", None, train)
rw("breast_hetero_host.csv", "bh_valid.csv", 11, "x7", None, valid)
rw("breast_homo_guest.csv", "hg.csv", 9, "x2")
rw("breast_homo_host.csv", "hh.csv", 7, "x4")
rw("breast_homo_guest.csv", "hgw.csv", 9, "x2", wt)
rw("breast_homo_host.csv", "hhw.csv", 7, "x4", wt)
rw("breast_homo_test.csv", "ht1.csv", 5, "x2", None, lambda r: int(r[0]) % 2 == 0)
rw("breast_homo_test.csv", "ht2.csv", 5, "x2", None, lambda r: int(r[0]) % 2 == 1)
PYEOF

# 7. hetero, one host: median/mean fill, standard_scale clipped to [-2, 2], class weights (the
#    weighted, centralised path and the weighted loss), full batch
job hetero_prep hetero_lr "$KEY
    data_transform: {missing_fill_method: median, col_missing_fill_method: {x0: mean}}
    feature_scale: {method: standard_scale, feat_upper: 2, feat_lower: -2}
    class_weight: {0: 1, 1: 2.5}
    alpha: 0.01
    optimizer: nesterov_momentum_sgd
    learning_rate: 0.15
    max_iter: 10
    init_param: {init_method: zeros, random_seed: 42}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: $T/bg.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: $T/bh.csv}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero_prep 9999
predict hetero_prep 9999

# 8. hetero, masked mini-batches: min_max_scale with a per-column bound, a normalised weight
#    column, validation every 2 epochs with early stopping (best iteration kept), max_ks threshold
job hetero_val hetero_lr "$KEY
    data_transform: {missing_fill_method: mean}
    feature_scale: {method: min_max_scale, feat_upper: {x2: 1.5}}
    sample_weight: {sample_weight_name: wt, normalize: true}
    alpha: 0.01
    optimizer: adam
    learning_rate: 0.3
    max_iter: 20
    batch_size: 150
    masked_rate: 2
    early_stop: weight_diff
    tol: 0.000001
    validation_freqs: 1
    early_stopping_rounds: 3
    metrics: [ks, auc]
    choose_threshold: max_ks
    init_param: {init_method: random_normal, random_seed: 9}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: [$T/bg_train.csv, $T/bg_valid.csv]}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: [$T/bh_train.csv, $T/bh_valid.csv]}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check hetero_val 9999
predict hetero_val 9999

# 9. homo, two clients: federated statistics, class_weight balanced, validation with early
#    stopping and the max_f1 threshold on the pooled validation counts
job homo_prep homo_lr "    id_column: id
    data_transform: {missing_fill_method: mean}
    feature_scale: {method: standard_scale}
    homo_statistics: federated
    class_weight: balanced
    alpha: 0.01
    optimizer: sgd
    learning_rate: 0.3
    max_iter: 40
    tol: 0.0000001
    validation_freqs: 5
    early_stopping_rounds: 2
    use_first_metric_only: true
    choose_threshold: max_f1
    init_param: {init_method: zeros, random_seed: 42}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: [$T/hg.csv, $T/ht1.csv]}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: [$T/hh.csv, $T/ht2.csv]}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check homo_prep 9999
predict homo_prep 10000

# 10. homo, two clients: local statistics (FATE's way: each client scales by its own minima and
#     maxima, clipped below), outlier replacement, a weight column (it wins over class_weight)
job homo_local homo_lr "    id_column: id
    data_transform: {missing_fill_method: max, outlier_replace: true, outlier_impute: [0], outlier_replace_method: median}
    feature_scale: {method: min_max_scale, feat_lower: {x0: -1}}
    sample_weight: {sample_weight_name: wt, class_weight: {0: 1, 1: 3}}
    alpha: 0.01
    optimizer: rmsprop
    learning_rate: 0.1
    max_iter: 12
    batch_size: 100
    init_param: {init_method: zeros, random_seed: 5}" \
"  - {id: 9999, role: guest, listen: 127.0.0.1:0, data: [$T/hgw.csv, $T/ht1.csv]}
  - {id: 10000, role: host, listen: 127.0.0.1:0, data: [$T/hhw.csv, $T/ht2.csv]}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:0}"
check homo_local 9999
predict homo_local 9999

echo "ml_reference: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
