#!/usr/bin/env bash
# fatectl toy --native: secure-add between two fatectl parties with a per-hop report -- locally,
# as two processes on loopback (directly and through a real Traffic Server whose sni.yaml fatectl
# rendered), and the failures: wrong route, stopped peer, wrong certificate, no SNI route.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
. "$(dirname "$0")/../lib/ats.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/toy_native.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; ats_stop; rm -rf "$W"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

expect_rc 0 "toy --native --local passes" -- "$FATECTL" toy --native --local --data-num 500
expect_contains "PASS: secure sum 1000 = 2 x 500" "the sum verifies"
for h in dns "tcp connect" "tls handshake" "round trip" throughput "secure add"; do expect_contains "$h" "report has hop '$h'"; done
set +e; OUT=$("$FATECTL" toy --native --local -o json 2>"$W/json.err"); rc=$?; set -e   # parties' lines go to stderr
[ $rc = 0 ] && ok "toy --native --local -o json" || not_ok "toy --native --local -o json: exit $rc $(tail -3 "$W/json.err")"
/usr/bin/python3 -c '
import json,sys
d=json.loads(sys.argv[1])
assert d["ok"] and str(d["sum"])=="2000" and d["exitCode"]==0, d
hops=[h["hop"] for h in d["hops"]]
assert hops==["dns","tcp connect","tls handshake","round trip","throughput","secure add"], hops
tls=d["hops"][2]["detail"]; assert "sni 10000.fate.org" in tls and "CN=10000.fate.org" in tls.replace(" ",""), tls' "$OUT" \
  && ok "json report with every hop" || not_ok "json report: $OUT"

# ---- two processes, a job file, certificates -------------------------------------------------
"$FATECTL" certs init --domain fate.org --dir "$W/certs" >/dev/null
"$FATECTL" certs issue --party 9999 --party 10000 --dir "$W/certs" >/dev/null
P9=$(free_port); P10=$(free_port)
job() {  # job FILE ROUTE_TO_10000 ROUTE_TO_9999
  cat > "$1" <<Y
job: toy-it
domain: fate.org
certificates: certs
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:$P9}
  - {id: 10000, role: host, listen: 127.0.0.1:$P10}
routes:
  10000: $2
  9999: $3
algorithm: {name: toy_secure_add, params: {timeoutSeconds: 20}}
transport: {connectTimeout: 10s}
Y
}
job "$W/direct.yaml" "{direct: 127.0.0.1:$P10}" "{direct: 127.0.0.1:$P9}"
"$FATECTL" toy --native --serve --job "$W/direct.yaml" --party-id 10000 > "$W/host1.out" 2>&1 &
H=$!; PIDS+=($H)
expect_rc 0 "guest and host processes, direct" -- "$FATECTL" toy --native --job "$W/direct.yaml" --party-id 9999
expect_contains "via direct 127.0.0.1:$P10" "direct route used"
expect_contains "PASS" "direct toy passes"
wait $H && ok "host side exited 0" || not_ok "host side: $(tail -3 "$W/host1.out")"

# stopped peer: nothing listens on the host's port
expect_rc 3 "stopped peer -> exit 3" -- "$FATECTL" toy --native --job "$W/direct.yaml" --party-id 9999
expect_contains "failed hop: tcp connect" "names the tcp connect hop"
expect_contains "Connection refused" "says connection refused"

# wrong route: 10000's route points at the guest's own listener port of another party's certs
P_OTHER=$(free_port)
openssl s_server -accept "127.0.0.1:$P_OTHER" -cert "$W/certs/9999.crt" -key "$W/certs/9999.key" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
job "$W/wrongroute.yaml" "{direct: 127.0.0.1:$P_OTHER}" "{direct: 127.0.0.1:$P9}"
expect_rc 3 "wrong route (reaches party 9999's certificate) -> exit 3" -- "$FATECTL" toy --native --job "$W/wrongroute.yaml" --party-id 9999
expect_contains "failed hop: tls handshake" "names the tls hop"
expect_contains "CN=9999.fate.org" "names the certificate it got"

# wrong certificate: the host presents a certificate from another CA
"$FATECTL" certs init --domain fate.org --dir "$W/other" >/dev/null
"$FATECTL" certs issue --party 10000 --dir "$W/other" >/dev/null
P_BAD=$(free_port)
openssl s_server -accept "127.0.0.1:$P_BAD" -cert "$W/other/10000.crt" -key "$W/other/10000.key" -quiet </dev/null >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
job "$W/wrongcert.yaml" "{direct: 127.0.0.1:$P_BAD}" "{direct: 127.0.0.1:$P9}"
expect_rc 3 "certificate from another CA -> exit 3" -- "$FATECTL" toy --native --job "$W/wrongcert.yaml" --party-id 9999
expect_contains "failed hop: tls handshake" "names the tls hop"
expect_contains "not signed by this federation's CA" "says the CA does not match"

