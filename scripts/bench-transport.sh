#!/usr/bin/env bash
# Transport benchmark: TLS 1.3 mutual-auth frames between two parties, directly on loopback and
# through a private Apache Traffic Server tunnelling SNI 10000.fate.org (the Exchange path).
# Usage: scripts/bench-transport.sh [BYTES (256Mi)] [ROUNDS (1000)]
# Env: FATECTL (default build/fatectl). Prints both results; needs trafficserver for the second.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FATECTL="${FATECTL:-$ROOT/build/fatectl}"
BYTES="${1:-256Mi}"
ROUNDS="${2:-1000}"
source "$ROOT/tests/lib/ats.sh"
W="$(mktemp -d "${TMPDIR:-/tmp}/bench-transport.XXXXXX")"
trap 'ats_stop; rm -rf "$W"' EXIT

"$FATECTL" certs init --domain fate.org --dir "$W/certs" >/dev/null
"$FATECTL" certs issue --party 9999 --party 10000 --dir "$W/certs" >/dev/null

echo "== direct (loopback)"
"$FATECTL" bench transport --bytes "$BYTES" --rounds "$ROUNDS" --certs "$W/certs"

if ! command -v traffic_manager >/dev/null; then
  echo "== through Traffic Server: skipped (apt-get install trafficserver)"; exit 0
fi
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'sni:\n  - fqdn: 10000.fate.org\n    tunnel_route: 127.0.0.1:%s\n' "$PORT" > "$W/sni.yaml"
ats_start "$W/ats" "$W/sni.yaml" >/dev/null
echo "== through Traffic Server $(traffic_server --version 2>/dev/null | head -1 | awk '{print $3}') (SNI tunnel, 1 exec thread)"
"$FATECTL" bench transport --bytes "$BYTES" --rounds "$ROUNDS" --certs "$W/certs" \
  --listen "127.0.0.1:$PORT" --exchange "127.0.0.1:$ATS_PORT"
