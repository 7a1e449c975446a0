#!/usr/bin/env bash
# fatectl exchange route list|add|remove on a spec file (no cluster): the operator's comments,
# key order and formatting survive; validation errors name file:line:key and exit 2; a failed
# command leaves the file untouched.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
F=$W/fate-exchange.yaml
cat > "$F" <<'Y'
# north federation exchange -- reviewed in git, do not reformat
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""
imageTag: 1.11.2-release
persistence: false
modules:
  - trafficServer
  - nginx

trafficServer:
  type: NodePort
  nodePort: 30001      # the parties dial this
  route_table:
    sni:
    # bank A, onboarded 2024-03
    - fqdn: 9999.fate.org
      tunnelRoute: 192.168.9.1:30099

nginx:
  type: NodePort
  httpNodePort: 30003
  grpcNodePort: 30008
  route_table:
    9999:
      proxy:
      - host: 192.168.9.1
        http_port: 30093
        grpc_port: 30098
      fateflow:
      - host: 192.168.9.1
        http_port: 30097
        grpc_port: 30092
# end of file
Y
cp "$F" "$W/orig.yaml"

expect_rc 0 "list" -- "$FATECTL" exchange route list -f "$F"
expect_contains "9999.fate.org" "list shows the SNI route"
expect_contains "192.168.9.1:30097:30092" "list shows the nginx fateflow route"

expect_rc 0 "add party 10000 (sni + nginx)" -- "$FATECTL" exchange route add -f "$F" --party 10000 \
  --tunnel 192.168.10.1:30109 --proxy 192.168.10.1:30103:30108 --fateflow 192.168.10.1:30107:30102
expect_contains "sni: added 10000.fate.org -> 192.168.10.1:30109" "add reports the SNI change"
expect_contains "apply it with: fatectl exchange reload" "add tells how to apply"
# everything outside the route entries is byte-identical: removing the added lines gives the original
/usr/bin/python3 - "$F" "$W/orig.yaml" <<'P' && ok "file outside the new entries unchanged" || not_ok "file outside the new entries unchanged"
import difflib, sys
new = open(sys.argv[1]).read().splitlines()
orig = open(sys.argv[2]).read().splitlines()
ops = difflib.SequenceMatcher(None, orig, new, autojunk=False).get_opcodes()
assert all(t in ("equal", "insert") for t, *_ in ops), ops   # nothing of the original changed
added = [l for t, a1, a2, b1, b2 in ops if t == "insert" for l in new[b1:b2]]
assert "    - fqdn: 10000.fate.org" in added and "      tunnelRoute: 192.168.10.1:30109" in added, added
assert "    10000:" in added, added
P
grep -q "# bank A, onboarded 2024-03" "$F" && ok "comment kept" || not_ok "comment kept"

expect_rc 0 "list -o json" -- "$FATECTL" exchange route list -f "$F" -o json
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [s["party"] for s in d["sni"]]==[9999,10000]; assert d["nginx"][1]["proxy"][0]["http_port"]==30103' "$OUT" \
  && ok "json lists both parties" || not_ok "json lists both parties: $OUT"

cp "$F" "$W/before-change.yaml"
expect_rc 0 "change the tunnel of 10000" -- "$FATECTL" exchange route add -f "$F" --party 10000 --tunnel 192.168.10.2:30109
expect_contains "replaced by 10000.fate.org -> 192.168.10.2:30109" "change reported as a replacement"
[ "$(grep -c 10000.fate.org "$F")" = 1 ] && ok "no duplicate after change" || not_ok "no duplicate after change"

cp "$F" "$W/before-bad.yaml"
expect_rc 2 "non-numeric party refused" -- "$FATECTL" exchange route add -f "$F" --party 10x --tunnel 1.2.3.4:30109
expect_contains "--party: '10x' is not a party id" "party error names the flag"
expect_rc 2 "tunnel without port refused" -- "$FATECTL" exchange route add -f "$F" --party 10001 --tunnel 1.2.3.4
expect_contains "expected host:port" "tunnel error says host:port"
expect_rc 2 "proxy without grpc port refused" -- "$FATECTL" exchange route add -f "$F" --party 10001 --proxy 1.2.3.4:1
cmp -s "$F" "$W/before-bad.yaml" && ok "failed commands left the file unchanged" || not_ok "failed commands left the file unchanged"

expect_rc 0 "tunnel port outside connect_ports warns" -- "$FATECTL" exchange route add -f "$F" --party 10001 --tunnel 10.0.0.1:8443 --dry-run
expect_contains "outside Traffic Server's connect_ports" "warning names connect_ports"
expect_contains "dry run" "dry run says so"
cmp -s "$F" "$W/before-bad.yaml" && ok "dry run wrote nothing" || not_ok "dry run wrote nothing"

