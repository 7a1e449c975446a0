# A private Apache Traffic Server 9.2 (Debian's `trafficserver` package) for tests and benchmarks:
# the Exchange's SNI tunnel (sni.yaml `tunnel_route`) without touching /etc or any system instance.
# Source this file, then:
#   ats_runroot DIR               only a private runroot (tests that bring their own records.config)
#   ats_start DIR SNI_YAML        runroot under DIR, TLS port $ATS_PORT (picked if unset), started
#                                 detached (setsid); waits until the port accepts connections
#   ats_reload [SNI_YAML]         installs a new sni.yaml (if given), `traffic_ctl config reload`,
#                                 then waits for diags.log to say "sni.yaml finished loading"
#   ats_wait_sni FQDN CN [SECS]   polls a TLS connection with SNI FQDN until the certificate seen
#                                 has subject CN (the reload applies asynchronously, 1-6 s)
#   ats_stop                      stops traffic_manager and traffic_server (the whole process group)
# Runs as root with proxy.config.admin.user_id #-1 (toolchain.md §3). Tunnel targets must be in
# $ATS_CONNECT_PORTS (default "443 1024-65535"): ATS refuses other CONNECT ports with 403.

ATS_DIR="" ATS_PID=""

_ats_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ats_runroot DIR: a private runroot under DIR (etc/ seeded with Debian's defaults, run, log,
# cache, var, and DIR/runroot.yaml pointing there) for `--run-root=DIR/runroot.yaml`.
ats_runroot() {
  local d="$1"
  mkdir -p "$d"/{etc,run,log,cache,var}
  cp -r /etc/trafficserver/. "$d/etc/"
  cat > "$d/runroot.yaml" <<YAML
prefix: $d
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $d/etc
datadir: $d/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $d/var
runtimedir: $d/run
logdir: $d/log
cachedir: $d/cache
YAML
}

ats_start() {
  local dir="$1" sni="$2"
  command -v traffic_manager >/dev/null || { echo "ats_start: traffic_manager not found (apt-get install trafficserver)" >&2; return 1; }
  ATS_DIR="$(mkdir -p "$dir" && cd "$dir" && pwd)"
  ATS_PORT="${ATS_PORT:-$(_ats_free_port)}"
  local cports="${ATS_CONNECT_PORTS:-443 1024-65535}"
  ats_runroot "$ATS_DIR"
  # ATS's own certificate: only seen by clients whose SNI has no tunnel route.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=exchange-ats" \
    -keyout "$ATS_DIR/ats.key" -out "$ATS_DIR/ats.crt" >/dev/null 2>&1
  chmod 600 "$ATS_DIR/ats.key"
  cat > "$ATS_DIR/etc/records.config" <<CFG
CONFIG proxy.config.http.server_ports STRING $ATS_PORT:ssl:ip-in=127.0.0.1
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 1
CONFIG proxy.config.task_threads INT 1
CONFIG proxy.config.cache.ram_cache.size INT 1048576
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.ssl.server.cert.path STRING $ATS_DIR
CONFIG proxy.config.ssl.server.private_key.path STRING $ATS_DIR
CONFIG proxy.config.url_remap.remap_required INT 0
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.http.connect_ports STRING $cports
CONFIG proxy.config.config_update_interval_ms INT 500
CONFIG proxy.config.diags.debug.enabled INT 0
CFG
  echo "dest_ip=* ssl_cert_name=ats.crt ssl_key_name=ats.key" > "$ATS_DIR/etc/ssl_multicert.config"
  echo "$ATS_DIR/cache 64M" > "$ATS_DIR/etc/storage.config"
  : > "$ATS_DIR/etc/remap.config"
  : > "$ATS_DIR/etc/plugin.config"
  cp "$sni" "$ATS_DIR/etc/sni.yaml"
  setsid traffic_manager --run-root="$ATS_DIR/runroot.yaml" > "$ATS_DIR/tm.out" 2>&1 < /dev/null &
  ATS_PID=$!
  local i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$ATS_PORT") 2>/dev/null; then
      echo "ats: Traffic Server $(traffic_server --version 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$ATS_PORT (runroot $ATS_DIR)"
      return 0
    fi
    if ! kill -0 "$ATS_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "ats_start: Traffic Server did not listen on 127.0.0.1:$ATS_PORT within 30 s; tm.out:" >&2
  tail -20 "$ATS_DIR/tm.out" >&2
  tail -5 "$ATS_DIR/log/diags.log" 2>/dev/null >&2
  return 1
}

ats_reload() {
  local sni="${1:-}"
  [ -n "$ATS_DIR" ] || { echo "ats_reload: ats_start first" >&2; return 1; }
  local before
  before=$(grep -c "sni.yaml finished loading" "$ATS_DIR/log/diags.log" 2>/dev/null || true)
  [ -n "$sni" ] && cp "$sni" "$ATS_DIR/etc/sni.yaml"
  traffic_ctl --run-root="$ATS_DIR/runroot.yaml" config reload || return 1
  local i now
  for i in $(seq 1 200); do
    now=$(grep -c "sni.yaml finished loading" "$ATS_DIR/log/diags.log" 2>/dev/null || true)
    if [ "${now:-0}" -gt "${before:-0}" ]; then
      if tail -n +1 "$ATS_DIR/log/diags.log" | awk '/sni.yaml finished loading/{n++} n>='"$now"'' | grep -q "ERROR"; then
        echo "ats_reload: errors after loading sni.yaml" >&2; return 1
      fi
      return 0
    fi
    if grep -q "sni.yaml failed to load" "$ATS_DIR/log/diags.log" 2>/dev/null; then
      echo "ats_reload: sni.yaml failed to load:" >&2; grep "sni.yaml" "$ATS_DIR/log/diags.log" | tail -3 >&2; return 1
    fi
    sleep 0.1
  done
  echo "ats_reload: no 'sni.yaml finished loading' in diags.log within 20 s" >&2
  return 1
}

ats_wait_sni() {
  local fqdn="$1" cn="$2" secs="${3:-15}" i subject
  for i in $(seq 1 $((secs * 4))); do
    subject=$(openssl s_client -servername "$fqdn" -connect "127.0.0.1:$ATS_PORT" </dev/null 2>/dev/null | grep '^subject=' || true)
    case "$subject" in *"CN = $cn"*|*"CN=$cn"*) return 0 ;; esac
    sleep 0.25
  done
  echo "ats_wait_sni: $fqdn still shows '${subject:-no certificate}' after $secs s (wanted CN $cn)" >&2
  return 1
}

ats_stop() {
  [ -n "$ATS_PID" ] || return 0
  kill -TERM -- "-$ATS_PID" 2>/dev/null || kill -TERM "$ATS_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 -- "-$ATS_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$ATS_PID" 2>/dev/null || true
  wait "$ATS_PID" 2>/dev/null || true
  ATS_PID=""
}
