#!/usr/bin/env bash
# The main job on an embedded default, no cluster needed: builds fatectl if needed, then
# renders the bundled two-party example into Kubernetes objects.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
build/fatectl version
