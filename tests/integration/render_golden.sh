#!/usr/bin/env bash
# Golden files: `fatectl cluster render` of every example spec (chart fate v1.6, v1.9-v1.11, v2.0
# and fate-exchange) and of tests/render/specs/*.yaml must equal tests/render/golden/<dir>-<name>.yaml.
# UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing it).
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
GOLDEN="$SRC/tests/render/golden"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
mkdir -p "$GOLDEN"

specs=()
for f in "$SRC"/examples/v1.6/*.yaml "$SRC"/examples/v1.11/*.yaml "$SRC"/examples/v2.0/*.yaml "$SRC"/examples/exchange/*.yaml "$SRC"/tests/render/specs/*.yaml; do
  [ -f "$f" ] || continue
  specs+=("$f")
done
[ "${#specs[@]}" -ge 5 ] && ok "${#specs[@]} specs to compare" || not_ok "only ${#specs[@]} specs found"

for f in "${specs[@]}"; do
  name="$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
  if ! "$FATECTL" cluster render -f "$f" > "$W/$name.yaml" 2> "$W/$name.err"; then
    not_ok "$name: render failed: $(tail -2 "$W/$name.err")"; continue
  fi
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$W/$name.yaml" "$GOLDEN/$name.yaml"; ok "$name: golden file written"
  elif [ ! -f "$GOLDEN/$name.yaml" ]; then
    not_ok "$name: no golden file (run with UPDATE_GOLDEN=1)"
  elif diff -u "$GOLDEN/$name.yaml" "$W/$name.yaml" > "$W/$name.diff"; then
    ok "$name: matches its golden file"
  else
    not_ok "$name: differs from $GOLDEN/$name.yaml:"; head -40 "$W/$name.diff"
  fi
done
# rendering is deterministic
f="${specs[0]}"
"$FATECTL" cluster render -f "$f" > "$W/a.yaml"; "$FATECTL" cluster render -f "$f" > "$W/b.yaml"
cmp -s "$W/a.yaml" "$W/b.yaml" && ok "two renders are byte-identical" || not_ok "render is not deterministic"
finish
