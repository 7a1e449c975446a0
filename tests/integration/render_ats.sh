#!/usr/bin/env bash
# The Exchange's rendered Traffic Server files (records.config, ssl_multicert.config, sni.yaml from
# ConfigMaps traffic-server-config / traffic-server-sni) loaded by a real traffic_server (Debian's
# trafficserver 9.2): the instance must start with them, load sni.yaml without errors, tunnel each
# SNI to its tunnel_route (one port inside KubeFATE's connect_ports, one outside that fatectl adds),
# and answer other names with the proxy certificate from ssl_multicert.config.
# Only the paths and the listening port differ from the pod (a private runroot, no root ports).
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
source "$(dirname "$0")/../lib/ats.sh"
command -v traffic_manager >/dev/null || { echo "render_ats: traffic_manager not found (apt-get install trafficserver)"; exit 1; }

W="$(mktemp -d)"
PIDS=()
TM_PID=""
cleanup() {
  if [ -n "$TM_PID" ]; then kill -TERM -- "-$TM_PID" 2>/dev/null || true; sleep 0.5; kill -KILL -- "-$TM_PID" 2>/dev/null || true; wait "$TM_PID" 2>/dev/null || true; fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP_TMP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT

free_port() {  # free_port LO HI: a free TCP port in [LO, HI]
  /usr/bin/python3 - "$1" "$2" <<'PY'
import random, socket, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
for _ in range(200):
    p = random.randint(lo, hi); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: s.close()
PY
}
IN_PORT=$(free_port 30000 33000)     # inside KubeFATE's connect_ports
OUT_PORT=$(free_port 40000 45000)    # outside: fatectl must add it
ATS_PORT=$(free_port 20000 29000)

cat > "$W/exchange.yaml" <<SPEC
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
modules: [trafficServer]
trafficServer:
  type: NodePort
  nodePort: 30000
  route_table:
    sni:
      - fqdn: 10000.fate.org
        tunnelRoute: 127.0.0.1:$IN_PORT
      - fqdn: 9999.fate.org
        tunnelRoute: 127.0.0.1:$OUT_PORT
SPEC
"$FATECTL" cluster render -f "$W/exchange.yaml" -o json > "$W/objects.json" && ok "render the exchange spec" \
  || { not_ok "render the exchange spec"; finish; exit 1; }
/usr/bin/python3 - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
items = json.load(open(os.path.join(w, "objects.json")))["items"]
cms = {o["metadata"]["name"]: o["data"] for o in items if o["kind"] == "ConfigMap"}
os.makedirs(os.path.join(w, "rendered"), exist_ok=True)
for cm, key in [("traffic-server-config", "records.config"), ("traffic-server-config", "ssl_multicert.config"), ("traffic-server-sni", "sni.yaml")]:
    open(os.path.join(w, "rendered", key), "w").write(cms[cm][key])
PY
ok "extracted records.config, ssl_multicert.config, sni.yaml"
grep -q "connect_ports STRING 443 6650-6700 30000-33000 $OUT_PORT\$" "$W/rendered/records.config" \
  && ok "connect_ports admits the out-of-range tunnel port $OUT_PORT" || not_ok "connect_ports: $(grep connect_ports "$W/rendered/records.config")"

# runroot: Debian's defaults, then the rendered files with the pod's paths mapped into $W.
# The pod's image is built with sysconfdir /opt/trafficserver/etc/trafficserver, where the key is
# subPath-mounted and where ATS looks for ssl_key_name by default; Debian's build looks in
# /etc/trafficserver, so the test copy names that directory (private_key.path) explicitly.
A="$W/ats"; mkdir -p "$A"/{etc/sni,run,log,cache,var,proxy}
ats_runroot "$A"
# certificates as the Secret traffic-server-cert holds them: CA, proxy cert (/opt/proxy) and key
# (subPath-mounted into the config dir); two backends standing in for the parties' Pulsar TLS ports
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=fate-ca" -keyout "$W/ca.key" -out "$A/proxy/ca.cert.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=proxy.fate.org" -keyout "$A/etc/proxy.key.pem" -out "$W/proxy.csr" >/dev/null 2>&1
openssl x509 -req -in "$W/proxy.csr" -CA "$A/proxy/ca.cert.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 -out "$A/proxy/proxy.cert.pem" >/dev/null 2>&1
for n in backend-in backend-out; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$n" -keyout "$W/$n.key" -out "$W/$n.crt" >/dev/null 2>&1
done
openssl s_server -accept "127.0.0.1:$IN_PORT" -cert "$W/backend-in.crt" -key "$W/backend-in.key" -rev -quiet >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -accept "127.0.0.1:$OUT_PORT" -cert "$W/backend-out.crt" -key "$W/backend-out.key" -rev -quiet >/dev/null 2>&1 &
PIDS+=($!)

sed -e "s#^CONFIG proxy.config.http.server_ports STRING .*#CONFIG proxy.config.http.server_ports STRING $ATS_PORT:ssl:ip-in=127.0.0.1#" \
    -e "s#STRING /opt/proxy#STRING $A/proxy#" "$W/rendered/records.config" > "$A/etc/records.config"
cat >> "$A/etc/records.config" <<CFG
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 1
CONFIG proxy.config.task_threads INT 1
CONFIG proxy.config.cache.ram_cache.size INT 1048576
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.ssl.server.private_key.path STRING $A/etc
CFG
cp "$W/rendered/ssl_multicert.config" "$A/etc/ssl_multicert.config"
cp "$W/rendered/sni.yaml" "$A/etc/sni/sni.yaml"
echo "$A/cache 64M" > "$A/etc/storage.config"
: > "$A/etc/remap.config"; : > "$A/etc/plugin.config"

setsid traffic_manager --run-root="$A/runroot.yaml" > "$A/tm.out" 2>&1 < /dev/null &
TM_PID=$!
up=0
for i in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$ATS_PORT") 2>/dev/null; then up=1; break; fi
  kill -0 "$TM_PID" 2>/dev/null || break
  sleep 0.1
done
[ "$up" = 1 ] && ok "traffic_server starts with the rendered records.config and ssl_multicert.config" \
  || { not_ok "traffic_server did not listen: $(tail -5 "$A/tm.out"; tail -5 "$A/log/diags.log" 2>/dev/null)"; finish; exit 1; }
for i in $(seq 1 100); do grep -q "sni.yaml finished loading" "$A/log/diags.log" 2>/dev/null && break; sleep 0.1; done
grep -q "sni.yaml finished loading" "$A/log/diags.log" && ok "sni.yaml loaded" || not_ok "no 'sni.yaml finished loading' in diags.log"
if grep -qE "ERROR|FATAL|failed to load" "$A/log/diags.log"; then
  not_ok "errors in diags.log: $(grep -E 'ERROR|FATAL|failed' "$A/log/diags.log" | tail -3)"
else ok "no errors in diags.log"; fi

subject() { openssl s_client -servername "$1" -connect "127.0.0.1:$ATS_PORT" </dev/null 2>/dev/null | grep '^subject=' || true; }
wait_cn() {  # wait_cn FQDN CN
  local s=""
  for i in $(seq 1 60); do s=$(subject "$1"); case "$s" in *"CN = $2"*|*"CN=$2"*) return 0 ;; esac; sleep 0.25; done
  echo "  (saw '$s')"; return 1
}
wait_cn 10000.fate.org backend-in && ok "SNI 10000.fate.org is tunnelled to 127.0.0.1:$IN_PORT" || not_ok "tunnel for 10000.fate.org"
wait_cn 9999.fate.org backend-out && ok "SNI 9999.fate.org is tunnelled to 127.0.0.1:$OUT_PORT (port added to connect_ports)" || not_ok "tunnel for 9999.fate.org"
wait_cn other.fate.org proxy.fate.org && ok "other names get the proxy certificate (ssl_multicert.config)" || not_ok "default certificate"
reply=$( (echo hello; sleep 1) | openssl s_client -servername 10000.fate.org -connect "127.0.0.1:$ATS_PORT" -quiet 2>/dev/null | head -1 || true)
[ "$reply" = "olleh" ] && ok "data flows through the tunnel" || not_ok "tunnel data: '$reply'"
finish
