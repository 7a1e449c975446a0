#!/usr/bin/env bash
# End to end: fatectl exchange route add|remove -f SPEC --apply against an exchange applied with
# kubectl (no release record: the spec file is the only record), in the Kubernetes API emulator
# started with --with-exchange -- the traffic-server pod runs a real Apache Traffic Server (Debian)
# from fatectl's rendered records.config, ssl_multicert.config and sni.yaml, and exec into it runs
# the real traffic_ctl (scripts/emulator-exchange/). Backend A and B are openssl s_server endpoints
# standing for party 10000's Pulsar TLS port. Failures restore what was there and leave the file.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/exchange_reload.XXXXXX")
E=$W/emu
PIDS=()
cleanup() {
  rm -f "$E/node.paused"
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  "$SRC/scripts/kube-emulator" stop "$E" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
for t in traffic_manager traffic_ctl openssl kubectl; do
  command -v $t >/dev/null || { not_ok "$t installed"; finish; exit 1; }
done
# backends must sit inside the chart's connect_ports (443 6650-6700 30000-33000)
pick_port() { for p in $(shuf -i 30000-33000 -n 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }
PA=$(pick_port); PB=$(pick_port); while [ "$PB" = "$PA" ]; do PB=$(pick_port); done

# ---- the cluster: the emulator with a node for the Exchange's pods ---------------------------
"$SRC/scripts/kube-emulator" start "$E" --with-exchange --sync-delay 1 >/dev/null
export KUBECONFIG=$E/kubeconfig
ADMIN=$(cat "$E/admin-url")
kubectl create namespace fate-exchange >/dev/null

SPEC=$W/fate-exchange.yaml
cat > "$SPEC" <<'Y'
# exchange of the test federation (comments must survive every edit)
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""
modules:
  - trafficServer

trafficServer:
  type: NodePort
  nodePort: 30001
  route_table:
    sni:
    - fqdn: 9999.fate.org       # party 9999 is not running in this test
      tunnelRoute: 127.0.0.1:30999
Y
"$FATECTL" cluster render -f "$SPEC" > "$W/rendered.yaml" 2> "$W/render.err" && ok "spec renders" || { not_ok "render: $(tail -3 "$W/render.err")"; finish; exit 1; }
kubectl apply -f "$W/rendered.yaml" >/dev/null 2>"$W/apply.err" && ok "exchange installed in the emulator" || not_ok "kubectl apply: $(tail -3 "$W/apply.err")"
for i in $(seq 1 100); do
  POD=$(kubectl -n fate-exchange get pods -l fateMoudle=traffic-server -o jsonpath='{.items[?(@.status.phase=="Running")].metadata.name}' 2>/dev/null || true)
  [ -n "$POD" ] && break; sleep 0.1
done
[ -n "$POD" ] && ok "traffic-server pod $POD running" || not_ok "traffic-server pod running"

# ---- certificates; the node starts a private Traffic Server for the pod -----------------------
"$FATECTL" certs exchange --domain fate.org --parties 9999,10000 --dir "$W/certs" > "$W/certs.out" 2>&1 \
  && ok "certs exchange" || not_ok "certs exchange: $(tail -3 "$W/certs.out")"
kubectl create namespace fate-9999 >/dev/null; kubectl create namespace fate-10000 >/dev/null
expect_rc 0 "certs exchange --apply" -- "$FATECTL" certs exchange --domain fate.org --parties 9999,10000 --dir "$W/certs" --apply
[ "$(kubectl -n fate-exchange get secret traffic-server-cert -o jsonpath='{.data.proxy\.cert\.pem}' | base64 -d | openssl x509 -noout -subject)" = "subject=O = fatectl federation, CN = proxy.fate.org" ] \
  && ok "traffic-server-cert applied" || not_ok "traffic-server-cert applied"
kubectl -n fate-10000 get secret pulsar-cert -o jsonpath='{.data.broker\.key-pk8\.pem}' | base64 -d | grep -q "BEGIN PRIVATE KEY" \
  && ok "pulsar-cert applied in fate-10000" || not_ok "pulsar-cert applied"
grep -q "connect_ports STRING 443 6650-6700 30000-33000" <(kubectl -n fate-exchange get cm traffic-server-config -o jsonpath='{.data.records\.config}') \
  && ok "rendered records.config has the chart's connect_ports" || not_ok "rendered connect_ports"
A=$E/pods/fate-exchange/$POD/traffic-server
for i in $(seq 1 100); do [ -s "$A/ats/port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$A/ats/port")") 2>/dev/null && break; sleep 0.1; done
ATS_PORT=$(cat "$A/ats/port" 2>/dev/null || echo 0)
(exec 3<>"/dev/tcp/127.0.0.1/$ATS_PORT") 2>/dev/null && ok "the pod's Traffic Server is up on $ATS_PORT" || { not_ok "Traffic Server up: $(tail -5 "$A/ats/tm.out" 2>/dev/null; tail -5 "$E/node.log")"; finish; exit 1; }
TM=$(cat "$A/ats/pid")
ts_pid() { pgrep -P "$TM" | head -1 || true; }   # traffic_server: the pod's traffic_manager's child
for i in $(seq 1 100); do TS_PID=$(ts_pid); [ -n "$TS_PID" ] && break; sleep 0.1; done

openssl s_server -accept "127.0.0.1:$PA" -cert "$W/certs/10000.crt" -key "$W/certs/10000.key" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -accept "127.0.0.1:$PB" -cert "$W/certs/9999.crt" -key "$W/certs/9999.key" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)

# the subject seen through Traffic Server with SNI 10000.fate.org
seen() { openssl s_client -servername 10000.fate.org -connect "127.0.0.1:$ATS_PORT" </dev/null 2>/dev/null | sed -n 's/^subject=//p'; }
# polls until the subject contains $1 (the reload applies asynchronously)
wait_seen() { local i s; for i in $(seq 1 60); do s=$(seen); case "$s" in *"$1"*) return 0 ;; esac; sleep 0.25; done; echo "  saw: ${s:-nothing}"; return 1; }

