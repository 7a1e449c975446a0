#!/usr/bin/env bash
# PSI benchmark: `fatectl bench psi` (guest and host with N ids each, half common, over TLS 1.3)
# next to `openssl speed ecdhx25519` in the same run, with the machine's load before and after.
#   scripts/bench-psi.sh [ROWS]      (default 1000000: the 1M x 1M figure)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
[ -x build/fatectl ] || scripts/build.sh
rows="${1:-1000000}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "openssl speed ecdhx25519 (one thread):"
openssl speed -seconds 3 ecdhx25519 2>/dev/null | tail -1
build/fatectl bench psi --rows "$rows"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
