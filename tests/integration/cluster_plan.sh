#!/usr/bin/env bash
# fatectl cluster plan through the binary: offline plans of every shipped example against golden
# output (tests/plan/golden; UPDATE_GOLDEN=1 rewrites them), exit codes and bad input; then against
# the Kubernetes API emulator with nodes of given capacity, one of them tainted and one already
# busy: a spec that fits gets a clean plan, one that does not gets each Pending pod named with the
# scheduler's reason, a missing StorageClass and a ResourceQuota/LimitRange refusal are named;
# `cluster install` then stops before creating anything, and --skip-plan goes ahead into the very
# Pending state the plan predicted (the emulator schedules by itself). kubectl checks the node
# numbers independently (`kubectl describe node`).
set -uo pipefail
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$SRC/tests/lib/assert.sh"
TEST_NAME=cluster_plan
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
GOLDEN=$SRC/tests/plan/golden
W=$(mktemp -d /tmp/fatectl-plan-it.XXXXXX)
D=$W/emu
cleanup() { "$SRC/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- offline: golden plans of every shipped example (relative paths: stable FILE:LINE:COL) ------
cd "$SRC"
mkdir -p "$GOLDEN"
n=0
for f in examples/v1.6/*.yaml examples/v1.11/*.yaml examples/v2.0/*.yaml examples/exchange/*.yaml; do
  name="$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
  n=$((n + 1))
  if ! "$FATECTL" --kubeconfig /nonexistent cluster plan -f "$f" --offline > "$W/$name.txt" 2> "$W/$name.err"; then
    not_ok "$name: plan failed: $(tail -2 "$W/$name.err")"; continue
  fi
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$W/$name.txt" "$GOLDEN/$name.txt"; ok "$name: golden plan written"
  elif diff -u "$GOLDEN/$name.txt" "$W/$name.txt" > "$W/$name.diff" 2>&1; then
    ok "$name: offline plan matches its golden file"
  else
    not_ok "$name: differs from tests/plan/golden/$name.txt:"; head -30 "$W/$name.diff"
  fi
done
[ "$n" -ge 15 ] && ok "$n shipped examples planned" || not_ok "only $n examples found"
f=examples/v1.11/party-9999-spark-pulsar.yaml
expect_rc 0 "offline plan with --data-size" -- "$FATECTL" cluster plan -f "$f" --offline --data-size 200Gi
expect_contains "data set 200Gi" "the data set is part of the plan"
expect_contains "2 x 200Gi = 400Gi" "the HDFS datanode and python volumes are held to twice the data set"
expect_contains "(rule persistence)" "persistence off is advice"
expect_rc 0 "-o json" -- "$FATECTL" cluster plan -f "$f" --offline -o json
total=$(echo "$OUT" | json 'd["total"]["requests"]["cpu"], d["total"]["pods"], len(d["findings"]), d["mode"]' 2>&1)
[ "$total" = "4 13 $(echo "$OUT" | json "len(d['findings'])") offline" ] && ok "json totals: $total" || not_ok "json totals: $total"
echo "$OUT" | json 'all(x["file"] == "'"$f"'" and x["line"] > 0 and x["source"] for x in d["findings"])' | grep -qx True &&
  ok "every finding has its file, line and the architecture's sentence" || not_ok "findings without a place or source"
expect_rc 1 "--strict fails on advice" -- "$FATECTL" cluster plan -f "$f" --offline --strict
expect_contains "--strict" "--strict says why it fails"
expect_rc 0 "without a kubeconfig the plan is offline" -- env -u KUBECONFIG HOME="$W" "$FATECTL" cluster plan -f "$f"
expect_contains "offline" "the plan says it is offline"
expect_rc 2 "--data-size that is not a size" -- "$FATECTL" cluster plan -f "$f" --offline --data-size lots
expect_contains "--data-size: 'lots' is not a size" "names the flag"
sed 's/cpu: "2"/cpu: "two"/' "$f" > "$W/bad-cpu.yaml"
expect_rc 2 "a resource that is not a quantity" -- "$FATECTL" cluster plan -f "$W/bad-cpu.yaml" --offline
line=$(grep -n 'cpu: "two"' "$W/bad-cpu.yaml" | cut -d: -f1)
expect_contains "bad-cpu.yaml:$line:" "the error names file and line"
expect_contains "spark.worker.resources.requests.cpu: " "and the key"
expect_rc 2 "an invalid spec is refused like validate does" -- "$FATECTL" cluster plan -f tests/spec/broken/$(ls tests/spec/broken | head -1) --offline

# ---- against the emulator: three nodes, one tainted for GPUs, one already 10 CPUs busy ----------
if [ ! -x "$KUBECTL" ]; then echo "SKIP: no $KUBECTL"; finish; exit $?; fi
"$SRC/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 900 >/dev/null || { not_ok "emulator start"; finish; exit 1; }
ADMIN=$(cat "$D/admin-url")
admin() { curl -fsS -X "$1" "$ADMIN$2" ${3:+-d "$3"} >/dev/null || echo "admin $1 $2 failed" >&2; }
F() { timeout 180 "$FATECTL" --kubeconfig "$D/kubeconfig" "$@"; }
K() { timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$W/kcache" "$@"; }
admin DELETE /nodes
admin POST /nodes '[{"name":"worker-1","capacity":{"cpu":"16","memory":"64Gi"},"labels":{"fate":"worker"}},
                    {"name":"worker-2","capacity":{"cpu":"16","memory":"64Gi"},"labels":{"fate":"worker"}},
                    {"name":"gpu-1","capacity":{"cpu":"32","memory":"128Gi"},"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]}]'
K create namespace batch >/dev/null
cat > "$W/busy.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: nightly-etl, namespace: batch}
spec:
  nodeName: worker-1
  containers:
  - {name: etl, image: busybox:1.36, resources: {requests: {cpu: "10", memory: 20Gi}}}
EOF
expect_rc 0 "kubectl puts a busy pod on worker-1" -- K apply -f "$W/busy.yaml"
out=$(K get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.allocatable.cpu}/{.status.allocatable.memory} {end}')
[ "$out" = "gpu-1=32/128Gi worker-1=16/64Gi worker-2=16/64Gi " ] && ok "kubectl sees the nodes' allocatable: $out" || not_ok "nodes: $out"

FITS=$W/fits.yaml
cp examples/v1.11/party-9999-spark-rabbitmq.yaml "$FITS"   # two Spark workers of the chart's 4 CPUs
BIG=$W/big.yaml
/usr/bin/python3 - "$FITS" "$BIG" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
t = t.replace("  worker:\n    replicas: 2\n",
              "  worker:\n    replicas: 3\n    resources:\n      requests: {cpu: \"8\", memory: 16Gi}\n")
assert "replicas: 3" in t, "example changed: adjust the test"
open(sys.argv[2], "w").write(t)
EOF

expect_rc 0 "a spec that fits: clean plan (exit 0)" -- F cluster plan -f "$FITS"
expect_contains "the party fits" "the plan says it fits"
expect_contains "worker-1" "a table per node"
expect_contains "10+" "worker-1 shows the 10 CPUs already requested on it"
expect_rc 0 "the same as json" -- F cluster plan -f "$FITS" -o json
echo "$OUT" | json 'd["fits"] and all(p.get("node") for p in d["cluster"]["pods"]) and not any(p.get("node") == "gpu-1" for p in d["cluster"]["pods"])' | grep -qx True &&
  ok "json: every pod has a node, none on the tainted gpu-1" || not_ok "json placement: $(echo "$OUT" | head -c 400)"
before=$(echo "$OUT" | json '[n["requestedBefore"].get("cpu") for n in d["cluster"]["nodes"] if n["name"] == "worker-1"][0]')
desc=$(K describe node worker-1 | awk '/^Allocated resources/,0' | awk '$1 == "cpu" {print $2}')
[ "$before" = "10" ] && [ "$desc" = "10" ] && ok "fatectl and kubectl describe node agree: worker-1 has $desc CPUs requested" ||
  not_ok "requested on worker-1: fatectl $before, kubectl $desc"

expect_rc 1 "a spec that does not fit: exit 1" -- F cluster plan -f "$BIG"
expect_contains "spark-worker[3/3]: 0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu." \
  "the Pending worker is named with the scheduler's reason"
expect_contains "pending (1 pod(s) cannot be placed)" "exactly one pod stays Pending"
expect_contains "spark-worker[1/3] and spark-worker[2/3] would share node worker-2" "two workers on one node breaks the one-per-node rule"
expect_rc 1 "json of the misfit" -- F cluster plan -f "$BIG" -o json
echo "$OUT" | json '[p["pod"] for p in d["cluster"]["pods"] if p.get("pending")] == ["spark-worker[3/3]"] and not d["fits"]' | grep -qx True &&
  ok "json names the one Pending pod" || not_ok "json pending: $(echo "$OUT" | tail -c 300)"

admin DELETE /requests
expect_rc 1 "install of the misfit stops before applying anything" -- F cluster install -f "$BIG" --create-namespace
expect_contains "spark-worker[3/3] would stay Pending: 0/3 nodes are available" "install names the Pending pod and why"
expect_contains "nothing was applied" "install says nothing was applied"
writes=$(curl -s "$ADMIN/requests" | json 'sum(1 for r in d["requests"] if r["method"] in ("POST", "PUT", "PATCH", "DELETE"))')
[ "$writes" = 0 ] && ok "not one write reached the API server" || not_ok "$writes writes were sent"
expect_rc 1 "nothing was created: no namespace" -- K get namespace fate-9999
expect_contains "NotFound" "kubectl finds no namespace fate-9999"

expect_rc 4 "--skip-plan goes ahead (and the wait times out on the Pending worker)" -- F cluster install -f "$BIG" --create-namespace --skip-plan --timeout 8s
expect_contains "cannot be scheduled: 0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu." \
  "the emulator's scheduler leaves the same pod Pending for the same reason"
pending=$(K get pods -n fate-9999 -l fateMoudle=spark-worker --field-selector status.phase=Pending -o name | wc -l)
[ "$pending" = 1 ] && ok "kubectl shows one Pending Spark worker" || not_ok "kubectl: $pending Pending Spark workers"
expect_rc 1 "re-planning the installed misfit excludes its own pods" -- F cluster plan -f "$BIG" -o json
echo "$OUT" | json '[p["pod"] for p in d["cluster"]["pods"] if p.get("pending")]' | grep -qx "\['spark-worker\[3/3\]'\]" &&
  ok "the re-plan still predicts exactly the one Pending worker" || not_ok "re-plan: $(echo "$OUT" | tail -c 300)"
expect_rc 0 "uninstall" -- F cluster uninstall fate-9999 --timeout 60s

expect_rc 0 "the spec that fits installs (its plan runs first)" -- F -v cluster install -f "$FITS" --timeout 90s
expect_contains "plan: all 12 pods fit on 3 node(s)" "install reports the plan's verdict"
expect_rc 0 "re-planning an installed party still fits (its own pods are not counted twice)" -- F cluster plan -f "$FITS"
expect_contains "the party fits" "still fits"

# ---- StorageClass, ResourceQuota and LimitRange of the namespace ---------------------------------
sed -e 's/^persistence: false/persistence: true/' -e 's/^mysql:/mysql:\n  storageClass: fast-ssd/' "$FITS" > "$W/sc.yaml"
grep -q '^mysql:' "$W/sc.yaml" || printf 'mysql:\n  storageClass: fast-ssd\n' >> "$W/sc.yaml"
expect_rc 1 "a StorageClass the cluster lacks" -- F cluster plan -f "$W/sc.yaml"
expect_contains "StorageClass fast-ssd does not exist (the cluster has: standard (default))" "names the missing class and the ones there are"
expect_contains "mysql-0: 0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims" "its pod stays Pending"

cat > "$W/quota.yaml" <<'EOF'
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: fate-9999}
spec:
  hard: {requests.cpu: "10", pods: "20"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: fate-9999}
spec:
  limits:
  - type: Container
    defaultRequest: {cpu: 100m, memory: 128Mi}
    max: {memory: 32Gi}
EOF
expect_rc 0 "kubectl applies a ResourceQuota and a LimitRange" -- K apply -f "$W/quota.yaml"
sleep 0.5
used=$(K get resourcequota compute -n fate-9999 -o jsonpath='{.status.used.requests\.cpu}')
[ -n "$used" ] && ok "kubectl reads the quota's status.used (requests.cpu=$used)" || not_ok "no status.used"
expect_rc 1 "the quota refuses the bigger workers" -- F cluster plan -f "$BIG"
expect_contains 'exceeded quota: compute, requested: requests.cpu=8' "the refusal is kube-apiserver's own message"
expect_contains "refused by the namespace's admission" "a section lists the refusals"
expect_rc 0 "the installed party is within the quota (its own pods are replaced, not added)" -- F cluster plan -f "$FITS"
K delete -f "$W/quota.yaml" >/dev/null 2>&1

# ---- a kubeconfig that may not list nodes: said, not guessed; install goes ahead ----------------
admin POST /rbac/deny '{"user":"admin","verb":"list","resource":"nodes"}'
expect_rc 0 "without the right to list nodes the plan does not guess" -- F cluster plan -f "$FITS"
expect_contains "not checked: " "it says what it could not check"
expect_contains "(403 Forbidden)" "and why"
expect_contains "placement not checked" "placement is skipped"
expect_rc 0 "install warns and goes ahead" -- F cluster install -f "$FITS" --timeout 60s
expect_contains "placement was not checked; installing anyway" "install says it could not check"
admin DELETE /rbac/deny
expect_rc 0 "uninstall" -- F cluster uninstall fate-9999 --timeout 60s
finish
