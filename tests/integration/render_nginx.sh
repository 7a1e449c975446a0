#!/usr/bin/env bash
# The rendered nginx.conf (ConfigMap nginx-config of a Spark party (v1.6, v1.11, v2.0) and of the Exchange) passes the
# real `nginx -t` (Debian's nginx with the lua and stream modules standing in for openresty).
# Test-only changes: load_module lines (built into openresty), pid and temp paths a non-root run
# can write, and cluster DNS names (fateflow, nginx) mapped to 127.0.0.1 (-t resolves upstreams).
# Also checks that the route_table.yaml beside it parses as YAML with the expected entries.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
command -v nginx >/dev/null || { echo "render_nginx: nginx not found (apt-get install nginx libnginx-mod-http-lua libnginx-mod-stream)"; exit 1; }
MODS=/usr/lib/nginx/modules
for m in ndk_http_module ngx_http_lua_module ngx_stream_module; do
  [ -f "$MODS/$m.so" ] || { echo "render_nginx: $MODS/$m.so missing (apt-get install libnginx-mod-http-lua libnginx-mod-stream)"; exit 1; }
done
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT

check_spec() {  # check_spec SPEC LABEL SELF_ID
  local spec="$1" label="$2" self="$3" d="$W/$2"
  mkdir -p "$d/conf/vhost" "$d/logs" "$d/tmp"
  "$FATECTL" cluster render -f "$spec" -o json > "$d/objects.json" && ok "$label: render" || not_ok "$label: render"
  /usr/bin/python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
items = json.load(open(d + "/objects.json"))["items"]
cm = [o for o in items if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "nginx-config"][0]
open(d + "/nginx.conf", "w").write(cm["data"]["nginx.conf"])
open(d + "/route_table.yaml", "w").write(cm["data"]["route_table.yaml"])
PY
  {
    for m in ndk_http_module ngx_http_lua_module ngx_stream_module; do echo "load_module $MODS/$m.so;"; done
    echo "pid $d/nginx.pid;"
    sed -e 's/server fateflow:/server 127.0.0.1:/' -e 's/server nginx:/server 127.0.0.1:/' \
        -e 's#^http {#http {\n    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;#' \
        "$d/nginx.conf"
  } > "$d/conf/nginx.conf"
  cp /etc/nginx/mime.types "$d/conf/"
  expect_rc 0 "$label: nginx -t accepts the rendered nginx.conf" -- nginx -t -c conf/nginx.conf -p "$d/"
  # and a broken copy is refused, so the check can fail
  sed 's/worker_connections  1024;/worker_connections  1024/' "$d/conf/nginx.conf" > "$d/conf/broken.conf"
  expect_rc 1 "$label: nginx -t refuses a broken copy" -- nginx -t -c conf/broken.conf -p "$d/"
  /usr/bin/python3 - "$d/route_table.yaml" "$self" <<'PY' && ok "$label: route_table.yaml has the self entry" || not_ok "$label: route_table.yaml"
import sys, yaml
rt = yaml.safe_load(open(sys.argv[1]))
self_id = int(sys.argv[2])
assert rt[self_id]["proxy"][0]["host"] == "nginx", rt
assert rt[self_id]["proxy"][0]["http_port"] == 9300
PY
}

check_spec "$SRC/examples/v1.11/party-9999-spark-pulsar.yaml" party-9999 9999
check_spec "$SRC/examples/v2.0/party-9999-spark-pulsar.yaml" v2.0-party-9999 9999
check_spec "$SRC/examples/v1.6/party-9999-spark.yaml" v1.6-party-9999 9999
check_spec "$SRC/examples/exchange/fate-exchange.yaml" exchange 1

# lbrollsite: the nginx.conf of its load-balancing sidecar (stock nginx image, /etc/nginx)
d="$W/lbrollsite"; mkdir -p "$d/conf" "$d/tmp"
"$FATECTL" cluster render -f "$SRC/tests/render/specs/eggroll-lbrollsite.yaml" -o json > "$d/objects.json"
/usr/bin/python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
items = json.load(open(d + "/objects.json"))["items"]
cm = [o for o in items if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "rollsite-config"][0]
open(d + "/nginx.conf", "w").write(cm["data"]["nginx.conf"])
PY
{ echo "pid $d/nginx.pid;"
  sed -e 's#^http {#http {\n    client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;#' "$d/nginx.conf"
} > "$d/conf/nginx.conf"
cp /etc/nginx/mime.types "$d/conf/"
grep -q "server 192.168.0.2:30000;" "$d/conf/nginx.conf" && ok "lbrollsite: every exchange of exchangeList is an upstream server" || not_ok "lbrollsite upstreams"
expect_rc 0 "lbrollsite: nginx -t accepts the sidecar's nginx.conf" -- nginx -t -c conf/nginx.conf -p "$d/"
finish
