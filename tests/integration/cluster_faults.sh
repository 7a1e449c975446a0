#!/usr/bin/env bash
# cluster install under injected faults (emulator admin API): 500s and 429 are retried and the
# install converges; connection resets past the retry budget and a pod that never becomes ready
# make it exit non-zero naming the object and the cause; a re-run then converges.
set -uo pipefail
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$SRC/tests/lib/assert.sh"
TEST_NAME=cluster_faults
W=$(mktemp -d /tmp/fatectl-faults-it.XXXXXX)
D=$W/emu
cleanup() { "$SRC/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 900 >/dev/null || { not_ok "emulator start"; finish; exit 1; }
KC=$D/kubeconfig
F() { timeout 180 "$FATECTL" --kubeconfig "$KC" "$@"; }
ADMIN=$(cat "$D/admin-url")
admin() { curl -fsS -X "$1" "$ADMIN$2" ${3:+-d "$3"} >/dev/null || echo "admin $1 $2 failed" >&2; }
inventory_count() {
  "$FATECTL" --kubeconfig "$KC" cluster history "$1" -n "$2" -o json >/dev/null 2>&1 || { echo 0; return; }
  curl -s "$ADMIN/state" >/dev/null
  timeout 30 /usr/bin/kubectl --kubeconfig "$KC" --cache-dir "$W/kc" get secret -n "$2" "fatectl.release.v1.$1.v1" \
    -o jsonpath='{.data.release}' | base64 -d | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["inventory"]))'
}

SPEC=$W/party.yaml
cp "$SRC/examples/v1.11/party-9999-eggroll.yaml" "$SPEC"
rendered=$("$FATECTL" cluster install -f "$SPEC" --dry-run=client -o json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' || true)

# 1. 500s on every ConfigMap apply (twice each) and a 429 with Retry-After: retried, converges.
admin POST /faults '{"action":"status","status":500,"method":"PATCH","path_regex":"/configmaps/","times":6}'
admin POST /faults '{"action":"status","status":429,"retry_after":1,"method":"PATCH","path_regex":"/services/","times":2}'
expect_rc 0 "install converges through 500s and 429s" -- F -v cluster install -f "$SPEC" --create-namespace --timeout 90s
hits=$(curl -s "$ADMIN/requests?method=PATCH&path_regex=/configmaps/" | /usr/bin/python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["requests"] if r["status"]==500))' || true)
[ "$hits" -ge 1 ] && ok "the 500s really happened ($hits) and were retried" || not_ok "no 500 was served"
expect_rc 0 "uninstall" -- F cluster uninstall fate-9999 --timeout 60s
admin DELETE /faults

# 2. Connection resets on every Deployment apply (more than the retry budget): the install fails
#    naming a Deployment, the inventory is complete anyway, and a re-run converges.
admin POST /faults '{"action":"reset","method":"PATCH","path_regex":"/deployments/","times":100}'
expect_rc 3 "install with resets mid-apply exits non-zero" -- F cluster install -f "$SPEC" --timeout 60s
expect_contains "deployments" "the error names the object kind"
expect_contains "cannot reach the API server" "the error names the cause"
n=$(inventory_count fate-9999 fate-9999 || true)
[ "$n" = "$rendered" ] && ok "the interrupted install's record lists all $n objects" || not_ok "inventory $n vs $rendered"
expect_rc 0 "history shows the failed revision" -- F cluster history fate-9999
expect_contains "failed" "revision 1 is marked failed"
admin DELETE /faults
expect_rc 0 "re-run converges" -- F cluster install -f "$SPEC" --timeout 90s
expect_contains "revision 1" "the re-run completes revision 1"
expect_rc 0 "status after convergence" -- F cluster status fate-9999

# 3. A pod that never becomes ready: exit 4 naming the Deployment and the reason with log lines;
#    once the pod is fixed, re-running the install converges.
expect_rc 0 "uninstall before the readiness test" -- F cluster uninstall fate-9999 --timeout 60s
admin POST /pod-failures '{"pod_regex":"^python","reason":"CrashLoopBackOff","exit_code":3,"log":"loading service_conf.yaml\nERROR: cannot connect to mysql:3306\n"}'
expect_rc 4 "install with a crash-looping python exits 4 (timeout)" -- F cluster install -f "$SPEC" --timeout 6s
expect_contains "StatefulSet fate-9999/python" "the timeout names the StatefulSet"
expect_contains "CrashLoopBackOff" "the timeout gives the reason"
expect_contains "cannot connect to mysql" "the timeout shows the last log lines"
admin DELETE /pod-failures
expect_rc 0 "re-running the install converges" -- F cluster install -f "$SPEC" --timeout 90s
expect_rc 0 "status is healthy" -- F cluster status fate-9999
finish
