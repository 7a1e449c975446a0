#!/usr/bin/env bash
# Route edits on an installed exchange (its release record) instead of a spec file, against the
# Kubernetes API emulator: `fatectl cluster install` of an nginx exchange, then
# `exchange route list|add|remove --release` -- each change applied, the mounted route table
# checked through exec, the nginx pods restarted after a removal, and a new revision recorded.
# The emulator runs with --with-exchange: the nginx pod's mounted route_table.yaml follows the
# ConfigMap like a kubelet's, and the pod runs a real nginx (Debian's, with the stand-in for the
# image's lua route table reader: scripts/emulator-exchange/node.py). Each party's route leads to
# an HTTP and a gRPC backend of that party (tests/exchange/party_backends.py);
# tests/exchange/nginx_routes.py sends an HTTP request and a gRPC call per party through the nginx
# pod and checks which backend answers: a route added is routed, a route removed (with the
# transaction's nginx restart) is not -- and without the restart nginx keeps routing it.
# Also: -f --apply records into an existing release; failures record nothing; API calls and exec
# through an HTTP CONNECT proxy (kubeconfig proxy-url, tests/lib/connect_proxy.py).
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/exchange_release.XXXXXX")
E=$W/emu
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  "$SRC/scripts/kube-emulator" stop "$E" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
command -v kubectl >/dev/null || { not_ok "kubectl installed"; finish; exit 1; }

"$SRC/scripts/kube-emulator" start "$E" --with-exchange --sync-delay 0.2 >/dev/null
export KUBECONFIG=$E/kubeconfig
ADMIN=$(cat "$E/admin-url")
/usr/bin/python3 "$SRC/tests/exchange/party_backends.py" "$W/backends.json" 9999 10000 10001 &
PIDS+=($!)
for i in $(seq 1 100); do [ -s "$W/backends.json" ] && break; sleep 0.1; done
declare -A TO  # party -> host:http_port:grpc_port of its backends
for p in 9999 10000 10001; do
  TO[$p]=$(/usr/bin/python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))[sys.argv[2]]; print("127.0.0.1:%d:%d" % (b["http"], b["grpc"]))' "$W/backends.json" $p)
done
IFS=: read -r _ HP9999 GP9999 <<< "${TO[9999]}"
# nginx_routes PARTIES LABEL: the nginx pods route exactly PARTIES (of 9999,10000,10001), by HTTP and gRPC
nginx_routes() {
  local out rc=0
  out=$(/usr/bin/python3 "$SRC/tests/exchange/nginx_routes.py" "$E" fate-exchange --parties 9999,10000,10001 --expect "$1" 2>&1) || rc=$?
  if [ $rc -eq 0 ]; then ok "$2: $(echo "$out" | tr '\n' ' ')"; else not_ok "$2:"; echo "$out" | sed 's/^/    /'; fi
}

