#!/usr/bin/env bash
# fatectl federation validate and provision, through the binary, no cluster: the example file
# validates; a broken file is named at FILE:LINE:COL with the nearest key (exit 2), and so are the
# federation-wide checks (duplicate ids, shared namespace, engine, a spec naming a non-member);
# provision writes one kit per site whose spec passes `cluster validate` and renders, the
# Exchange's spec routes every party, no party's key is in another's kit and the CA key in none;
# re-provisioning after adding a party rewrites exactly the kits that changed and says what each
# site re-applies.
set -euo pipefail
. "$(dirname "$0")/../lib/assert.sh"
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/federation_provision.XXXXXX")
trap 'rm -rf "$W"' EXIT
F() { "$FATECTL" "$@"; }

# ---- validate ------------------------------------------------------------------------------------
cp "$SRC"/examples/federation/*.yaml "$W/"
expect_rc 0 "the example federation validates" -- F federation validate -f "$W/federation.yaml"
expect_contains "federation bank-fl (Pulsar, domain fate.org)" "says what it read"
expect_contains "3 parties: 9999, 10000, 10001" "lists the parties"

bad() {  # bad NAME: writes $W/NAME.yaml from stdin
  cat > "$W/$1.yaml"
}
bad typo <<'Y'
federation: f1
engine: Pulsar
exchange:
  context: a
partys:
  - id: 9999
Y
expect_rc 2 "a mistyped key -> exit 2" -- F federation validate -f "$W/typo.yaml"
expect_contains "typo.yaml:5:1: partys: unknown key 'partys' (did you mean 'parties'?)" "FILE:LINE:COL and the nearest key"
expect_contains "parties: required key 'parties' is missing" "the missing key too"

bad dup <<'Y'
federation: f1
engine: Pulsar
exchange: {context: a}
parties:
  - id: 9999
    context: b
  - id: 10000
    context: b
    namespace: fate-9999
  - id: 9999
    context: c
Y
expect_rc 2 "duplicate party id and shared namespace -> exit 2" -- F federation validate -f "$W/dup.yaml"
expect_contains "dup.yaml:10:9: parties[2].id: party 9999 is listed twice (also parties[0] at line 5)" "names the second listing"
expect_contains "party 10000 and party 9999 both use namespace 'fate-9999' in context 'b'" "names the shared namespace"

bad engine <<'Y'
federation: f1
engine: pulsar
exchange: {context: a}
parties: [{id: 9999}]
Y
expect_rc 2 "engine case -> exit 2" -- F federation validate -f "$W/engine.yaml"
expect_contains "engine.yaml:2:9: engine: \"pulsar\" is not a federation engine; expected Pulsar, Eggroll or OSX (did you mean 'Pulsar'?" "engine with a hint"

sed -e 's/^federation: Pulsar$/federation: RabbitMQ/' -e 's/^  - pulsar$/  - rabbitmq/' -e '/^pulsar:/,$d' "$W/party-10000.yaml" > "$W/p10000-rabbitmq.yaml"
sed -e 's/spec: party-10000.yaml/spec: p10000-rabbitmq.yaml/' "$W/federation.yaml" > "$W/mixed.yaml"
expect_rc 2 "a party on another engine -> exit 2" -- F federation validate -f "$W/mixed.yaml"
expect_contains "p10000-rabbitmq.yaml:24:13: federation: party 10000 uses federation engine RabbitMQ; federation bank-fl runs Pulsar" "names the spec's key"

sed -e 's/^    9999:$/    12345:/' "$W/party-10000.yaml" > "$W/p10000-stranger.yaml"
sed -e 's/spec: party-10000.yaml/spec: p10000-stranger.yaml/' "$W/federation.yaml" > "$W/stranger.yaml"
expect_rc 2 "a spec routing a non-member -> exit 2" -- F federation validate -f "$W/stranger.yaml"
expect_contains "p10000-stranger.yaml:46:5: pulsar.route_table.12345: names party 12345, which is not a member of federation bank-fl (members: 9999, 10000, 10001)" "names the party table entry"

printf 'federation: f1\nengine: Pulsar\nexchange: {context: a}\nparties: [{id: 9999}]\n' > "$W/noaddr.yaml"
expect_rc 0 "no addresses is fine for up" -- F federation validate -f "$W/noaddr.yaml"
expect_rc 2 "provision needs every address" -- F federation provision -f "$W/noaddr.yaml" --out "$W/k0"
expect_contains "exchange.address: provision needs the address the parties reach the Exchange at" "names exchange.address"
head -c 3000 /dev/urandom > "$W/garbage.yaml"
expect_rc 2 "binary garbage -> exit 2" -- F federation validate -f "$W/garbage.yaml"
expect_rc 0 "-o json" -- F federation validate -f "$W/federation.yaml" -o json
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["valid"] and [p["id"] for p in d["parties"]]==[9999,10000,10001], d' "$OUT" \
  && ok "json names the parties" || not_ok "json: $OUT"

# ---- provision -----------------------------------------------------------------------------------
K=$W/kits
expect_rc 0 "provision writes the kits" -- F federation provision -f "$W/federation.yaml" --out "$K"
for s in exchange party-9999 party-10000 party-10001; do
  grep -q "^$s  *new" <<<"$OUT" && ok "kit $s is new" || not_ok "kit $s new: $OUT"
done
for p in 9999 10000 10001; do
  [ -f "$K/party-$p/$p.key" ] && [ "$(stat -c %a "$K/party-$p/$p.key")" = 600 ] && ok "party $p's key is 0600" || not_ok "party $p key mode"
  [ "$(stat -c %a "$K/party-$p/secrets/pulsar-cert.yaml")" = 600 ] && ok "party $p's Secret is 0600" || not_ok "party $p secret mode"
  expect_rc 0 "party $p's spec passes cluster validate" -- F cluster validate -f "$K/party-$p/cluster.yaml"
  expect_rc 0 "party $p's spec renders" -- F cluster render -f "$K/party-$p/cluster.yaml"
  expect_contains "name: pulsar-config" "party $p renders its pulsar"
  openssl verify -CAfile "$K/party-$p/ca.crt" "$K/party-$p/$p.crt" >/dev/null && ok "party $p's certificate is the federation CA's" || not_ok "party $p cert"
done
expect_rc 0 "the Exchange's spec passes cluster validate" -- F cluster validate -f "$K/exchange/cluster.yaml"
expect_rc 0 "the Exchange's spec renders" -- F cluster render -f "$K/exchange/cluster.yaml"
expect_rc 0 "the Exchange's routes" -- F exchange route list -f "$K/exchange/cluster.yaml" -o json
/usr/bin/python3 - "$OUT" <<'P' && ok "the Exchange routes every party at its address and pinned NodePorts" || not_ok "exchange routes: $OUT"
import json, sys
d = json.loads(sys.argv[1])
sni = {r["fqdn"]: r["tunnelRoute"] for r in d["sni"]}
assert set(sni) == {"9999.fate.org", "10000.fate.org", "10001.fate.org"}, sni
assert sni["9999.fate.org"].startswith("192.168.9.1:") and sni["10001.fate.org"].startswith("192.168.11.1:"), sni
assert {r["party"] for r in d["nginx"]} == {9999, 10000, 10001}, d["nginx"]
P
grep -q "exchange:" "$K/party-10000/cluster.yaml" && grep -q "ip: 192.168.0.1" "$K/party-10000/cluster.yaml" && ok "party 10000 knows the Exchange's address" || not_ok "exchange address in party spec"
grep -q "10001:" "$K/party-10000/cluster.yaml" && ok "party 10000 (whose tables name peers) names 10001 too" || not_ok "peers of 10000"
! grep -q "10000:" "$K/party-9999/cluster.yaml" && ok "party 9999 (default route only) names no peers" || not_ok "9999 names peers"
# keys: each party's key material appears in its own kit only; the CA key in none
ca_key=$(grep -v -- '-----' "$W/pki/ca.key" | tr -d '\n')
leak=0
for p in 9999 10000 10001; do
  k=$(grep -v -- '-----' "$K/party-$p/$p.key" | tr -d '\n')
  for q in 9999 10000 10001; do
    [ $p = $q ] && continue
    # raw PEM and base64-inside-the-Secret forms
    if grep -rqF "$k" "$K/party-$q" "$K/exchange" || grep -rqF "$(base64 -w0 < "$K/party-$p/$p.key")" "$K/party-$q" "$K/exchange"; then leak=1; echo "party $p's key found in $q's kit"; fi
  done
done
[ $leak = 0 ] && ok "no party's private key is in another kit" || not_ok "a private key leaked"
if grep -rqF "$ca_key" "$K" || grep -rqF "$(base64 -w0 < "$W/pki/ca.key")" "$K" || find "$K" -name 'ca.key' | grep -q .; then not_ok "the CA key is in a kit"; else ok "the CA key is in no kit"; fi

# re-provision with nothing changed: nothing written
snap() { find "$K" -type f -printf '%P %T@\n' | sort; }
before=$(snap)
expect_rc 0 "re-provision, no change" -- F federation provision -f "$W/federation.yaml" --out "$K"
expect_contains "0 files written" "nothing rewritten"
[ "$before" = "$(snap)" ] && ok "no file touched" || not_ok "files touched on an unchanged re-provision"

# add a fourth party: only the Exchange's kit, the new kit and party 10000's (it names peers) change
cat >> "$W/federation.yaml" <<'Y'
  - id: 10002
    context: bank-d
    address: 192.168.12.1
Y
expect_rc 0 "re-provision --dry-run after adding 10002" -- F federation provision -f "$W/federation.yaml" --out "$K" --dry-run
expect_contains "dry run: nothing was written" "dry run says so"
[ "$before" = "$(snap)" ] && ok "--dry-run wrote nothing" || not_ok "--dry-run wrote files"
expect_rc 0 "re-provision after adding 10002" -- F federation provision -f "$W/federation.yaml" --out "$K" -o json
/usr/bin/python3 - "$OUT" <<'P' && ok "exactly the kits that changed, with what each site re-applies" || not_ok "re-provision report: $OUT"
import json, sys
d = {s["site"]: s for s in json.loads(sys.argv[1])["sites"]}
assert d["party-10002"]["state"] == "new", d["party-10002"]
assert d["party-9999"]["state"] == "unchanged" and d["party-10001"]["state"] == "unchanged", d
assert d["party-10000"]["state"] == "changed" and d["party-10000"]["files"] == ["cluster.yaml"], d["party-10000"]
assert any("cluster upgrade -f cluster.yaml" in r for r in d["party-10000"]["reapply"]), d["party-10000"]
ex = d["exchange"]
assert ex["state"] == "changed" and "cluster.yaml" in ex["files"], ex
assert any("exchange reload -f cluster.yaml" in r for r in ex["reapply"]), ex
P
after=$(snap)
diff <(grep -v -e '^party-10002/' -e '^exchange/' -e '^party-10000/cluster.yaml' -e '^provision.yaml' <<<"$before") \
     <(grep -v -e '^party-10002/' -e '^exchange/' -e '^party-10000/cluster.yaml' -e '^provision.yaml' <<<"$after") >/dev/null \
  && ok "every other file kept its bytes and mtime" || not_ok "other files were rewritten"
grep -q "10002.fate.org" "$K/exchange/cluster.yaml" && ok "the Exchange's kit routes 10002" || not_ok "10002 route"
grep -q "$(awk '/pulsar.httpsNodePort/{print $2; exit}' <(sed -n '/party-9999:/,/files/p' "$K/provision.yaml"))" "$K/party-9999/README.md" \
  && ok "party 9999 kept its NodePorts" || not_ok "party 9999 NodePorts moved"

# remove a party: its kit goes, the Exchange and 10000 change
/usr/bin/python3 - "$W/federation.yaml" <<'P'
import sys
t = open(sys.argv[1]).read().replace("  - id: 10001\n    context: bank-c\n    computing: Spark            # Spark + HDFS instead of the default Spark_local + LocalFS\n    address: 192.168.11.1\n", "")
open(sys.argv[1], "w").write(t)
P
expect_rc 0 "re-provision after removing 10001" -- F federation provision -f "$W/federation.yaml" --out "$K"
grep -q "^party-10001  *removed .*cluster uninstall fate-10001 -n fate-10001" <<<"$OUT" && ok "says the removed site uninstalls" || not_ok "removed: $OUT"
[ ! -e "$K/party-10001" ] && ok "its kit is gone" || not_ok "kit party-10001 still there"
expect_rc 2 "a CA inside the kits is refused" -- F federation provision -f "$W/federation.yaml" --out "$W"
expect_contains "overlap; the CA key must never travel with a kit" "says why"
finish