# a spec with a duplicate fqdn: error with file:line:col and key
sed 's/10000.fate.org/9999.fate.org/' "$F" > "$W/dup.yaml"
expect_rc 2 "duplicate fqdn refused" -- "$FATECTL" exchange route list -f "$W/dup.yaml"
expect_contains "dup.yaml:22:" "duplicate error names the line"
expect_contains "trafficServer.route_table.sni[1].fqdn: duplicate fqdn 9999.fate.org" "duplicate error names the key"

# a read-only directory: the write fails, the file is unchanged, no temp file left
mkdir "$W/ro"; cp "$F" "$W/ro/x.yaml"; chmod 555 "$W/ro"
if [ "$(id -u)" != 0 ]; then
  expect_rc 1 "write into a read-only directory fails" -- "$FATECTL" exchange route add -f "$W/ro/x.yaml" --party 10002 --tunnel 1.2.3.4:30109
  cmp -s "$W/ro/x.yaml" "$F" && ok "file unchanged after failed write" || not_ok "file unchanged after failed write"
fi
chmod 755 "$W/ro"

expect_rc 0 "remove party 10000" -- "$FATECTL" exchange route remove -f "$F" --party 10000
expect_contains "sni: removed 10000.fate.org" "remove reports sni"
expect_contains "nginx: removed party 10000" "remove reports nginx"
cmp -s "$F" "$W/orig.yaml" && ok "add then remove restores the original file byte for byte" || not_ok "add then remove restores the original: $(diff "$F" "$W/orig.yaml")"
expect_rc 2 "removing an absent party fails" -- "$FATECTL" exchange route remove -f "$F" --party 10000
expect_contains "party 10000 is not in the route table" "absent party named"

# rollsite partyList
cat > "$W/eggroll.yaml" <<'Y'
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
modules:
  - rollsite
rollsite:
  type: NodePort
  nodePort: 30001
  partyList:
  - partyId: 9999
    partyIp: 192.168.9.1
    partyPort: 30091
Y
expect_rc 0 "rollsite add" -- "$FATECTL" exchange route add -f "$W/eggroll.yaml" --party 10000 --rollsite 192.168.10.1:30101
grep -q "  - partyId: 10000" "$W/eggroll.yaml" && ok "rollsite entry written" || not_ok "rollsite entry written"
expect_rc 0 "rollsite list" -- "$FATECTL" exchange route list -f "$W/eggroll.yaml"
expect_contains "192.168.10.1:30101" "rollsite route listed"

# certs exchange (no cluster): Secrets written 0600, certificate names <party>.<domain>
expect_rc 0 "certs exchange" -- "$FATECTL" certs exchange --domain fate.org --parties 9999,10000 --dir "$W/xc"
expect_contains "traffic-server-cert" "traffic-server-cert listed"
[ "$(stat -c %a "$W/xc/secrets/pulsar-cert-fate-10000.yaml")" = 600 ] && ok "Secret manifest 0600" || not_ok "Secret manifest mode"
[ "$(stat -c %a "$W/xc/proxy.key")" = 600 ] && ok "proxy key 0600" || not_ok "proxy key mode"
/usr/bin/python3 - "$W/xc/secrets" <<'P' && ok "Secrets hold the chart's keys, broker key is PKCS#8, CN/SAN 10000.fate.org" || not_ok "Secret contents"
import base64, subprocess, sys, yaml
d = sys.argv[1]
ts = yaml.safe_load(open(d + "/traffic-server-cert.yaml"))
assert ts["metadata"]["namespace"] == "fate-exchange" and sorted(ts["data"]) == ["ca.cert.pem", "proxy.cert.pem", "proxy.key.pem"]
pc = yaml.safe_load(open(d + "/pulsar-cert-fate-10000.yaml"))
assert pc["metadata"]["namespace"] == "fate-10000" and sorted(pc["data"]) == ["broker.cert.pem", "broker.key-pk8.pem", "ca.cert.pem"]
assert base64.b64decode(pc["data"]["broker.key-pk8.pem"]).startswith(b"-----BEGIN PRIVATE KEY-----")
cert = base64.b64decode(pc["data"]["broker.cert.pem"])
txt = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"], input=cert, capture_output=True).stdout.decode()
assert "CN = 10000.fate.org" in txt and "DNS:10000.fate.org" in txt, txt
P
openssl verify -CAfile "$W/xc/ca.crt" "$W/xc/proxy.crt" "$W/xc/9999.crt" >/dev/null && ok "certificates verify against the CA" || not_ok "certificates verify"
expect_rc 2 "certs exchange with a bad party id" -- "$FATECTL" certs exchange --parties 99x --dir "$W/xc"
finish
