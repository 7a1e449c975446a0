#!/usr/bin/python3
"""The data plane of a multi-cluster test bed made of Kubernetes API emulators (tests only).

The emulators hold objects, not traffic. This stands in for what carries traffic in a real
cluster, so that the addresses `fatectl federation up` reads from Services are real:

  * kube-proxy: for every NodePort Service `traffic-server` (port "443") it listens on the cluster's
    node address and that NodePort and forwards to the Apache Traffic Server that
    `scripts/kube-emulator --with-exchange` runs for a traffic-server pod (DIR/exchange-pods.json);
  * each party's Pulsar broker: for every NodePort Service `pulsar` (port "https-port") it listens
    on the node address and NodePort with TLS, presenting the broker certificate of the namespace's
    `pulsar-cert` Secret (what the real broker mounts) and requiring a client certificate from the
    same CA, and answers the few commands of Pulsar's binary protocol a probe sends: CONNECT ->
    CONNECTED (max_message_size), PING -> PONG. A frame larger than --max-message (+10 KiB, as the
    broker's frame decoder allows) closes the connection, like a real broker.

Every accepted broker connection is logged to --log as "connect <party-ns> from CN=<client>".
Control files in --state: `idle-close` (seconds: brokers close connections idle that long).

usage: dataplane.py --cluster EMULATOR_DIR=NODE_IP [...] --state DIR --log FILE [--max-message BYTES]
"""
import argparse, json, os, socket, ssl, struct, sys, tempfile, threading, time, urllib.request, base64

ap = argparse.ArgumentParser()
ap.add_argument("--cluster", action="append", required=True, help="EMULATOR_DIR=NODE_IP")
ap.add_argument("--state", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--max-message", type=int, default=5 << 20)
ap.add_argument("--interval", type=float, default=0.3)
a = ap.parse_args()
LOCK = threading.Lock()


def log(msg):
    with LOCK:
        with open(a.log, "a") as f:
            f.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))


class Cluster:
    def __init__(self, spec):
        d, ip = spec.split("=", 1)
        self.dir, self.ip = os.path.abspath(d), ip
        self.port = open(os.path.join(self.dir, "port")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(self.dir, "admin.crt"), os.path.join(self.dir, "admin.key"))

    def get(self, path):
        with urllib.request.urlopen("https://127.0.0.1:%s%s" % (self.port, path), context=self.ctx, timeout=5) as r:
            return json.load(r)

    def ats_port(self, ns):
        try:
            pods = json.load(open(os.path.join(self.dir, "exchange-pods.json")))
        except (OSError, ValueError):
            return None
        for p in pods:
            if p.get("namespace") == ns and p.get("trafficServerPort"):
                return int(p["trafficServerPort"])
        return None


