#!/usr/bin/python3
"""A stand-in kubelet for one mounted ConfigMap key: polls the Kubernetes API emulator and, when
the key changed, writes it to a local file atomically (temp + rename, as the kubelet's atomic
writer does), after an optional delay. Stops when its pid file is removed.

usage: kubelet.py EMU_DIR NAMESPACE CONFIGMAP KEY DEST [--interval S] [--delay S] [--pidfile F]"""
import argparse, json, os, ssl, sys, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("emu"); ap.add_argument("ns"); ap.add_argument("cm"); ap.add_argument("key"); ap.add_argument("dest")
ap.add_argument("--interval", type=float, default=0.5)
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--pidfile")
a = ap.parse_args()
port = open(os.path.join(a.emu, "port")).read().strip()
ctx = ssl.create_default_context(cafile=os.path.join(a.emu, "ca.crt"))
ctx.load_cert_chain(os.path.join(a.emu, "admin.crt"), os.path.join(a.emu, "admin.key"))
url = "https://127.0.0.1:%s/api/v1/namespaces/%s/configmaps/%s" % (port, a.ns, a.cm)
if a.pidfile:
    open(a.pidfile, "w").write(str(os.getpid()))
while not a.pidfile or os.path.exists(a.pidfile):
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
            data = json.load(r).get("data", {})
        want = data.get(a.key)
        cur = open(a.dest).read() if os.path.exists(a.dest) else None
        if want is not None and want != cur:
            time.sleep(a.delay)
            tmp = a.dest + ".kubelet-tmp"
            with open(tmp, "w") as f:
                f.write(want)
            os.replace(tmp, a.dest)
    except Exception as e:  # the ConfigMap may not exist yet
        pass
    time.sleep(a.interval)
