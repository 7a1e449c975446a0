#!/usr/bin/env bash
# The Exchange's route transaction, end to end through the binary: the Kubernetes API emulator
# started with `scripts/kube-emulator start DIR --with-exchange` (each traffic-server pod runs a
# private Apache Traffic Server from Debian, each nginx pod Debian's nginx with a stand-in for the
# image's lua route table reader), `openssl s_server` backends standing for the parties' Pulsar TLS
# endpoints (each presents its party's certificate, so the certificate seen through the Exchange
# says where a route leads), and an HTTP and a gRPC backend per party behind the nginx routes
# (tests/exchange/party_backends.py: each answers with its party's id).
#
# The five ways routes used to get lost (issue #13), each followed by tests/exchange/agree.py,
# which checks that the release record, the ConfigMaps, every pod's mounted file, what every
# Traffic Server routes (openssl s_client -servername <party>.fate.org) and what every nginx routes
# (an HTTP request and a gRPC call with dest-party-id: <party>) agree:
#   1. a failing `route add --release` (exec failure on reload, API error on the ConfigMap write,
#      a pod replaced mid-reload, and a restore that fails too) leaves the previous routes
#      everywhere, and the next add keeps every earlier party;
#   2. `cluster upgrade` (replicas 1 -> 2) keeps the release's routes the file lacks, says so, and
#      reloads every pod; --replace-routes names what it would drop;
#   2b. two concurrent upgrades: one reserves the next revision (create-only), the other is refused
#      and changes nothing; while a revision is pending another upgrade is refused, and once the
#      command holding it was stopped the next rollback marks it failed and goes on;
#   3. `cluster rollback` reloads: a party the old revision lacks is no longer routed (at the end
#      also an nginx route: the nginx pods are replaced and stop routing it);
#   4. `exchange reload -f FILE` warns about the routes only the release has and restarts nginx
#      when nginx routes go away;
#   5. `cluster uninstall` of a party the Exchange routes warns, and --remove-route takes it out.
#   6. `cluster upgrade --atomic` whose new traffic-server pod never pulls its image: exit 4, the
#      deployed revision is rolled back to by itself, the routes from before are restored and
#      verified in every pod, and history shows the failed revision and the rollback.
# Also: certs exchange --apply --create-namespace, install naming a missing Secret, route list
# --live and cluster status marking drift, --dry-run changing nothing.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/exchange_txn.XXXXXX")
E=$W/emu
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  "$SRC/scripts/kube-emulator" stop "$E" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
for t in traffic_manager traffic_ctl openssl kubectl; do
  command -v $t >/dev/null || { not_ok "$t installed"; finish; exit 1; }
done
F() { "$FATECTL" "$@"; }
R=(--timeout 30s --poll 200ms)

