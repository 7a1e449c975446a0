"""HTTPS front end of the emulator: authentication, RBAC denials, discovery, openapi v3, REST verbs,
Table output, watch streams, pod log and exec (WebSocket v4/v5), fault injection, admin API, main()."""

import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

import emu_capacity
import emu_faults
import kube_model as km
from kube_model import ApiError

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PUBLIC_PATHS = {"/healthz", "/livez", "/readyz", "/version"}
LAST_ACTIVITY = [time.time()]
CHILDREN = set()
CHILD_LOCK = threading.Lock()


def q1(q, k, d=None):
    v = q.get(k)
    return v[0] if v else d


# ---------------------------------------------------------------------------------------------
# discovery and openapi
# ---------------------------------------------------------------------------------------------

def sub_kind(rt, sub):
    if sub == "scale":
        return "autoscaling", "v1", "Scale"
    if sub == "exec":
        return "", "v1", "PodExecOptions"
    if sub == "attach":
        return "", "v1", "PodAttachOptions"
    if sub == "portforward":
        return "", "v1", "PodPortForwardOptions"
    if sub == "proxy":
        return "", "v1", rt.kind + "ProxyOptions"
    if sub == "eviction":
        return "policy", "v1", "Eviction"
    if sub == "binding":
        return "", "v1", "Binding"
    if sub == "token":
        return "authentication.k8s.io", "v1", "TokenRequest"
    return rt.group, rt.version, rt.kind


def sub_verbs(sub):
    return {"exec": ["create", "get"], "attach": ["create", "get"], "portforward": ["create", "get"],
            "log": ["get"], "eviction": ["create"], "binding": ["create"], "token": ["create"],
            "finalize": ["update"], "proxy": ["create", "delete", "get", "patch", "update"]}.get(
        sub, ["get", "patch", "update"])


def resource_list(emu, group, version):
    res = []
    for rt in emu.by_gv.get((group, version), {}).values():
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
             "verbs": rt.verbs,
             "storageVersionHash": base64.b64encode(hashlib.sha256(rt.gr.encode()).digest()[:8]).decode()}
        if rt.short:
            r["shortNames"] = rt.short
        if rt.cats:
            r["categories"] = rt.cats
        res.append(r)
        for s in rt.subs:
            g, v, k = sub_kind(rt, s)
            e = {"name": rt.plural + "/" + s, "singularName": "", "namespaced": rt.namespaced, "kind": k,
                 "verbs": sub_verbs(s)}
            if (g, v) != (rt.group, rt.version):
                e["group"], e["version"] = g, v
            res.append(e)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": version if not group else group + "/" + version, "resources": res}


def groups(emu):
    out = {}
    for rt in emu.restypes:
        if rt.group:
            out.setdefault(rt.group, [])
            if rt.version not in out[rt.group]:
                out[rt.group].append(rt.version)
    return out


def group_list(emu):
    gl = []
    for g, vs in groups(emu).items():
        vs = sorted(vs, key=lambda v: (0 if v == "v1" else 1, v))
        gl.append({"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v} for v in vs],
                   "preferredVersion": {"groupVersion": g + "/" + vs[0], "version": vs[0]}})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": gl}


def agg_version(emu, group, version):
    res = []
    for rt in emu.by_gv.get((group, version), {}).values():
        r = {"resource": rt.plural, "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
             "scope": "Namespaced" if rt.namespaced else "Cluster", "singularResource": rt.singular,
             "verbs": rt.verbs}
        if rt.short:
            r["shortNames"] = rt.short
        if rt.cats:
            r["categories"] = rt.cats
        subs = []
        for s in rt.subs:
            g, v, k = sub_kind(rt, s)
            subs.append({"subresource": s, "responseKind": {"group": g, "version": v, "kind": k},
                         "verbs": sub_verbs(s)})
        if subs:
            r["subresources"] = subs
        res.append(r)
    return {"version": version, "resources": res, "freshness": "Current"}


def aggregated(emu, core, av):
    items = []
    if core:
        items.append({"metadata": {"creationTimestamp": None}, "versions": [agg_version(emu, "", "v1")]})
    else:
        for g, vs in groups(emu).items():
            vs = sorted(vs, key=lambda v: (0 if v == "v1" else 1, v))
            items.append({"metadata": {"name": g, "creationTimestamp": None},
                          "versions": [agg_version(emu, g, v) for v in vs]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/" + av,
            "metadata": {}, "items": items}


def wants_aggregated(emu, accept):
    """the aggregated discovery version the client accepts and the emulated version serves, or None"""
    served = []
    if emu.minor >= 30:
        served.append("v2")
    if 26 <= emu.minor <= 32:
        served.append("v2beta1")
    if emu.settings.get("aggregated_discovery") is False:
        served = []
    for mt in (accept or "").split(","):
        params = dict(p.strip().split("=", 1) for p in mt.split(";")[1:] if "=" in p)
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList" \
                and params.get("v") in served:
            return params["v"]
    return None


def openapi_hash(emu, gvpath):
    return hashlib.sha256((emu.git_version + gvpath).encode()).hexdigest()[:32].upper()


def openapi_root(emu):
    paths = {}
    for (g, v) in emu.by_gv:
        p = "api/v1" if not g else "apis/%s/%s" % (g, v)
        paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, openapi_hash(emu, p))}
    return {"paths": paths}


def openapi_doc(emu, gvpath):
    """A minimal OpenAPI v3 document: one PATCH operation per kind that declares the fieldValidation
    parameter, which is what kubectl's query-param verifier looks for before it relies on server-side
    field validation (kubectl apply / create without --validate=false)."""
    m = re.match(r"^api/v1$", gvpath) or re.match(r"^apis/([^/]+)/([^/]+)$", gvpath)
    if not m:
        return None
    g, v = ("", "v1") if gvpath == "api/v1" else (m.group(1), m.group(2))
    if (g, v) not in emu.by_gv:
        return None
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    paths = {}
    for rt in emu.by_gv[(g, v)].values():
        base = "/" + gvpath + ("/namespaces/{namespace}" if rt.namespaced else "") + "/" + rt.plural + "/{name}"
        gvk = {"group": g, "version": v, "kind": rt.kind}
        paths[base] = {"patch": {"operationId": "patch" + rt.kind, "parameters": params,
                                 "responses": {"200": {"description": "OK"}},
                                 "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": emu.git_version},
            "paths": paths, "components": {"schemas": {}}}


def _pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _pb(field, value):
    """one length-delimited protobuf field (strings and embedded messages)"""
    if isinstance(value, str):
        value = value.encode()
    return _pb_varint(field << 3 | 2) + _pb_varint(len(value)) + value