# ---- pulsar frames (the subset a probe uses) ------------------------------------------------------

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def command_type(cmd):
    i = 0
    while i < len(cmd):
        t, i = read_varint(cmd, i)
        field, wire = t >> 3, t & 7
        if field == 1 and wire == 0:
            v, i = read_varint(cmd, i)
            return v
        if wire == 0:
            _, i = read_varint(cmd, i)
        elif wire == 2:
            n, i = read_varint(cmd, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            return None
    return None


def frame(cmd):
    return struct.pack(">II", len(cmd) + 4, len(cmd)) + cmd


def base(typ, field, sub):
    return varint(1 << 3) + varint(typ) + varint((field << 3) | 2) + varint(len(sub)) + sub


def connected(max_message):
    ver = b"2.10.4-fatectl-test-broker"
    sub = varint((1 << 3) | 2) + varint(len(ver)) + ver + varint(2 << 3) + varint(14) + varint(3 << 3) + varint(max_message)
    return frame(base(3, 3, sub))


PONG = frame(base(19, 19, b""))


def idle_close():
    try:
        return float(open(os.path.join(a.state, "idle-close")).read().strip())
    except (OSError, ValueError):
        return 0


def serve_broker(conn, ns):
    peer = "?"
    try:
        conn.settimeout(1.0)
        cert = conn.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    peer = v
        buf = b""
        last = time.time()
        limit = a.max_message + 10240
        while True:
            try:
                data = conn.recv(65536)
            except socket.timeout:
                ic = idle_close()
                if ic and time.time() - last > ic:
                    log("idle-close %s from CN=%s after %.1fs" % (ns, peer, time.time() - last))
                    return
                continue
            if not data:
                return
            last = time.time()
            buf += data
            while len(buf) >= 8:
                total, size = struct.unpack(">II", buf[:8])
                if total > limit:
                    log("too-long %s from CN=%s frame %d > %d" % (ns, peer, total, limit))
                    return
                if len(buf) < 4 + total:
                    break
                cmd = buf[8:8 + size]
                buf = buf[4 + total:]
                t = command_type(cmd)
                if t == 2:
                    log("connect %s from CN=%s frame %d" % (ns, peer, total + 4))
                    conn.sendall(connected(a.max_message))
                elif t == 18:
                    conn.sendall(PONG)
    except (OSError, ssl.SSLError, IndexError) as e:
        log("broker %s error from CN=%s: %s" % (ns, peer, e))
    finally:
        try:
            conn.close()
        except OSError:
            pass


def pump(src, dst):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Listener:
    """One NodePort on a node address: a TCP forwarder or a TLS broker."""

    def __init__(self, ip, port, kind, ns, cluster):
        self.kind, self.ns, self.cluster = kind, ns, cluster
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(64)
        self.tls = None
        self.secret = None
        self.closed = False
        threading.Thread(target=self.run, daemon=True).start()

    def set_secret(self, data):
        if data == self.secret:
            return
        d = tempfile.mkdtemp(prefix="broker-", dir=a.state)
        for k in ("broker.cert.pem", "broker.key-pk8.pem", "ca.cert.pem"):
            with open(os.path.join(d, k), "wb") as f:
                f.write(base64.b64decode(data.get(k, "")))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "broker.cert.pem"), os.path.join(d, "broker.key-pk8.pem"))
        ctx.load_verify_locations(os.path.join(d, "ca.cert.pem"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.tls, self.secret = ctx, data

    def run(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        if self.kind == "forward":
            port = self.cluster.ats_port(self.ns)
            if not port:
                c.close()
                return
            try:
                up = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                c.close()
                return
            threading.Thread(target=pump, args=(c, up), daemon=True).start()
            pump(up, c)
            return
        if not self.tls:
            c.close()
            return
        try:
            c.settimeout(10)
            s = self.tls.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError) as e:
            log("handshake %s refused: %s" % (self.ns, e))
            c.close()
            return
        serve_broker(s, self.ns)

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


clusters = [Cluster(s) for s in a.cluster]
listeners = {}  # (ip, port) -> Listener
open(a.log, "a").close()
while True:
    want = {}
    unread = set()  # clusters whose Services could not be read this round: their listeners stay
    for c in clusters:
        if not os.path.exists(os.path.join(c.dir, "pid")):
            sys.exit(0)  # the test bed is going away
        try:
            svcs = c.get("/api/v1/services")["items"]
        except Exception:  # the emulator restarts or is busy: next round
            unread.add(c.ip)
            continue
        for s in svcs:
            spec, meta = s.get("spec", {}), s["metadata"]
            if spec.get("type") not in ("NodePort", "LoadBalancer"):
                continue
            for p in spec.get("ports", []):
                np = p.get("nodePort")
                if not np:
                    continue
                if meta["name"] == "traffic-server" and p.get("name") == "443":
                    want[(c.ip, np)] = ("forward", meta["namespace"], c)
                elif meta["name"] == "pulsar" and p.get("name") == "https-port":
                    want[(c.ip, np)] = ("broker", meta["namespace"], c)
    for k in list(listeners):
        if k[0] in unread and k not in want:
            continue
        if k not in want or listeners[k].kind != want[k][0] or listeners[k].ns != want[k][1]:
            listeners.pop(k).close()
            log("closed %s:%d" % k)
    for k, (kind, ns, c) in want.items():
        if k not in listeners:
            try:
                listeners[k] = Listener(k[0], k[1], kind, ns, c)
                log("listening %s:%d %s %s" % (k[0], k[1], kind, ns))
            except OSError as e:
                log("cannot listen on %s:%d: %s" % (k[0], k[1], e))
                continue
        if kind == "broker":
            try:
                sec = c.get("/api/v1/namespaces/%s/secrets/pulsar-cert" % ns)
                listeners[k].set_secret(sec.get("data", {}))
            except Exception:
                pass
    with open(os.path.join(a.state, "listeners.json.tmp"), "w") as f:
        json.dump(sorted("%s:%d %s %s" % (k[0], k[1], v.kind, v.ns) for k, v in listeners.items()), f)
    os.replace(os.path.join(a.state, "listeners.json.tmp"), os.path.join(a.state, "listeners.json"))
    time.sleep(a.interval)