SPEC=$W/fate-exchange.yaml
cat > "$SPEC" <<Y
# nginx-only exchange of the test federation
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""
modules:
  - nginx
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
expect_rc 0 "cluster install of the exchange" -- "$FATECTL" cluster install -f "$SPEC" --create-namespace --timeout 60s
nginx_routes 9999 "nginx routes party 9999 (HTTP and gRPC reach its backends)"
# the route table mounted in the (newest) nginx pod
routes_in_pod() { cat "$E"/pods/fate-exchange/"$(nginx_pods | awk '{print $NF}')"/nginx/root/data/projects/fate/proxy/nginx/conf/modifiable/route_table.yaml 2>/dev/null; }
in_pod() { routes_in_pod | grep -q "http_port: $(cut -d: -f2 <<< "${TO[$1]}")$"; }  # party $1's route is mounted
nginx_pods() { kubectl -n fate-exchange get pods -l fateMoudle=nginx -o json | /usr/bin/python3 -c 'import json,sys; print(" ".join(p["metadata"]["name"] for p in json.load(sys.stdin)["items"] if p["status"].get("phase")=="Running" and not p["metadata"].get("deletionTimestamp")))'; }
revisions() { "$FATECTL" cluster history fate-exchange -n fate-exchange -o json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("revisions", d) if isinstance(d, dict) else d; print(len(d))'; }
POD1=$(nginx_pods)
[ -n "$POD1" ] && ok "nginx pod $POD1 running" || not_ok "nginx pod running"

# ---- list from the release -------------------------------------------------------------------
expect_rc 0 "route list --release" -- "$FATECTL" exchange route list --release fate-exchange
expect_contains "${TO[9999]}" "lists the installed route of 9999"
expect_rc 0 "route list --release -o json" -- "$FATECTL" exchange route list --release fate-exchange -o json
expect_contains '"revision": 1' "json names the revision read"

# ---- add through the release -----------------------------------------------------------------
expect_rc 0 "route add --release (applied without --apply)" -- "$FATECTL" exchange route add --release fate-exchange \
  --party 10000 --proxy "${TO[10000]}" --timeout 20s --poll 200ms
expect_contains "ConfigMap/nginx-config" "the nginx ConfigMap was applied"
expect_contains "re-reads it every 5s" "the file in the pod was checked"
expect_contains "recorded as release fate-exchange revision 2" "a new revision was recorded"
in_pod 10000 && ok "the pod's route table has party 10000" || not_ok "pod route table: $(routes_in_pod)"
nginx_routes 9999,10000 "nginx routes party 10000 once it re-read the table"
[ "$(revisions)" = 2 ] && ok "history has 2 revisions" || not_ok "history: $(revisions)"
expect_rc 0 "route list --release after add" -- "$FATECTL" exchange route list --release fate-exchange
expect_contains "${TO[10000]}" "the release record holds the new route"
expect_rc 0 "cluster history shows the change" -- "$FATECTL" cluster history fate-exchange -n fate-exchange
expect_contains "route add: party 10000" "the revision says what changed"

# ---- file mode with --apply records into the release too --------------------------------------
"$FATECTL" exchange route list --release fate-exchange >/dev/null
expect_rc 0 "route add -f --apply" -- "$FATECTL" exchange route add -f "$SPEC" --party 10001 \
  --proxy "${TO[10001]}" --apply --timeout 20s --poll 200ms
expect_contains "recorded as release fate-exchange revision 3" "the file's change is recorded in the release"
expect_contains "has routes $SPEC does not: party 10000: nginx 10000 (proxy ${TO[10000]})" "warns that the file drops a route only the release had"
expect_contains "party 10000 left the nginx routes" "nginx restarted: the dropped party left its routes"
grep -q "http_port: $(cut -d: -f2 <<< "${TO[10001]}")" "$SPEC" && ok "the spec file was written" || not_ok "spec file written"
in_pod 10000 && not_ok "file mode replaced the release's routes with the file's" \
  || ok "the file's routes are what runs now (party 10000 was only in the release)"
nginx_routes 9999,10001 "the restarted nginx routes the file's parties, not the dropped 10000"

# ---- remove through the release: nginx pods restarted ----------------------------------------
expect_rc 0 "route add --release 10000 again" -- "$FATECTL" exchange route add --release fate-exchange \
  --party 10000 --proxy "${TO[10000]}" --timeout 20s --poll 200ms
nginx_routes 9999,10000,10001 "nginx routes 10000 again"
POD1=$(nginx_pods)
expect_rc 0 "route remove --release" -- "$FATECTL" exchange route remove --release fate-exchange --party 10000 \
  --timeout 30s --poll 200ms
expect_contains "new pod read the routes at start" "nginx pods were restarted"
POD2=$(nginx_pods)
[ -n "$POD2" ] && [ "$POD2" != "$POD1" ] && ok "a new nginx pod ($POD1 -> $POD2)" || not_ok "nginx pod replaced ($POD1 -> $POD2)"
in_pod 10000 && not_ok "party 10000 still in the pod's routes" || ok "party 10000 gone from the pod's routes"
nginx_routes 9999,10001 "the new nginx pod no longer routes party 10000"
[ "$(revisions)" = 5 ] && ok "history has 5 revisions" || not_ok "history: $(revisions)"
# why the restart: nginx only adds to the table it re-reads, so without it a removed party stays routed
expect_rc 0 "route remove --release --no-restart-nginx" -- "$FATECTL" exchange route remove --release fate-exchange \
  --party 10001 --no-restart-nginx --timeout 30s --poll 200ms
expect_contains "nginx keeps routing them until its pods restart (--no-restart-nginx)" "says nginx keeps routing the party"
[ "$(nginx_pods)" = "$POD2" ] && ok "the nginx pod was not restarted" || not_ok "nginx pod restarted: $(nginx_pods)"
sleep 6  # past nginx's next re-read of the table
nginx_routes 9999,10001 "without the restart nginx still routes the removed party 10001 (as the image's lua does)"
expect_rc 0 "route add --release 10001 back" -- "$FATECTL" exchange route add --release fate-exchange \
  --party 10001 --proxy "${TO[10001]}" --timeout 20s --poll 200ms

# ---- failures record nothing -----------------------------------------------------------------
curl -fsS -X POST "$ADMIN/rbac/deny" -d '{"resource":"pods/exec"}' >/dev/null
expect_rc 3 "exec refused -> exit 3" -- "$FATECTL" exchange route add --release fate-exchange --party 10002 \
  --proxy 192.168.12.1:30123:30128 --timeout 5s --poll 200ms
expect_contains "step 'propagate' failed" "names the failed step"
expect_contains "the release record is unchanged (release fate-exchange revision 7)" "says the record was not changed"
expect_contains "restoring the previous routes failed too" "says the restore could not check the pods either"
curl -fsS -X DELETE "$ADMIN/rbac/deny" >/dev/null
[ "$(revisions)" = 7 ] && ok "no revision recorded after the failure" || not_ok "history after failure: $(revisions)"
expect_rc 0 "dry run --release" -- "$FATECTL" exchange route add --release fate-exchange --party 10003 \
  --proxy 192.168.13.1:30133:30138 --dry-run
expect_contains "+ nginx 10003 -> proxy 192.168.13.1:30133:30138" "dry run prints the route diff"
expect_contains "dry run" "dry run says so"
[ "$(revisions)" = 7 ] && ok "dry run records nothing" || not_ok "history after dry run: $(revisions)"
# ---- through an HTTP CONNECT proxy (kubeconfig proxy-url): API calls and pod exec ----------------
/usr/bin/python3 "$SRC/tests/lib/connect_proxy.py" "$W/proxy.log" "$W/proxy.port" &
PIDS+=($!)
for i in $(seq 1 50); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
/usr/bin/python3 - "$E/kubeconfig" "$W/proxied.kubeconfig" "http://127.0.0.1:$(cat "$W/proxy.port")" <<'PY'
import sys, yaml
kc = yaml.safe_load(open(sys.argv[1]))
for c in kc["clusters"]:
    c["cluster"]["proxy-url"] = sys.argv[3]
yaml.safe_dump(kc, open(sys.argv[2], "w"))
PY
API=$(sed -n 's#.*server: https://\(127.0.0.1:[0-9]*\).*#\1#p' "$W/proxied.kubeconfig" | head -1)
expect_rc 0 "reload --release through proxy-url" -- "$FATECTL" --kubeconfig "$W/proxied.kubeconfig" exchange reload \
  --release fate-exchange --timeout 20s --poll 200ms
expect_contains "re-reads it every 5s" "the pod's file was read through exec"
N=$(grep -c "^CONNECT $API\$" "$W/proxy.log" 2>/dev/null || true)
[ "${N:-0}" -ge 2 ] && ok "API calls and the exec WebSocket went through the proxy ($N tunnels to $API)" \
  || not_ok "proxy log: $(cat "$W/proxy.log" 2>/dev/null)"
kubectl --kubeconfig "$W/proxied.kubeconfig" -n fate-exchange get cm nginx-config >/dev/null \
  && ok "kubectl accepts the same proxied kubeconfig" || not_ok "kubectl with proxy-url"
sed -i "s#proxy-url: http://127.0.0.1:[0-9]*#proxy-url: http://127.0.0.1:9#" "$W/proxied.kubeconfig"
expect_rc 3 "a proxy that is down -> exit 3" -- "$FATECTL" --kubeconfig "$W/proxied.kubeconfig" exchange route list --release fate-exchange

expect_rc 2 "-f and --release together -> exit 2" -- "$FATECTL" exchange route list -f "$SPEC" --release fate-exchange
expect_rc 2 "neither -f nor --release -> exit 2" -- "$FATECTL" exchange route list
expect_rc 1 "unknown release -> exit 1" -- "$FATECTL" exchange route list --release nope -n fate-exchange
finish