def openapi_v2_proto(emu):
    """A minimal OpenAPI v2 document in gnostic's protobuf encoding (openapi.v2.Document): one PATCH
    operation per kind with the fieldValidation query parameter and x-kubernetes-group-version-kind,
    enough for kubectl 1.27/1.28's query-param verifier (they read /openapi/v2 before apply/create)."""
    paths = b""
    for (g, v), table in emu.by_gv.items():
        gvpath = "api/v1" if not g else "apis/%s/%s" % (g, v)
        for rt in table.values():
            params = b""
            for n in ("dryRun", "fieldManager", "fieldValidation", "force"):
                qp = _pb(2, "query") + _pb(4, n) + _pb(6, "string")           # QueryParameterSubSchema
                params += _pb(8, _pb(1, _pb(2, _pb(3, qp))))                  # ParametersItem.Parameter.NonBody
            gvk = "group: %s\nkind: %s\nversion: %s\n" % (json.dumps(g), rt.kind, v)
            ext = _pb(13, _pb(1, "x-kubernetes-group-version-kind") + _pb(2, _pb(2, gvk)))
            resp = _pb(9, _pb(1, _pb(1, "200") + _pb(2, _pb(1, _pb(1, "OK")))))
            op = _pb(5, "patch" + rt.kind) + params + resp + ext
            p = "/" + gvpath + ("/namespaces/{namespace}" if rt.namespaced else "") + "/" + rt.plural + "/{name}"
            paths += _pb(2, _pb(1, p) + _pb(2, _pb(8, op)))                   # NamedPathItem{name, PathItem.patch}
    return _pb(1, "2.0") + _pb(2, _pb(1, "Kubernetes") + _pb(2, emu.git_version)) + _pb(8, paths)


def openapi_v2_json(emu):
    paths = {}
    for (g, v), table in emu.by_gv.items():
        gvpath = "api/v1" if not g else "apis/%s/%s" % (g, v)
        for rt in table.values():
            p = "/" + gvpath + ("/namespaces/{namespace}" if rt.namespaced else "") + "/" + rt.plural + "/{name}"
            paths[p] = {"patch": {"operationId": "patch" + rt.kind, "responses": {"200": {"description": "OK"}},
                                  "parameters": [{"name": n, "in": "query", "type": "string"} for n in
                                                 ("dryRun", "fieldManager", "fieldValidation", "force")],
                                  "x-kubernetes-group-version-kind": {"group": g, "kind": rt.kind, "version": v}}}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": emu.git_version}, "paths": paths,
            "definitions": {}}


# ---------------------------------------------------------------------------------------------
# Table output (kubectl get)
# ---------------------------------------------------------------------------------------------

def col(name, typ="string", prio=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": name, "priority": prio}


def age(o):
    return km.human_duration(time.time() - km.parse_ts(o["metadata"].get("creationTimestamp", "")))


def pod_status_text(p):
    st = p.get("status", {})
    reason = st.get("reason") or st.get("phase", "Pending")
    for cs in st.get("containerStatuses", []) or []:
        s = cs.get("state", {})
        if s.get("waiting", {}).get("reason"):
            reason = s["waiting"]["reason"]
        elif s.get("terminated"):
            reason = s["terminated"].get("reason") or "Completed"
    if p["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def containers_images(o):
    cs = ((o.get("spec", {}).get("template") or {}).get("spec") or {}).get("containers", [])
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def svc_ports(s):
    out = []
    for p in s.get("spec", {}).get("ports", []) or []:
        t = str(p.get("port"))
        if p.get("nodePort"):
            t += ":%d" % p["nodePort"]
        out.append(t + "/" + p.get("protocol", "TCP"))
    return ",".join(out) or "<none>"


def table_def(kind):
    if kind == "Pod":
        return [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts"), col("Age"),
                col("IP", prio=1), col("Node", prio=1), col("Nominated Node", prio=1),
                col("Readiness Gates", prio=1)], lambda p: [
            p["metadata"]["name"],
            "%d/%d" % (sum(1 for c in p.get("status", {}).get("containerStatuses", []) or [] if c.get("ready")),
                       len(p.get("spec", {}).get("containers", []))),
            pod_status_text(p),
            str(sum(c.get("restartCount", 0) for c in p.get("status", {}).get("containerStatuses", []) or [])),
            age(p), p.get("status", {}).get("podIP", "<none>"), p.get("spec", {}).get("nodeName", "<none>"),
            "<none>", "<none>"]
    if kind == "Deployment":
        return [col("Name", fmt="name"), col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"),
                col("Age"), col("Containers", prio=1), col("Images", prio=1), col("Selector", prio=1)], lambda d: [
            d["metadata"]["name"], "%d/%d" % (d.get("status", {}).get("readyReplicas", 0), d["spec"].get("replicas", 1)),
            d.get("status", {}).get("updatedReplicas", 0), d.get("status", {}).get("availableReplicas", 0), age(d),
            containers_images(d)[0], containers_images(d)[1], km.selector_string(d["spec"].get("selector"))]
    if kind == "StatefulSet":
        return [col("Name", fmt="name"), col("Ready"), col("Age"), col("Containers", prio=1),
                col("Images", prio=1)], lambda s: [
            s["metadata"]["name"], "%d/%d" % (s.get("status", {}).get("readyReplicas", 0), s["spec"].get("replicas", 1)),
            age(s), containers_images(s)[0], containers_images(s)[1]]
    if kind == "ReplicaSet":
        return [col("Name", fmt="name"), col("Desired", "integer"), col("Current", "integer"),
                col("Ready", "integer"), col("Age")], lambda r: [
            r["metadata"]["name"], r["spec"].get("replicas", 1), r.get("status", {}).get("replicas", 0),
            r.get("status", {}).get("readyReplicas", 0), age(r)]
    if kind == "Service":
        return [col("Name", fmt="name"), col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"),
                col("Age"), col("Selector", prio=1)], lambda s: [
            s["metadata"]["name"], s["spec"].get("type"), s["spec"].get("clusterIP", "<none>"),
            ",".join(i.get("ip", "") for i in s.get("status", {}).get("loadBalancer", {}).get("ingress", []))
            or ("<pending>" if s["spec"].get("type") == "LoadBalancer" else "<none>"), svc_ports(s), age(s),
            ",".join("%s=%s" % kv for kv in sorted((s["spec"].get("selector") or {}).items())) or "<none>"]
    if kind == "Namespace":
        return [col("Name", fmt="name"), col("Status"), col("Age")], lambda n: [
            n["metadata"]["name"], n.get("status", {}).get("phase", "Active"), age(n)]
    if kind == "PersistentVolumeClaim":
        return [col("Name", fmt="name"), col("Status"), col("Volume"), col("Capacity"), col("Access Modes"),
                col("StorageClass"), col("Age")], lambda c: [
            c["metadata"]["name"], c.get("status", {}).get("phase", "Pending"), c["spec"].get("volumeName", ""),
            c.get("status", {}).get("capacity", {}).get("storage", ""),
            ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                      "ReadWriteOncePod": "RWOP"}.get(m, m) for m in c.get("status", {}).get("accessModes", [])),
            c["spec"].get("storageClassName", "<unset>"), age(c)]
    if kind == "ConfigMap":
        return [col("Name", fmt="name"), col("Data", "integer"), col("Age")], lambda c: [
            c["metadata"]["name"], len(c.get("data", {}) or {}) + len(c.get("binaryData", {}) or {}), age(c)]
    if kind == "Secret":
        return [col("Name", fmt="name"), col("Type"), col("Data", "integer"), col("Age")], lambda c: [
            c["metadata"]["name"], c.get("type", "Opaque"), len(c.get("data", {}) or {}), age(c)]
    if kind == "Job":
        return [col("Name", fmt="name"), col("Completions"), col("Duration"), col("Age")], lambda j: [
            j["metadata"]["name"], "%d/%d" % (j.get("status", {}).get("succeeded", 0), j["spec"].get("completions", 1)),
            km.human_duration(km.parse_ts(j.get("status", {}).get("completionTime", km.now_ts())) -
                              km.parse_ts(j.get("status", {}).get("startTime", km.now_ts()))), age(j)]
    if kind == "Event":
        def ago(ts):
            return km.human_duration(time.time() - km.parse_ts(ts)) if ts else "<unknown>"
        return [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Subobject", prio=1),
                col("Source", prio=1), col("Message"), col("First Seen", prio=1), col("Count", "integer", prio=1),
                col("Name", fmt="name", prio=1)], lambda e: [
            ago(e.get("lastTimestamp")), e.get("type", ""), e.get("reason", ""),
            "%s/%s" % (e["involvedObject"].get("kind", "").lower(), e["involvedObject"].get("name", "")),
            e["involvedObject"].get("fieldPath", ""),
            ", ".join(x for x in (e.get("source", {}).get("component", ""), e.get("source", {}).get("host", "")) if x),
            e.get("message", ""), ago(e.get("firstTimestamp")), e.get("count", 1), e["metadata"]["name"]]
    if kind == "Node":
        return [col("Name", fmt="name"), col("Status"), col("Roles"), col("Age"), col("Version")], lambda n: [
            n["metadata"]["name"], emu_capacity.node_status(n), emu_capacity.node_roles(n), age(n),
            ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]
    return [col("Name", fmt="name"), col("Age")], lambda o: [o["metadata"]["name"], age(o)]