# ---- add: SNI 10000.fate.org -> backend A ----------------------------------------------------
cp "$SPEC" "$W/spec.orig"
expect_rc 0 "route add 10000 -> backend A --apply" -- "$FATECTL" exchange route add -f "$SPEC" --party 10000 \
  --tunnel "127.0.0.1:$PA" --apply --timeout 30s --poll 200ms
expect_contains "ConfigMap/traffic-server-sni" "the sni ConfigMap was applied"
expect_contains "sni.yaml loaded after" "Traffic Server confirmed loading sni.yaml"
expect_contains "$POD" "the report names the pod"
echo "$OUT" | sed 's/^/    /' | tail -6
wait_seen "CN = 10000.fate.org" && ok "SNI 10000.fate.org reaches backend A" || not_ok "SNI 10000.fate.org reaches backend A"
grep -q "# party 9999 is not running" "$SPEC" && ok "spec comment kept" || not_ok "spec comment kept"
grep -q "tunnelRoute: 127.0.0.1:$PA" "$SPEC" && ok "spec written after success" || not_ok "spec written after success"

# ---- change the tunnel: backend B, same traffic_server process ------------------------------
expect_rc 0 "route add 10000 -> backend B --apply" -- "$FATECTL" exchange route add -f "$SPEC" --party 10000 \
  --tunnel "127.0.0.1:$PB" --apply --timeout 30s --poll 200ms -o json
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); r=d["reload"]; assert r["ok"] and r["pods"][0]["ok"] and r["pods"][0]["reload"]=="ok", r' "$OUT" \
  && ok "json report: pod reloaded and confirmed" || not_ok "json report: $OUT"
wait_seen "CN = 9999.fate.org" && ok "SNI 10000.fate.org now reaches backend B" || not_ok "SNI 10000.fate.org now reaches backend B"
TS_PID2=$(ts_pid)
[ -n "$TS_PID" ] && [ "$TS_PID" = "$TS_PID2" ] && ok "no Traffic Server restart (pid $TS_PID)" || not_ok "Traffic Server restarted ($TS_PID -> $TS_PID2)"

# ---- a plain reload of what is already there succeeds ----------------------------------------
expect_rc 0 "exchange reload (nothing changed)" -- "$FATECTL" exchange reload -f "$SPEC" --timeout 20s --poll 200ms
expect_contains "$POD" "reload reports the pod"
wait_seen "CN = 9999.fate.org" && ok "routing unchanged after a plain reload" || not_ok "routing after plain reload"