"$SRC/scripts/kube-emulator" start "$E" --with-exchange --sync-delay 0.5 >/dev/null
export KUBECONFIG=$E/kubeconfig
ADMIN=$(cat "$E/admin-url")
fault() { curl -fsS -X POST "$ADMIN/faults" -d "$1" >/dev/null; }
nofaults() { curl -fsS -X DELETE "$ADMIN/faults" >/dev/null; }
# agree EXPECTED_SNI_PARTIES [EXPECTED_NGINX_PARTIES]: the five places agree on those routes
agree() {
  local out rc=0 args=(--parties 9999,10000,10001,10002,10003 --expect "$1")
  [ $# -ge 2 ] && args+=(--nginx-expect "$2" --nginx-probe 9999,10000,10001)
  out=$(/usr/bin/python3 "$SRC/tests/exchange/agree.py" "$E" fate-exchange fate-exchange "$FATECTL" "${args[@]}" 2>&1) || rc=$?
  if [ $rc -eq 0 ]; then
    ok "agree on sni {$1}: $(echo "$out" | tr '\n' ' ' | cut -c1-200)"
    echo "$out" | grep -e "nginx routes" | sed 's/^/    # /'
  else not_ok "agree on sni {$1}:"; echo "$out" | sed 's/^/    /'; fi
}
revisions() { F cluster history fate-exchange -n fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
pods_of() { kubectl -n fate-exchange get pods -l "fateMoudle=$1" -o jsonpath='{.items[?(@.status.phase=="Running")].metadata.name}'; }

# ---- backends: each party's "Pulsar" presents that party's certificate ------------------------
pick_port() { for p in $(shuf -i 30000-33000 -n 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }
declare -A PORT
expect_rc 1 "certs exchange --apply into missing namespaces -> exit 1" -- \
  F certs exchange --domain fate.org --parties 9999,10000,10001,10002 --dir "$W/certs" --apply
expect_contains "fate-exchange, fate-9999, fate-10000, fate-10001, fate-10002 do not exist: pass --create-namespace" "names every missing namespace"
expect_contains "nothing was applied" "says nothing was applied"
curl -fsS -X POST "$ADMIN/rbac/deny" -d '{"resource":"secrets","namespace":"fate-10003"}' >/dev/null
expect_rc 3 "certs exchange --apply --create-namespace, refused part-way -> exit 3" -- \
  F certs exchange --domain fate.org --parties 9999,10000,10001,10002,10003 --dir "$W/certs" --apply --create-namespace
expect_contains "applied before: namespace/fate-exchange created" "says what it applied before failing"
expect_contains "Secret fate-10002/pulsar-cert" "... up to the last Secret before the refusal"
curl -fsS -X DELETE "$ADMIN/rbac/deny" >/dev/null
expect_rc 0 "certs exchange --apply --create-namespace" -- \
  F certs exchange --domain fate.org --parties 9999,10000,10001,10002,10003 --dir "$W/certs" --apply --create-namespace
expect_contains "applied Secret fate-exchange/traffic-server-cert" "says which Secrets it applied"
# party 10003's backend listens outside Traffic Server's connect_ports (443 6650-6700 30000-33000)
PORT[10003]=$(for p in $(shuf -i 20000-29999 -n 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
openssl s_server -accept "127.0.0.1:${PORT[10003]}" -cert "$W/certs/10003.crt" -key "$W/certs/10003.key" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for p in 9999 10000 10001 10002; do
  PORT[$p]=$(pick_port)
  openssl s_server -accept "127.0.0.1:${PORT[$p]}" -cert "$W/certs/$p.crt" -key "$W/certs/$p.key" -quiet </dev/null >/dev/null 2>&1 &
  PIDS+=($!)
done
# behind the nginx routes: each party's FATE proxy (HTTP and gRPC), host:http_port:grpc_port in TO[]
/usr/bin/python3 "$SRC/tests/exchange/party_backends.py" "$W/backends.json" 9999 10000 10001 &
PIDS+=($!)
for i in $(seq 1 100); do [ -s "$W/backends.json" ] && break; sleep 0.1; done
declare -A TO
for p in 9999 10000 10001; do
  TO[$p]=$(/usr/bin/python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))[sys.argv[2]]; print("127.0.0.1:%d:%d" % (b["http"], b["grpc"]))' "$W/backends.json" $p)
done
IFS=: read -r _ HP9999 GP9999 <<< "${TO[9999]}"

SPEC=$W/fate-exchange.yaml
write_spec() {  # write_spec REPLICAS
  cat > "$SPEC" <<Y
# the test federation's exchange
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""
modules:
  - trafficServer
  - nginx
trafficServer:
  type: NodePort
  nodePort: 30001
  replicas: $1
  route_table:
    sni:
    - fqdn: 9999.fate.org
      tunnelRoute: 127.0.0.1:${PORT[9999]}
nginx:
  type: NodePort
  replicas: 1
  httpNodePort: 30003
  grpcNodePort: 30008
  route_table:
    9999:
      proxy:
        - host: 127.0.0.1
          http_port: $HP9999
          grpc_port: $GP9999
Y
}
write_spec 1

# ---- install checks the Secrets its pods mount ------------------------------------------------
kubectl -n fate-exchange delete secret traffic-server-cert >/dev/null
expect_rc 1 "install without traffic-server-cert -> exit 1" -- F cluster install -f "$SPEC" --timeout 60s
expect_contains "Secret fate-exchange/traffic-server-cert (needed by Deployment/traffic-server (volume traffic-server-cert-file)) does not exist" "names the missing Secret and who mounts it"
[ -z "$(kubectl -n fate-exchange get deploy -o name)" ] && ok "nothing was applied" || not_ok "objects were applied"
kubectl apply -f "$W/certs/secrets/traffic-server-cert.yaml" >/dev/null
expect_rc 0 "cluster install of the exchange" -- F cluster install -f "$SPEC" --timeout 60s
for i in $(seq 1 100); do grep -q trafficServerPort "$E/exchange-pods.json" 2>/dev/null && grep -q '"trafficServerPort": [0-9]' "$E/exchange-pods.json" && break; sleep 0.1; done
agree 9999 9999

# ---- 1. route add --release: success, failures that restore, and the next add ------------------
expect_rc 0 "route add --release 10000" -- F exchange route add --release fate-exchange --party 10000 \
  --tunnel "127.0.0.1:${PORT[10000]}" --proxy "${TO[10000]}" "${R[@]}"
expect_contains "+ sni 10000.fate.org -> 127.0.0.1:${PORT[10000]}" "prints the route diff"
expect_contains "sni.yaml loaded after" "Traffic Server confirmed loading sni.yaml"
expect_contains "recorded as release fate-exchange revision 2" "recorded after the pods were verified"
agree 9999,10000 9999,10000
REVS=$(revisions)

fault '{"action":"status","status":500,"path_regex":"/exec.*command=reload","times":1}'
expect_rc 1 "exec failure on reload -> exit 1" -- F exchange route add --release fate-exchange --party 10001 \
  --tunnel "127.0.0.1:${PORT[10001]}" --proxy "${TO[10001]}" "${R[@]}"
expect_contains "step 'reload' failed" "names the reload step"
expect_contains "the previous routes (release fate-exchange revision 2) were restored and verified in" "says the previous routes were restored and verified"
expect_contains "the release record is unchanged (release fate-exchange revision 2)" "says the record is unchanged"
[ "$(revisions)" = "$REVS" ] && ok "no revision recorded" || not_ok "history: $(revisions) revisions, was $REVS"
agree 9999,10000 9999,10000

nofaults
fault '{"action":"status","status":409,"message":"Apply failed with 1 conflict: conflict with \"kubectl\"","method":"PATCH","path_regex":"configmaps/traffic-server-sni","times":1}'
expect_rc 1 "API error on the ConfigMap write (nginx-config already applied) -> exit 1" -- \
  F exchange route add --release fate-exchange --party 10001 --tunnel "127.0.0.1:${PORT[10001]}" \
  --proxy "${TO[10001]}" "${R[@]}"
expect_contains "step 'apply' failed: ConfigMap/traffic-server-sni" "names the ConfigMap that failed"
expect_contains "applied: ConfigMap/nginx-config" "says what was applied before"
expect_contains "were restored" "restored"
agree 9999,10000 9999,10000

nofaults
OLDPOD=$(pods_of traffic-server)
fault '{"action":"delete-pod","path_regex":"pods/traffic-server-[^/]+/exec.*command=reload","times":1}'
expect_rc 1 "a pod replaced mid-reload -> exit 1" -- F exchange route add --release fate-exchange --party 10001 \
  --tunnel "127.0.0.1:${PORT[10001]}" "${R[@]}"
expect_contains "pod $OLDPOD went away during the change" "names the pod that went away"
NEWPOD=$(pods_of traffic-server)
[ -n "$NEWPOD" ] && [ "$NEWPOD" != "$OLDPOD" ] && ok "replacement pod $NEWPOD" || not_ok "replacement pod: $NEWPOD"
expect_contains "verified in $NEWPOD" "the replacement pod was brought back to the previous routes"
agree 9999,10000 9999,10000

nofaults
fault '{"action":"status","status":500,"path_regex":"/exec.*command=reload","times":2}'
expect_rc 1 "the restore fails too -> exit non-zero" -- F exchange route add --release fate-exchange --party 10001 \
  --tunnel "127.0.0.1:${PORT[10001]}" "${R[@]}"
expect_contains "restoring the previous routes failed too" "says the restore failed"
expect_contains "pod $NEWPOD (traffic-server): has the previous routes mounted, but not reloaded since sni.yaml changed" \
  "says which route set the pod has and that Traffic Server did not re-read it"
[ "$(revisions)" = "$REVS" ] && ok "nothing false recorded (no new revision)" || not_ok "history: $(revisions)"
expect_rc 1 "route list --live marks the pod" -- F exchange route list --release fate-exchange --live
expect_contains "not reloaded since sni.yaml changed" "live view: not reloaded since the last change"
expect_rc 0 "exchange reload --release repairs it" -- F exchange reload --release fate-exchange "${R[@]}"
expect_rc 0 "route list --live: in sync" -- F exchange route list --release fate-exchange --live
agree 9999,10000 9999,10000

# a tunnel port outside connect_ports: records.config changes, which only a new pod reads
TSPODS=$(pods_of traffic-server)
expect_rc 0 "route add --release 10003 (port ${PORT[10003]} outside connect_ports)" -- F exchange route add --release fate-exchange \
  --party 10003 --tunnel "127.0.0.1:${PORT[10003]}" "${R[@]}"
expect_contains "records.config changed; only a new pod reads it" "the traffic-server pod was restarted"
[ "$(pods_of traffic-server)" != "$TSPODS" ] && ok "a new traffic-server pod" || not_ok "traffic-server pod not replaced"
agree 9999,10000,10003 9999,10000
expect_rc 0 "route remove --release 10003" -- F exchange route remove --release fate-exchange --party 10003 "${R[@]}"
agree 9999,10000 9999,10000

expect_rc 0 "route add --release 10002 (after the failures)" -- F exchange route add --release fate-exchange --party 10002 \
  --tunnel "127.0.0.1:${PORT[10002]}" "${R[@]}"
agree 9999,10000,10002 9999,10000
expect_rc 0 "route add --dry-run" -- F exchange route add --release fate-exchange --party 10001 --tunnel "127.0.0.1:${PORT[10001]}" --dry-run
expect_contains "+ sni 10001.fate.org" "dry run prints the diff"
expect_contains "dry run: nothing applied" "dry run says so"
agree 9999,10000,10002 9999,10000
REV_WITH_10002=$(F cluster history fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')

# ---- live drift: someone edits the ConfigMap behind fatectl's back ------------------------------
kubectl -n fate-exchange patch cm traffic-server-sni --type merge -p \
  "{\"data\":{\"sni.yaml\":\"sni:\\n  - fqdn: 9999.fate.org\\n    tunnel_route: 127.0.0.1:${PORT[10001]}\\n\"}}" >/dev/null
sleep 1.5
expect_rc 1 "cluster status shows drift -> exit 1" -- F cluster status fate-exchange
expect_contains "(traffic-server): missing sni 10000.fate.org" "status: the pod lacks a recorded route"
expect_contains "sni 9999.fate.org -> 127.0.0.1:${PORT[10001]} (recorded: 127.0.0.1:${PORT[9999]})" "status: a different target"
expect_contains "not reloaded since sni.yaml changed" "status: Traffic Server did not reload the edited file"
expect_rc 1 "route list --live -o json" -- F exchange route list --release fate-exchange --live -o json
expect_contains '"inSync": false' "json marks the drift"
expect_rc 0 "exchange reload --release puts the record back" -- F exchange reload --release fate-exchange "${R[@]}"
expect_rc 0 "cluster status: in sync" -- F cluster status fate-exchange
expect_contains "in sync with the record" "status: one line per pod in sync"
agree 9999,10000,10002 9999,10000

# ---- 2. cluster upgrade keeps the release's routes and reloads every pod ------------------------
write_spec 2
expect_rc 0 "upgrade --replace-routes --dry-run=server" -- F cluster upgrade -f "$SPEC" --replace-routes --dry-run=server
expect_contains "dropping routes that release fate-exchange revision" "names what --replace-routes would drop"
expect_contains "party 10000: sni 10000.fate.org" "names party 10000"
expect_contains "- sni 10002.fate.org" "the diff shows the removal"
agree 9999,10000,10002 9999,10000
expect_rc 0 "cluster upgrade (replicas 1 -> 2; the file lacks the added routes)" -- F cluster upgrade -f "$SPEC" --timeout 60s --reload-timeout 30s --reload-poll 200ms
expect_contains "keeping 2 parties' routes that release fate-exchange revision" "one line says what is kept"
expect_contains "party 10000: sni 10000.fate.org -> 127.0.0.1:${PORT[10000]}, nginx 10000" "names party 10000"
expect_contains "party 10002: sni 10002.fate.org" "names party 10002"
expect_contains "routes reloaded and verified in every pod" "every pod verified"
[ "$(pods_of traffic-server | wc -w)" = 2 ] && ok "two traffic-server pods" || not_ok "traffic-server pods: $(pods_of traffic-server)"
agree 9999,10000,10002 9999,10000

# ---- 2b. two concurrent changes: the revision is reserved create-only --------------------------
# Both upgrades read the same history (their writes of the release record are held back 2 s), so
# both go for the same next revision: one reserves it and goes on, the other is refused before it
# changes anything.
REVS=$(revisions)
write_spec 1; cp "$SPEC" "$W/upgrade-a.yaml"; write_spec 2; cp "$SPEC" "$W/upgrade-b.yaml"
fault '{"action":"latency","latency_ms":2000,"method":"POST","path_regex":"namespaces/fate-exchange/secrets","times":2}'
declare -A UP
for x in a b; do
  F cluster upgrade -f "$W/upgrade-$x.yaml" --timeout 60s --reload-timeout 30s --reload-poll 200ms >"$W/upgrade-$x.out" 2>&1 &
  UP[$x]=$!
done
RC_A=0; wait "${UP[a]}" || RC_A=$?
RC_B=0; wait "${UP[b]}" || RC_B=$?
nofaults
if [ "$RC_A" = 0 ]; then WIN=a LOSE=b RC_L=$RC_B; else WIN=b LOSE=a RC_L=$RC_A; fi
[ "$RC_A$RC_B" = 01 ] || [ "$RC_A$RC_B" = 10 ] && ok "two concurrent upgrades: one succeeded ($WIN), one failed (exit $RC_A/$RC_B)"   || { not_ok "two concurrent upgrades: exits $RC_A/$RC_B"; sed 's/^/    /' "$W"/upgrade-?.out; }
OUT=$(cat "$W/upgrade-$LOSE.out")
if grep -q "upgrade of fate-exchange refused: release 'fate-exchange' revision $((REVS + 1)) was just reserved by another command changing it; nothing was changed" <<<"$OUT"; then
  ok "the other is refused by the create-only reservation, saying why"
elif grep -q "is pending-upgrade (upgrade in progress) since" <<<"$OUT"; then
  ok "the other is refused (it started late and found the winner's revision pending)"
else not_ok "the other is refused, saying why: $(tail -3 <<<"$OUT")"; fi
grep -qi "restor\|applied:" <<<"$OUT" && not_ok "the refused upgrade touched the cluster: $(tail -3 <<<"$OUT")" \
  || ok "the refused upgrade applied and restored nothing"
grep -q "routes reloaded and verified in every pod" "$W/upgrade-$WIN.out" && ok "the winner reloaded and verified every pod"   || not_ok "winner: $(tail -3 "$W/upgrade-$WIN.out")"
[ "$(revisions)" = $((REVS + 1)) ] && ok "exactly one new revision" || not_ok "history: $(revisions) revisions, was $REVS"
WANT=$(grep -m1 'replicas:' "$W/upgrade-$WIN.yaml" | awk '{print $2}')
RECORDED=$(F cluster history fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[-1]; print(r["status"], r["description"])')
[ "$RECORDED" = "deployed upgrade complete" ] && ok "the newest revision is the winner's, deployed" || not_ok "newest revision: $RECORDED"
[ "$(kubectl -n fate-exchange get deploy traffic-server -o jsonpath='{.spec.replicas}')" = "$WANT" ] \
  && ok "the cluster runs the winner's spec (traffic-server replicas $WANT)" || not_ok "traffic-server replicas"
agree 9999,10000,10002 9999,10000

# A command stopped after it reserved its revision leaves it pending: while it runs, upgrades are
# refused; once it is gone, the next command marks its revision failed and goes on.
fault '{"action":"latency","latency_ms":3000,"method":"PATCH","path_regex":"deployments/","times":1}'
# (the binary itself in the background, so that $! is its pid)
"$FATECTL" cluster upgrade -f "$W/upgrade-$LOSE.yaml" --timeout 60s --reload-timeout 30s --reload-poll 200ms >/dev/null 2>&1 &
STOPPED=$!
for i in $(seq 1 50); do F cluster history fate-exchange -o json | grep -q '"pending-upgrade"' && break; sleep 0.2; done
expect_rc 1 "an upgrade while another one is in progress -> exit 1" -- F cluster upgrade -f "$W/upgrade-$WIN.yaml" --timeout 60s
expect_contains "is pending-upgrade (upgrade in progress) since" "names the pending revision"
expect_contains "another command is changing it; nothing was changed" "says nothing was changed"
kill -KILL "$STOPPED" 2>/dev/null; wait "$STOPPED" 2>/dev/null || true
# (read with kubectl: any fatectl command would notice the holder is gone and mark it failed)
[ -n "$(kubectl -n fate-exchange get secret -l owner=fatectl,name=fate-exchange,status=pending-upgrade -o name)" ] \
  && ok "the stopped upgrade left its revision pending" \
  || not_ok "no pending revision after the upgrade was stopped"
sleep 3.5  # the stopped command's last request lands
nofaults
# (issue #18) its fatectl is gone, so the next command marks the revision failed, says so and goes
# on: no --force needed (--force is for a holder that still looks alive, e.g. on another machine)
expect_rc 0 "rollback after the stopped upgrade: its revision is marked failed, the rollback goes on" -- \
  F cluster rollback fate-exchange --timeout 60s --reload-timeout 30s --reload-poll 200ms
expect_contains "was pending-upgrade, but the fatectl process (pid $STOPPED" "names the stopped fatectl"
expect_contains "marked it failed" "says it marked the stopped upgrade's revision failed"
expect_contains "routes reloaded and verified in every pod" "every pod verified"
[ "$(kubectl -n fate-exchange get deploy traffic-server -o jsonpath='{.spec.replicas}')" = "$WANT" ] \
  && ok "the deployed revision's spec runs again (traffic-server replicas $WANT)" || not_ok "traffic-server replicas"
agree 9999,10000,10002 9999,10000

# ---- 3. cluster rollback reloads ----------------------------------------------------------------
BEFORE_10002=$((REV_WITH_10002 - 1))
expect_rc 0 "cluster rollback --dry-run" -- F cluster rollback fate-exchange "$BEFORE_10002" --dry-run
expect_contains "- sni 10002.fate.org" "rollback dry run shows the route diff"
expect_rc 0 "cluster rollback to revision $BEFORE_10002 (without 10002)" -- F cluster rollback fate-exchange "$BEFORE_10002" \
  --timeout 60s --reload-timeout 30s --reload-poll 200ms
expect_contains "- sni 10002.fate.org" "prints the route diff"
agree 9999,10000 9999,10000

# ---- 4. exchange reload -f FILE: warns, and restarts nginx when nginx routes go away ------------
NGX=$(pods_of nginx)
expect_rc 0 "exchange reload -f (the file lacks party 10000)" -- F exchange reload -f "$SPEC" "${R[@]}"
expect_contains "has routes $SPEC does not: party 10000: sni 10000.fate.org" "warns, naming the routes only the release has"
expect_contains "party 10000 left the nginx routes" "nginx restarted because a party left its routes"
NGX2=$(pods_of nginx)
[ -n "$NGX2" ] && [ "$NGX2" != "$NGX" ] && ok "a new nginx pod ($NGX -> $NGX2)" || not_ok "nginx pod replaced ($NGX -> $NGX2)"
agree 9999 9999

# ---- 5. uninstall of a party the Exchange routes -------------------------------------------------
PARTY=$W/party-10000.yaml
cp "$SRC/examples/v1.11/party-10000-eggroll.yaml" "$PARTY"
expect_rc 0 "install party 10000" -- F cluster install -f "$PARTY" --timeout 90s
expect_rc 0 "route add --release 10000" -- F exchange route add --release fate-exchange --party 10000 \
  --tunnel "127.0.0.1:${PORT[10000]}" --proxy "${TO[10000]}" "${R[@]}"
fault '{"action":"status","status":409,"message":"conflict","method":"PATCH","path_regex":"configmaps/nginx-config","times":1}'
expect_rc 1 "uninstall --remove-route, the route removal fails -> exit 1" -- F cluster uninstall fate-10000 --remove-route --reload-timeout 30s --reload-poll 200ms
expect_contains "cluster fate-10000 was NOT uninstalled" "says the party was not uninstalled"
F cluster status fate-10000 >/dev/null 2>&1 && ok "party 10000 still installed" || not_ok "party 10000 gone"
agree 9999,10000 9999,10000
nofaults
expect_rc 0 "uninstall --remove-route" -- F cluster uninstall fate-10000 --remove-route --reload-timeout 30s --reload-poll 200ms
expect_contains "removing party 10000's routes from the Exchange fate-exchange" "says it removes the routes"
expect_contains "uninstalled cluster fate-10000" "uninstalled"
agree 9999 9999
expect_rc 0 "install party 10000 again" -- F cluster install -f "$PARTY" --timeout 90s
expect_rc 0 "route add --release 10000 again" -- F exchange route add --release fate-exchange --party 10000 --tunnel "127.0.0.1:${PORT[10000]}" "${R[@]}"
expect_rc 0 "uninstall without --remove-route" -- F cluster uninstall fate-10000
expect_contains "the Exchange fate-exchange (namespace fate-exchange, revision" "warns that the Exchange still routes the party"
expect_contains "Pass --remove-route" "offers --remove-route"
agree 9999,10000 9999

# ---- a rollback that drops an nginx route: the nginx pods restart and stop routing the party -----
expect_rc 0 "route add --release 10001 (nginx only)" -- F exchange route add --release fate-exchange --party 10001 \
  --proxy "${TO[10001]}" "${R[@]}"
agree 9999,10000 9999,10001
NGX=$(pods_of nginx)
expect_rc 0 "cluster rollback (to the revision without 10001)" -- F cluster rollback fate-exchange --timeout 60s \
  --reload-timeout 30s --reload-poll 200ms
expect_contains "- nginx 10001" "the diff shows the nginx route going"
expect_contains "party 10001 left the nginx routes" "nginx restarted because 10001 left its routes"
NGX2=$(pods_of nginx)
[ -n "$NGX2" ] && [ "$NGX2" != "$NGX" ] && ok "a new nginx pod ($NGX -> $NGX2)" || not_ok "nginx pod replaced ($NGX -> $NGX2)"
agree 9999,10000 9999

# ---- 6. upgrade --atomic: waiting fails, the release and its routes go back by themselves -----------
# The upgrade adds party 10001's SNI route and moves Traffic Server to an image tag that cannot be
# pulled: the new pod never becomes ready, waiting ends at --timeout (exit 4), the deployed
# revision is rolled back to as a new revision, and the route ConfigMaps found before are restored
# and every pod reloaded -- the record, the ConfigMaps, every pod's file and what every Traffic
# Server routes are the routes from before the upgrade.
routes_json() { F exchange route list --release fate-exchange -o json | /usr/bin/python3 -c '
import json,sys; d=json.load(sys.stdin); d.pop("revision",None); d.pop("source",None); print(json.dumps(d, sort_keys=True))'; }
ROUTES_BEFORE=$(routes_json)
DEPLOYED=$(F cluster history fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; print([r["revision"] for r in json.load(sys.stdin) if r["status"]=="deployed"][-1])')
REVS=$(F cluster history fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')
ts_image() { kubectl -n fate-exchange get deploy traffic-server -o jsonpath='{.spec.template.spec.containers[0].image}'; }
IMAGE=$(ts_image)
write_spec "$(kubectl -n fate-exchange get deploy traffic-server -o jsonpath='{.spec.replicas}')"
/usr/bin/python3 - "$SPEC" "$W/atomic.yaml" "${PORT[10001]}" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("  replicas: ", "  imageTag: no-such-tag\n  replicas: ", 1)
t = t.replace("    sni:\n", "    sni:\n    - fqdn: 10001.fate.org\n      tunnelRoute: 127.0.0.1:%s\n" % sys.argv[3], 1)
open(sys.argv[2], "w").write(t)
PY
curl -fsS -X POST "$ADMIN/pod-failures" -d '{"namespace":"fate-exchange","image_regex":"trafficserver:no-such-tag","reason":"ImagePullBackOff"}' >/dev/null
expect_rc 4 "upgrade --atomic whose new traffic-server pod never pulls its image -> exit 4" -- \
  F cluster upgrade -f "$W/atomic.yaml" --atomic --timeout 8s --reload-timeout 30s --reload-poll 200ms
expect_contains "+ sni 10001.fate.org" "the route diff of the upgrade was shown"
expect_contains "ImagePullBackOff" "says why waiting failed"
expect_contains "--atomic: rolled back to revision $DEPLOYED (now revision $((REVS + 2)), all ready)" "says it rolled back, to which revision"
expect_contains "the previous routes (release fate-exchange revision $DEPLOYED) were restored and verified in" \
  "says the routes found before were restored and verified (after --timeout passed)"
expect_contains "release fate-exchange revision $((REVS + 2)) (rollback to revision $DEPLOYED after the failed upgrade (--atomic)) is the deployed revision" \
  "says which revision is deployed now"
curl -fsS -X DELETE "$ADMIN/pod-failures" >/dev/null
OUT=$(F cluster history fate-exchange -o json)
/usr/bin/python3 -c '
import json,sys
d=json.loads(sys.argv[1]); revs=int(sys.argv[2]); dep=sys.argv[3]
s=[(r["revision"],r["status"]) for r in d]
assert s[-2:]==[(revs+1,"failed"),(revs+2,"deployed")], s
assert d[-2]["description"].startswith("upgrade failed") and "ImagePullBackOff" in d[-2]["description"], d[-2]
assert d[-2]["description"].endswith("; route ConfigMaps restored to release fate-exchange revision %s and reloaded" % dep), d[-2]
assert d[-1]["description"]=="rollback to revision %s after the failed upgrade (--atomic)" % dep, d[-1]' "$OUT" "$REVS" "$DEPLOYED" \
  && ok "history: revision $((REVS + 1)) failed, $((REVS + 2)) the rollback to $DEPLOYED" || not_ok "history json: ${OUT:0:400}"
expect_rc 0 "history table" -- F cluster history fate-exchange
expect_contains "rollback to revision $DEPLOYED after the failed upgrade (--atomic)" "the table names the rollback and its target"
[ "$(routes_json)" = "$ROUTES_BEFORE" ] && ok "the release record's routes are those from before the upgrade" \
  || not_ok "routes: $(routes_json) (before: $ROUTES_BEFORE)"
expect_rc 0 "route list --release --live: every pod in sync" -- F exchange route list --release fate-exchange --live
[ "$(ts_image)" = "$IMAGE" ] && ok "traffic-server runs its image from before ($IMAGE)" || not_ok "traffic-server image: $(ts_image)"
agree 9999,10000 9999
finish
