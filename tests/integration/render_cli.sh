#!/usr/bin/env bash
# fatectl cluster render / cluster images / bench render through the binary: output formats,
# flags, exit codes.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
EX="$SRC/examples/v1.11/party-9999-spark-pulsar.yaml"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT

expect_rc 0 "render prints YAML" -- "$FATECTL" cluster render -f "$EX"
expect_contains "kind: Namespace" "the stream starts with the Namespace"
expect_contains "app.kubernetes.io/managed-by: fatectl" "managed-by label"
[ "$(echo "$OUT" | head -3 | grep -c 'kind: Namespace')" = 1 ] && ok "Namespace is the first object" || not_ok "first object: $(echo "$OUT" | head -5)"
"$FATECTL" cluster render -f "$EX" -o json > "$W/out.json" && ok "render -o json" || not_ok "render -o json"
cat "$W/out.json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["kind"]=="List" and len(d["items"])>20' \
  && ok "-o json is a v1 List" || not_ok "-o json content"
"$FATECTL" cluster render -f "$EX" -n other-ns -o json > "$W/ns.json" && ok "render -n overrides the namespace" || not_ok "render -n"
cat "$W/ns.json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(i["metadata"].get("namespace","other-ns")=="other-ns" for i in d["items"]); assert d["items"][0]["metadata"]["name"]=="other-ns"' \
  && ok "every object in the -n namespace" || not_ok "-n namespace"
expect_rc 0 "images" -- "$FATECTL" cluster images -f "$EX"
expect_contains "federatedai/fateflow-spark:1.11.2-release" "images lists fateflow-spark"
expect_contains "federatedai/pulsar:2.10.1" "images lists pulsar"
[ "$(echo "$OUT" | sort -u | wc -l)" = "$(echo "$OUT" | wc -l)" ] && ok "images are unique" || not_ok "duplicate images"
expect_rc 0 "images --registry" -- "$FATECTL" cluster images -f "$EX" --registry harbor.local/fate
expect_contains "harbor.local/fate/mysql:8.0.28" "third-party images get the registry too"
if echo "$OUT" | grep -qv '^harbor.local/fate/'; then not_ok "an image outside the registry: $(echo "$OUT" | grep -v '^harbor.local/fate/' | head -1)"; else ok "every image under --registry"; fi
# mirroring: SOURCE DESTINATION pairs, the destination being what fatectl pulls with registry: R
set +e; PAIRS=$("$FATECTL" cluster images -f "$EX" --pairs --registry harbor.local/fate 2>"$W/pairs.err"); rc=$?; set -e
[ $rc = 0 ] && ok "images --pairs --registry" || not_ok "images --pairs: exit $rc $(cat "$W/pairs.err")"
grep -qx "federatedai/fateflow-spark:1.11.2-release harbor.local/fate/fateflow-spark:1.11.2-release" <<<"$PAIRS" \
  && ok "a FATE image pairs with its place under the registry" || not_ok "pairs: $(head -3 <<<"$PAIRS")"
grep -qx "mysql:8.0.28 harbor.local/fate/mysql:8.0.28" <<<"$PAIRS" && ok "a third-party image pairs too" || not_ok "no mysql pair"
"$FATECTL" cluster render -f "$EX" --registry harbor.local/fate -o json | /usr/bin/python3 -c '
import json,sys
pairs=[l.split() for l in sys.argv[1].splitlines()]
used=set()
for i in json.load(sys.stdin)["items"]:
    pod=((i.get("spec") or {}).get("template") or {}).get("spec") or {}
    for c in pod.get("containers",[])+pod.get("initContainers",[]): used.add(c["image"])
assert all(len(p)==2 for p in pairs) and {p[1] for p in pairs}==used, ({p[1] for p in pairs}^used)' "$PAIRS" \
  && ok "the destinations are exactly the images a spec with that registry renders" || not_ok "pairs differ from the rendering"
