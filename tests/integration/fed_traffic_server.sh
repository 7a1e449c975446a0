#!/usr/bin/env bash
# Party 9999 reaches party 10000 through a real Apache Traffic Server (Debian's trafficserver,
# private runroot) that tunnels SNI 10000.fate.org to party 10000's listener; the peer certificate
# check passes end to end. Then the Exchange is re-pointed (reload, polled) at a listener holding
# party 10001's certificate, and at nothing: party 9999 refuses both with a clear message.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
source "$(dirname "$0")/../lib/ats.sh"
W="$(mktemp -d "${TMPDIR:-/tmp}/fed_ats.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  ats_stop
  rm -rf "$W"
}
trap cleanup EXIT
if ! command -v traffic_manager >/dev/null; then
  echo "trafficserver is not installed (apt-get install trafficserver)"; not_ok "Traffic Server available"; finish; exit 1
fi
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$FATECTL" certs init --domain fate.org --dir "$W/certs" >/dev/null
"$FATECTL" certs issue --party 9999 --party 10000 --party 10001 --dir "$W/certs" >/dev/null
P9999=$(free_port); P10000=$(free_port); P10001=$(free_port)
cat > "$W/sni.yaml" <<YAML
sni:
  - fqdn: 10000.fate.org
    tunnel_route: 127.0.0.1:$P10000
YAML
ats_start "$W/ats" "$W/sni.yaml" && ok "Traffic Server started (private runroot)" || { not_ok "Traffic Server start"; finish; exit 1; }

cat > "$W/job.yaml" <<YAML
job: it-exchange
domain: fate.org
certificates: certs
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:$P9999}
  - {id: 10000, role: host, listen: 127.0.0.1:$P10000}
routes:
  10000: {exchange: 127.0.0.1:$ATS_PORT}
algorithm:
  name: echo
  params: {rounds: 20, streamBytes: 8Mi}
transport: {connectTimeout: 20s}
YAML
"$FATECTL" party serve --job "$W/job.yaml" --party-id 10000 > "$W/host.out" 2>&1 &
HOST=$!; PIDS+=("$HOST")
ats_wait_sni 10000.fate.org 10000.fate.org 15 && ok "ATS tunnels SNI 10000.fate.org to party 10000" || not_ok "tunnel to party 10000"
expect_rc 0 "party 9999 reaches party 10000 through Traffic Server" -- "$FATECTL" -v party serve --job "$W/job.yaml" --party-id 9999
expect_contains "via exchange 127.0.0.1:$ATS_PORT (sni 10000.fate.org)" "the route went through the Exchange"
expect_contains "sha256 match" "8 MiB stream arrived intact through the tunnel"
expect_contains "echo: success" "echo through the Exchange succeeded"
echo "$OUT" | grep "echo: party 10000" || true
wait "$HOST" && ok "party 10000 exited 0" || not_ok "party 10000: $(tail -3 "$W/host.out")"

# Re-point the Exchange at a listener holding party 10001's (valid, same-CA) certificate.
openssl s_server -accept "127.0.0.1:$P10001" -cert "$W/certs/10001.crt" -key "$W/certs/10001.key" \
  -CAfile "$W/certs/ca.crt" -quiet < /dev/null > "$W/s_server.out" 2>&1 &
PIDS+=($!)
cat > "$W/sni2.yaml" <<YAML
sni:
  - fqdn: 10000.fate.org
    tunnel_route: 127.0.0.1:$P10001
YAML
ats_reload "$W/sni2.yaml" && ok "sni.yaml reloaded (diags.log: finished loading)" || not_ok "reload"
ats_wait_sni 10000.fate.org 10001.fate.org 20 && ok "reload applied (polled)" || not_ok "reload never applied"
sed -i 's/connectTimeout: 20s/connectTimeout: 3s/' "$W/job.yaml"
expect_rc 3 "a misrouted Exchange is refused" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 9999
expect_contains "presented a certificate for '10001.fate.org', not 10000.fate.org" "the wrong party is named"

# An SNI the Exchange does not know: ATS answers with its own certificate.
printf 'sni:\n  - fqdn: 20000.fate.org\n    tunnel_route: 127.0.0.1:%s\n' "$P10001" > "$W/sni3.yaml"
ats_reload "$W/sni3.yaml" && ok "second reload" || not_ok "second reload"
ats_wait_sni 10000.fate.org exchange-ats 20 && ok "unknown SNI falls through to ATS's certificate" || not_ok "fall-through"
expect_rc 3 "ATS's own certificate is not trusted" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 9999
expect_contains "not trusted by the federation CA" "untrusted Exchange certificate explained"
finish
