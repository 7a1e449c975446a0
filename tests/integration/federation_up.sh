#!/usr/bin/env bash
# fatectl federation up / status / add-party / remove-party / diagnose, through the binary, on a
# test bed of three Kubernetes API emulators (three clusters, one merged kubeconfig with contexts
# a, b, c) holding the Exchange (a, with a real Apache Traffic Server per traffic-server pod:
# kube-emulator --with-exchange) and parties 9999 (b), 10000 (c), 10001 (a). The emulators' nodes
# get their own loopback addresses, and tests/federation/dataplane.py carries the traffic those
# addresses stand for: every traffic-server NodePort forwards to its pod's Traffic Server, every
# party's pulsar NodePort is a TLS broker with the party's pulsar-cert Secret that answers
# Pulsar's CONNECT and PING. So the addresses `up` discovers are real, and the connectivity check
# goes through the real Traffic Server by SNI to the right party's certificate.
#
# After each step the Exchange's route table is read back from the pod through exec (kubectl),
# and a TLS handshake through the Traffic Server by SNI shows it took (the certificate that
# answers is the routed party's).
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/federation_up.XXXXXX")
DP_PID=
cleanup() {
  [ -n "$DP_PID" ] && kill "$DP_PID" 2>/dev/null || true
  for c in a b c; do "$SRC/scripts/kube-emulator" stop "$W/$c" >/dev/null 2>&1 || true; done
  [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
for t in traffic_manager traffic_ctl openssl kubectl; do
  command -v $t >/dev/null || { not_ok "$t installed"; finish; exit 1; }
done
PY=/usr/bin/python3

# ---- three clusters --------------------------------------------------------------------------------
NET="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))"
declare -A IP=([a]=$NET.2 [b]=$NET.3 [c]=$NET.4)
"$SRC/scripts/kube-emulator" start "$W/a" --with-exchange --sync-delay 0.3 --watch-pid $$ >/dev/null &
"$SRC/scripts/kube-emulator" start "$W/b" --watch-pid $$ >/dev/null &
"$SRC/scripts/kube-emulator" start "$W/c" --watch-pid $$ >/dev/null &
wait
for c in a b c; do
  A=$(cat "$W/$c/admin-url")
  curl -fsS -X DELETE "$A/nodes" >/dev/null
  curl -fsS -X POST "$A/nodes" -d '{"name":"'$c'-node-1","capacity":{"cpu":"64","memory":"256Gi","pods":"250"},"addresses":[{"type":"InternalIP","address":"'${IP[$c]}'"}]}' >/dev/null
  curl -fsS -X POST "$A/timings" -d '{"pod_ready_delay":0.2,"pod_delete_delay":0.1}' >/dev/null
done
export KUBECONFIG=$W/kubeconfig
$PY - "$W" <<'P'
import sys, yaml
w = sys.argv[1]
out = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": [], "current-context": "a"}
for c in "abc":
    k = yaml.safe_load(open("%s/%s/kubeconfig" % (w, c)))
    out["clusters"].append({"name": "cluster-" + c, "cluster": k["clusters"][0]["cluster"]})
    user = next(u for u in k["users"] if u["name"] == next(x for x in k["contexts"] if x["name"] == "cert")["context"]["user"])
    out["users"].append({"name": "admin-" + c, "user": user["user"]})
    out["contexts"].append({"name": c, "context": {"cluster": "cluster-" + c, "user": "admin-" + c, "namespace": "default"}})
open(w + "/kubeconfig", "w").write(yaml.safe_dump(out))
P
chmod 600 "$KUBECONFIG"
mkdir -p "$W/dp"
$PY "$SRC/tests/federation/dataplane.py" --cluster "$W/a=${IP[a]}" --cluster "$W/b=${IP[b]}" --cluster "$W/c=${IP[c]}" \
  --state "$W/dp" --log "$W/dp.log" > "$W/dp.out" 2>&1 &
DP_PID=$!

# ---- the federation file ---------------------------------------------------------------------------
FED=$W/fed/federation.yaml
mkdir -p "$W/fed"
cat > "$W/fed/party-10000.yaml" <<'Y'
# party 10000's own spec: its Pulsar route table names a peer, so it changes when members come and go
name: fate-10000
namespace: fate-10000
chartName: fate
chartVersion: v1.11.2
partyId: 10000
modules: [python, mysql, fateboard, client, nginx, pulsar]
computing: Spark_local
federation: Pulsar
storage: LocalFS
pulsar:
  route_table:
    10000: {host: pulsar, port: 6650, sslPort: 6651}
    9999: {host: 9999.fate.org, port: 6650, sslPort: 6651}
Y
cat > "$FED" <<'Y'
# the test federation
federation: itest
domain: fate.org
engine: Pulsar
exchange:
  context: a
parties:
  - id: 9999
    context: b
  - id: 10000
    context: c
    spec: party-10000.yaml
  - id: 10001
    context: a
Y
F() { "$FATECTL" "$@"; }
R=(--reload-timeout 60s --reload-poll 200ms --timeout 120s)
sni() {  # the sni.yaml the traffic-server pod mounts, read through exec
  local pod
  pod=$(kubectl --context a -n fate-exchange get pods -l fateMoudle=traffic-server -o jsonpath='{.items[0].metadata.name}')
  kubectl --context a -n fate-exchange exec "$pod" -c traffic-server -- cat /opt/trafficserver/etc/trafficserver/sni/sni.yaml
}
ts_port() { kubectl --context a -n fate-exchange get svc traffic-server -o jsonpath='{.spec.ports[0].nodePort}'; }
cn_via_exchange() {  # the CN that answers through the Exchange's NodePort for SNI $1
  openssl s_client -connect "${IP[a]}:$(ts_port)" -servername "$1" -cert "$W/fed/pki/9999.crt" -key "$W/fed/pki/9999.key" \
    </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
revisions() {  # revisions CONTEXT NAMESPACE NAME
  F --context "$1" cluster history "$3" -n "$2" -o json 2>/dev/null | $PY -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo 0
}
check_routes() {  # check_routes "9999 10000" "10001": routed, not routed -- in the pod and in Traffic Server
  local table; table=$(sni)
  for p in $1; do
    grep -q "fqdn: $p.fate.org" <<<"$table" && ok "sni.yaml in the pod routes $p" || not_ok "sni.yaml lacks $p: $table"
    [ "$(cn_via_exchange "$p.fate.org")" = "$p.fate.org" ] && ok "Traffic Server routes $p.fate.org to party $p's broker" \
      || not_ok "through Traffic Server $p.fate.org answers '$(cn_via_exchange "$p.fate.org")'"
  done
  for p in $2; do
    ! grep -q "fqdn: $p.fate.org" <<<"$table" && ok "sni.yaml in the pod has no route to $p" || not_ok "sni.yaml still routes $p"
    [ "$(cn_via_exchange "$p.fate.org")" = "proxy.fate.org" ] && ok "Traffic Server answers $p.fate.org with its own certificate" \
      || not_ok "through Traffic Server $p.fate.org answers '$(cn_via_exchange "$p.fate.org")'"
  done
}

expect_rc 0 "the federation validates" -- F federation validate -f "$FED"

# ---- up --dry-run from nothing ----------------------------------------------------------------------
expect_rc 0 "up --dry-run" -- F federation up -f "$FED" --dry-run "${R[@]}"
expect_contains "the Exchange: install fate-exchange/fate-exchange in context 'a' (not installed)" "plans the Exchange's install"
expect_contains "party 10001: install or upgrade fate-10001/fate-10001 in context 'a'" "plans each party"
expect_contains "certificates: issue the CA" "plans the certificates"
[ ! -e "$W/fed/pki" ] && ok "--dry-run issued no certificate" || not_ok "--dry-run wrote $W/fed/pki"
[ -z "$(kubectl --context a get ns fate-exchange -o name 2>/dev/null)" ] && ok "--dry-run created nothing" || not_ok "--dry-run created a namespace"
expect_rc 0 "up --dry-run -o json" -- F federation up -f "$FED" --dry-run -o json
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["dryRun"] and d["changed"] and all(s["outcome"] in ("planned","unchanged","skipped") for s in d["steps"]), d' "$OUT" \
  && ok "the json plan" || not_ok "json plan: $OUT"

# ---- up from nothing ----------------------------------------------------------------------------------
expect_rc 0 "up from nothing" -- F federation up -f "$FED" "${R[@]}"
echo "$OUT" | grep -v ' ready' | sed 's/^/    /' | tail -30
expect_contains "the Exchange: install" "installed the Exchange"
expect_contains "party 9999: install" "installed 9999"
expect_contains "routes: transaction 6 route changes (below) on release fate-exchange revision 1 -> applied (release fate-exchange revision 2)" "one route transaction, recorded"
expect_contains "sni.yaml loaded" "Traffic Server confirmed the reload"
expect_contains "6/6 pairs pass" "every pair passes"
check_routes "9999 10000 10001" ""
grep -q "connect fate-10000 from CN=9999.fate.org" "$W/dp.log" && grep -q "connect fate-9999 from CN=10001.fate.org" "$W/dp.log" \
  && ok "the check reached each broker as the other party" || not_ok "broker log: $(tail -5 "$W/dp.log")"
kubectl --context c -n fate-10000 get cm pulsar-route-table -o jsonpath='{.data.pulsar_route_table\.yaml}' > "$W/rt10000" 2>/dev/null || true
grep -q "10001:" "$W/rt10000" && grep -q "proxy: ${IP[a]}:$(ts_port)" "$W/rt10000" && ok "party 10000's own table names 10001 through the Exchange" \
  || not_ok "party 10000's route table: $(cat "$W/rt10000")"

expect_rc 0 "status: all green" -- F federation status -f "$FED"
echo "$OUT" | sed 's/^/    /'
expect_contains "all green" "says all green"
expect_rc 0 "status -o json" -- F federation status -f "$FED" -o json
$PY -c '
import json,sys; d=json.loads(sys.argv[1])
assert d["ok"] and all(r["state"]=="ok" for r in d["routes"]) and len(d["connectivity"]["pairs"])==6, d' "$OUT" && ok "json status" || not_ok "json status: $OUT"

# ---- up again changes nothing -----------------------------------------------------------------------
before="$(revisions a fate-exchange fate-exchange) $(revisions b fate-9999 fate-9999) $(revisions c fate-10000 fate-10000) $(revisions a fate-10001 fate-10001)"
expect_rc 0 "up again" -- F federation up -f "$FED" -o json "${R[@]}"
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert not d["changed"] and d["ok"], [s for s in d["steps"] if s["outcome"]!="unchanged"]' "$OUT" \
  && ok "up again changes nothing" || not_ok "up again changed: $OUT"
after="$(revisions a fate-exchange fate-exchange) $(revisions b fate-9999 fate-9999) $(revisions c fate-10000 fate-10000) $(revisions a fate-10001 fate-10001)"
[ "$before" = "$after" ] && ok "no new revision anywhere ($after)" || not_ok "revisions $before -> $after"
check_routes "9999 10000 10001" ""

# ---- add a fourth party -------------------------------------------------------------------------------
expect_rc 0 "add-party 10002 --dry-run" -- F federation add-party -f "$FED" --id 10002 --context b --dry-run "${R[@]}"
! grep -q 10002 "$FED" && ok "--dry-run left the file alone" || not_ok "--dry-run edited the file"
expect_rc 0 "add-party 10002" -- F federation add-party -f "$FED" --id 10002 --context b "${R[@]}"
echo "$OUT" | grep -v ' ready' | sed 's/^/    /' | tail -30
expect_contains "party 10002: install" "installed 10002"
expect_contains "party 10000: upgrade" "upgraded 10000, whose table names peers"
expect_contains "= party 9999: fate-9999/fate-9999 runs its spec" "left 9999 alone"
expect_contains "+ sni 10002.fate.org" "added its route"
expect_contains "6/6 pairs pass" "checked 10002 against every other, both ways"
grep -q "^  - id: 10002$" "$FED" && grep -q "^    context: b$" "$FED" && grep -q "^# the test federation$" "$FED" \
  && ok "the file gained the entry, the rest kept" || not_ok "file: $(cat "$FED")"
check_routes "9999 10000 10001 10002" ""
[ "$(revisions b fate-9999 fate-9999)" = 1 ] && [ "$(revisions c fate-10000 fate-10000)" = 2 ] && ok "9999 at revision 1, 10000 at 2" \
  || not_ok "revisions: 9999 $(revisions b fate-9999 fate-9999), 10000 $(revisions c fate-10000 fate-10000)"

# ---- remove one ---------------------------------------------------------------------------------------
expect_rc 0 "remove-party 10001" -- F federation remove-party -f "$FED" --id 10001 "${R[@]}"
echo "$OUT" | grep -v ' ready' | sed 's/^/    /' | tail -20
expect_contains "- sni 10001.fate.org" "removed its route"
expect_contains "party 10001: uninstall" "uninstalled it"
expect_contains "removed party 10001 from" "took it out of the file"
! grep -q "id: 10001" "$FED" && ok "10001 is gone from the file" || not_ok "10001 still in the file"
[ -z "$(kubectl --context a -n fate-10001 get deploy -o name 2>/dev/null)" ] && ok "its workloads are gone" || not_ok "fate-10001 still has deployments"
check_routes "9999 10000 10002" "10001"
grep -q "10001" "$W/rt10000" 2>/dev/null; kubectl --context c -n fate-10000 get cm pulsar-route-table -o jsonpath='{.data.pulsar_route_table\.yaml}' > "$W/rt10000"
! grep -q "10001:" "$W/rt10000" && grep -q "10002:" "$W/rt10000" && ok "party 10000's table no longer names 10001" || not_ok "10000 table: $(cat "$W/rt10000")"

expect_rc 0 "up after the changes" -- F federation up -f "$FED" -o json "${R[@]}"
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert not d["changed"] and d["ok"], [s for s in d["steps"] if s["outcome"]!="unchanged"]' "$OUT" \
  && ok "up changes nothing after add/remove" || not_ok "up changed: $OUT"

# ---- diagnose -----------------------------------------------------------------------------------------
expect_rc 0 "diagnose 9999 -> 10000" -- F federation diagnose -f "$FED" --from 9999 --to 10000 --idle 2s --max-message 8Mi
echo "$OUT" | sed 's/^/    /'
for h in "exchange route" "exchange pods" dns "tcp connect" "tls handshake" "pulsar connect" "round trip" throughput "largest message" "idle connection"; do
  grep -q "^$h  *\(ok\|warning\)" <<<"$OUT" && ok "hop '$h' passes" || not_ok "hop '$h'"
done
expect_contains "4.0 MiB passes, 8.0 MiB does not" "finds the broker's message limit"
expect_contains "raise maxMessageSize" "names the fix for it"

echo 1 > "$W/dp/idle-close"
expect_rc 1 "an idle connection closed on the way -> exit 1" -- F federation diagnose -f "$FED" --from 10002 --to 9999 --idle 3s --max-message 0 -o json
$PY -c '
import json,sys; d=json.loads(sys.argv[1]); h={x["hop"]:x for x in d["hops"]}
assert d["failedHop"]=="idle connection" and "transaction_no_activity_timeout" in h["idle connection"]["fix"], d' "$OUT" \
  && ok "names the idle hop and the Exchange timeouts" || not_ok "idle: $OUT"
rm -f "$W/dp/idle-close"

# a route removed behind the federation's back: status and diagnose name it, up repairs it
expect_rc 0 "exchange route remove --release behind the federation's back" -- \
  F --context a exchange route remove --release fate-exchange -n fate-exchange --party 10000 --timeout 60s --poll 200ms
expect_rc 1 "status with a route missing -> exit 1" -- F federation status -f "$FED"
expect_contains "route 10000: missing" "status names the missing route"
expect_rc 1 "diagnose 9999 -> 10000 without its route -> exit 1" -- F federation diagnose -f "$FED" --from 9999 --to 10000 --idle 0 --max-message 0
expect_contains "the route is missing in sni.yaml" "diagnose names the missing sni.yaml route"
expect_contains "the Exchange answered with its own certificate" "and what Traffic Server answered"
# and a party's Deployment deleted behind its back: up re-applies that party's spec, and only its
DEP=deployment.apps/$(kubectl --context b -n fate-9999 get deploy -o jsonpath='{.items[0].metadata.name}')
kubectl --context b -n fate-9999 delete "$DEP" >/dev/null
rev9999=$(revisions b fate-9999 fate-9999)
expect_rc 0 "up repairs it" -- F federation up -f "$FED" "${R[@]}"
expect_contains "+ sni 10000.fate.org" "adds the route back"
expect_contains "party 9999: repair fate-9999/fate-9999 in context 'b'" "re-applies 9999"
expect_contains "${DEP#*/}" "saying what was missing"
kubectl --context b -n fate-9999 get "$DEP" >/dev/null 2>&1 && ok "$DEP is back" || not_ok "$DEP still missing"
[ "$(revisions b fate-9999 fate-9999)" = $((rev9999 + 1)) ] && ok "as one new revision of 9999" || not_ok "9999 revisions $rev9999 -> $(revisions b fate-9999 fate-9999)"
expect_contains "= party 10000: fate-10000/fate-10000 runs its spec" "left 10000 alone"
check_routes "10000" ""

# ---- a party's install failing halfway --------------------------------------------------------------
AC=$(cat "$W/c/admin-url")
curl -fsS -X POST "$AC/rbac/deny" -d '{"resource":"statefulsets","namespace":"fate-10003"}' >/dev/null
ex_rev=$(revisions a fate-exchange fate-exchange)
cat > "$W/fed/party-10003.yaml" <<'Y'
# party 10003 keeps its data on volumes (so removing it must keep its PVCs)
name: fate-10003
namespace: fate-10003
chartName: fate
chartVersion: v1.11.2
partyId: 10003
persistence: true
modules: [python, mysql, fateboard, client, nginx, pulsar]
computing: Spark_local
federation: Pulsar
storage: LocalFS
python: {storageClass: standard}   # the chart's defaults name classes "python" and "client"
client: {storageClass: standard}
Y
expect_rc 1 "add-party 10003 whose install fails halfway -> exit 1" -- \
  F federation add-party -f "$FED" --id 10003 --context c --spec party-10003.yaml "${R[@]}"
echo "$OUT" | grep -v ' ready' | sed 's/^/    /' | tail -20
expect_contains "! party 10003: install" "names the party and the step that failed"
expect_contains "statefulsets" "says what was refused"
expect_contains "= party 9999: fate-9999/fate-9999 runs its spec" "the others stay up"
expect_contains "party 10003 is not up: install failed" "pairs with 10003 are not probed, and say why"
[ -n "$(kubectl --context c -n fate-10003 get cm -o name 2>/dev/null)" ] && ok "the install got halfway (ConfigMaps applied)" || not_ok "nothing applied in fate-10003"
[ "$(revisions a fate-exchange fate-exchange)" = "$ex_rev" ] && ok "the Exchange's record is unchanged" || not_ok "exchange revision moved"
check_routes "9999 10000 10002" "10003"
expect_rc 1 "status says what is off" -- F federation status -f "$FED"
echo "$OUT" | sed 's/^/    /' | tail -12
expect_contains "route 10003: missing" "the missing route of 10003"
curl -fsS -X DELETE "$AC/rbac/deny" >/dev/null
expect_rc 0 "rerunning add-party finishes the job" -- \
  F federation add-party -f "$FED" --id 10003 --context c --spec party-10003.yaml "${R[@]}"
expect_contains "party 10003: install" "finishes the install"
expect_contains "+ sni 10003.fate.org" "adds its route"
check_routes "9999 10000 10002 10003" ""
expect_rc 0 "status: all green again" -- F federation status -f "$FED"

# ---- certificates close to expiry ------------------------------------------------------------------------
expect_rc 1 "status --warn-days beyond the certificates' life -> exit 1" -- F federation status -f "$FED" --warn-days 100000 -o json
$PY -c '
import json,sys; d=json.loads(sys.argv[1])
assert not d["ok"], d
' "$OUT" && ok "not ok in json" || not_ok "status json: $OUT"
expect_contains "expires soon" "names the certificates close to expiry"

# ---- removing a party keeps its data unless asked ---------------------------------------------------------
pvcs=$(kubectl --context c -n fate-10003 get pvc -o name 2>/dev/null | sort)
[ -n "$pvcs" ] && ok "10003's StatefulSets claimed volumes ($(echo $pvcs))" || not_ok "no PVC in fate-10003"
expect_rc 0 "remove-party 10003" -- F federation remove-party -f "$FED" --id 10003 "${R[@]}"
expect_contains "(PVCs kept)" "says its PVCs are kept"
[ "$(kubectl --context c -n fate-10003 get pvc -o name 2>/dev/null | sort)" = "$pvcs" ] && ok "its PVCs are still there" \
  || not_ok "PVCs after remove: $(kubectl --context c -n fate-10003 get pvc -o name 2>&1)"
[ -z "$(kubectl --context c -n fate-10003 get sts -o name 2>/dev/null)" ] && ok "its StatefulSets are gone" || not_ok "fate-10003 still has StatefulSets"
check_routes "9999 10000 10002" "10003"

# ---- an interrupted run converges when rerun ----------------------------------------------------------------
# add-party killed (SIGKILL: no cleanup) a few seconds in, while it waits for 10004's pods (made slow
# to become ready, so the kill lands inside the install); the rerun finishes the job.
curl -fsS -X POST "$(cat "$W/a/admin-url")/timings" -d '{"pod_ready_delay":8}' >/dev/null
set +e; timeout -s KILL 4 "$FATECTL" federation add-party -f "$FED" --id 10004 --context a "${R[@]}" >"$W/killed.out" 2>&1; rc=$?; set -e
curl -fsS -X POST "$(cat "$W/a/admin-url")/timings" -d '{"pod_ready_delay":0.2}' >/dev/null
[ "$rc" = 137 ] && ok "add-party 10004 killed mid-run" || not_ok "add-party 10004 was not killed (exit $rc): $(tail -3 "$W/killed.out")"
# Where the kill left a revision pending (an upgrade or the route transaction), the rerun sees that
# its fatectl is gone (same host, pid no longer running), marks that revision failed, says so and
# goes on: no rollback --force needed.
# The operator looks first: history marks the revision the kill left pending failed, naming why.
expect_rc 0 "history of 10004 after the kill" -- F --context a cluster history fate-10004 -n fate-10004 -o json
$PY -c 'import json,sys; d=json.loads(sys.argv[1][sys.argv[1].index("["):]); r=d[-1]
assert r["status"] == "failed" and "pending-install interrupted" in r["description"] and "is gone" in r["description"], r' "$OUT" \
  && ok "the kill left revision 1 pending-install; history marked it failed (its fatectl is gone)" || not_ok "history after the kill: $OUT"
expect_contains "marked it failed" "history says it marked it"
expect_rc 0 "rerunning add-party after the kill finishes the job" -- F federation add-party -f "$FED" --id 10004 --context a "${R[@]}"
echo "$OUT" | grep -v ' ready' | sed 's/^/    /' | tail -12
check_routes "9999 10000 10002 10004" "10003"
expect_rc 0 "up after that changes nothing" -- F federation up -f "$FED" -o json "${R[@]}"
$PY -c 'import json,sys; d=json.loads(sys.argv[1]); assert not d["changed"] and d["ok"], [s for s in d["steps"] if s["outcome"]!="unchanged"]' "$OUT" \
  && ok "converged" || not_ok "up changed: $OUT"

# ---- bad input -------------------------------------------------------------------------------------------
expect_rc 2 "add-party with an id already taken by the Exchange -> exit 2" -- F federation add-party -f "$FED" --id 1 --context b
expect_contains "is the Exchange's own partyId" "names the clash"
grep -q "id: 1$" "$FED" && not_ok "the file was changed" || ok "the file was not changed"
finish