expect_rc 0 "images --pairs -o json" -- "$FATECTL" cluster images -f "$EX" --pairs --registry harbor.local/fate -o json
expect_contains '"destination": "harbor.local/fate/pulsar:2.10.1"' "-o json pairs"
expect_rc 2 "--pairs without --registry" -- "$FATECTL" cluster images -f "$EX" --pairs
expect_contains "--registry" "says what is missing"
# floating tags: the Exchange's Traffic Server image is published as latest only
XS="$SRC/examples/exchange/fate-exchange.yaml"
expect_rc 0 "images of the exchange" -- "$FATECTL" --no-color cluster images -f "$XS"
expect_contains "warning: $XS: trafficServer: image federatedai/trafficserver:latest (Deployment/traffic-server, container traffic-server) has the floating tag 'latest'" "images warns about the floating tag"
sed 's/^trafficServer:/trafficServer:\n  imageTag: 9.2.3/' "$XS" > "$W/pinned.yaml"
set +e; "$FATECTL" --no-color cluster images -f "$W/pinned.yaml" >/dev/null 2>"$W/pinned.err"; set -e
[ ! -s "$W/pinned.err" ] && ok "a pinned tag: no warning" || not_ok "pinned tag warned: $(cat "$W/pinned.err")"
sed 's/^trafficServer:/trafficServer:\n  imageTag: latest/' "$XS" > "$W/latest.yaml"
expect_rc 0 "validate a spec that sets imageTag: latest" -- "$FATECTL" --no-color cluster validate -f "$W/latest.yaml"
line=$(grep -n '^  imageTag: latest' "$W/latest.yaml" | cut -d: -f1)
expect_contains "warning: $W/latest.yaml:$line:13: trafficServer.imageTag: image federatedai/trafficserver:latest" "validate warns at the key that sets it"
expect_contains "(1 warnings)" "and still says OK"
expect_rc 0 "render --kube-version 1.24" -- "$FATECTL" cluster render -f "$EX" --kube-version 1.24
expect_rc 2 "bad --kube-version" -- "$FATECTL" cluster render -f "$EX" --kube-version banana
expect_rc 2 "missing file" -- "$FATECTL" cluster render -f "$W/nope.yaml"
sed 's/^python:/pythn:/' "$EX" > "$W/typo.yaml"
line=$(grep -n '^pythn:' "$W/typo.yaml" | cut -d: -f1)
expect_rc 2 "an invalid spec is refused before rendering" -- "$FATECTL" cluster render -f "$W/typo.yaml"
expect_contains "typo.yaml:$line" "the error names file and line"
expect_contains "pythn" "and the key"
expect_rc 0 "v1.6 eggroll spec renders" -- "$FATECTL" cluster render -f "$SRC/examples/v1.6/party-9999-eggroll.yaml"
expect_contains "name: nodemanager-1" "one Deployment per node manager"
expect_rc 0 "v1.6 spark images" -- "$FATECTL" cluster images -f "$SRC/examples/v1.6/party-9999-spark.yaml"
expect_contains "federatedai/python-spark:1.6.1-release" "backend spark takes the python-spark image"
expect_contains "federatedai/hadoop-namenode:2.0.0-hadoop2.7.4-java8" "HDFS 2.7 images"
expect_contains "mysql:8" "mysql:8"
if echo "$OUT" | grep -q 'federatedai/python:'; then not_ok "python image listed for backend spark"; else ok "no python image for backend spark"; fi
"$FATECTL" bench render -f "$EX" --min-time 0.05 -o json > "$W/bench.json" && ok "bench render" || not_ok "bench render"
cat "$W/bench.json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[0]["objects"]>20 and float(d[0]["meanMs"])>0' \
  && ok "bench render reports objects and time" || not_ok "bench render output"
expect_rc 0 "cluster render --help has examples" -- "$FATECTL" cluster render --help
expect_contains "Examples:" "help footer"
finish