# ---- through a real Traffic Server with the sni.yaml fatectl rendered -----------------------
cat > "$W/ex.yaml" <<Y
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
modules: [trafficServer]
trafficServer:
  type: NodePort
  route_table:
    sni: []
Y
"$FATECTL" exchange route add -f "$W/ex.yaml" --party 10000 --tunnel "127.0.0.1:$P10" >/dev/null
"$FATECTL" exchange route add -f "$W/ex.yaml" --party 9999 --tunnel "127.0.0.1:$P9" >/dev/null
"$FATECTL" cluster render -f "$W/ex.yaml" > "$W/ex.rendered" 2>"$W/render.err" || not_ok "render: $(tail -2 "$W/render.err")"
/usr/bin/python3 - "$W/ex.rendered" "$W/sni.yaml" <<'P' && ok "sni.yaml taken from fatectl's rendering" || not_ok "no traffic-server-sni in the rendering"
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "traffic-server-sni":
        open(sys.argv[2], "w").write(d["data"]["sni.yaml"]); sys.exit(0)
sys.exit(1)
P
ATS_CONNECT_PORTS="443 1024-65535" ats_start "$W/ats" "$W/sni.yaml" >/dev/null && ok "Traffic Server started" || { not_ok "Traffic Server start"; finish; exit 1; }
job "$W/exchange.yaml" "{exchange: 127.0.0.1:$ATS_PORT}" "{exchange: 127.0.0.1:$ATS_PORT}"
"$FATECTL" toy --native --serve --job "$W/exchange.yaml" --party-id 10000 > "$W/host2.out" 2>&1 &
H=$!; PIDS+=($H)
expect_rc 0 "toy through the Exchange" -- "$FATECTL" toy --native --job "$W/exchange.yaml" --party-id 9999
expect_contains "via exchange 127.0.0.1:$ATS_PORT (sni 10000.fate.org)" "went through Traffic Server"
expect_contains "PASS" "toy through the Exchange passes"
wait $H && ok "host side through the Exchange exited 0" || not_ok "host side: $(tail -3 "$W/host2.out")"
grep -qF "PASS: secure sum 2000 = 2 x 1000" "$W/host2.out" && ok "the host's summary prints the secure sum" \
  || not_ok "host summary: $(grep PASS "$W/host2.out")"

# the guest first, the host 3 s later: through the Exchange the guest waits for it (connectTimeout)
( sleep 3; exec "$FATECTL" toy --native --serve --job "$W/exchange.yaml" --party-id 10000 ) > "$W/host3.out" 2>&1 &
H=$!; PIDS+=($H)
expect_rc 0 "through the Exchange, a host that starts 3 s after the guest" -- "$FATECTL" toy --native --job "$W/exchange.yaml" --party-id 9999
expect_contains "the Exchange closed the connection before party 10000 answered -- waiting for it" "the guest says it is waiting for the peer"
expect_contains "party 10000 came up after" "and that the peer came up"
wait $H && ok "late host exited 0" || not_ok "late host: $(tail -3 "$W/host3.out")"
# nobody behind the Exchange's route: after connectTimeout, "peer not up yet, or route wrong"
sed 's/connectTimeout: 10s/connectTimeout: 3s/' "$W/exchange.yaml" > "$W/exchange-3s.yaml"
expect_rc 3 "nothing behind the Exchange's route -> exit 3 after connectTimeout" -- "$FATECTL" toy --native --job "$W/exchange-3s.yaml" --party-id 9999
expect_contains "failed hop: tls handshake" "names the tls hop"
expect_contains "peer not up yet, or route wrong" "tells not-up-yet/route-wrong apart from a wrong certificate"
expect_contains "for 3 s" "after waiting the whole connectTimeout"
expect_contains "fatectl exchange route list" "says where to look"

# the Exchange without a route for 10000: Traffic Server answers with its own certificate
"$FATECTL" exchange route remove -f "$W/ex.yaml" --party 10000 >/dev/null
"$FATECTL" cluster render -f "$W/ex.yaml" > "$W/ex.rendered"
/usr/bin/python3 - "$W/ex.rendered" "$W/sni2.yaml" <<'P'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "traffic-server-sni":
        open(sys.argv[2], "w").write(d["data"]["sni.yaml"])
P
ats_reload "$W/sni2.yaml" && ats_wait_sni 10000.fate.org exchange-ats 15 && ok "route removed from Traffic Server" || not_ok "reload without 10000"
expect_rc 3 "no SNI route at the Exchange -> exit 3" -- "$FATECTL" toy --native --job "$W/exchange.yaml" --party-id 9999
expect_contains "failed hop: tls handshake" "names the tls hop"
expect_contains "has no SNI route for it" "hint: the Exchange has no route"
expect_contains "route wrong: the Exchange answered with a certificate that is not 10000.fate.org" "a wrong route is called a wrong route"
finish
