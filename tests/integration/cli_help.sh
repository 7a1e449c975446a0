#!/usr/bin/env bash
# Golden help texts: `fatectl <command> --help` of the commands whose help once misled (an upgrade
# example that only upgraded when nothing changed; list and reload saying the file is edited and
# a revision stored) must equal tests/cli/help/<command>.txt. UPDATE_GOLDEN=1 rewrites them
# (review the diff before committing). Also: no example in any help text chains a command after
# `cluster diff` with && (diff exits 1 when there are changes).
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
GOLDEN="$SRC/tests/cli/help"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT

for cmd in "cluster upgrade" "cluster diff" "cluster rollback" "cluster get" \
           "exchange route list" "exchange reload" "cluster images" "completion"; do
  name="${cmd// /-}"
  # shellcheck disable=SC2086
  if ! "$FATECTL" $cmd --help > "$W/$name.txt" 2>&1; then not_ok "$cmd --help failed"; continue; fi
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then cp "$W/$name.txt" "$GOLDEN/$name.txt"; ok "$cmd: golden help written"
  elif [ ! -f "$GOLDEN/$name.txt" ]; then not_ok "$cmd: no golden help (run with UPDATE_GOLDEN=1)"
  elif diff -u "$GOLDEN/$name.txt" "$W/$name.txt" > "$W/$name.diff"; then ok "$cmd --help matches tests/cli/help/$name.txt"
  else not_ok "$cmd --help differs:"; head -30 "$W/$name.diff"; fi
done
grep -q "cluster diff -f party-9999.yaml      # review first: exit 1 means there are changes" "$W/cluster-upgrade.txt" \
  && ok "upgrade --help: diff is a review step, not an && guard" || not_ok "upgrade example"
grep -q "edited in place\|stored as a new revision" "$W/exchange-route-list.txt" \
  && not_ok "route list --help says it edits or stores" || ok "route list --help: reads only"
grep -q "edited in place" "$W/exchange-reload.txt" && not_ok "reload --help says edited in place" || ok "reload --help: the file is not changed"

# every help text of the tree: no `diff ... && ...` example
n=0
walk() {  # walk PATH...: help of this command and of its subcommands
  [ $# -le 4 ] || return 0
  local out; out=$("$FATECTL" "$@" --help 2>&1) || return 0
  n=$((n + 1))
  if grep -E "cluster diff [^|#]*&&" <<<"$out" >/dev/null; then not_ok "$*: an example runs something after 'cluster diff &&'"; fi
  local subs; subs=$(awk '/^Subcommands:/{f=1;next} f&&/^  [a-z]/{s=$1; sub(/,$/,"",s); print s} f&&/^$/{f=0}' <<<"$out")
  for s in $subs; do walk "$@" "$s"; done
}
walk
[ "$n" -ge 40 ] && ok "$n help texts read, none chains after cluster diff with &&" || not_ok "only $n help texts"
finish