def row_object(o, include):
    if include == "None":
        return None
    if include == "Object":
        return o
    md = {k: v for k, v in o["metadata"].items()}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}


def make_table(rt, objs, include, rv, defs=True, cont=None):
    cols, fn = table_def(rt.kind)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(rv)},
         "columnDefinitions": cols if defs else [], "rows": []}
    if cont:
        t["metadata"]["continue"] = cont
    for o in objs:
        r = {"cells": fn(o)}
        ro = row_object(o, include)
        if ro is not None:
            r["object"] = ro
        t["rows"].append(r)
    return t


def wants_table(accept):
    return "as=Table" in (accept or "")


# ---------------------------------------------------------------------------------------------
# WebSocket framing
# ---------------------------------------------------------------------------------------------

def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = bytes([0x80 | opcode, n])
    elif n < 65536:
        hdr = bytes([0x80 | opcode, 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([0x80 | opcode, 127]) + struct.pack(">Q", n)
    return hdr + payload


def ws_parse(buf):
    """-> (fin, opcode, payload, consumed) or None when incomplete"""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7f
    off = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack(">H", buf[2:4])[0]
        off = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack(">Q", buf[2:10])[0]
        off = 10
    mask = None
    if b1 & 0x80:
        if len(buf) < off + 4:
            return None
        mask = buf[off:off + 4]
        off += 4
    if len(buf) < off + n:
        return None
    data = bytes(buf[off:off + n])
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return bool(b0 & 0x80), b0 & 0x0f, data, off + n


# ---------------------------------------------------------------------------------------------
# request handler
# ---------------------------------------------------------------------------------------------

class Reset(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-emulator"
    sys_version = ""
    timeout = 300
    emu = None
    disable_nagle_algorithm = True

    def setup(self):
        self.request.settimeout(10)
        self.request.do_handshake()
        super().setup()

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # --------------------------------------------------------------- plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_raw(self, code, body, ctype="application/json", headers=None):
        self.resp_code = code
        hs = ["HTTP/1.1 %d %s" % (code, http.server.BaseHTTPRequestHandler.responses.get(code, ("",))[0]),
              "Content-Type: " + ctype, "Content-Length: %d" % len(body),
              "Cache-Control: no-cache, private", "Date: " + self.date_time_string(),
              "Audit-Id: %s" % self.audit_id]
        for k, v in (headers or {}).items():
            hs.append("%s: %s" % (k, v))
        if self.close_connection:
            hs.append("Connection: close")
        data = ("\r\n".join(hs) + "\r\n\r\n").encode()
        self.wfile.write(data + (body if self.command != "HEAD" else b""))

    def send_json(self, code, obj, ctype="application/json", headers=None):
        self.send_raw(code, json.dumps(obj, separators=(",", ":")).encode(), ctype, headers)

    def send_error_status(self, err):
        self.send_json(err.code, err.status(), headers=err.headers)

    def reset_connection(self):
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass
        self.close_connection = True
        self.resp_code = 0

    # --------------------------------------------------------------- dispatch
    def dispatch(self):
        emu = self.emu
        LAST_ACTIVITY[0] = time.time()
        t0 = time.time()
        self.resp_code = 0
        self.audit_id = "%016x" % int.from_bytes(os.urandom(8), "big")
        self.exec_cut = None
        self.endless_continue = self.exec_flood = None
        self.user, self.auth = None, "anonymous"
        self.ws_protocol = ""
        try:
            body = self.read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        u = urllib.parse.urlsplit(self.path)
        path = u.path.rstrip("/") or "/"
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        try:
            try:
                self.apply_faults()
                self.authenticate()
                self.route(path, q, body)
            except ApiError as e:
                self.send_error_status(e)
            except emu_faults.Serve as sv:
                emu_faults.serve(self, sv.rule)
        except Reset:
            self.reset_connection()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:
            import traceback
            traceback.print_exc()
            try:
                self.send_error_status(ApiError(500, "InternalError", "Internal error occurred: %s" % e,
                                                {"causes": [{"message": str(e)}]}))
            except OSError:
                self.close_connection = True
        with emu.reqlock:
            emu.reqlog.append({"seq": next(emu.reqseq), "time": t0, "method": self.command, "path": u.path,
                               "query": u.query, "user": self.user, "auth": self.auth, "status": self.resp_code,
                               "user_agent": self.headers.get("User-Agent", ""),
                               "accept": self.headers.get("Accept", ""),
                               "content_type": self.headers.get("Content-Type", ""),
                               "upgrade": self.headers.get("Upgrade", ""),
                               "ws_protocol": getattr(self, "ws_protocol", ""),
                               "duration_ms": round((time.time() - t0) * 1000, 2)})
            if len(emu.reqlog) > 200000:
                del emu.reqlog[:100000]

    def apply_faults(self):
        emu = self.emu
        chosen = []
        with emu.lock:
            for f in list(emu.faults):
                if f.get("method") and f["method"].upper() != self.command:
                    continue
                if f.get("path_regex") and not re.search(f["path_regex"], self.path):
                    continue
                if f["action"] in ("exec-cut", "exec-flood") and "/exec" not in self.path:
                    continue
                chosen.append(dict(f))
                f["hits"] = f.get("hits", 0) + 1
                if f.get("times"):
                    f["times"] -= 1
                    if f["times"] <= 0:
                        emu.faults.remove(f)
        for f in chosen:
            if f.get("latency_ms"):
                time.sleep(f["latency_ms"] / 1000.0)
            a = f["action"]
            if a == "reset":
                raise Reset()
            if a == "exec-cut":
                self.exec_cut = f
            if a in emu_faults.SERVE_ACTIONS:
                raise emu_faults.Serve(f)
            if a == "endless-continue":
                self.endless_continue = f
            if a == "exec-flood":
                self.exec_flood = f
            if a == "delete-pod":
                self.delete_target_pod()
            if a == "status":
                code = int(f.get("status", 500))
                reason = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                          504: "Timeout", 502: "InternalError", 409: "Conflict", 404: "NotFound",
                          403: "Forbidden", 401: "Unauthorized", 410: "Expired"}.get(code, "InternalError")
                msg = f.get("message") or {429: "Too many requests, please try again later.",
                                           503: "the server is currently unable to handle the request",
                                           500: "Internal error occurred: injected fault"}.get(code, "injected fault")
                hdr = {}
                det = None
                if code == 429 or f.get("retry_after") is not None:
                    ra = int(f.get("retry_after", 1))
                    hdr["Retry-After"] = str(ra)
                    det = {"retryAfterSeconds": ra}
                raise ApiError(code, reason, msg, det, hdr)

    def delete_target_pod(self):
        """Fault action delete-pod: the pod the request names (.../namespaces/NS/pods/NAME[/sub]) is
        deleted at once (grace period 0, as `kubectl delete pod --force`), so its controller
        replaces it; the request then goes on against a pod that no longer exists."""
        m = re.search(r"/api/v1/namespaces/([^/]+)/pods/([^/?]+)", self.path)
        if not m:
            return
        emu = self.emu
        with emu.lock:
            try:
                emu.op_delete(emu.rt("", "pods"), m.group(1), m.group(2), {"gracePeriodSeconds": 0}, False)
            except km.ApiError:
                pass

    def authenticate(self):
        emu = self.emu
        try:
            cert = self.connection.getpeercert()
        except (ValueError, OSError):
            cert = None
        if cert:
            subj = {}
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    subj.setdefault(k, []).append(v)
            self.user = subj.get("commonName", [""])[0]
            self.groups = subj.get("organizationName", [])
            self.auth = "x509"
            return
        a = self.headers.get("Authorization", "")
        if a[:7].lower() == "bearer ":
            tok = a[7:].strip()
            if tok in emu.tokens:
                self.user, self.groups, self.auth = emu.tokens[tok], ["system:authenticated"], "token"
                return
            self.auth = "bad-token"
            raise ApiError(401, "Unauthorized", "Unauthorized")
        self.user, self.auth = "system:anonymous", "anonymous"

    def authorize(self, verb, rt, ns, name, sub):
        for d in self.emu.denials:
            res = rt.plural + ("/" + sub if sub else "")
            if d.get("user") not in (None, "*", self.user):
                continue
            if d.get("verb") not in (None, "*", verb):
                continue
            if d.get("resource") not in (None, "*", res, rt.plural if not sub else None):
                continue
            if d.get("api_group") not in (None, "*", rt.group):
                continue
            if d.get("namespace") not in (None, "*", ns or ""):
                continue
            if d.get("name") not in (None, "*", name):
                continue
            msg = km.forbidden_msg(rt.plural, rt.group, name, self.user, verb, ns, sub)
            det = {"kind": rt.plural}
            if name:
                det["name"] = name
            if rt.group:
                det["group"] = rt.group
            raise ApiError(403, "Forbidden", msg, det)

    # --------------------------------------------------------------- routing
    def route(self, path, q, body):
        emu = self.emu
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_raw(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send_json(200, {"major": str(emu.major), "minor": str(emu.minor),
                                        "gitVersion": emu.git_version, "gitCommit": "0" * 40,
                                        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                                        "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64"})
        if self.auth == "anonymous":
            raise ApiError(401, "Unauthorized", "Unauthorized")
        accept = self.headers.get("Accept", "")
        if path in ("/api", "/apis"):
            av = wants_aggregated(emu, accept)
            if av:
                with emu.lock:
                    doc = aggregated(emu, path == "/api", av)
                return self.send_json(200, doc, "application/json;g=apidiscovery.k8s.io;v=%s;"
                                                "as=APIGroupDiscoveryList" % av)
            if path == "/api":
                host = self.connection.getsockname()
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                            "serverAddress": "%s:%d" % host[:2]}]})
            return self.send_json(200, group_list(emu))
        if path == "/openapi/v2":
            with emu.lock:
                if "protobuf" in accept:
                    return self.send_raw(200, openapi_v2_proto(emu),
                                         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
                return self.send_json(200, openapi_v2_json(emu))
        if path == "/openapi/v3":
            return self.send_json(200, openapi_root(emu))
        if path.startswith("/openapi/v3/"):
            doc = openapi_doc(emu, path[len("/openapi/v3/"):])
            if doc is None:
                raise km.path_not_found()
            return self.send_json(200, doc)
        m = re.match(r"^/api/(v1)(/.*)?$", path)
        g = ""
        if m:
            v, rest = m.group(1), m.group(2) or ""
        else:
            m = re.match(r"^/apis/([^/]+)/([^/]+)(/.*)?$", path)
            if not m:
                raise km.path_not_found()
            g, v, rest = m.group(1), m.group(2), m.group(3) or ""
        if (g, v) not in emu.by_gv:
            raise km.path_not_found()
        if not rest:
            return self.send_json(200, resource_list(emu, g, v))
        parts = [urllib.parse.unquote(p) for p in rest.split("/") if p]
        table = emu.by_gv[(g, v)]
        ns = None
        if len(parts) >= 3 and parts[0] == "namespaces" and parts[2] in table and table[parts[2]].namespaced:
            ns = parts[1]
            parts = parts[2:]
        if len(parts) > 3 or parts[0] not in table:
            raise km.path_not_found()
        rt = table[parts[0]]
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        if sub and sub not in rt.subs:
            raise km.path_not_found()
        if (rt.namespaced and ns is None and name) or (not rt.namespaced and ns is not None):
            raise km.path_not_found()
        return self.resource(rt, ns, name, sub, q, body)

    def resource(self, rt, ns, name, sub, q, body):
        emu = self.emu
        meth = self.command
        watch = q1(q, "watch", "") in ("1", "true", "True")
        if meth in ("GET", "HEAD"):
            verb = "get" if name else ("watch" if watch else "list")
        elif meth == "POST":
            verb = "create"
        elif meth == "PUT":
            verb = "update"
        elif meth == "PATCH":
            verb = "patch"
        else:
            verb = "delete" if name else "deletecollection"
        if sub in ("exec", "attach", "portforward"):
            verb = "create" if meth in ("GET", "POST") else verb
        if not name and meth in ("PUT", "PATCH"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if name and meth == "POST" and sub not in ("exec", "attach", "portforward", "eviction", "binding", "token"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.authorize(verb, rt, ns, name, sub)
        dry = "All" in q.get("dryRun", [])
        mgr = q1(q, "fieldManager") or self.headers.get("User-Agent", "unknown").split("/")[0] or "unknown"
        if sub == "exec":
            return self.handle_exec(rt, ns, name, q)
        if sub in ("attach", "portforward", "proxy", "eviction", "binding", "token", "finalize"):
            raise ApiError(405, "MethodNotAllowed", "the emulator does not implement %s/%s" % (rt.plural, sub))
        if sub == "log":
            return self.handle_log(ns, name, q)
        if sub == "scale":
            return self.handle_scale(rt, ns, name, body, mgr, dry)
        if meth in ("GET", "HEAD") and not name:
            if watch:
                return self.handle_watch(rt, ns, q)
            return self.handle_list(rt, ns, q)
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        with emu.lock:
            if meth in ("GET", "HEAD"):
                e = emu.get(rt, ns, name)
                if e is None:
                    raise km.not_found(rt, name)
                if wants_table(self.headers.get("Accept")) and not sub:
                    return self.send_json(200, make_table(rt, [e.obj], q1(q, "includeObject", "Metadata"),
                                                          e.obj["metadata"]["resourceVersion"]))
                return self.send_json(200, e.obj)
            if meth == "DELETE" and not name:
                return self.delete_collection(rt, ns, q, body, dry)
            if meth == "DELETE":
                opts = self.json_body(body) if body else {}
                if not isinstance(opts, dict):
                    opts = {}
                for k in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
                    if q1(q, k) is not None:
                        opts[k] = q1(q, k) if k == "propagationPolicy" else (
                            int(q1(q, k)) if k == "gracePeriodSeconds" else q1(q, k) == "true")
                dry = dry or "All" in (opts.get("dryRun") or [])
                code, obj = emu.op_delete(rt, ns, name, opts, dry)
                return self.send_json(code, obj)
            if meth == "PATCH":
                code, obj = emu.op_patch(rt, ns, name, body, ctype, {k: v[0] for k, v in q.items()}, mgr, dry, sub)
                return self.send_json(code, obj)
            if ctype not in ("application/json", "*/*", ""):
                raise ApiError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                               'accepted media types include: application/json, application/yaml, '
                               'application/vnd.kubernetes.protobuf')
            obj = self.json_body(body)
            if meth == "POST":
                code, out = emu.op_create(rt, ns or "", obj, mgr, dry)
            else:
                code, out = emu.op_update(rt, ns or "", name, obj, mgr, dry, sub)
            return self.send_json(code, out)

    def json_body(self, body):
        try:
            return json.loads(body or b"null")
        except ValueError as e:
            raise km.bad_request("couldn't get version/kind; json parse error: %s" % e)

    def filtered(self, rt, ns, q):
        emu = self.emu
        ls = km.parse_label_selector(q1(q, "labelSelector", ""))
        fs = km.parse_field_selector(q1(q, "fieldSelector", ""), rt)
        return [o for o in emu.list_objs(rt, ns) if km.labels_match(ls, o["metadata"].get("labels"))
                and km.fields_match(fs, o)], ls, fs

    def handle_list(self, rt, ns, q):
        emu = self.emu
        with emu.lock:
            items, _, _ = self.filtered(rt, ns, q)
            rv = emu.rv
        limit = int(q1(q, "limit", "0") or 0)
        cont = q1(q, "continue")
        start = 0
        if cont and self.endless_continue is None:
            try:
                c = json.loads(base64.urlsafe_b64decode(cont + "=="))
                start = c["start"]
                rv = c["rv"] if c["rv"] <= rv else rv
            except Exception:
                raise ApiError(400, "BadRequest", "continue key is not valid: illegal base64 data")
        nxt = None
        remaining = None
        if limit and start + limit < len(items):
            nxt = base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": start + limit}).encode()).decode().rstrip("=")
            remaining = len(items) - start - limit
        items = items[start:start + limit] if limit else items[start:]
        if wants_table(self.headers.get("Accept")):
            return self.send_json(200, make_table(rt, items, q1(q, "includeObject", "Metadata"), rv, True, nxt))
        md = {"resourceVersion": str(rv)}
        if self.endless_continue is not None:
            nxt, remaining = emu_faults.next_continue(self.endless_continue), 1
        if nxt:
            md["continue"] = nxt
            md["remainingItemCount"] = remaining
        out = []
        for o in items:
            o = dict(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            out.append(o)
        self.send_json(200, {"kind": rt.kind + "List", "apiVersion": rt.api_version, "metadata": md, "items": out})

    def delete_collection(self, rt, ns, q, body, dry):
        emu = self.emu
        items, _, _ = self.filtered(rt, ns, q)
        opts = self.json_body(body) if body else {}
        if not isinstance(opts, dict):
            opts = {}
        deleted = []
        for o in items:
            try:
                emu.op_delete(rt, o["metadata"].get("namespace", ""), o["metadata"]["name"], opts, dry)
                deleted.append(o)
            except ApiError:
                pass
        out = [dict(o) for o in deleted]
        self.send_json(200, {"kind": rt.kind + "List", "apiVersion": rt.api_version,
                             "metadata": {"resourceVersion": str(emu.rv)}, "items": out})

    def handle_scale(self, rt, ns, name, body, mgr, dry):
        emu = self.emu
        with emu.lock:
            e = emu.get(rt, ns, name)
            if e is None:
                raise km.not_found(rt, name)
            o = e.obj

            def scale_of(o):
                sel = o["spec"].get("selector")
                return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                        "metadata": {k: o["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                                    "creationTimestamp") if k in o["metadata"]},
                        "spec": {"replicas": o["spec"].get("replicas", 1)},
                        "status": {"replicas": o.get("status", {}).get("replicas", 0),
                                   "selector": km.selector_string(sel)}}
            if self.command in ("GET", "HEAD"):
                return self.send_json(200, scale_of(o))
            if self.command == "PUT":
                sc = self.json_body(body)
            elif self.command == "PATCH":
                ct = (self.headers.get("Content-Type") or "").split(";")[0]
                p = self.json_body(body)
                sc = km.json_patch(scale_of(o), p) if ct == "application/json-patch+json" else \
                    km.merge_patch(scale_of(o), p)
            else:
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                        "resource")
            rv = (sc.get("metadata") or {}).get("resourceVersion")
            if rv and rv != o["metadata"]["resourceVersion"]:
                raise km.conflict(rt, name)
            n = copy.deepcopy(o)
            n["spec"]["replicas"] = int((sc.get("spec") or {}).get("replicas", 0))
            n["metadata"].pop("managedFields", None)
            n["metadata"].pop("resourceVersion", None)
            code, out = emu.op_update(rt, ns, name, n, mgr, dry)
            return self.send_json(200, scale_of(out))

    def handle_log(self, ns, name, q):
        emu = self.emu
        with emu.lock:
            e = emu.get(emu.rt("", "pods"), ns, name)
            if e is None:
                raise km.not_found(emu.rt("", "pods"), name)
            pod = e.obj
            names = [c["name"] for c in pod["spec"].get("containers", [])]
            c = q1(q, "container")
            if not c:
                if len(names) != 1:
                    raise km.bad_request("a container name must be specified for pod %s, choose one of: [%s]"
                                         % (name, " ".join(names)))
                c = names[0]
            if c not in names + [x["name"] for x in pod["spec"].get("initContainers", []) or []]:
                raise km.bad_request("container %s is not valid for pod %s" % (c, name))
            cs = next((s for s in pod.get("status", {}).get("containerStatuses", []) if s["name"] == c), None)
            st = (cs or {}).get("state", {})
            if cs is None or ("waiting" in st and st["waiting"].get("reason") in ("ContainerCreating",
                                                                                  "PodInitializing")):
                raise km.bad_request('container "%s" in pod "%s" is waiting to start: %s' % (
                    c, name, (st.get("waiting") or {}).get("reason", "ContainerCreating")))
            if "waiting" in st and st["waiting"].get("reason") in ("ImagePullBackOff", "ErrImagePull"):
                raise km.bad_request('container "%s" in pod "%s" is waiting to start: trying and failing to '
                                     'pull image' % (c, name))
            text = emu.pod_log(pod, c, q1(q, "previous") == "true")
        tl = q1(q, "tailLines")
        if tl is not None:
            text = tail_lines(text, int(tl))
        lb = q1(q, "limitBytes")
        data = text.encode()
        if lb:
            data = data[:int(lb)]
        self.send_raw(200, data, "text/plain")

    # --------------------------------------------------------------- watch
    def handle_watch(self, rt, ns, q):
        emu = self.emu
        as_table = wants_table(self.headers.get("Accept"))
        include = q1(q, "includeObject", "Metadata")
        timeout = float(q1(q, "timeoutSeconds", "0") or 0) or 1800.0
        deadline = time.time() + timeout
        rv = q1(q, "resourceVersion", "")
        ls = km.parse_label_selector(q1(q, "labelSelector", ""))
        fs = km.parse_field_selector(q1(q, "fieldSelector", ""), rt)
        bookmarks = q1(q, "allowWatchBookmarks") == "true"

        def match(o):
            return o is not None and (not ns or o["metadata"].get("namespace") == ns) and \
                km.labels_match(ls, o["metadata"].get("labels")) and km.fields_match(fs, o)

        initial = []
        gone = False
        with emu.lock:
            if rv in ("", "0"):
                initial = [o for o in emu.list_objs(rt, ns) if match(o)]
                pos = emu.rv
            else:
                try:
                    pos = int(rv)
                except ValueError:
                    raise km.bad_request('invalid resource version "%s"' % rv)
                if pos < emu.ev_base - 1:
                    gone = True
        self.resp_code = 200
        hs = ["HTTP/1.1 200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked",
              "Cache-Control: no-cache, private", "Date: " + self.date_time_string(), "Audit-Id: " + self.audit_id]
        self.wfile.write(("\r\n".join(hs) + "\r\n\r\n").encode())
        first = [True]

        def send(etype, o):
            if as_table and etype != "ERROR" and etype != "BOOKMARK":
                o = make_table(rt, [o], include, o["metadata"]["resourceVersion"], first[0])
                first[0] = False
            data = json.dumps({"type": etype, "object": o}, separators=(",", ":")).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        if gone:
            send("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": "too old resource version: %s (%d)" % (rv, emu.ev_base - 1),
                           "reason": "Expired", "code": 410})
            self.wfile.write(b"0\r\n\r\n")
            return
        for o in initial:
            send("ADDED", o)
        sock = self.connection
        last_bm = time.time()
        while time.time() < deadline:
            with emu.cond:
                if emu.rv <= pos:
                    emu.cond.wait(min(1.0, max(0.01, deadline - time.time())))
                if pos < emu.ev_base - 1:
                    evs = None
                else:
                    evs = emu.events[pos - emu.ev_base + 1:]
                    pos = emu.rv
            if evs is None:
                send("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "too old resource version", "reason": "Expired", "code": 410})
                break
            for (erv, etype, key, o, prev) in evs:
                if key != rt.key:
                    continue
                now_m, was_m = match(o), match(prev)
                if etype == "DELETED":
                    if now_m or was_m:
                        send("DELETED", o)
                elif now_m:
                    send("ADDED" if etype == "ADDED" or not was_m else "MODIFIED", o)
                elif was_m:
                    send("DELETED", o)
            if bookmarks and time.time() - last_bm > 10:
                send("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version,
                                  "metadata": {"resourceVersion": str(pos)}})
                last_bm = time.time()
            if not evs:
                r, _, _ = select.select([sock], [], [], 0)
                if r:
                    try:
                        sock.settimeout(0.01)
                        d = sock.recv(1024)
                        if not d:
                            self.close_connection = True
                            return
                    except (ssl.SSLWantReadError, socket.timeout, BlockingIOError):
                        pass
                    except OSError:
                        self.close_connection = True
                        return
                    finally:
                        try:
                            sock.settimeout(self.timeout)
                        except OSError:
                            pass
        self.wfile.write(b"0\r\n\r\n")

    # --------------------------------------------------------------- exec
    def handle_exec(self, rt, ns, name, q):
        emu = self.emu
        with emu.lock:
            e = emu.get(rt, ns, name)
            if e is None:
                raise km.not_found(rt, name)
            pod = e.obj
            names = [c["name"] for c in pod["spec"].get("containers", [])]
            c = q1(q, "container")
            if not c:
                if len(names) != 1:
                    raise km.bad_request("a container name must be specified for pod %s, choose one of: [%s]"
                                         % (name, " ".join(names)))
                c = names[0]
            if c not in names:
                raise km.bad_request("container %s is not valid for pod %s" % (c, name))
            cs = next((s for s in pod.get("status", {}).get("containerStatuses", []) if s["name"] == c), None)
            if pod["status"].get("phase") in ("Succeeded", "Failed"):
                raise km.bad_request("cannot exec into a container in a completed pod; current phase is %s"
                                     % pod["status"]["phase"])
            if cs is None or "running" not in cs.get("state", {}):
                raise km.bad_request('unable to upgrade connection: container not found ("%s")' % c)
            image = next(x.get("image", "") for x in pod["spec"]["containers"] if x["name"] == c)
            cmd = q.get("command", [])
            if not cmd:
                raise km.bad_request("you must specify at least 1 command")
            mapping = None
            for mp in reversed(emu.exec_maps):
                if re.search(mp.get("image_regex", mp.get("image-regex", "")), image) and \
                        (not mp.get("container") or mp["container"] == c):
                    mapping = mp
                    break
        upgrade = self.headers.get("Upgrade", "").lower()
        if upgrade != "websocket":
            raise ApiError(400, "BadRequest", "Upgrade request required: the emulator serves exec over WebSocket "
                                              "(v5.channel.k8s.io, v4.channel.k8s.io) only, not %s"
                           % (self.headers.get("Upgrade") or "plain HTTP"))
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        supported = (["v5.channel.k8s.io"] if emu.minor >= 30 else []) + ["v4.channel.k8s.io"]
        proto = next((p for p in offered if p in supported), None)
        if proto is None:
            raise ApiError(400, "BadRequest", "unable to upgrade connection: no supported subprotocol in %s; "
                                              "supported: %s" % (offered, supported))
        self.ws_protocol = proto
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.resp_code = 101
        self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n" % (accept, proto)).encode())
        self.close_connection = True
        self.run_exec(ns, name, c, image, cmd, mapping, proto, q)

    def run_exec(self, ns, pod, container, image, cmd, mapping, proto, q):
        emu = self.emu
        sock = self.connection
        want_stdin = (q1(q, "stdin") or "").lower() in ("true", "1")
        poddir = os.path.join(emu.dir, "pods", ns, pod, container)
        os.makedirs(poddir, exist_ok=True)
        env = dict(os.environ)
        env.update({"EMULATOR_NAMESPACE": ns, "EMULATOR_POD": pod, "EMULATOR_CONTAINER": container,
                    "EMULATOR_IMAGE": image, "EMULATOR_POD_DIR": poddir, "EMULATOR_DIR": emu.dir})
        argv = list(cmd)
        cwd = poddir
        if mapping:
            argv = list(mapping.get("wrapper", [])) + argv
            env.update({k: str(v) for k, v in (mapping.get("env") or {}).items()})
            cwd = mapping.get("cwd") or poddir

        def send(opcode, payload):
            sock.sendall(ws_frame(opcode, payload))

        def status_frame(st):
            send(2, b"\x03" + json.dumps(st, separators=(",", ":")).encode())

        if self.exec_flood is not None:
            return emu_faults.flood(self, send, self.exec_flood)

        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if want_stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
        except OSError as ex:
            msg = ('Internal error occurred: error executing command in container: failed to exec in container: '
                   'failed to start exec: OCI runtime exec failed: exec failed: unable to start container process: '
                   'exec: "%s": %s: unknown' % (cmd[0], "executable file not found in $PATH"
                                                if isinstance(ex, FileNotFoundError) else ex.strerror))
            try:
                status_frame({"metadata": {}, "status": "Failure", "message": msg, "reason": "InternalError",
                              "details": {"causes": [{"message": msg}]}, "code": 500})
                send(8, struct.pack(">H", 1000))
            except OSError:
                pass
            return
        with CHILD_LOCK:
            CHILDREN.add(proc)
        stdin_q = []
        stdin_cv = threading.Condition()

        def stdin_pump():
            while True:
                with stdin_cv:
                    while not stdin_q:
                        stdin_cv.wait()
                    d = stdin_q.pop(0)
                try:
                    if d is None:
                        proc.stdin.close()
                        return
                    proc.stdin.write(d)
                    proc.stdin.flush()
                except (OSError, ValueError):
                    return

        def feed(d):
            with stdin_cv:
                stdin_q.append(d)
                stdin_cv.notify()

        if want_stdin:
            threading.Thread(target=stdin_pump, daemon=True).start()
        fds = {proc.stdout.fileno(): 1, proc.stderr.fileno(): 2}
        inbuf = b""
        frag = b""
        sent = 0
        cut = self.exec_cut
        client_gone = False
        try:
            while fds or proc.poll() is None:
                if sock.pending():
                    ready = [sock]
                else:
                    ready, _, _ = select.select(list(fds) + [sock], [], [], 0.5)
                for fd in ready:
                    if fd is sock:
                        try:
                            d = sock.recv(65536)
                        except (ssl.SSLWantReadError, socket.timeout):
                            continue
                        if not d:
                            client_gone = True
                            break
                        inbuf += d
                        while True:
                            fr = ws_parse(inbuf)
                            if fr is None:
                                break
                            fin, op, payload, used = fr
                            inbuf = inbuf[used:]
                            if op == 8:
                                client_gone = True
                                break
                            if op == 9:
                                send(10, payload)
                                continue
                            if op in (0, 1, 2):
                                frag += payload
                                if not fin:
                                    continue
                                payload, frag = frag, b""
                                if not payload:
                                    continue
                                ch, data = payload[0], payload[1:]
                                if op == 1 and proto == "base64.channel.k8s.io":
                                    ch, data = ord("0") - 48 + ch - 48, base64.b64decode(data)
                                if ch == 0 and want_stdin and data:
                                    feed(data)
                                elif ch == 255 and data[:1] == b"\x00" and want_stdin:
                                    feed(None)
                        if client_gone:
                            break
                    else:
                        d = os.read(fd, 65536)
                        if not d:
                            del fds[fd]
                            continue
                        if cut is not None and sent + len(d) > int(cut.get("after_bytes", 0)):
                            keep = max(0, int(cut.get("after_bytes", 0)) - sent)
                            if keep:
                                send(2, bytes([fds[fd]]) + d[:keep])
                            raise Reset()
                        send(2, bytes([fds[fd]]) + d)
                        sent += len(d)
                if client_gone:
                    break
                if not fds and proc.poll() is None:
                    try:
                        proc.wait(0.05)
                    except subprocess.TimeoutExpired:
                        pass
            if client_gone:
                proc.kill()
                proc.wait()
                try:
                    send(8, struct.pack(">H", 1000))
                except OSError:
                    pass
                return
            rc = proc.wait()
            if rc < 0:
                rc = 128 - rc
            if cut is not None:
                raise Reset()
            if rc == 0:
                status_frame({"metadata": {}, "status": "Success"})
            else:
                status_frame({"metadata": {}, "status": "Failure",
                              "message": "command terminated with non-zero exit code: error executing command "
                                         "[%s], exit code %d" % (" ".join(cmd), rc),
                              "reason": "NonZeroExitCode",
                              "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}})
            send(8, struct.pack(">H", 1000))
            # wait briefly for the client's close frame
            end = time.time() + 1.0
            while time.time() < end:
                r, _, _ = select.select([sock], [], [], max(0, end - time.time()))
                if not r and not sock.pending():
                    break
                try:
                    d = sock.recv(65536)
                except (ssl.SSLWantReadError, socket.timeout):
                    continue
                except OSError:
                    break
                if not d:
                    break
                inbuf += d
                fr = ws_parse(inbuf)
                if fr and fr[1] == 8:
                    break
        except Reset:
            proc.kill()
            raise
        except OSError:
            proc.kill()
        finally:
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
            with CHILD_LOCK:
                CHILDREN.discard(proc)
            for f in (proc.stdout, proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass
            if want_stdin:
                feed(None)


def tail_lines(text, n):
    lines = text.splitlines(True)
    return "".join(lines[-n:]) if n > 0 else ""


# ---------------------------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------------------------

class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass


class AdminHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emu = None

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj, indent=1).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.handle_admin()

    do_POST = do_PUT = do_DELETE = do_GET

    def handle_admin(self):
        emu = self.emu
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        p = u.path.rstrip("/")
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            return self.reply(400, {"error": "bad JSON: %s" % e})
        m = self.command
        lists = {"/faults": "faults", "/rbac/deny": "denials", "/pod-failures": "pod_failures",
                 "/pod-logs": "pod_logs", "/exec-maps": "exec_maps"}
        try:
            if p in ("", "/healthz"):
                return self.reply(200, {"ok": True, "pid": os.getpid()})
            if p == "/state":
                with emu.lock:
                    return self.reply(200, {"version": emu.git_version, "timings": emu.settings["timings"],
                                            "faults": emu.faults, "denials": emu.denials,
                                            "pod_failures": emu.pod_failures, "pod_logs": emu.pod_logs,
                                            "exec_maps": emu.exec_maps, "tokens": emu.tokens,
                                            "aggregated_discovery": emu.settings.get("aggregated_discovery", True),
                                            "resourceVersion": emu.rv,
                                            "objects": {("%s/%s" % k).lstrip("/"): len(t) for k, t in emu.objs.items()}})
            if p == "/reset" and m == "POST":
                emu.reset()
                return self.reply(200, {"ok": True})
            if p == "/version" and m in ("POST", "PUT"):
                with emu.lock:
                    emu.set_version(body["version"])
                return self.reply(200, {"gitVersion": emu.git_version})
            if p == "/timings" and m in ("POST", "PUT"):
                with emu.lock:
                    for k, v in body.items():
                        if k not in emu.settings["timings"]:
                            return self.reply(400, {"error": "unknown timing %s" % k,
                                                    "known": sorted(emu.settings["timings"])})
                        emu.settings["timings"][k] = float(v)
                return self.reply(200, emu.settings["timings"])
            if p == "/settings" and m in ("POST", "PUT"):
                with emu.lock:
                    if "aggregated_discovery" in body:
                        emu.settings["aggregated_discovery"] = bool(body["aggregated_discovery"])
                return self.reply(200, {"ok": True})
            if p == "/nodes":
                return self.reply(*emu_capacity.admin_nodes(emu, m, body))
            if p == "/storage-classes" and m == "POST":
                with emu.lock:
                    emu.add_storage_class(body["name"], bool(body.get("default")))
                    if body.get("default"):
                        emu.sc_default = body["name"]
                return self.reply(200, {"ok": True})
            if p == "/tokens" and m == "POST":
                with emu.lock:
                    if body.get("user"):
                        emu.tokens[body["token"]] = body["user"]
                    else:
                        emu.tokens.pop(body["token"], None)
                return self.reply(200, {"ok": True})
            if p in lists:
                key = lists[p]
                with emu.lock:
                    cur = getattr(emu, key)
                    if m == "GET":
                        return self.reply(200, cur)
                    if m == "DELETE":
                        setattr(emu, key, [x for x in cur if key == "exec_maps" and x.get("builtin")])
                    elif m == "POST":
                        rules = body if isinstance(body, list) else [body]
                        for r in rules:
                            if key == "faults":
                                known = ("latency", "status", "reset", "exec-cut", "delete-pod") + emu_faults.ACTIONS
                                if r.get("action") not in known:
                                    return self.reply(400, {"error": "action must be " + "|".join(known)})
                                if r["action"] == "latency" and not r.get("latency_ms"):
                                    return self.reply(400, {"error": "latency needs latency_ms"})
                            r["id"] = int(time.time() * 1e6)
                            cur.append(r)
                    else:
                        return self.reply(405, {"error": "method"})
                    if key == "pod_failures":
                        emu.refresh_pods()
                return self.reply(200, getattr(emu, key))
            if p == "/requests":
                with emu.reqlock:
                    if m == "DELETE":
                        emu.reqlog = []
                        return self.reply(200, {"ok": True})
                    since = int(q.get("since", ["0"])[0])
                    out = [r for r in emu.reqlog if r["seq"] > since]
                pr = q.get("path_regex", [None])[0]
                if pr:
                    out = [r for r in out if re.search(pr, r["path"] + ("?" + r["query"] if r["query"] else ""))]
                if q.get("method"):
                    out = [r for r in out if r["method"] == q["method"][0].upper()]
                return self.reply(200, {"count": len(out), "requests": out,
                                        "last_seq": out[-1]["seq"] if out else since})
            if p == "/shutdown" and m == "POST":
                self.reply(200, {"ok": True})
                threading.Thread(target=shutdown, args=(emu,), daemon=True).start()
                return
            return self.reply(404, {"error": "unknown admin endpoint %s %s" % (m, p)})
        except (KeyError, TypeError, ValueError) as e:
            return self.reply(400, {"error": "%s: %s" % (type(e).__name__, e)})


def kill_children():
    with CHILD_LOCK:
        for p in list(CHILDREN):
            try:
                p.kill()
            except OSError:
                pass


def shutdown(emu, code=0):
    kill_children()
    try:
        if open(os.path.join(emu.dir, "pid")).read().strip() == str(os.getpid()):
            os.unlink(os.path.join(emu.dir, "pid"))
    except OSError:
        pass
    os._exit(code)


def watchdog(emu, args, started):
    pidf = os.path.join(emu.dir, "pid")
    me = str(os.getpid())
    while True:
        time.sleep(0.5)
        try:
            if open(pidf).read().strip() != me:
                shutdown(emu)
        except OSError:
            shutdown(emu)
        if args.max_lifetime and time.time() - started > args.max_lifetime:
            sys.stderr.write("kube-emulator: max lifetime reached, exiting\n")
            shutdown(emu)
        if args.idle_timeout and time.time() - LAST_ACTIVITY[0] > args.idle_timeout:
            sys.stderr.write("kube-emulator: idle timeout, exiting\n")
            shutdown(emu)
        if args.watch_pid:
            try:
                os.kill(args.watch_pid, 0)
            except ProcessLookupError:
                shutdown(emu)
            except PermissionError:
                pass


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def serve_main(Emulator):
    ap = argparse.ArgumentParser(description="fatectl Kubernetes API emulator")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--version", default="1.31")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--admin-port", type=int, default=0)
    ap.add_argument("--token", action="append", help="TOKEN=USER (repeatable)")
    ap.add_argument("--exec-map", action="append", help='JSON {"image_regex": "...", "wrapper": [...]}')
    ap.add_argument("--storage-classes", default="standard", help="comma list; the first is the default")
    ap.add_argument("--max-lifetime", type=float, default=3600)
    ap.add_argument("--idle-timeout", type=float, default=0)
    ap.add_argument("--watch-pid", type=int, default=0)
    args = ap.parse_args()
    emu = Emulator(args)
    for mp in emu.exec_maps:
        mp["builtin"] = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    Handler.emu = emu
    AdminHandler.emu = emu
    srv = TLSServer(("127.0.0.1", args.port), Handler)
    srv.ctx = ctx
    adm = http.server.ThreadingHTTPServer(("127.0.0.1", args.admin_port), AdminHandler)
    adm.daemon_threads = True
    port, aport = srv.server_address[1], adm.server_address[1]
    signal.signal(signal.SIGTERM, lambda *a: shutdown(emu))
    signal.signal(signal.SIGINT, lambda *a: shutdown(emu))
    write_atomic(os.path.join(args.dir, "port"), "%d\n" % port)
    write_atomic(os.path.join(args.dir, "admin-url"), "http://127.0.0.1:%d\n" % aport)
    write_atomic(os.path.join(args.dir, "pid"), "%d\n" % os.getpid())
    threading.Thread(target=adm.serve_forever, daemon=True).start()
    threading.Thread(target=watchdog, args=(emu, args, time.time()), daemon=True).start()
    sys.stderr.write("kube-emulator %s listening on https://127.0.0.1:%d admin http://127.0.0.1:%d\n"
                     % (emu.git_version, port, aport))
    srv.serve_forever(poll_interval=0.5)
