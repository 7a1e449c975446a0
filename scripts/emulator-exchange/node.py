#!/usr/bin/python3
"""The node side of the Kubernetes API emulator for the Exchange's pods (scripts/kube-emulator
start DIR --with-exchange): what a kubelet does for the traffic-server, nginx and rollsite pods.

For every Running pod whose container image is one of the Exchange's (trafficserver, nginx,
eggroll) it
  * writes the ConfigMap and Secret volumes the container mounts under
    DIR/pods/NS/POD/CONTAINER/root/<mountPath> -- a directory mount is refreshed when the object
    changes (after --sync-delay seconds, written atomically like the kubelet's atomic writer), a
    subPath mount only once, when the pod starts (as Kubernetes does);
  * for a trafficserver container, starts a private Apache Traffic Server (Debian's) from the
    mounted records.config / ssl_multicert.config / sni.yaml and the traffic-server-cert Secret,
    on a free 127.0.0.1 port (DIR/pods/NS/POD/CONTAINER/ats/port), and stops it when the pod goes;
  * for an nginx container (KubeFATE's federatedai/nginx), lays the image's content (nginx-image/:
    fatectl's stand-in for its lua route table reader and vhosts) under
    root/data/projects/fate/proxy and runs the container's command there, with bin/openresty
    first on PATH: Debian's nginx on the pod's mounted nginx.conf and route_table.yaml, its
    listen ports moved to free 127.0.0.1 ports (DIR/pods/NS/POD/CONTAINER/nginx/ports.json);
    stopped when the pod goes.
Exec into these pods runs scripts/emulator-exchange/pod-exec.sh, which maps the pod's paths and
/opt/trafficserver/bin/traffic_ctl to that instance. DIR/exchange-pods.json lists the pods served.

While DIR/node.paused exists, mounted files are not refreshed (a kubelet that fell behind).
Stops (with every Traffic Server it started) when DIR/pid goes away or on SIGTERM.

usage: node.py DIR [--interval S] [--sync-delay S] [--images REGEX]"""
import argparse, base64, json, os, re, shutil, signal, socket, ssl, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ATS_LIB = os.path.join(HERE, "..", "..", "tests", "lib", "ats.sh")
NGINX_IMAGE = os.path.join(HERE, "nginx-image")  # the content of federatedai/nginx this node knows
NGINX_WORKDIR = "/data/projects/fate/proxy"        # the image's WORKDIR
NGINX_ENTRYPOINT = ["openresty", "-g", "daemon off;"]

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--interval", type=float, default=0.3)
ap.add_argument("--sync-delay", type=float, default=1.0, help="seconds before a changed ConfigMap reaches a pod")
ap.add_argument("--images", default=r"trafficserver|/nginx[:@]|/eggroll[:@]")
a = ap.parse_args()
D = os.path.abspath(a.dir)
port = open(os.path.join(D, "port")).read().strip()
ctx = ssl.create_default_context(cafile=os.path.join(D, "ca.crt"))
ctx.load_cert_chain(os.path.join(D, "admin.crt"), os.path.join(D, "admin.key"))
BASE = "https://127.0.0.1:%s" % port
IMAGES = re.compile(a.images)