# ---- failures: the spec file must stay as it was ---------------------------------------------
cp "$SPEC" "$W/spec.before"
# 1. apply refused (the API server answers 500 to the ConfigMap patch)
curl -fsS -X POST "$ADMIN/faults" -d '{"action":"status","status":409,"message":"Apply failed with 1 conflict: conflict with \"helm\" using v1: .data.sni.yaml","method":"PATCH","path_regex":"configmaps/traffic-server-sni"}' >/dev/null
expect_rc 1 "apply failure -> non-zero" -- "$FATECTL" exchange route add -f "$SPEC" --party 10001 --tunnel 127.0.0.1:30777 --apply --timeout 10s --poll 200ms
expect_contains "step 'apply' failed" "names the apply step"
expect_contains "pods reloaded: none" "says no pod was reloaded"
expect_contains "the previous routes (as found) were restored and verified in $POD" "the routes found were verified again"
cmp -s "$SPEC" "$W/spec.before" && ok "spec unchanged after apply failure" || not_ok "spec unchanged after apply failure"
curl -fsS -X DELETE "$ADMIN/faults" >/dev/null
wait_seen "CN = 9999.fate.org" && ok "still routed to backend B" || not_ok "routing after the apply failure"

# 2. exec refused (403)
curl -fsS -X POST "$ADMIN/rbac/deny" -d '{"resource":"pods/exec"}' >/dev/null
expect_rc 3 "exec refused -> exit 3" -- "$FATECTL" exchange route add -f "$SPEC" --party 10001 --tunnel 127.0.0.1:30777 --apply --timeout 10s --poll 200ms
expect_contains "step 'propagate' failed" "names the propagate step"
expect_contains "applied: ConfigMap/traffic-server-sni" "says what was applied"
expect_contains "not reloaded: $POD" "names the pod not reloaded"
expect_contains "restoring the previous routes failed too" "says the restore could not reach the pod either"
cmp -s "$SPEC" "$W/spec.before" && ok "spec unchanged after exec refusal" || not_ok "spec unchanged after exec refusal"
curl -fsS -X DELETE "$ADMIN/rbac/deny" >/dev/null
expect_rc 0 "exchange reload -f repairs it once exec is allowed again" -- "$FATECTL" exchange reload -f "$SPEC" --timeout 20s --poll 200ms
wait_seen "CN = 9999.fate.org" && ok "routed to backend B again" || not_ok "routing after the repair"

# 3. the file never propagates (the kubelet fell behind)
touch "$E/node.paused"
expect_rc 4 "file never propagates -> exit 4" -- "$FATECTL" exchange route add -f "$SPEC" --party 10002 --tunnel 127.0.0.1:30778 --apply --timeout 3s --poll 200ms
expect_contains "step 'propagate' failed" "names the propagate step"
expect_contains "still differs from the applied ConfigMap" "says the file did not arrive"
expect_contains "were restored" "the ConfigMap was put back (the pod never saw the change)"
cmp -s "$SPEC" "$W/spec.before" && ok "spec unchanged after propagation timeout" || not_ok "spec unchanged after propagation timeout"
rm -f "$E/node.paused"

# ---- remove: SNI 10000.fate.org no longer reaches a backend ----------------------------------
expect_rc 0 "route remove 10000 --apply" -- "$FATECTL" exchange route remove -f "$SPEC" --party 10000 --apply --timeout 30s --poll 200ms
expect_contains "sni.yaml loaded after" "removal confirmed"
wait_seen "CN = proxy.fate.org" && ok "SNI 10000.fate.org now ends at Traffic Server's own certificate (no backend)" || not_ok "no backend after remove"
cmp -s "$SPEC" "$W/spec.orig" && ok "spec back to the original byte for byte" || not_ok "spec back to original: $(diff "$SPEC" "$W/spec.orig")"

# 4. traffic_ctl fails (Traffic Server down: exit 2, "Error establishing socket connection")
kill -TERM -- "-$TM" 2>/dev/null || true; sleep 1; kill -KILL -- "-$TM" 2>/dev/null || true
cp "$SPEC" "$W/spec.before"
expect_rc 1 "traffic_ctl non-zero -> non-zero" -- "$FATECTL" exchange route add -f "$SPEC" --party 10000 --tunnel "127.0.0.1:$PA" --apply --timeout 20s --poll 200ms
expect_contains "step 'reload' failed" "names the reload step"
expect_contains "config reload exited" "gives traffic_ctl's exit status"
cmp -s "$SPEC" "$W/spec.before" && ok "spec unchanged after reload failure" || not_ok "spec unchanged after reload failure"
finish
