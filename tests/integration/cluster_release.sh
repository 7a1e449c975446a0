#!/usr/bin/env bash
# Day-two release verbs through the binary against the Kubernetes API emulator: cluster list
# across namespaces, get spec|objects|notes, diff between revisions, rollback --dry-run, upgrade
# --atomic, a pending revision left by a killed fatectl, history that stays one line per
# revision, status --events / describe, uninstall --keep-history and what uninstall does with
# the Secrets `fatectl certs exchange` made; shell completion asking the cluster for names.
set -uo pipefail
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$SRC/tests/lib/assert.sh"
TEST_NAME=cluster_release
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
W=$(mktemp -d /tmp/fatectl-release-it.XXXXXX)
D=$W/emu
BG=()
cleanup() {
  set +e  # expect_rc leaves errexit on; a kill of a process already gone must not change the exit status
  for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
  "$SRC/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SRC/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 900 >/dev/null || { not_ok "emulator start"; finish; exit 1; }
KC=$D/kubeconfig
ADMIN=$(cat "$D/admin-url")
F() { timeout 120 "$FATECTL" --kubeconfig "$KC" "$@"; }
K() { timeout 30 "$KUBECTL" --kubeconfig "$KC" --cache-dir "$W/kcache" "$@"; }
admin() { curl -fsS -X "$1" "$ADMIN$2" ${3:+-d "$3"} >/dev/null || echo "admin $1 $2 failed" >&2; }
py() { /usr/bin/python3 "$@"; }
# expect_json CODE DESCRIPTION -- CMD...: like expect_rc, but $OUT is stdout alone (stderr in $W/stderr)
expect_json() {
  local want="$1" desc="$2"; shift 3
  set +e; OUT="$("$@" 2>"$W/stderr")"; local rc=$?; set -e
  if [ "$rc" -eq "$want" ]; then ok "$desc"; else not_ok "$desc (exit $rc, wanted $want): $(tail -3 "$W/stderr")"; fi
}
PW='Rel3aseMysqlPw!'

SPEC=$W/party.yaml
cp "$SRC/examples/v1.11/party-9999-eggroll.yaml" "$SPEC"
printf 'mysql:\n  user: fate\n  password: "%s"   # the database password\n' "$PW" >> "$SPEC"
SPARK=$W/spark.yaml
cp "$SRC/examples/v1.11/party-9999-spark-local-pulsar.yaml" "$SPARK"
printf 'mysql:\n  user: fate\n  password: "%s"\n' "$PW" >> "$SPARK"

# the RabbitMQ default password ("fate") is now a Secret value: redacting it must not mangle names
expect_rc 0 "dry run of a RabbitMQ party" -- F cluster install -f "$SRC/examples/v1.11/party-9999-spark-rabbitmq.yaml" --dry-run=client -o yaml
expect_contains "name: fate-9999" "names stay readable"
grep -qF -- '***-9999' <<<"$OUT" && not_ok "a short Secret value mangled every name" || ok "no name mangled by redaction"
expect_contains 'RABBITMQ_PASSWORD: "***"' "the Secret value itself is masked"

expect_rc 0 "install revision 1" -- F cluster install -f "$SPEC" --create-namespace --timeout 90s

# ---- cluster list: every namespace unless -n --------------------------------------------------
expect_rc 0 "list without -n (the context's namespace is default)" -- F cluster list
expect_contains "fate-9999" "list finds the release in namespace fate-9999"
expect_rc 0 "list -n default" -- F cluster list -n default
expect_contains "no clusters installed in namespace default" "-n narrows the list"
expect_json 0 "list -n fate-9999 -o json" -- F cluster list -n fate-9999 -o json
py -c 'import json,sys; d=json.loads(sys.argv[1]); assert [r["name"] for r in d]==["fate-9999"], d' "$OUT" \
  && ok "list -n fate-9999 -o json holds the release" || not_ok "list json: $OUT"

# a context that may not list Secrets cluster-wide: the context's namespace, with a warning
admin POST /rbac/deny '{"user":"token-user","verb":"list","resource":"secrets","namespace":""}'
expect_rc 0 "list when listing every namespace is forbidden" -- F --context token cluster list
expect_contains "cannot list release records in every namespace" "says it could not list every namespace"
expect_contains "listing namespace default only" "and what it listed instead"
admin DELETE /rbac/deny

# ---- get spec | objects | notes -------------------------------------------------------------
expect_rc 0 "get spec" -- F cluster get spec fate-9999
expect_contains 'password: "***"   # the database password' "get spec masks the password, keeps the comment"
expect_contains "chartName: fate" "get spec prints the stored spec"
grep -qF "$PW" <<<"$OUT" && not_ok "get spec printed the password" || ok "get spec never prints the password"
expect_rc 0 "get spec --show-secrets" -- F cluster get spec fate-9999 --show-secrets
expect_contains "$PW" "--show-secrets prints the spec as stored"
expect_rc 1 "get spec --revision 9" -- F cluster get spec fate-9999 --revision 9
expect_contains "has no revision 9 (it has 1" "names the revisions there are"

expect_rc 0 "upgrade --dry-run=client reads the history, sends nothing" -- F cluster upgrade -f "$SPARK" --dry-run=client
expect_contains "would delete Deployment fate-9999/clustermanager (no longer in the spec)" "upgrade dry run names what it would delete"
expect_rc 0 "upgrade Eggroll -> Spark local (revision 2)" -- F cluster upgrade -f "$SPARK" --timeout 90s
expect_rc 0 "get objects --revision 1" -- F cluster get objects fate-9999 --revision 1
expect_contains "clustermanager" "revision 1's objects include clustermanager"
expect_rc 0 "get objects (newest)" -- F cluster get objects fate-9999
grep -q "clustermanager" <<<"$OUT" && not_ok "revision 2 lists clustermanager" || ok "revision 2's objects have no clustermanager"
expect_contains "pulsar" "revision 2's objects include pulsar"
expect_rc 0 "get objects -o yaml" -- F cluster get objects fate-9999 -o yaml
expect_contains "kind: StatefulSet" "get objects -o yaml prints the objects"
grep -qF "$PW" <<<"$OUT" && not_ok "get objects -o yaml printed the password" || ok "get objects -o yaml masks Secret values"
expect_rc 0 "get notes" -- F cluster get notes fate-9999
expect_contains "Spark_local/Pulsar/LocalFS" "notes name the engines"
expect_contains "NodePort 30097" "notes name the NodePorts other parties use"
expect_contains "fatectl toy --guest 9999" "notes give the next command"

# ---- diff between revisions -------------------------------------------------------------------
expect_rc 1 "diff --revision 1 --revision 2 exits 1" -- F cluster diff fate-9999 --revision 1 --revision 2
expect_contains "revision 1/spec" "the spec diff comes first"
expect_contains "+computing: Spark_local" "the spec change is shown"
expect_contains "apps/v1.Deployment.fate-9999.clustermanager" "objects deleted by revision 2 are shown"
grep -qF "$PW" <<<"$OUT" && not_ok "revision diff printed the password" || ok "revision diff masks the password"
expect_json 1 "diff --revision 1 -o json" -- F cluster diff fate-9999 --revision 1 -o json
py -c '
import json,sys
d=json.loads(sys.argv[1])
acts={o["object"]:o["action"] for o in d["objects"]}
assert d["spec"] and acts.get("Deployment fate-9999/clustermanager")=="delete", acts' "$OUT" \
  && ok "diff -o json: spec and per-object actions" || not_ok "diff json: ${OUT:0:300}"
expect_rc 0 "diff of a revision with itself exits 0" -- F cluster diff fate-9999 --revision 2 --revision 2
expect_rc 2 "diff --revision with -f is refused" -- F cluster diff fate-9999 --revision 1 -f "$SPEC"

# ---- rollback --dry-run -------------------------------------------------------------------------
expect_rc 0 "rollback 1 --dry-run=client" -- F cluster rollback fate-9999 1 --dry-run=client
expect_contains "rolling back fate-9999 to revision 1 would apply" "dry run names the target revision"
expect_contains "would delete" "dry run names what would be deleted"
expect_contains "-computing: Spark_local" "dry run shows the spec change"
K get deployment clustermanager -n fate-9999 >/dev/null 2>&1 && not_ok "dry run changed the cluster" || ok "dry run changed nothing"
revs=$(K get secret -n fate-9999 -l owner=fatectl,name=fate-9999 -o name | wc -l)
[ "$revs" = 2 ] && ok "dry run stored no revision" || not_ok "$revs revisions after a dry run"
expect_rc 0 "rollback 1 --dry-run=server" -- F cluster rollback fate-9999 1 --dry-run=server
expect_contains "the API server accepted" "server dry run"
expect_rc 0 "rollback 1" -- F cluster rollback fate-9999 1 --timeout 90s
expect_contains "rolled back to revision 1" "rollback says where it went"
expect_rc 0 "history" -- F cluster history fate-9999
expect_contains "rollback to revision 1 complete" "history names the revision rolled back to"

# ---- upgrade --atomic, and a long failure that stays one line in history -------------------------
admin POST /pod-failures '{"namespace":"fate-9999","pod_regex":"^pulsar","reason":"ImagePullBackOff"}'
expect_rc 4 "upgrade --atomic whose pulsar never starts exits 4" -- F cluster upgrade -f "$SPARK" --atomic --timeout 6s
expect_contains "rolled back to revision 3" "the error says it rolled back"
expect_contains "ImagePullBackOff" "the error says why the upgrade failed"
admin DELETE /pod-failures
K get deployment clustermanager -n fate-9999 >/dev/null 2>&1 && ok "the Eggroll modules are back" || not_ok "clustermanager missing after --atomic"
expect_json 0 "history -o json after --atomic" -- F cluster history fate-9999 -o json
py -c '
import json,sys
d=json.loads(sys.argv[1])
s=[(r["revision"],r["status"]) for r in d]
assert s[-2:]==[(4,"failed"),(5,"deployed")], s
assert "ImagePullBackOff" in d[-2]["description"] and len(d[-2]["description"])>150, d[-2]["description"]
assert "after the failed upgrade (--atomic)" in d[-1]["description"], d[-1]' "$OUT" \
  && ok "revision 4 failed (full reason in -o json), revision 5 the automatic rollback" || not_ok "history json: ${OUT:0:400}"
expect_rc 0 "history table" -- F cluster history fate-9999
rows=$(grep -c '^[0-9]' <<<"$OUT"); long=$(awk 'length > 200' <<<"$OUT" | wc -l)
[ "$rows" = 5 ] && [ "$long" = 0 ] && ok "history: one line per revision, none over 200 characters" || not_ok "history table ($rows rows, $long long):$(tail -3 <<<"$OUT")"
expect_contains "-o yaml shows them whole" "the table says where the full text is"

# ---- a pending revision whose fatectl was killed ------------------------------------------------
admin POST /timings '{"pod_ready_delay":60}'
# as from a terminal: SIGINT at its default (a background job of this script would ignore it)
/usr/bin/python3 -c 'import os,signal,sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])' \
  "$FATECTL" --kubeconfig "$KC" cluster upgrade -f "$SPARK" --timeout 5m > "$W/up1.out" 2>&1 &
UP=$!; BG+=($UP)
for i in $(seq 1 100); do
  K get secret -n fate-9999 fatectl.release.v1.fate-9999.v6 -o jsonpath='{.metadata.labels.status}' 2>/dev/null | grep -q pending-upgrade && break
  sleep 0.2
done
expect_rc 1 "a second upgrade while the first runs is refused" -- F cluster upgrade -f "$SPARK" --timeout 5m
expect_contains "revision 6 is pending-upgrade (upgrade in progress)" "names the pending revision"
expect_contains "held by fatectl pid $UP on" "names the running fatectl"
kill -INT "$UP"; wait "$UP" 2>/dev/null || true
st=$(K get secret -n fate-9999 fatectl.release.v1.fate-9999.v6 -o jsonpath='{.metadata.labels.status}' || true)
[ "$st" = pending-upgrade ] && ok "Ctrl-C left revision 6 pending-upgrade" || not_ok "revision 6 is '$st'"
admin POST /timings '{"pod_ready_delay":0.4}'
expect_rc 0 "history after the interrupted upgrade" -- F cluster history fate-9999
expect_contains "revision 6 of 'fate-9999' was pending-upgrade, but the fatectl process (pid $UP" "says the process is gone"
expect_contains "marked it failed" "says it marked the revision failed"
st=$(K get secret -n fate-9999 fatectl.release.v1.fate-9999.v6 -o jsonpath='{.metadata.labels.status}' || true)
[ "$st" = failed ] && ok "revision 6 is now failed" || not_ok "revision 6 is '$st'"
# ... and one left by another machine whose heartbeat stopped long ago
F cluster history fate-9999 -o json > /dev/null || true
K get secret -n fate-9999 fatectl.release.v1.fate-9999.v6 -o json | py -c '
import json,sys,base64
s=json.load(sys.stdin); r=json.loads(base64.b64decode(s["data"]["release"]))
r["status"]="pending-rollback"; r["operation"]={"host":"ops-laptop","pid":4242,"pidStart":"1","bootId":"x","heartbeat":"2020-01-01T00:00:00Z"}
s["data"]["release"]=base64.b64encode(json.dumps(r).encode()).decode(); s["metadata"]["labels"]["status"]="pending-rollback"
for k in ("resourceVersion","uid","creationTimestamp","managedFields"): s["metadata"].pop(k,None)
print(json.dumps(s))' > "$W/stale.json" || true
K apply -f "$W/stale.json" >/dev/null 2>&1 || K replace -f "$W/stale.json" >/dev/null || true
expect_rc 0 "list notices a pending revision from another host" -- F cluster list -n fate-9999
expect_contains "pid 4242 on ops-laptop) has not shown a sign of life" "names the silent holder"
expect_contains "failed" "and lists the revision as failed"
# ... and one whose holder on another machine still beats: refused, unless rollback --force
K get secret -n fate-9999 fatectl.release.v1.fate-9999.v6 -o json | py -c '
import json,sys,base64,datetime
s=json.load(sys.stdin); r=json.loads(base64.b64decode(s["data"]["release"]))
now=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
r["status"]="pending-upgrade"; r["operation"]={"host":"ops-laptop","pid":4243,"pidStart":"1","bootId":"x","heartbeat":now}
s["data"]["release"]=base64.b64encode(json.dumps(r).encode()).decode(); s["metadata"]["labels"]["status"]="pending-upgrade"
for k in ("resourceVersion","uid","creationTimestamp","managedFields"): s["metadata"].pop(k,None)
print(json.dumps(s))' > "$W/alive.json" || true
K apply -f "$W/alive.json" >/dev/null 2>&1 || K replace -f "$W/alive.json" >/dev/null || true
expect_rc 1 "rollback while a live holder on another machine has revision 6 pending" -- F cluster rollback fate-9999 --timeout 90s
expect_contains "held by fatectl pid 4243 on ops-laptop" "names the holder"
expect_contains "cluster rollback fate-9999 --force" "names the way out"
expect_rc 0 "rollback --force takes over" -- F cluster rollback fate-9999 --force --timeout 90s
expect_contains "rolled back to revision" "the forced rollback went through"

# ---- status --events and describe ---------------------------------------------------------------
admin POST /pod-failures '{"namespace":"fate-9999","pod_regex":"^mysql","reason":"CrashLoopBackOff","exit_code":1,"log":"mysqld: cannot start\n"}'
sleep 1
expect_rc 1 "status --events with a crash-looping mysql" -- F cluster status fate-9999 --events
expect_contains "events (per module: warnings first, then the newest)" "status --events prints the events"
grep -E "^mysql +Warning +BackOff" <<<"$OUT" >/dev/null && ok "mysql's BackOff event under module mysql" || not_ok "no mysql BackOff event: $(grep -i mysql <<<"$OUT" | tail -3)"
expect_json 1 "describe" -- F cluster describe fate-9999 -o json
py -c '
import json,sys
d=json.loads(sys.argv[1])
ev=[e for e in d["events"] if e["module"]=="mysql"]
assert any(e["type"]=="Warning" for e in ev) and all("object" in e for e in ev), d["events"]' "$OUT" \
  && ok "describe -o json: events per module" || not_ok "describe json: ${OUT:0:300}"
admin DELETE /pod-failures

# ---- uninstall --keep-history, rollback restores ------------------------------------------------
K create secret generic user-cert -n fate-9999 --from-literal=k=v >/dev/null || true
K create namespace fate-exchange >/dev/null || true
expect_rc 0 "certs exchange --apply labels its Secrets" -- F certs exchange --parties 9999 --dir "$W/certs" --apply
lbl=$(K get secret pulsar-cert -n fate-9999 -o jsonpath='{.metadata.labels.fatectl\.io/made-by}' || true)
[ "$lbl" = certs-exchange ] && ok "pulsar-cert is labelled fatectl.io/made-by=certs-exchange" || not_ok "label '$lbl'"
expect_rc 0 "uninstall --keep-history" -- F cluster uninstall fate-9999 --keep-history --timeout 60s
expect_contains "kept its 7 release record(s)" "says the history was kept"
expect_contains "kept Secret fate-9999/pulsar-cert: made by \`fatectl certs exchange\` (--purge deletes it)" "certs Secret is fatectl's, kept without --purge"
expect_contains "kept Secret fate-9999/user-cert: not created by fatectl" "user Secret kept"
expect_rc 0 "history after uninstall --keep-history" -- F cluster history fate-9999
expect_contains "uninstalled" "the newest revision is uninstalled"
expect_rc 1 "status of an uninstalled release" -- F cluster status fate-9999
expect_contains "rollback fate-9999 -n fate-9999" "status says how to restore it"
expect_rc 0 "rollback restores the uninstalled release" -- F cluster rollback fate-9999 --timeout 90s
expect_contains "rolled back to revision 7" "rollback went back to the last revision"
expect_rc 0 "status after restoring" -- F cluster status fate-9999

# ---- uninstall --purge: the certs Secrets and the namespace, named ------------------------------
expect_rc 0 "uninstall --purge" -- F cluster uninstall fate-9999 --purge --timeout 60s
expect_contains "deleted Secret fate-9999/pulsar-cert: made by \`fatectl certs exchange\`" "purge deletes and names the certs Secret"
expect_contains "deleted Secret fate-9999/user-cert: deleted with the namespace" "purge names the user Secret the namespace took"
K get namespace fate-9999 >/dev/null 2>&1 && sleep 1
K get secret pulsar-cert -n fate-9999 >/dev/null 2>&1 && not_ok "pulsar-cert still exists" || ok "pulsar-cert is gone"

# ---- completion asks the cluster ----------------------------------------------------------------
expect_rc 0 "install again for completion" -- F cluster install -f "$SPEC" --create-namespace --timeout 90s
comp() {  # comp WORDS...: what bash completion offers for the last word
  bash -c 'source <("$0" completion bash); COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _fatectl; printf "%s\n" "${COMPREPLY[@]}"' "$FATECTL" "$@"
}
got=$(comp "$FATECTL" --kubeconfig "$KC" cluster status fa)
[ "$got" = fate-9999 ] && ok "bash completes release names from the cluster" || not_ok "release completion gave '$got'"
got=$(comp "$FATECTL" --kubeconfig "$KC" cluster history -n fate-9)
[ "$got" = fate-9999 ] && ok "bash completes namespaces after -n from the cluster" || not_ok "namespace completion gave '$got'"
got=$(comp "$FATECTL" --kubeconfig "$KC" -n default cluster status fa)
[ -z "$got" ] && ok "-n on the command line narrows the release names" || not_ok "release completion in default gave '$got'"
got=$(comp "$FATECTL" --kubeconfig "$W/missing" cluster status fa)
[ -z "$got" ] && ok "no cluster: completion offers nothing and prints no error" || not_ok "completion without a cluster gave '$got'"
finish