def log(msg):
    sys.stderr.write("%s node: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def get(path):
    with urllib.request.urlopen(BASE + path, context=ctx, timeout=5) as r:
        return json.load(r)


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".node-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Pod:
    """One pod container served by this node."""

    def __init__(self, ns, name, uid, container, image, mounts, volumes, command=None):
        self.ns, self.name, self.uid, self.container, self.image = ns, name, uid, container, image
        self.mounts, self.volumes, self.command = mounts, volumes, command
        self.nginx = None  # Popen of the container's command (nginx images)
        self.nginx_ports = None  # {"9300": port, ...} once it listens
        self.base = os.path.join(D, "pods", ns, name, container)
        self.root = os.path.join(self.base, "root")
        self.pending = {}  # file -> (content, first seen)
        self.started = False
        self.ats = None  # Popen of traffic_manager
        self.ats_port = None
        self.rundir = None  # short path for Traffic Server's unix sockets (108-byte limit)
        self.missing = set()

    def source(self, vol):
        """(kind, name, data as bytes per key) of a volume, or None when it is not a ConfigMap/Secret."""
        if "configMap" in vol:
            name = vol["configMap"]["name"]
            try:
                obj = get("/api/v1/namespaces/%s/configmaps/%s" % (self.ns, name))
            except Exception:
                return ("ConfigMap", name, None)
            return ("ConfigMap", name, {k: v.encode() for k, v in (obj.get("data") or {}).items()})
        if "secret" in vol:
            name = vol["secret"]["secretName"]
            try:
                obj = get("/api/v1/namespaces/%s/secrets/%s" % (self.ns, name))
            except Exception:
                return ("Secret", name, None)
            return ("Secret", name, {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()})
        return None

    def sync(self, now):
        """Brings the mounted files in line with their objects; returns False while a volume the
        container needs is missing (a real pod would not start)."""
        ok = True
        for m in self.mounts:
            vol = self.volumes.get(m["name"])
            src = self.source(vol) if vol else None
            if src is None:
                continue
            kind, oname, data = src
            if data is None:
                if (kind, oname) not in self.missing:
                    log("%s/%s: %s %s does not exist; the container cannot start" % (self.ns, self.name, kind, oname))
                    self.missing.add((kind, oname))
                ok = False
                continue
            self.missing.discard((kind, oname))
            target = self.root + m["mountPath"].rstrip("/")
            if m.get("subPath"):
                if self.started or m["subPath"] not in data:
                    continue
                write_atomic(target, data[m["subPath"]])
                continue
            for k, v in data.items():
                f = os.path.join(target, k)
                cur = open(f, "rb").read() if os.path.exists(f) else None
                if cur == v:
                    self.pending.pop(f, None)
                    continue
                if not self.started:
                    write_atomic(f, v)
                    continue
                seen = self.pending.get(f)
                if seen is None or seen[0] != v:
                    self.pending[f] = (v, now)
                elif now - seen[1] >= a.sync_delay and not os.path.exists(os.path.join(D, "node.paused")):
                    write_atomic(f, v)
                    self.pending.pop(f, None)
            if os.path.isdir(target):
                for k in os.listdir(target):
                    if k not in data and not k.endswith(".node-tmp"):
                        os.unlink(os.path.join(target, k))
        return ok

    def start_ats(self):
        """A private Traffic Server from the pod's mounted files."""
        ats = os.path.join(self.base, "ats")
        subprocess.run(["bash", "-c", '. "$1"; ats_runroot "$2"', "bash", ATS_LIB, ats], check=True)
        self.rundir = tempfile.mkdtemp(prefix="ats-", dir="/tmp")
        write_atomic(os.path.join(ats, "rundir"), self.rundir.encode())
        rr = os.path.join(ats, "runroot.yaml")
        text = re.sub(r"(?m)^runtimedir: .*$", "runtimedir: " + self.rundir, open(rr).read())
        open(rr, "w").write(text)
        etc = os.path.join(ats, "etc")
        sni_dir = self.root + "/opt/trafficserver/etc/trafficserver/sni"
        os.makedirs(sni_dir, exist_ok=True)
        if os.path.islink(os.path.join(etc, "sni")) or os.path.exists(os.path.join(etc, "sni")):
            shutil.rmtree(os.path.join(etc, "sni"), ignore_errors=True)
        os.symlink(sni_dir, os.path.join(etc, "sni"))
        proxy = self.root + "/opt/proxy"
        rec = open(self.root + "/etc/trafficserver/records.config").read()
        self.ats_port = free_port()
        rec = re.sub(r"(?m)^CONFIG proxy.config.http.server_ports .*$",
                     "CONFIG proxy.config.http.server_ports STRING %d:ssl:ip-in=127.0.0.1" % self.ats_port, rec)
        rec = rec.replace("/opt/proxy", proxy)
        rec += "\n".join([
            "", "CONFIG proxy.config.admin.user_id STRING #-1",
            "CONFIG proxy.config.exec_thread.autoconfig INT 0", "CONFIG proxy.config.exec_thread.limit INT 1",
            "CONFIG proxy.config.accept_threads INT 1", "CONFIG proxy.config.task_threads INT 1",
            "CONFIG proxy.config.cache.ram_cache.size INT 1048576",
            "CONFIG proxy.config.ssl.server.private_key.path STRING " + proxy,
            "CONFIG proxy.config.log.logging_enabled INT 0",
            "CONFIG proxy.config.config_update_interval_ms INT 500", ""])
        open(os.path.join(etc, "records.config"), "w").write(rec)
        shutil.copy(self.root + "/etc/trafficserver/ssl_multicert.config", os.path.join(etc, "ssl_multicert.config"))
        open(os.path.join(etc, "storage.config"), "w").write(os.path.join(ats, "cache") + " 64M\n")
        for f in ("remap.config", "plugin.config"):
            open(os.path.join(etc, f), "w").close()
        out = open(os.path.join(ats, "tm.out"), "wb")
        self.ats = subprocess.Popen(["traffic_manager", "--run-root=" + os.path.join(ats, "runroot.yaml")],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        write_atomic(os.path.join(ats, "port"), b"%d\n" % self.ats_port)
        write_atomic(os.path.join(ats, "pid"), b"%d\n" % self.ats.pid)
        log("%s/%s: Traffic Server on 127.0.0.1:%d (pid %d)" % (self.ns, self.name, self.ats_port, self.ats.pid))

    def start_nginx(self):
        """The container's command (or the image's entrypoint) in the image's WORKDIR, on the
        image's content and the pod's mounted files, with bin/openresty for openresty."""
        work = self.root + NGINX_WORKDIR
        for d, _, files in os.walk(NGINX_IMAGE):
            rel = os.path.relpath(d, NGINX_IMAGE)
            os.makedirs(os.path.join(work, rel), exist_ok=True)
            for f in files:
                dst = os.path.join(work, rel, f)
                if not os.path.exists(dst):  # a mounted file hides the image's
                    shutil.copy(os.path.join(d, f), dst)
        conf = os.path.join(work, "nginx", "conf")
        if not os.path.exists(os.path.join(conf, "mime.types")):
            shutil.copy("/etc/nginx/mime.types", os.path.join(conf, "mime.types"))
        os.makedirs(os.path.join(work, "nginx", "logs"), exist_ok=True)
        run = os.path.join(self.base, "nginx")
        os.makedirs(run, exist_ok=True)
        env = dict(os.environ, PATH=os.path.join(HERE, "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                   EMULATOR_POD_DIR=self.base)
        out = open(os.path.join(run, "out.log"), "wb")
        self.nginx = subprocess.Popen(self.command or NGINX_ENTRYPOINT, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=out, start_new_session=True)
        write_atomic(os.path.join(run, "pid"), b"%d\n" % self.nginx.pid)
        log("%s/%s: nginx container started (pid %d)" % (self.ns, self.name, self.nginx.pid))

    def check_nginx(self):
        """Notes the ports once nginx listens, and a container that exited."""
        if self.nginx is None:
            return
        if self.nginx.poll() is not None:
            if self.nginx_ports is not False:
                log("%s/%s: nginx exited with %s (see %s)" % (self.ns, self.name, self.nginx.returncode,
                                                           os.path.join(self.base, "nginx", "out.log")))
                self.nginx_ports = False
            return
        if self.nginx_ports is None:
            try:
                ports = json.load(open(os.path.join(self.base, "nginx", "ports.json")))
            except (OSError, ValueError):
                return
            for p in ports.values():
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
                except OSError:
                    return
            self.nginx_ports = ports
            log("%s/%s: nginx listens on %s" % (self.ns, self.name, ports))

    def stop_process(self, proc, what, piddir):
        """Stops a process group this pod started (TERM, then KILL after 5 s) and drops its pid file."""
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                for _ in range(50):
                    if proc.poll() is not None:
                        break
                    time.sleep(0.1)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            log("%s/%s: %s stopped" % (self.ns, self.name, what))
        try:
            os.unlink(os.path.join(self.base, piddir, "pid"))
        except OSError:
            pass

    def stop(self):
        self.stop_process(self.nginx, "nginx", "nginx")
        self.stop_process(self.ats, "Traffic Server", "ats")
        if self.rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)


served = {}  # (ns, pod, uid, container) -> Pod
stopping = []


def on_term(*_):
    stopping.append(1)


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)
pidfile = os.path.join(D, "pid")
emu_pid = open(pidfile).read().strip()


def alive():
    try:
        return open(pidfile).read().strip() == emu_pid
    except OSError:
        return False


last_state = None


def publish():
    """Writes DIR/exchange-pods.json when the set of started pods changed."""
    global last_state
    state = [{"namespace": p.ns, "pod": p.name, "container": p.container, "root": p.root,
              "trafficServerPort": p.ats_port, "nginxPorts": p.nginx_ports or None}
             for p in served.values() if p.started]
    if state != last_state:
        write_atomic(os.path.join(D, "exchange-pods.json"), json.dumps(state, indent=1).encode())
        last_state = state


while not stopping and alive():
    try:
        pods = get("/api/v1/pods").get("items", [])
    except Exception:
        time.sleep(a.interval)
        continue
    now = time.time()
    seen = set()
    for p in pods:
        md, st = p["metadata"], p.get("status", {})
        if st.get("phase") != "Running":
            continue
        vols = {v["name"]: v for v in p["spec"].get("volumes", [])}
        for c in p["spec"].get("containers", []):
            if not IMAGES.search(c.get("image", "")):
                continue
            key = (md["namespace"], md["name"], md["uid"], c["name"])
            seen.add(key)
            pod = served.get(key)
            if pod is None:
                pod = served[key] = Pod(md["namespace"], md["name"], md["uid"], c["name"], c["image"],
                                        c.get("volumeMounts", []), vols,
                                        (c.get("command") or []) + (c.get("args") or []))
            try:
                ready = pod.sync(now)
                if not pod.started and ready:
                    if "trafficserver" in pod.image:
                        pod.start_ats()
                    elif re.search(r"/nginx[:@]", pod.image):
                        pod.start_nginx()
                    pod.started = True
                    publish()  # listed before an exec into it can run (pod-exec.sh waits for "mounted")
                    write_atomic(os.path.join(pod.base, "mounted"), b"")
                pod.check_nginx()
            except Exception as e:
                log("%s/%s: %s" % (pod.ns, pod.name, e))
    for key in list(served):
        if key not in seen:
            served.pop(key).stop()
    publish()
    time.sleep(a.interval)

for p in served.values():
    p.stop()
