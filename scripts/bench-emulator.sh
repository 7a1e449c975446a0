#!/usr/bin/env bash
# Requests per second the Kubernetes API emulator serves: simple authenticated GETs over HTTPS with
# keep-alive from CONNECTIONS client connections (threads of a Python load loop), on loopback.
#
#   scripts/bench-emulator.sh [SECONDS=5] [CONNECTIONS=4] [PATH=/api/v1/namespaces/default]
#
# Starts its own emulator in a temp dir (or uses KUBE_EMULATOR_DIR if set and running), prints
# "bench: N requests in S s over C connections: R req/s", exits 1 if R < BENCH_MIN (default 500).
set -euo pipefail
SECS=${1:-5}
CONNS=${2:-4}
URLPATH=${3:-/api/v1/namespaces/default}
MIN=${BENCH_MIN:-500}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${KUBE_EMULATOR_DIR:-}" ]; then
  D=$KUBE_EMULATOR_DIR
else
  D=$(mktemp -d /tmp/kube-emu-bench.XXXXXX)
  trap '"$HERE/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$D"' EXIT
  "$HERE/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 600 >/dev/null
fi
/usr/bin/python3 - "$D" "$SECS" "$CONNS" "$URLPATH" "$MIN" <<'EOF'
import http.client, os, ssl, sys, threading, time
d, secs, conns, path, minimum = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
port = int(open(os.path.join(d, "port")).read())
ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
ctx.load_cert_chain(os.path.join(d, "admin.crt"), os.path.join(d, "admin.key"))
counts, errors = [0] * conns, [0] * conns
stop = time.time() + secs
start_evt = threading.Barrier(conns + 1)

def worker(i):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("GET", path)
    c.getresponse().read()          # TLS handshake outside the measured loop
    start_evt.wait()
    while time.time() < stop:
        c.request("GET", path, headers={"Accept": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            counts[i] += 1
        else:
            errors[i] += 1
    c.close()

ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
for t in ts:
    t.start()
start_evt.wait()
t0 = time.time()
for t in ts:
    t.join()
el = time.time() - t0
n = sum(counts)
rate = n / el
print("bench: %d requests in %.1f s over %d connections: %.0f req/s (errors %d, load %s)"
      % (n, el, conns, rate, sum(errors), open("/proc/loadavg").read().split()[0]))
sys.exit(0 if rate >= minimum and not sum(errors) else 1)
EOF
