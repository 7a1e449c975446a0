#!/usr/bin/env bash
# scripts/e2e.sh as CI runs it: install -> status -> toy -> uninstall against the emulator.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
expect_rc 0 "scripts/e2e.sh against the Kubernetes API emulator" -- env FATECTL="$FATECTL" bash "$FATECTL_SOURCE_DIR/scripts/e2e.sh"
echo "$OUT" | grep '^e2e:'
expect_contains "e2e: ok   toy" "the toy step ran and passed"
expect_contains "e2e: all steps passed" "every step passed"
finish
