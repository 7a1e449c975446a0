#!/usr/bin/env bash
# fatectl toy (in-cluster) against the Kubernetes API emulator: exec in FATE Flow pods runs
# tests/toy/fate-toy.sh, which prints what FATE 1.6, 1.8, 1.11 and 2.0 print for success, failure,
# timeout, the "query job status failed" loop and FATE Flow being down -- and fails like a real
# container when fatectl sends the wrong command or container for the version.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/toy_cluster.XXXXXX"); E=$W/emu
cleanup() { "$SRC/scripts/kube-emulator" stop "$E" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
"$SRC/scripts/kube-emulator" start "$E" >/dev/null
export KUBECONFIG=$E/kubeconfig
ADMIN=$(cat "$E/admin-url")
mode() {  # exec in any FATE image runs fate-toy.sh with TOY_MODE=$1 (two-sided), TOY_MODE_ONE_SIDED=$2
  curl -fsS -X DELETE "$ADMIN/exec-maps" >/dev/null
  curl -fsS -X POST "$ADMIN/exec-maps" -d "{\"image_regex\":\"federatedai/(python|fateflow):\",\"wrapper\":[\"bash\",\"$SRC/tests/toy/fate-toy.sh\"],\"env\":{\"TOY_MODE\":\"$1\",\"TOY_MODE_ONE_SIDED\":\"${2:-success}\",\"TOY_DELAY\":\"0.02\"}}" >/dev/null
}
pod() {  # pod NS CONTAINER IMAGE: a Running FATE Flow pod as KubeFATE labels it
  kubectl create namespace "$1" >/dev/null
  kubectl apply -f - >/dev/null <<Y
apiVersion: v1
kind: Pod
metadata: {name: python-0, namespace: $1, labels: {fateMoudle: python, name: fate-9999, partyId: "9999"}}
spec:
  containers:
  - {name: $2, image: $3}
  - {name: fateboard, image: federatedai/fateboard:9.9.9}
Y
}
pod fate-16 python federatedai/python:1.6.1-release
pod fate-18 python federatedai/python:1.8.0-release
pod fate-111 fateflow federatedai/fateflow:1.11.2-release
pod fate-20 fateflow federatedai/fateflow:2.0.0-release
for ns in fate-16 fate-18 fate-111 fate-20; do
  for i in $(seq 1 50); do
    [ "$(kubectl -n $ns get pod python-0 -o jsonpath='{.status.phase}')" = Running ] && break; sleep 0.1
  done
done

toy() { "$FATECTL" toy --guest 9999 --host 10000 --timeout 60s "$@"; }
for v in 16 18 111 20; do
  ns=fate-$v
  mode success
  expect_rc 0 "[$v] success -> exit 0" -- toy -n $ns
  expect_contains "PASS" "[$v] verdict PASS"
  expect_contains "9999 -> 9999 (one-sided)" "[$v] one-sided run first"
  expect_contains "9999 -> 10000" "[$v] then two-sided"
  expect_contains "success to calculate secure_sum" "[$v] FATE's output streamed"
  mode failed
  expect_rc 1 "[$v] failed -> exit 1" -- toy -n $ns
  expect_contains "FAIL: failed" "[$v] verdict failed"
  expect_contains "look at party 10000" "[$v] hint points at the host side"
  mode timeout
  expect_rc 4 "[$v] timeout -> exit 4" -- toy -n $ns
  expect_contains "FAIL: timeout" "[$v] verdict timeout"
  expect_contains "federation path between 9999 and 10000" "[$v] hint names the federation path"
  expect_contains "job logs: kubectl -n $ns exec python-0" "[$v] log download command"
  mode query-failed
  expect_rc 1 "[$v] query job status failed loop -> exit 1" -- toy -n $ns
  expect_contains "query-job-status-failed" "[$v] verdict names the loop"
  expect_contains "missing from a route table" "[$v] hint: party missing from a route table"
done
# per-version log commands
mode timeout
expect_rc 4 "1.6 timeout" -- toy -n fate-16; expect_contains "fate_flow_client.py -f job_log -j" "1.6 log command"
expect_rc 4 "1.11 timeout" -- toy -n fate-111; expect_contains "-- flow job log -j" "1.11 log command"
expect_rc 4 "2.0 timeout" -- toy -n fate-20; expect_contains "-- flow job download-log -j" "2.0 log command"

mode flow-down flow-down
expect_rc 3 "FATE Flow down -> exit 3" -- toy -n fate-111
expect_contains "fate-flow-down" "verdict fate-flow-down"
expect_contains "is not answering" "hint: FATE Flow not up"
expect_rc 3 "FATE Flow down (1.6 traceback) -> exit 3" -- toy -n fate-16

mode success failed
expect_rc 1 "one-sided failure stops before the two-sided run" -- toy -n fate-18
expect_contains "party 9999 itself is broken" "one-sided hint"
if grep -q -- "9999 -> 10000" <<<"$OUT"; then not_ok "two-sided run skipped"; else ok "two-sided run skipped"; fi
mode success failed
expect_rc 0 "--skip-one-sided runs only the two-sided toy" -- toy -n fate-18 --skip-one-sided

mode success
set +e; OUT=$(toy -n fate-20 -o json 2>"$W/json.err"); rc=$?; set -e   # FATE's output streams to stderr
[ $rc = 0 ] && ok "-o json exit 0" || not_ok "-o json exit $rc"
grep -q "is success" "$W/json.err" && ok "-o json streams FATE's output to stderr" || not_ok "-o json stderr"
/usr/bin/python3 -c '
import json,sys
d=json.loads(sys.argv[1])
assert d["ok"] and d["fateVersion"]=="2.0.0" and d["container"]=="fateflow", d
assert [r["verdict"] for r in d["runs"]]==["success","success"], d
assert d["versionSource"].startswith("image federatedai/fateflow:2.0.0"), d' "$OUT" && ok "json report" || not_ok "json report: $OUT"

# the command cannot start in the container (no exec wrapper: the runtime finds no `flow`): the
# API server's exec error is shown as it came, and the verdict says nothing of FATE ran
curl -fsS -X DELETE "$ADMIN/exec-maps" >/dev/null
expect_rc 1 "a command that cannot start -> exit 1" -- toy -n fate-111
expect_contains "FAIL: command-not-started" "verdict command-not-started"
expect_contains 'exec: "flow": executable file not found in $PATH' "the API server's exec error, as given"
expect_contains "the command \`flow test toy -gid 9999 -hid 9999\` could not start in pod python-0, container fateflow (nothing of FATE ran" "says which command could not start where"
if grep -q "itself is broken\|exited -1" <<<"$OUT"; then not_ok "blames the party for an exec failure"; else ok "does not blame the party"; fi
set +e; OUT=$(toy -n fate-111 -o json 2>/dev/null); set -e
/usr/bin/python3 -c '
import json,sys
d=json.loads(sys.argv[1]); r=d["runs"][0]
assert r["verdict"]=="command-not-started" and "executable file not found" in r["execError"], r' "$OUT" \
  && ok "-o json: verdict and execError" || not_ok "json: $OUT"

# the harness fails when fatectl picks the wrong command for the version
mode success
expect_rc 1 "wrong version forced -> the container refuses" -- toy -n fate-16 --fate-version 1.11.2
kubectl create namespace empty >/dev/null
expect_rc 1 "no FATE Flow pod -> clear error" -- toy -n empty
expect_contains "no FATE Flow pod (label fateMoudle=python) in namespace empty" "names the namespace and label"
finish
