#!/usr/bin/env bash
# Every example cluster spec validates (exit 0, "OK"), in text and JSON; --lenient turns an
# unknown key into a warning; warnings never fail validation.
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

n=0
while IFS= read -r f; do
  n=$((n + 1))
  "$BIN" --no-color cluster validate -f "$f" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  # the one warning an example may get: KubeFATE publishes federatedai/trafficserver as latest only
  grep -v "image federatedai/trafficserver:latest .* has the floating tag 'latest'" "$TMP/err" > "$TMP/err-rest" || true
  if [[ $rc -eq 0 ]] && grep -q "^OK " "$TMP/out" && [[ ! -s "$TMP/err-rest" ]]; then ok; else
    bad "$f: exit $rc (want 0, no warnings)"; cat "$TMP/err" | head -5
  fi
  "$BIN" -o json cluster validate -f "$f" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [[ $rc -eq 0 ]] && /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["valid"] and not d["errors"] and d["modules"] else 1)' "$TMP/out"; then ok; else
    bad "$f: -o json"; head -20 "$TMP/out"
  fi
done < <(find examples -name '*.yaml' -not -path 'examples/jobs/*' -not -path 'examples/data/*' -not -path examples/federation/federation.yaml | sort)
[[ $n -ge 17 ]] && ok || bad "only $n example specs (want >= 17)"

# Each generation and layout the README promises has an example.
for f in $(find examples -name '*.yaml' -not -path 'examples/jobs/*' -not -path 'examples/data/*' -not -path examples/federation/federation.yaml); do
  "$BIN" cluster validate -f "$f" 2>/dev/null
done >"$TMP/all"
for want in "v1.6.1 (fate v1.6.x, Eggroll/Eggroll/Eggroll)" "v1.6.1 (fate v1.6.x, Spark/RabbitMQ/HDFS)" \
            "Spark/Pulsar/HDFS" "Spark/RabbitMQ/HDFS" "Spark_local/Pulsar/LocalFS" "v1.11.2 (fate v1.9-v1.11, Eggroll" \
            "v2.0.0 (fate v2.0.x, Eggroll/OSX/Eggroll)" "v2.0.0 (fate v2.0.x, Spark/Pulsar/HDFS)" \
            "modules: trafficServer nginx" "fate-exchange v1.11.2 (fate-exchange), party 1, modules: rollsite"; do
  if grep -qF "$want" "$TMP/all"; then ok; else bad "no example for: $want"; fi
done

# --lenient: an unknown key fails strictly and passes leniently with a warning naming line and key.
sed 's/^  nodePort: 30091$/  nodePort: 30091\n  legacyFlag: true/' "$SRC/examples/v1.11/party-9999-eggroll.yaml" >"$TMP/old.yaml"
grep -q legacyFlag "$TMP/old.yaml" || bad "test setup: sed did not insert the key"
"$BIN" --no-color cluster validate -f "$TMP/old.yaml" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 2 ]] && grep -qE "old.yaml:[0-9]+:3: rollsite.legacyFlag: unknown key 'legacyFlag'" "$TMP/err"; then ok; else bad "strict unknown key (rc=$rc)"; cat "$TMP/err"; fi
"$BIN" --no-color cluster validate -f "$TMP/old.yaml" --lenient >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 0 ]] && grep -qE "^warning: .*old.yaml:[0-9]+:3: rollsite.legacyFlag: unknown key 'legacyFlag'.*ignored" "$TMP/err" \
   && grep -q "(1 warnings)" "$TMP/out"; then ok; else bad "--lenient (rc=$rc)"; cat "$TMP/err" "$TMP/out"; fi

# --help teaches: examples in the footer.
"$BIN" cluster validate --help >"$TMP/out" 2>&1
grep -q "Examples:" "$TMP/out" && grep -q -- "--lenient" "$TMP/out" && ok || bad "validate --help"

echo "spec_examples: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
