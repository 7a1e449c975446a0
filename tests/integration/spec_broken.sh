#!/usr/bin/env bash
# Every broken spec in tests/spec/broken/ must make `fatectl cluster validate` exit 2 with a
# one-line message naming the file, line and key (table: tests/spec/broken.tsv). Exit status
# 2 exactly also proves there was no crash (a sanitizer abort or a signal gives another code).
set -u
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${FATECTL_BINARY:-$SRC/build/fatectl}
DIR=$SRC/tests/spec/broken
TABLE=$SRC/tests/spec/broken.tsv
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

listed=()
while IFS=$'\t' read -r file want; do
  [[ -z "$file" || "$file" == \#* ]] && continue
  listed+=("$file")
  if [[ ! -f "$DIR/$file" ]]; then bad "$file: listed in broken.tsv but missing"; continue; fi
  (cd "$DIR" && "$BIN" --no-color cluster validate -f "$file") >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [[ $rc -ne 2 ]]; then bad "$file: exit $rc, want 2"; sed 's/^/    /' "$TMP/err" | head -5; continue; fi
  if ! grep -qF -- "$want" "$TMP/err"; then
    bad "$file: stderr lacks: $want"
    sed 's/^/    /' "$TMP/err" | head -5
    continue
  fi
  # every error line is "error: FILE:LINE:COL: ..." on one line
  if grep -v '^error: ' "$TMP/err" | grep -v '^warning: ' | grep -q .; then
    bad "$file: stray output on stderr"; sed 's/^/    /' "$TMP/err" | head -5; continue
  fi
  if grep '^error: ' "$TMP/err" | grep -v " errors$" | grep -vqE "^error: $file:[0-9]+:[0-9]+: "; then
    bad "$file: an error line without FILE:LINE:COL"; sed 's/^/    /' "$TMP/err" | head -5; continue
  fi
  ok
done <"$TABLE"

# No untested files in broken/.
for f in "$DIR"/*; do
  name=$(basename "$f")
  printf '%s\n' "${listed[@]}" | grep -qxF "$name" || bad "$name: in broken/ but not in broken.tsv"
done
[[ ${#listed[@]} -ge 30 ]] && ok || bad "only ${#listed[@]} broken specs (want >= 30)"

# -o json: machine-readable errors, still exit 2.
(cd "$DIR" && "$BIN" -o json cluster validate -f typo-nested-key.yaml) >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 2 ]] && grep -q '"valid": false' "$TMP/out" && grep -q '"key": "rollsite.nodeport"' "$TMP/out" \
   && grep -q '"line": 20' "$TMP/out"; then ok; else bad "-o json on a broken spec (rc=$rc)"; cat "$TMP/out" | head -20; fi

# stdin is named <stdin>.
"$BIN" --no-color cluster validate -f - <"$DIR/port-out-of-range.yaml" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 2 ]] && grep -qF '<stdin>:30:9: mysql.port: port 70000' "$TMP/err"; then ok; else bad "stdin (rc=$rc)"; cat "$TMP/err"; fi

# A missing file is invalid input (2), not a crash.
"$BIN" --no-color cluster validate -f "$TMP/does-not-exist.yaml" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [[ $rc -eq 2 ]] && grep -q "does-not-exist.yaml: cannot read" "$TMP/err"; then ok; else bad "missing file (rc=$rc)"; cat "$TMP/err"; fi

# Without -f: a usage error, exit 2.
"$BIN" cluster validate >"$TMP/out" 2>"$TMP/err"
rc=$?
[[ $rc -eq 2 ]] && ok || bad "validate without -f exits $rc, want 2"

echo "spec_broken: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
