#!/usr/bin/env bash
# cluster install / status / list / diff / upgrade / history / rollback / uninstall through the
# binary against the Kubernetes API emulator, checked with the real kubectl where it helps.
set -uo pipefail
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$SRC/tests/lib/assert.sh"
TEST_NAME=cluster_install
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
W=$(mktemp -d /tmp/fatectl-cluster-it.XXXXXX)
D=$W/emu
cleanup() { "$SRC/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 900 >/dev/null || { not_ok "emulator start"; finish; exit 1; }
KC=$D/kubeconfig
F() { timeout 120 "$FATECTL" --kubeconfig "$KC" "$@"; }
K() { timeout 30 "$KUBECTL" --kubeconfig "$KC" --cache-dir "$W/kcache" "$@"; }
admin() { curl -fsS -X "$1" "$(cat "$D/admin-url")$2" ${3:+-d "$3"} >/dev/null; }

SPEC=$W/party.yaml
sed -e 's/^name: fate-9999/name: fate-9999/' "$SRC/examples/v1.11/party-9999-eggroll.yaml" > "$SPEC"
cat >> "$SPEC" <<'EOF'
mysql:
  user: fate
  password: "S3cretMysqlPw!"
EOF

# ---- dry runs -------------------------------------------------------------------------------
expect_rc 0 "install --dry-run=client renders without a cluster" -- "$FATECTL" --kubeconfig /nonexistent cluster install -f "$SPEC" --dry-run=client -o yaml
expect_contains "kind: Deployment" "dry-run=client prints the objects"
if grep -q "S3cretMysqlPw" <<<"$OUT"; then not_ok "dry-run output shows the spec's mysql password"; else ok "dry-run output hides the spec's mysql password"; fi
expect_rc 2 "install into a missing namespace without --create-namespace" -- F cluster install -f "$SPEC"
expect_contains "--create-namespace" "the error says how to fix it"
expect_rc 0 "install --dry-run=server with no namespace yet" -- F cluster install -f "$SPEC" --dry-run=server
if K get namespace fate-9999 >/dev/null 2>&1; then not_ok "server dry-run created the namespace"; else ok "server dry-run created nothing"; fi

# ---- install ---------------------------------------------------------------------------------
expect_rc 0 "install --create-namespace (client certificate)" -- F cluster install -f "$SPEC" --create-namespace --timeout 90s
expect_contains "installed in namespace fate-9999 (revision 1" "install reports the revision"
n_rendered=$("$FATECTL" cluster install -f "$SPEC" --dry-run=client -o json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' || true)
inv=$(K get secret -n fate-9999 fatectl.release.v1.fate-9999.v1 -o jsonpath='{.data.release}' | base64 -d | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["inventory"]))' || true)
[ "$n_rendered" = "$inv" ] && ok "release inventory holds all $inv rendered objects" || not_ok "inventory $inv vs rendered $n_rendered"
labels=$(K get secret -n fate-9999 fatectl.release.v1.fate-9999.v1 -o jsonpath='{.metadata.labels}' || true)
grep -q '"owner":"fatectl"' <<<"$labels" && grep -q '"status":"deployed"' <<<"$labels" && ok "release Secret labels owner=fatectl status=deployed" || not_ok "release labels: $labels"
deps=$(K get deployments,statefulsets -n fate-9999 -o yaml || true)
grep -q "name: python" <<<"$deps" && grep -q "name: mysql" <<<"$deps" && ok "kubectl get -o yaml sees the Deployments" || not_ok "kubectl does not see python/mysql"
mf=$(K get statefulset python -n fate-9999 -o jsonpath='{.metadata.managedFields[*].manager}' || true)
[[ "$mf" == *fatectl* ]] && ok "field manager is fatectl" || not_ok "managers: $mf"
gen1=$(K get statefulsets,deployments -n fate-9999 -o jsonpath='{.items[*].metadata.generation}' || true)
data1=$(K get configmaps -n fate-9999 -o jsonpath='{.items[*].data}' || true)

expect_rc 0 "install twice" -- F cluster install -f "$SPEC"
expect_contains "nothing changed" "second install is a no-op"
gen2=$(K get statefulsets,deployments -n fate-9999 -o jsonpath='{.items[*].metadata.generation}' || true)
data2=$(K get configmaps -n fate-9999 -o jsonpath='{.items[*].data}' || true)
[ -n "$gen1" ] && [ "$gen1" = "$gen2" ] && ok "second install changed no workload spec (generations $gen2)" || not_ok "generations changed: $gen1 -> $gen2"
[ -n "$data1" ] && [ "$data1" = "$data2" ] && ok "second install changed no ConfigMap data" || not_ok "ConfigMap data changed"
revs=$(K get secret -n fate-9999 -l owner=fatectl -o name | wc -l || true)
[ "$revs" = 1 ] && ok "second install made no new revision" || not_ok "$revs revisions"

# ---- status, list, auth modes ------------------------------------------------------------------
expect_rc 0 "status" -- F cluster status fate-9999
expect_contains "nodePort 30091" "status shows rollsite's NodePort"
expect_contains "python" "status lists modules"
expect_rc 0 "status -o json" -- F cluster status fate-9999 -o json
echo "$OUT" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(m["ready"]==m["total"] for m in d["modules"]), d' \
  && ok "status -o json: every module ready" || not_ok "status json"
for ctx in token exec; do
  expect_rc 0 "list -A with context $ctx" -- F --context $ctx cluster list -A
  expect_contains "fate-9999" "list shows the release ($ctx)"
done
# merged KUBECONFIG: clusters+users in one file, contexts+current-context in another
/usr/bin/python3 - "$KC" "$W/a.yaml" "$W/b.yaml" <<'EOF'
import sys, re
text = open(sys.argv[1]).read()
head, ctx = text.split("contexts:", 1)
open(sys.argv[2], "w").write(head)
open(sys.argv[3], "w").write("apiVersion: v1\nkind: Config\ncontexts:" + ctx.replace("current-context: cert", "current-context: token"))
EOF
expect_rc 0 "merged KUBECONFIG (two files)" -- env KUBECONFIG="$W/missing.yaml:$W/b.yaml:$W/a.yaml" timeout 60 "$FATECTL" cluster history fate-9999
expect_contains "install complete" "history through the merged KUBECONFIG"
expect_rc 3 "anonymous context is refused" -- F --context anonymous cluster status fate-9999 -n fate-9999
expect_contains "anonymous" "the refusal names the identity"

# ---- diff ------------------------------------------------------------------------------------
expect_rc 0 "diff with no change exits 0" -- F cluster diff -f "$SPEC"
K scale statefulset nodemanager -n fate-9999 --replicas=3 >/dev/null || true
expect_rc 1 "diff after kubectl changed a field exits 1" -- F cluster diff -f "$SPEC"
expect_contains "-  replicas: 3" "diff shows the other manager's change"
expect_rc 0 "install repairs the drift" -- F cluster install -f "$SPEC" --timeout 60s
expect_rc 0 "diff clean again" -- F cluster diff -f "$SPEC"

# ---- upgrade, history, rollback ----------------------------------------------------------------
# Eggroll -> Spark (local) + Pulsar: rollsite, clustermanager and nodemanager leave the spec.
cp "$SRC/examples/v1.11/party-9999-spark-local-pulsar.yaml" "$W/upgraded.yaml"
printf 'mysql:\n  user: fate\n  password: "S3cretMysqlPw!"\n' >> "$W/upgraded.yaml"
expect_rc 1 "diff shows the engine change" -- F cluster diff -f "$W/upgraded.yaml"
expect_contains "clustermanager" "diff names the objects that would be deleted"
expect_rc 0 "upgrade Eggroll -> Spark/Pulsar" -- F cluster upgrade -f "$W/upgraded.yaml" --timeout 60s
expect_contains "deleted Deployment fate-9999/clustermanager" "upgrade pruned clustermanager"
if K get deployment clustermanager -n fate-9999 >/dev/null 2>&1; then not_ok "clustermanager still exists"; else ok "clustermanager is gone"; fi
sed -e 's/^chartVersion: v1.11.2/chartVersion: v1.10.0/' "$W/upgraded.yaml" > "$W/down.yaml"
expect_rc 2 "downgrade refused" -- F cluster upgrade -f "$W/down.yaml"
expect_contains "refusing to downgrade" "downgrade refusal says why"
expect_rc 0 "history" -- F cluster history fate-9999
expect_contains "superseded" "revision 1 superseded"
expect_contains "upgrade complete" "revision 2 deployed"
expect_rc 0 "rollback to revision 1" -- F cluster rollback fate-9999 1 --timeout 60s
K get deployment clustermanager -n fate-9999 >/dev/null 2>&1 && ok "rollback brought clustermanager back" || not_ok "clustermanager missing after rollback"
expect_rc 0 "history after rollback" -- F cluster history fate-9999 -o json
echo "$OUT" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [r["revision"] for r in d]==[1,2,3] and d[-1]["status"]=="deployed", d' \
  && ok "three revisions, the last deployed" || not_ok "history json: $OUT"

# ---- secrets never shown --------------------------------------------------------------------
TOKEN=$(cat "$D/token" || true)
expect_rc 0 "status -vvv with a token" -- F --context token -vvv cluster status fate-9999
all="$OUT"
expect_rc 1 "diff -vvv" -- F --context token -vvv cluster diff -f "$W/upgraded.yaml"
all="$all$OUT"
expect_rc 0 "install -vvv --dry-run=server" -- F --context token -vvv cluster install -f "$SPEC" --dry-run=server
all="$all$OUT"
grep -q "trace: HTTP" <<<"$all" && ok "-vvv traces HTTP" || not_ok "no HTTP trace at -vvv"
if grep -qF "$TOKEN" <<<"$all"; then not_ok "token in output"; else ok "token never printed"; fi
if grep -qF "S3cretMysqlPw" <<<"$all"; then not_ok "mysql password in output"; else ok "spec password never printed"; fi

# ---- uninstall ---------------------------------------------------------------------------------
K create secret generic user-cert -n fate-9999 --from-literal=k=v >/dev/null || true
expect_rc 0 "uninstall" -- F cluster uninstall fate-9999 --timeout 60s
expect_contains "kept Namespace fate-9999" "uninstall keeps the namespace"
expect_contains "kept Secret fate-9999/user-cert" "uninstall keeps user Secrets and says so"
left=$(K get deployments,statefulsets,services,configmaps -n fate-9999 -o name 2>/dev/null | grep -v kube-root-ca.crt | wc -l || true)
[ "$left" = 0 ] && ok "no workloads, services or configmaps left" || not_ok "$left objects left"
[ "$(K get secret -n fate-9999 -l owner=fatectl -o name | wc -l)" = 0 ] && ok "release records removed" || not_ok "release records left"
expect_rc 1 "status after uninstall" -- F cluster status fate-9999 -n fate-9999
finish
