# Tiny assertion helpers for tests/integration/*.sh (sourced). Each check counts a pass or a
# failure; finish prints "NAME: N passed, M failed" and returns non-zero on any failure.
PASS=0
FAIL=0
TEST_NAME="${TEST_NAME:-$(basename "$0" .sh)}"
FATECTL="${FATECTL_BINARY:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/fatectl}"
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
# expect_rc CODE DESCRIPTION -- CMD...: runs CMD, checks its exit code; output in $OUT
expect_rc() {
  local want="$1" desc="$2"; shift 3
  set +e; OUT="$("$@" 2>&1)"; local rc=$?; set -e
  if [ "$rc" -eq "$want" ]; then ok "$desc"; else not_ok "$desc (exit $rc, wanted $want): $(echo "$OUT" | tail -3)"; fi
}
# expect_contains TEXT DESCRIPTION: checks that $OUT contains TEXT
expect_contains() {
  if grep -qF -- "$1" <<<"$OUT"; then ok "$2"; else not_ok "$2 (no '$1' in: $(echo "$OUT" | tail -3))"; fi
}
finish() {
  echo "$TEST_NAME: $PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
