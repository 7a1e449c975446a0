#!/usr/bin/python3
"""Conformance tests of the Kubernetes API emulator, one test per promise in CONFORMANCE.md.
Standard library only: run with /usr/bin/python3 tests/kube_emulator/test_conformance.py [-v] [-k pattern]."""

import base64
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import warnings

warnings.simplefilter("ignore", ResourceWarning)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "kube-emulator")
D = None


OWN = True


def setUpModule():
    """Starts an emulator of its own, or reuses a running one from KUBE_EMULATOR_DIR (after a reset)."""
    global D, OWN
    if os.environ.get("KUBE_EMULATOR_DIR"):
        D, OWN = os.environ["KUBE_EMULATOR_DIR"], False
        admin("POST", "/reset")
        admin("POST", "/storage-classes", {"name": "fast"})
        return
    D = tempfile.mkdtemp(prefix="kube-emu-test-")
    subprocess.run([SCRIPT, "start", D, "--version", "1.31", "--max-lifetime", "600", "--watch-pid",
                    str(os.getpid()), "--storage-classes", "standard,fast"], check=True, stdout=subprocess.DEVNULL)


def tearDownModule():
    if OWN:
        subprocess.run([SCRIPT, "stop", D], stdout=subprocess.DEVNULL)
        shutil.rmtree(D, ignore_errors=True)
    else:
        admin("POST", "/reset")


def port():
    return int(open(os.path.join(D, "port")).read())


def admin(method, path, body=None):
    url = open(os.path.join(D, "admin-url")).read().strip() + path
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def ctx(auth="cert"):
    c = ssl.create_default_context(cafile=os.path.join(D, "ca.crt"))
    if auth == "cert":
        c.load_cert_chain(os.path.join(D, "admin.crt"), os.path.join(D, "admin.key"))
    return c


class Client:
    def __init__(self, auth="cert", token=None):
        self.auth = auth
        self.token = token or (open(os.path.join(D, "token")).read().strip() if auth == "token" else None)
        self.conn = None

    def req(self, method, path, body=None, ctype="application/json", headers=None, raw=False):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("127.0.0.1", port(), context=ctx(self.auth), timeout=20)
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ctype
        try:
            self.conn.request(method, path, data, h)
            r = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise
        payload = r.read()
        if raw:
            return r.status, payload, r
        try:
            return r.status, json.loads(payload)
        except ValueError:
            return r.status, payload.decode()


C = None


def kc():
    global C
    if C is None:
        C = Client()
    return C


def ns_create(name):
    st, _ = kc().req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert st == 201, st
    # like a real cluster, kube-root-ca.crt and the default ServiceAccount appear right after (asynchronously)
    wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/configmaps/kube-root-ca.crt" % name)[0] == 200)
    return name


def wait_for(fn, timeout=10.0, every=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("condition not met within %ss" % timeout)


def deployment(name, replicas=2, image="nginx:1.25", labels=None):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def pod(name, image="busybox:1.36", labels=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "image": image}]}}


# ---------------------------------------------------------------------------------------------
# a small WebSocket client for exec
# ---------------------------------------------------------------------------------------------

def ws_exec(path, protocols=("v5.channel.k8s.io",), stdin_data=None, close_stdin=True, auth="cert"):
    raw = socket.create_connection(("127.0.0.1", port()), timeout=20)
    s = ctx(auth).wrap_socket(raw, server_hostname="127.0.0.1")
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
               % (path, key, ", ".join(protocols))).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if status != 101:
        return {"http_status": status, "head": head.decode()}

    def send(opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n))
        s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    if stdin_data is not None:
        send(2, b"\x00" + stdin_data)
        if close_stdin:
            send(2, b"\xff\x00")
    out = {1: b"", 2: b"", 3: b""}
    closed = False
    proto = re.search(rb"Sec-WebSocket-Protocol: (\S+)", head).group(1).decode()
    while not closed:
        while True:
            if len(buf) >= 2:
                n = buf[1] & 0x7f
                off = 2
                if n == 126:
                    n, off = struct.unpack(">H", buf[2:4])[0], 4
                elif n == 127:
                    n, off = struct.unpack(">Q", buf[2:10])[0], 10
                if len(buf) >= off + n:
                    op, payload, buf = buf[0] & 0x0f, buf[off:off + n], buf[off + n:]
                    if op == 8:
                        closed = True
                        send(8, payload[:2])
                        break
                    if op == 2 and payload:
                        out[payload[0]] = out.get(payload[0], b"") + payload[1:]
                    continue
            try:
                d = s.recv(65536)
            except (OSError, ssl.SSLError):
                d = b""
            if not d:
                closed = True
                out["eof_without_close"] = True
                break
            buf += d
    s.close()
    res = {"http_status": 101, "protocol": proto, "stdout": out[1].decode(), "stderr": out[2].decode(),
           "eof_without_close": out.get("eof_without_close", False)}
    res["status"] = json.loads(out[3]) if out[3] else None
    return res


# ---------------------------------------------------------------------------------------------

class T01Authentication(unittest.TestCase):
    def test_client_certificate(self):
        st, o = Client("cert").req("GET", "/api/v1/namespaces/default")
        self.assertEqual(st, 200)
        self.assertEqual(o["metadata"]["name"], "default")

    def test_bearer_token(self):
        st, o = Client("token").req("GET", "/api/v1/namespaces/default")
        self.assertEqual(st, 200)

    def test_anonymous_and_bad_token_get_401_status(self):
        for c in (Client("none"), Client("none", token="wrong")):
            st, o = c.req("GET", "/api/v1/namespaces")
            self.assertEqual(st, 401)
            self.assertEqual(o, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                 "message": "Unauthorized", "reason": "Unauthorized", "code": 401})

    def test_version_is_public(self):
        st, o = Client("none").req("GET", "/version")
        self.assertEqual((st, o["gitVersion"]), (200, "v1.31.0"))

    def test_request_log_records_user(self):
        Client("token").req("GET", "/api/v1/namespaces/kube-system")
        reqs = admin("GET", "/requests?path_regex=namespaces/kube-system$")["requests"]
        self.assertEqual((reqs[-1]["user"], reqs[-1]["auth"], reqs[-1]["status"]), ("token-user", "token", 200))

    def test_exec_plugin_prints_exec_credential(self):
        out = subprocess.run([os.path.join(D, "exec-plugin")], capture_output=True, check=True).stdout
        cred = json.loads(out)
        self.assertEqual(cred["apiVersion"], "client.authentication.k8s.io/v1")
        self.assertEqual(cred["status"]["token"], open(os.path.join(D, "exec-token")).read().strip())
        self.assertIn("expirationTimestamp", cred["status"])
        self.assertTrue(os.path.exists(os.path.join(D, "exec-plugin.calls")))
        st, _ = Client("none", token=cred["status"]["token"]).req("GET", "/api/v1/namespaces")
        self.assertEqual(st, 200)


class T02Rbac(unittest.TestCase):
    def tearDown(self):
        admin("DELETE", "/rbac/deny")

    def test_denial_names_verb_resource_namespace_user(self):
        ns = ns_create("rbac1")
        admin("POST", "/rbac/deny", {"user": "admin", "verb": "create", "resource": "pods", "namespace": ns})
        st, o = kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, pod("x"))
        self.assertEqual(st, 403)
        self.assertEqual(o["reason"], "Forbidden")
        self.assertEqual(o["message"], 'pods is forbidden: User "admin" cannot create resource "pods" in API group "" '
                                       'in the namespace "rbac1"')
        admin("POST", "/rbac/deny", {"verb": "get", "resource": "deployments"})
        st, o = kc().req("GET", "/apis/apps/v1/namespaces/%s/deployments/web" % ns)
        self.assertEqual(st, 403)
        self.assertEqual(o["message"], 'deployments.apps "web" is forbidden: User "admin" cannot get resource '
                                       '"deployments" in API group "apps" in the namespace "rbac1"')
        self.assertEqual(o["details"], {"kind": "deployments", "name": "web", "group": "apps"})
        admin("POST", "/rbac/deny", {"verb": "list", "resource": "namespaces"})
        st, o = kc().req("GET", "/api/v1/namespaces")
        self.assertTrue(o["message"].endswith('cannot list resource "namespaces" in API group "" at the cluster scope'))


class T03Discovery(unittest.TestCase):
    def test_classic_discovery(self):
        st, o = kc().req("GET", "/api")
        self.assertEqual((st, o["kind"], o["versions"]), (200, "APIVersions", ["v1"]))
        st, o = kc().req("GET", "/apis")
        names = {g["name"] for g in o["groups"]}
        self.assertTrue({"apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy"} <= names)
        st, o = kc().req("GET", "/api/v1")
        res = {r["name"] for r in o["resources"]}
        self.assertTrue({"namespaces", "configmaps", "secrets", "services", "persistentvolumeclaims",
                         "serviceaccounts", "pods", "pods/exec", "pods/log"} <= res)
        for gv, want in (("apps/v1", {"deployments", "statefulsets"}), ("batch/v1", {"jobs"}),
                         ("networking.k8s.io/v1", {"ingresses", "networkpolicies"}),
                         ("rbac.authorization.k8s.io/v1", {"roles", "rolebindings", "clusterroles",
                                                           "clusterrolebindings"})):
            st, o = kc().req("GET", "/apis/" + gv)
            self.assertEqual(st, 200)
            self.assertTrue(want <= {r["name"] for r in o["resources"]}, gv)
        st, o = kc().req("GET", "/apis/policy/v1beta1")
        self.assertEqual(st, 404)   # no PodSecurityPolicy on 1.31

    def test_aggregated_discovery(self):
        acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        st, body, r = kc().req("GET", "/apis", headers={"Accept": acc}, raw=True)
        self.assertEqual(r.getheader("Content-Type"), "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        o = json.loads(body)
        self.assertEqual(o["kind"], "APIGroupDiscoveryList")
        apps = next(i for i in o["items"] if i["metadata"]["name"] == "apps")
        dep = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
        self.assertEqual(dep["responseKind"]["kind"], "Deployment")
        self.assertEqual(dep["scope"], "Namespaced")

    def test_psp_below_1_25_and_version_setting(self):
        try:
            admin("POST", "/version", {"version": "1.24.17"})
            st, o = kc().req("GET", "/version")
            self.assertEqual((o["major"], o["minor"], o["gitVersion"]), ("1", "24", "v1.24.17"))
            st, o = kc().req("GET", "/apis/policy/v1beta1")
            self.assertEqual(st, 200)
            self.assertEqual(o["resources"][0]["kind"], "PodSecurityPolicy")
            acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            st, body, r = kc().req("GET", "/apis", headers={"Accept": acc}, raw=True)
            self.assertEqual(r.getheader("Content-Type"), "application/json")   # 1.24 has no aggregated discovery
            st, o = kc().req("POST", "/apis/policy/v1beta1/podsecuritypolicies",
                             {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "p"},
                              "spec": {}})
            self.assertEqual(st, 201)
        finally:
            admin("POST", "/version", {"version": "1.31"})

    def test_openapi_v2_and_v3(self):
        st, o = kc().req("GET", "/openapi/v3")
        self.assertIn("apis/apps/v1", o["paths"])
        st, doc = kc().req("GET", o["paths"]["apis/apps/v1"]["serverRelativeURL"])
        p = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
        self.assertIn("fieldValidation", [x["name"] for x in p["parameters"]])
        st, v2 = kc().req("GET", "/openapi/v2")
        self.assertEqual(v2["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"]
                         ["x-kubernetes-group-version-kind"], {"group": "", "kind": "ConfigMap", "version": "v1"})
        st, body, r = kc().req("GET", "/openapi/v2", headers={
            "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}, raw=True)
        self.assertEqual((st, r.getheader("Content-Type")),
                         (200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"))
        self.assertEqual(body[:5], b"\x0a\x032.0")        # field 1 (swagger) = "2.0"
        self.assertIn(b"fieldValidation", body)


class T04Crud(unittest.TestCase):
    def test_create_get_update_delete_configmap(self):
        ns = ns_create("crud1")
        base = "/api/v1/namespaces/%s/configmaps" % ns
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
        st, o = kc().req("POST", base, cm)
        self.assertEqual(st, 201)
        md = o["metadata"]
        for k in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertIn(k, md)
        self.assertEqual(md["namespace"], ns)
        st, o2 = kc().req("POST", base, cm)
        self.assertEqual((st, o2["reason"], o2["message"]), (409, "AlreadyExists", 'configmaps "a" already exists'))
        o["data"]["k"] = "v2"
        st, o3 = kc().req("PUT", base + "/a", o)
        self.assertEqual(st, 200)
        self.assertGreater(int(o3["metadata"]["resourceVersion"]), int(md["resourceVersion"]))
        st, o4 = kc().req("PUT", base + "/a", o)   # stale resourceVersion
        self.assertEqual((st, o4["reason"]), (409, "Conflict"))
        self.assertEqual(o4["message"], 'Operation cannot be fulfilled on configmaps "a": the object has been '
                                        'modified; please apply your changes to the latest version and try again')
        st, o5 = kc().req("DELETE", base + "/a")
        self.assertEqual((st, o5["status"], o5["details"]["name"]), (200, "Success", "a"))
        st, o6 = kc().req("GET", base + "/a")
        self.assertEqual((st, o6["reason"], o6["message"], o6["details"]),
                         (404, "NotFound", 'configmaps "a" not found', {"name": "a", "kind": "configmaps"}))

    def test_namespace_must_exist(self):
        st, o = kc().req("POST", "/api/v1/namespaces/nope/configmaps",
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}})
        self.assertEqual((st, o["message"]), (404, 'namespaces "nope" not found'))

    def test_invalid_name_is_422(self):
        st, o = kc().req("POST", "/api/v1/namespaces/default/configmaps",
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})
        self.assertEqual((st, o["reason"], o["details"]["causes"][0]["field"]), (422, "Invalid", "metadata.name"))

    def test_generation_on_workloads(self):
        ns = ns_create("gen1")
        st, o = kc().req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment("g", 1))
        self.assertEqual(o["metadata"]["generation"], 1)
        st, o = kc().req("PATCH", "/apis/apps/v1/namespaces/%s/deployments/g" % ns, {"spec": {"replicas": 2}},
                         "application/merge-patch+json")
        self.assertEqual(o["metadata"]["generation"], 2)
        st, o = kc().req("PATCH", "/apis/apps/v1/namespaces/%s/deployments/g" % ns,
                         {"metadata": {"labels": {"x": "y"}}}, "application/merge-patch+json")
        self.assertEqual(o["metadata"]["generation"], 2)

    def test_selectors_and_paging(self):
        ns = ns_create("sel1")
        base = "/api/v1/namespaces/%s/configmaps" % ns
        for n, lb in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}), ("c", {"env": "dev"})):
            kc().req("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": lb}})

        def names(q):
            st, o = kc().req("GET", base + "?" + q)
            self.assertEqual(st, 200, o)
            return [i["metadata"]["name"] for i in o["items"]]
        from urllib.parse import quote
        self.assertEqual(names("labelSelector=" + quote("tier=web")), ["a"])
        self.assertEqual(names("labelSelector=" + quote("tier==db")), ["b"])
        self.assertEqual(names("labelSelector=" + quote("tier!=web")), ["b", "c", "kube-root-ca.crt"])
        self.assertEqual(names("labelSelector=" + quote("tier in (web,db)")), ["a", "b"])
        self.assertEqual(names("labelSelector=" + quote("tier notin (web)")), ["b", "c", "kube-root-ca.crt"])
        self.assertEqual(names("labelSelector=" + quote("env")), ["a", "c"])
        self.assertEqual(names("labelSelector=" + quote("!env")), ["b", "kube-root-ca.crt"])
        self.assertEqual(names("labelSelector=" + quote("env,tier=web")), ["a"])
        self.assertEqual(names("fieldSelector=" + quote("metadata.name=b")), ["b"])
        self.assertEqual(names("fieldSelector=" + quote("metadata.namespace=" + ns)), ["a", "b", "c", "kube-root-ca.crt"])
        st, o = kc().req("GET", base + "?fieldSelector=spec.foo%3Dx")
        self.assertEqual(st, 400)
        st, o = kc().req("GET", base + "?limit=2")
        self.assertEqual(len(o["items"]), 2)
        self.assertEqual(o["kind"], "ConfigMapList")
        self.assertNotIn("kind", o["items"][0])
        st, o2 = kc().req("GET", base + "?limit=2&continue=" + o["metadata"]["continue"])
        self.assertEqual([i["metadata"]["name"] for i in o2["items"]], ["c", "kube-root-ca.crt"])
        self.assertNotIn("continue", o2["metadata"])

    def test_dry_run_on_every_write(self):
        ns = ns_create("dry1")
        base = "/api/v1/namespaces/%s/configmaps" % ns
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}, "data": {"a": "1"}}
        st, o = kc().req("POST", base + "?dryRun=All", cm)
        self.assertEqual(st, 201)
        self.assertEqual(kc().req("GET", base + "/d")[0], 404)
        kc().req("POST", base, cm)
        kc().req("PATCH", base + "/d?dryRun=All", {"data": {"a": "2"}}, "application/merge-patch+json")
        kc().req("PATCH", base + "/d?dryRun=All&fieldManager=x", dict(cm, data={"a": "3"}), "application/apply-patch+yaml")
        st, cur = kc().req("GET", base + "/d")
        kc().req("PUT", base + "/d?dryRun=All", dict(cur, data={"a": "4"}))
        kc().req("DELETE", base + "/d?dryRun=All")
        st, o = kc().req("GET", base + "/d")
        self.assertEqual((st, o["data"]["a"], o["metadata"]["resourceVersion"]),
                         (200, "1", cur["metadata"]["resourceVersion"]))

    def test_patches(self):
        ns = ns_create("patch1")
        p = "/apis/apps/v1/namespaces/%s/deployments/w" % ns
        d = deployment("w", 1)
        d["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox", "env": [{"name": "A", "value": "1"}]})
        kc().req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, d)
        st, o = kc().req("PATCH", p, {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:2"}]}}}},
                         "application/strategic-merge-patch+json")
        cs = o["spec"]["template"]["spec"]["containers"]
        self.assertEqual([(c["name"], c["image"]) for c in cs], [("c", "nginx:1.25"), ("side", "busybox:2")])
        self.assertEqual(cs[1]["env"], [{"name": "A", "value": "1"}])
        st, o = kc().req("PATCH", p, {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")
        self.assertEqual(o["metadata"]["labels"], {"a": "b"})
        st, o = kc().req("PATCH", p, [{"op": "replace", "path": "/spec/replicas", "value": 3}], "application/json-patch+json")
        self.assertEqual(o["spec"]["replicas"], 3)
        st, o = kc().req("PATCH", p, {"x": 1}, "text/plain")
        self.assertEqual((st, o["reason"]), (415, "UnsupportedMediaType"))


class T05ServerSideApply(unittest.TestCase):
    def test_apply_ownership_conflict_force_and_removal(self):
        ns = ns_create("ssa1")
        p = "/api/v1/namespaces/%s/configmaps/c" % ns
        cfg = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"l": "1"}},
               "data": {"a": "1", "b": "2"}}
        st, o = kc().req("PATCH", p + "?fieldManager=fatectl", cfg, "application/apply-patch+yaml")
        self.assertEqual(st, 201)
        mf = o["metadata"]["managedFields"]
        self.assertEqual([(m["manager"], m["operation"]) for m in mf], [("fatectl", "Apply")])
        self.assertEqual(mf[0]["fieldsV1"], {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:labels": {"f:l": {}}}})
        st, o = kc().req("PATCH", p, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                         "application/apply-patch+yaml")
        self.assertEqual((st, o["reason"]), (400, "BadRequest"))   # fieldManager is required
        # another manager changes a field -> conflict for fatectl
        kc().req("PATCH", p + "?fieldManager=other", {"data": {"a": "X"}}, "application/merge-patch+json")
        st, o = kc().req("PATCH", p + "?fieldManager=fatectl", cfg, "application/apply-patch+yaml")
        self.assertEqual((st, o["reason"]), (409, "Conflict"))
        self.assertEqual(o["message"], 'Apply failed with 1 conflict: conflict with "other" using v1: .data.a')
        self.assertEqual(o["details"]["causes"], [{"reason": "FieldManagerConflict",
                                                   "message": 'conflict with "other" using v1', "field": ".data.a"}])
        # same value -> shared ownership, no conflict
        st, o = kc().req("PATCH", p + "?fieldManager=third", {"apiVersion": "v1", "kind": "ConfigMap",
                                                              "metadata": {"name": "c"}, "data": {"b": "2"}},
                         "application/apply-patch+yaml")
        self.assertEqual(st, 200)
        st, o = kc().req("PATCH", p + "?fieldManager=fatectl&force=true", cfg, "application/apply-patch+yaml")
        self.assertEqual((st, o["data"]["a"]), (200, "1"))
        self.assertNotIn("other", [m["manager"] for m in o["metadata"]["managedFields"]])
        # dropping a field fatectl alone owns removes it; a co-owned one stays
        cfg2 = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
        st, o = kc().req("PATCH", p + "?fieldManager=fatectl", cfg2, "application/apply-patch+yaml")
        self.assertEqual(o["data"], {"b": "2"})
        self.assertNotIn("labels", o["metadata"])

    def test_apply_workload_keyed_lists(self):
        ns = ns_create("ssa2")
        p = "/apis/apps/v1/namespaces/%s/deployments/w?fieldManager=fatectl" % ns
        d = deployment("w", 1)
        st, o = kc().req("PATCH", p, d, "application/apply-patch+yaml")
        self.assertEqual(st, 201)
        f = o["metadata"]["managedFields"][0]["fieldsV1"]
        self.assertIn('k:{"name":"c"}', f["f:spec"]["f:template"]["f:spec"]["f:containers"])
        kc().req("PATCH", "/apis/apps/v1/namespaces/%s/deployments/w/scale" % ns, {"spec": {"replicas": 3}},
                 "application/merge-patch+json")
        st, o = kc().req("PATCH", p, d, "application/apply-patch+yaml")
        self.assertEqual(o["reason"], "Conflict")
        self.assertEqual(o["details"]["causes"][0]["field"], ".spec.replicas")


class T06Controllers(unittest.TestCase):
    def test_deployment_pods_and_status(self):
        ns = ns_create("ctl1")
        kc().req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment("web", 3))

        def ready():
            st, o = kc().req("GET", "/apis/apps/v1/namespaces/%s/deployments/web" % ns)
            s = o.get("status", {})
            return o if s.get("readyReplicas") == 3 and s.get("availableReplicas") == 3 else None
        o = wait_for(ready)
        s = o["status"]
        self.assertEqual((s["replicas"], s["updatedReplicas"], s["observedGeneration"]), (3, 3, 1))
        conds = {c["type"]: (c["status"], c["reason"]) for c in s["conditions"]}
        self.assertEqual(conds, {"Available": ("True", "MinimumReplicasAvailable"),
                                 "Progressing": ("True", "NewReplicaSetAvailable")})
        st, pods = kc().req("GET", "/api/v1/namespaces/%s/pods?labelSelector=app%%3Dweb" % ns)
        names = [p["metadata"]["name"] for p in pods["items"]]
        self.assertEqual(len(names), 3)
        for n in names:
            self.assertRegex(n, r"^web-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        p0 = pods["items"][0]
        self.assertEqual(p0["status"]["phase"], "Running")
        self.assertEqual(p0["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet")
        self.assertEqual(p0["metadata"]["labels"]["pod-template-hash"], names[0].split("-")[1])

    def rollout(self, ns, strategy):
        d = deployment("r", 3, image="app:1")
        d["spec"]["strategy"] = strategy
        dp = "/apis/apps/v1/namespaces/%s/deployments" % ns
        kc().req("POST", dp, d)
        wait_for(lambda: kc().req("GET", dp + "/r")[1].get("status", {}).get("availableReplicas") == 3)
        st, lst = kc().req("GET", "/api/v1/namespaces/%s/pods" % ns)
        old_hash = lst["items"][0]["metadata"]["labels"]["pod-template-hash"]
        kc().req("PATCH", dp + "/r", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "app:2"}]}}}},
                 "application/strategic-merge-patch+json")

        def done():
            o = kc().req("GET", dp + "/r")[1]
            s = o.get("status", {})
            return s.get("updatedReplicas") == 3 and s.get("availableReplicas") == 3 and s.get("replicas") == 3 \
                and s.get("observedGeneration") == 2
        wait_for(done, timeout=20)
        url = "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=%s&timeoutSeconds=1" % (ns, lst["metadata"]["resourceVersion"])
        evs = T08Watch.watch(self, url, 1)
        live = {(p["metadata"]["name"], p["metadata"]["labels"]["pod-template-hash"]) for p in lst["items"]}
        peak, first_new_with_old = len(live), None
        for e in evs:
            n, hsh = e["object"]["metadata"]["name"], e["object"]["metadata"]["labels"]["pod-template-hash"]
            if e["type"] == "ADDED":
                live.add((n, hsh))
                if hsh != old_hash and first_new_with_old is None:
                    first_new_with_old = sum(1 for _, x in live if x == old_hash)
            elif e["type"] == "DELETED" or e["object"]["metadata"].get("deletionTimestamp"):
                live.discard((n, hsh))       # terminating pods do not count, as for the controller
            peak = max(peak, len(live))
        return old_hash, live, peak, first_new_with_old

    def test_rolling_update_and_recreate(self):
        old_hash, live, peak, first = self.rollout(ns_create("roll1"), {"type": "RollingUpdate", "rollingUpdate":
                                                                         {"maxSurge": 1, "maxUnavailable": 0}})
        self.assertEqual(len(live), 3)
        self.assertTrue(all(h != old_hash for _, h in live))
        self.assertEqual(peak, 4)            # never more than replicas + maxSurge (non-terminating) pods
        self.assertEqual(first, 3)           # the first new pod came while all old ones still ran
        old_hash, live, peak, first = self.rollout(ns_create("roll2"), {"type": "Recreate"})
        self.assertEqual(len(live), 3)
        self.assertEqual(first, 0)           # Recreate: new pods only after every old pod is gone
        self.assertEqual(peak, 3)

    def test_statefulset_ordinals_and_pvcs(self):
        ns = ns_create("ctl2")
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
               "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                        "template": {"metadata": {"labels": {"app": "db"}},
                                     "spec": {"containers": [{"name": "m", "image": "mysql:8"}]}},
                        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
        kc().req("POST", "/apis/apps/v1/namespaces/%s/statefulsets" % ns, sts)
        wait_for(lambda: kc().req("GET", "/apis/apps/v1/namespaces/%s/statefulsets/db" % ns)[1]
                 .get("status", {}).get("readyReplicas") == 2)
        st, pods = kc().req("GET", "/api/v1/namespaces/%s/pods" % ns)
        self.assertEqual(sorted(p["metadata"]["name"] for p in pods["items"]), ["db-0", "db-1"])
        st, pvcs = kc().req("GET", "/api/v1/namespaces/%s/persistentvolumeclaims" % ns)
        self.assertEqual(sorted((c["metadata"]["name"], c["status"]["phase"]) for c in pvcs["items"]),
                         [("data-db-0", "Bound"), ("data-db-1", "Bound")])

    def test_pvc_pending_for_unknown_storage_class(self):
        ns = ns_create("pvc1")
        for n, sc in (("known", "fast"), ("unknown", "nosuch")):
            kc().req("POST", "/api/v1/namespaces/%s/persistentvolumeclaims" % ns,
                     {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": n},
                      "spec": {"storageClassName": sc, "accessModes": ["ReadWriteOnce"],
                               "resources": {"requests": {"storage": "2Gi"}}}})
        wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/persistentvolumeclaims/known" % ns)[1]
                 ["status"]["phase"] == "Bound")
        time.sleep(0.3)
        st, o = kc().req("GET", "/api/v1/namespaces/%s/persistentvolumeclaims/unknown" % ns)
        self.assertEqual(o["status"]["phase"], "Pending")

    def test_services_cluster_ip_node_ports_load_balancer(self):
        ns = ns_create("svc1")
        base = "/api/v1/namespaces/%s/services" % ns

        def svc(name, typ, node_port=None):
            port = {"name": "p", "port": 9370}
            if node_port:
                port["nodePort"] = node_port
            return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                    "spec": {"type": typ, "selector": {"a": "b"}, "ports": [port]}}
        st, o = kc().req("POST", base, svc("c", "ClusterIP"))
        self.assertRegex(o["spec"]["clusterIP"], r"^10\.96\.\d+\.\d+$")
        st, o = kc().req("POST", base, svc("n", "NodePort"))
        np_ = o["spec"]["ports"][0]["nodePort"]
        self.assertTrue(30000 <= np_ <= 32767)
        st, o = kc().req("POST", base, svc("n2", "NodePort", np_))
        self.assertEqual((st, o["reason"]), (422, "Invalid"))
        self.assertEqual(o["message"], 'Service "n2" is invalid: spec.ports[0].nodePort: Invalid value: %d: '
                                       'provided port is already allocated' % np_)
        st, o = kc().req("POST", base, svc("n3", "NodePort", 80))
        self.assertIn("provided port is not in the valid range", o["message"])
        kc().req("DELETE", base + "/n")
        st, o = kc().req("POST", base, svc("n4", "NodePort", np_))
        self.assertEqual(st, 201)   # released on delete
        kc().req("POST", base, svc("lb", "LoadBalancer"))
        o = wait_for(lambda: kc().req("GET", base + "/lb")[1]["status"]["loadBalancer"].get("ingress"))
        self.assertRegex(o[0]["ip"], r"^\d+\.\d+\.\d+\.\d+$")


    def test_job_completes(self):
        ns = ns_create("job1")
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "toy"},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "c", "image": "busybox"}]}}}}
        st, o = kc().req("POST", "/apis/batch/v1/namespaces/%s/jobs" % ns, job)
        self.assertEqual(st, 201)
        o = wait_for(lambda: (lambda j: j if any(c["type"] == "Complete" for c in j["status"].get("conditions", []))
                              else None)(kc().req("GET", "/apis/batch/v1/namespaces/%s/jobs/toy" % ns)[1]))
        self.assertEqual(o["status"]["succeeded"], 1)
        st, pods = kc().req("GET", "/api/v1/namespaces/%s/pods?labelSelector=job-name%%3Dtoy" % ns)
        self.assertEqual([p["status"]["phase"] for p in pods["items"]], ["Succeeded"])

    def test_secret_string_data(self):
        st, o = kc().req("POST", "/api/v1/namespaces/default/secrets",
                         {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"a": "b"}})
        self.assertEqual((st, o["type"], o["data"], "stringData" in o), (201, "Opaque", {"a": "Yg=="}, False))


class T07PodFailuresAndLogs(unittest.TestCase):
    def tearDown(self):
        admin("DELETE", "/pod-failures")
        admin("DELETE", "/pod-logs")

    def test_image_pull_backoff(self):
        ns = ns_create("fail1")
        admin("POST", "/pod-failures", {"namespace": ns, "image_regex": "bad", "reason": "ImagePullBackOff"})
        kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, pod("p", image="repo/bad:1"))
        o = wait_for(lambda: (lambda p: p if p["status"].get("containerStatuses") and "waiting" in
                              p["status"]["containerStatuses"][0]["state"] and
                              p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
                              else None)(kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[1]))
        w = o["status"]["containerStatuses"][0]["state"]["waiting"]
        self.assertEqual(w["message"], 'Back-off pulling image "repo/bad:1"')
        self.assertEqual(o["status"]["phase"], "Pending")
        st, evs = kc().req("GET", "/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3Dp" % ns)
        got = {(e["type"], e["reason"], e["source"]["component"]) for e in evs["items"]}
        self.assertTrue({("Normal", "Scheduled", "default-scheduler"), ("Normal", "Pulling", "kubelet"),
                         ("Warning", "Failed", "kubelet"), ("Normal", "BackOff", "kubelet")} <= got, got)
        # a Deployment of that image runs into its progress deadline
        d = deployment("dl", 1, image="repo/bad:2")
        d["spec"]["progressDeadlineSeconds"] = 1
        kc().req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, d)

        def conds():
            o = kc().req("GET", "/apis/apps/v1/namespaces/%s/deployments/dl" % ns)[1]
            c = {x["type"]: (x["status"], x["reason"]) for x in o.get("status", {}).get("conditions", [])}
            return c if c.get("Progressing") == ("False", "ProgressDeadlineExceeded") else None
        c = wait_for(conds, timeout=15)
        self.assertEqual(c["Available"], ("False", "MinimumReplicasUnavailable"))

    def test_crash_loop_with_log_and_recovery(self):
        ns = ns_create("fail2")
        admin("POST", "/pod-failures", {"namespace": ns, "pod_regex": "^p$", "reason": "CrashLoopBackOff",
                                        "log": "line1\nline2\nFATAL: boom\n", "exit_code": 2})
        kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, pod("p"))

        def crashing():
            p = kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[1]
            cs = (p["status"].get("containerStatuses") or [{}])[0]
            return p if cs.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff" else None
        o = wait_for(crashing)
        cs = o["status"]["containerStatuses"][0]
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 2)
        self.assertGreaterEqual(cs["restartCount"], 1)
        st, body, _ = kc().req("GET", "/api/v1/namespaces/%s/pods/p/log?tailLines=1" % ns, raw=True)
        self.assertEqual(body, b"FATAL: boom\n")
        admin("DELETE", "/pod-failures")
        wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[1]["status"]["phase"] == "Running"
                 and kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[1]["status"]["containerStatuses"][0]["ready"])

    def test_configured_log_and_container_param(self):
        ns = ns_create("log1")
        p = pod("p")
        p["spec"]["containers"].append({"name": "d", "image": "busybox"})
        kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, p)
        admin("POST", "/pod-logs", {"namespace": ns, "pod_regex": "^p$", "container": "d", "log": "a\nb\nc\n"})
        wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[1]["status"].get("phase") == "Running")
        st, o = kc().req("GET", "/api/v1/namespaces/%s/pods/p/log" % ns)
        self.assertEqual((st, o["message"]), (400, "a container name must be specified for pod p, choose one of: [c d]"))
        st, body, _ = kc().req("GET", "/api/v1/namespaces/%s/pods/p/log?container=d&tailLines=2" % ns, raw=True)
        self.assertEqual(body, b"b\nc\n")


class T08Watch(unittest.TestCase):
    def watch(self, path, seconds):
        c = http.client.HTTPSConnection("127.0.0.1", port(), context=ctx(), timeout=seconds + 5)
        c.request("GET", path)
        r = c.getresponse()
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        evs = []
        while True:
            line = r.readline()
            if not line:
                break
            evs.append(json.loads(line))
        c.close()
        return evs

    def test_watch_events_resume_and_timeout(self):
        ns = ns_create("watch1")
        base = "/api/v1/namespaces/%s/configmaps" % ns
        st, lst = kc().req("GET", base)
        rv = lst["metadata"]["resourceVersion"]
        kc().req("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}})
        kc().req("PATCH", base + "/w", {"data": {"a": "1"}}, "application/merge-patch+json")
        kc().req("DELETE", base + "/w")
        t0 = time.time()
        evs = self.watch(base + "?watch=1&resourceVersion=%s&timeoutSeconds=1" % rv, 1)
        self.assertLess(time.time() - t0, 3)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")])
        evs = self.watch(base + "?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dkube-root-ca.crt", 1)
        self.assertEqual([e["type"] for e in evs], ["ADDED"])   # no resourceVersion: current state first

    def test_watch_pods_across_namespaces(self):
        ns = ns_create("watch2")
        st, lst = kc().req("GET", "/api/v1/pods")
        rv = lst["metadata"]["resourceVersion"]
        kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, pod("p"))
        evs = self.watch("/api/v1/pods?watch=1&resourceVersion=%s&timeoutSeconds=2" % rv, 2)
        phases = [(e["type"], e["object"]["status"].get("phase")) for e in evs]
        self.assertEqual(phases[0], ("ADDED", "Pending"))
        self.assertIn(("MODIFIED", "Running"), phases)


class T09Deletion(unittest.TestCase):
    def test_background_orphan_foreground(self):
        ns = ns_create("del1")
        dp = "/apis/apps/v1/namespaces/%s/deployments" % ns
        for n in ("bg", "orph", "fg"):
            kc().req("POST", dp, deployment(n, 1))
        wait_for(lambda: len(kc().req("GET", "/api/v1/namespaces/%s/pods" % ns)[1]["items"]) == 3)
        kc().req("DELETE", dp + "/orph", {"propagationPolicy": "Orphan"})
        st, o = kc().req("DELETE", dp + "/fg", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                "propagationPolicy": "Foreground"})
        self.assertEqual((st, o["metadata"]["finalizers"]), (200, ["foregroundDeletion"]))
        self.assertIn("deletionTimestamp", o["metadata"])
        kc().req("DELETE", dp + "/bg?propagationPolicy=Background")
        wait_for(lambda: kc().req("GET", dp + "/fg")[0] == 404)
        pods = wait_for(lambda: (lambda items: items if len(items) == 1 else None)(
            kc().req("GET", "/api/v1/namespaces/%s/pods" % ns)[1]["items"]))
        self.assertTrue(pods[0]["metadata"]["name"].startswith("orph-"))
        st, rs = kc().req("GET", "/apis/apps/v1/namespaces/%s/replicasets" % ns)
        self.assertEqual([r["metadata"].get("ownerReferences") for r in rs["items"]], [None])

    def test_namespace_terminating_then_gone(self):
        ns = ns_create("del2")
        kc().req("POST", "/api/v1/namespaces/%s/pods" % ns, pod("p"))
        st, o = kc().req("DELETE", "/api/v1/namespaces/" + ns)
        self.assertEqual((st, o["status"]["phase"]), (200, "Terminating"))
        st, o = kc().req("POST", "/api/v1/namespaces/%s/configmaps" % ns,
                         {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
        self.assertEqual((st, o["message"]), (403, 'configmaps "late" is forbidden: unable to create new content in '
                                                    'namespace del2 because it is being terminated'))
        wait_for(lambda: kc().req("GET", "/api/v1/namespaces/" + ns)[0] == 404)
        self.assertEqual(kc().req("GET", "/api/v1/namespaces/%s/pods/p" % ns)[0], 404)


class T10Exec(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = ns_create("exec1")
        kc().req("POST", "/api/v1/namespaces/%s/pods" % cls.ns, pod("p", image="example/trafficserver:9"))
        wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/pods/p" % cls.ns)[1]["status"].get("phase") == "Running")

    def tearDown(self):
        admin("DELETE", "/exec-maps")
        admin("DELETE", "/faults")

    def path(self, *cmd, stdin=False):
        from urllib.parse import quote
        return "/api/v1/namespaces/%s/pods/p/exec?%s&container=c&stdout=true&stderr=true%s" % (
            self.ns, "&".join("command=" + quote(c) for c in cmd), "&stdin=true" if stdin else "")

    def test_v5_success_and_exit_code(self):
        r = ws_exec(self.path("sh", "-c", "echo out; echo err >&2; exit 3"))
        self.assertEqual((r["protocol"], r["stdout"], r["stderr"]), ("v5.channel.k8s.io", "out\n", "err\n"))
        self.assertEqual(r["status"]["reason"], "NonZeroExitCode")
        self.assertEqual(r["status"]["details"]["causes"], [{"reason": "ExitCode", "message": "3"}])
        r = ws_exec(self.path("echo", "hi"))
        self.assertEqual((r["stdout"], r["status"]), ("hi\n", {"metadata": {}, "status": "Success"}))

    def test_v4_and_stdin_close(self):
        r = ws_exec(self.path("cat", stdin=True), protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"),
                    stdin_data=b"piped\n")
        self.assertEqual((r["protocol"], r["stdout"], r["status"]["status"]), ("v5.channel.k8s.io", "piped\n", "Success"))
        r = ws_exec(self.path("echo", "v4"), protocols=("v4.channel.k8s.io",))
        self.assertEqual((r["protocol"], r["stdout"]), ("v4.channel.k8s.io", "v4\n"))

    def test_spdy_refused_and_pod_checks(self):
        c = Client()
        st, o = c.req("POST", self.path("true"), headers={"Upgrade": "SPDY/3.1", "Connection": "Upgrade",
                                                          "X-Stream-Protocol-Version": "v4.channel.k8s.io"})
        self.assertEqual(st, 400)
        st, o = c.req("GET", "/api/v1/namespaces/%s/pods/nope/exec?command=true" % self.ns)
        self.assertEqual((st, o["message"]), (404, 'pods "nope" not found'))

    def test_exec_mapping_wrapper_and_env(self):
        w = os.path.join(D, "wrap.sh")
        with open(w, "w") as f:
            f.write('#!/bin/sh\necho "wrapped $EMULATOR_NAMESPACE/$EMULATOR_POD/$EMULATOR_CONTAINER: $*"\n')
        os.chmod(w, 0o755)
        admin("POST", "/exec-maps", {"image_regex": "trafficserver", "wrapper": [w]})
        r = ws_exec(self.path("traffic_ctl", "config", "reload"))
        self.assertEqual(r["stdout"], "wrapped exec1/p/c: traffic_ctl config reload\n")

    def test_exec_flood_fault(self):
        admin("POST", "/faults", {"action": "exec-flood", "path_regex": "/exec", "times": 1})
        raw = socket.create_connection(("127.0.0.1", port()), timeout=10)
        s = ctx().wrap_socket(raw, server_hostname="127.0.0.1")
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"
                   % (self.path("true"), base64.b64encode(os.urandom(16)).decode())).encode())
        buf = b""
        while len(buf) < 4 << 20:  # `true` prints nothing; the fault streams stdout without end
            buf += s.recv(65536)
        s.close()
        self.assertIn(b"101 Switching Protocols", buf[:200])
        self.assertIn(b"\x01y\ny\ny\n", buf[:70000])

    def test_exec_cut_fault(self):
        admin("POST", "/faults", {"action": "exec-cut", "path_regex": "/exec", "times": 1, "after_bytes": 3})
        r = ws_exec(self.path("echo", "abcdefgh"))
        self.assertEqual((r["stdout"], r["status"], r["eof_without_close"]), ("abc", None, True))
        r = ws_exec(self.path("echo", "again"))
        self.assertEqual(r["stdout"], "again\n")


class T11Faults(unittest.TestCase):
    def tearDown(self):
        admin("DELETE", "/faults")

    def test_status_retry_after_latency_reset_times(self):
        c = Client()
        admin("POST", "/faults", {"action": "status", "status": 429, "retry_after": 2, "path_regex": "/configmaps",
                                  "times": 2, "method": "GET"})
        st, body, r = c.req("GET", "/api/v1/namespaces/default/configmaps", raw=True)
        self.assertEqual((st, r.getheader("Retry-After"), json.loads(body)["reason"]), (429, "2", "TooManyRequests"))
        self.assertEqual(c.req("GET", "/api/v1/namespaces/default/configmaps")[0], 429)
        self.assertEqual(c.req("GET", "/api/v1/namespaces/default/configmaps")[0], 200)
        admin("POST", "/faults", {"action": "status", "status": 503, "path_regex": "/secrets", "times": 1})
        st, o = c.req("GET", "/api/v1/namespaces/default/secrets")
        self.assertEqual((st, o["reason"]), (503, "ServiceUnavailable"))
        admin("POST", "/faults", {"action": "latency", "latency_ms": 300, "path_regex": "/serviceaccounts", "times": 1})
        t0 = time.time()
        c.req("GET", "/api/v1/namespaces/default/serviceaccounts")
        self.assertGreaterEqual(time.time() - t0, 0.3)
        admin("POST", "/faults", {"action": "reset", "path_regex": "/pods", "times": 1})
        with self.assertRaises((OSError, http.client.HTTPException)):
            c.req("GET", "/api/v1/namespaces/default/pods")
        self.assertEqual(c.req("GET", "/api/v1/namespaces/default/pods")[0], 200)
        n = admin("GET", "/requests?path_regex=/namespaces/default/configmaps$")["count"]
        self.assertGreaterEqual(n, 3)

    def test_delete_pod_fault(self):
        c = kc()
        ns = ns_create("fault-pod")
        c.req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, deployment("w", 1))
        names = lambda: [p["metadata"]["name"] for p in c.req("GET", "/api/v1/namespaces/%s/pods" % ns)[1]["items"]
                         if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        wait_for(lambda: len(names()) == 1)
        old = names()[0]
        admin("POST", "/faults", {"action": "delete-pod", "path_regex": "pods/w-.*/exec", "times": 1})
        st, o = c.req("GET", "/api/v1/namespaces/%s/pods/%s/exec?command=true" % (ns, old))
        self.assertEqual((st, o["message"]), (404, 'pods "%s" not found' % old))
        wait_for(lambda: len(names()) == 1 and names()[0] != old)


def raw_get(path, want=1 << 20, timeout=3.0):
    """GET over a fresh TLS connection; reads until `want` bytes, EOF or `timeout` seconds.
    Returns (bytes read, seconds, whether it stopped on the timeout)."""
    raw = socket.create_connection(("127.0.0.1", port()), timeout=timeout)
    s = ctx().wrap_socket(raw, server_hostname="127.0.0.1")
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n" % path).encode())
    buf, t0, timed_out = b"", time.time(), False
    try:
        while len(buf) < want and time.time() - t0 < timeout:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except socket.timeout:
        timed_out = True
    finally:
        s.close()
    return buf, time.time() - t0, timed_out or time.time() - t0 >= timeout


class T11HostileAnswers(unittest.TestCase):
    """The answers a broken or hostile API server gives (fatectl must survive each)."""
    P = "/api/v1/namespaces/default/configmaps"

    def tearDown(self):
        admin("DELETE", "/faults")

    def fault(self, **rule):
        admin("DELETE", "/faults")
        admin("POST", "/faults", dict(rule, path_regex="/configmaps"))

    def test_hang_and_trickle(self):
        self.fault(action="hang")
        buf, secs, timed_out = raw_get(self.P, timeout=1.0)
        self.assertEqual((buf, timed_out), (b"", True))
        self.fault(action="trickle", interval_ms=500, bytes=100)
        buf, secs, timed_out = raw_get(self.P, timeout=1.6)
        head, _, body = buf.partition(b"\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200", head)
        self.assertTrue(timed_out)
        self.assertTrue(2 <= len(body) <= 6, len(body))  # one byte per 500 ms, not 100

    def test_endless_oversize_bomb_and_big_list(self):
        self.fault(action="endless-body")
        buf, secs, timed_out = raw_get(self.P, want=4 << 20, timeout=20)
        self.assertIn(b"Transfer-Encoding: chunked", buf[:1000])
        self.assertGreaterEqual(len(buf), 4 << 20)  # still going
        self.fault(action="oversize", bytes=3000000)
        buf, _, _ = raw_get(self.P, want=64, timeout=5)
        self.assertIn(b"Content-Length: 3000000", buf)
        self.fault(action="oversize", bytes=3000000, chunked=True)
        buf, _, _ = raw_get(self.P, want=8 << 20, timeout=20)
        head, _, body = buf.partition(b"\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertTrue(body.endswith(b"0\r\n\r\n"))
        self.fault(action="gzip-bomb", bytes=64 << 20)
        buf, _, _ = raw_get(self.P, want=8 << 20, timeout=20)
        head, _, body = buf.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Encoding: gzip", head)
        import zlib
        out = zlib.decompressobj(31).decompress(body, 80 << 20)
        self.assertEqual(len(out), 64 << 20)
        self.assertLess(len(body), len(out) // 500)
        self.fault(action="big-list", items=5000)
        st, o = Client().req("GET", self.P)
        self.assertEqual((st, len(o["items"])), (200, 5000))

    def test_endless_continue(self):
        c = Client()
        self.fault(action="endless-continue")
        t1 = c.req("GET", self.P + "?limit=1")[1]["metadata"]["continue"]
        t2 = c.req("GET", self.P + "?limit=1&continue=" + t1)[1]["metadata"]["continue"]
        self.assertEqual(t1, t2)
        self.fault(action="endless-continue", mode="new")
        t1 = c.req("GET", self.P + "?limit=1")[1]["metadata"]["continue"]
        t2 = c.req("GET", self.P + "?limit=1&continue=" + t1)[1]["metadata"]["continue"]
        self.assertNotEqual(t1, t2)

    def test_admin_refuses_unknown_actions(self):
        with self.assertRaises(urllib.error.HTTPError):
            admin("POST", "/faults", {"action": "explode"})


class T12Lifecycle(unittest.TestCase):
    def test_exits_when_pid_file_removed(self):
        d = tempfile.mkdtemp(prefix="kube-emu-life-")
        try:
            t0 = time.time()
            subprocess.run([SCRIPT, "start", d, "--max-lifetime", "60"], check=True, stdout=subprocess.DEVNULL)
            self.assertLess(time.time() - t0, 15)   # includes making certificates; the <2 s start is timed in the kubectl test
            pid = int(open(os.path.join(d, "pid")).read())
            os.unlink(os.path.join(d, "pid"))
            wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                     open("/proc/%d/stat" % pid).read().split()[2] == "Z", timeout=3)
            subprocess.run([SCRIPT, "start", d, "--max-lifetime", "3"], check=True, stdout=subprocess.DEVNULL)
            pid = int(open(os.path.join(d, "pid")).read())
            wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                     open("/proc/%d/stat" % pid).read().split()[2] == "Z", timeout=6)
        finally:
            subprocess.run([SCRIPT, "stop", d], stdout=subprocess.DEVNULL)
            shutil.rmtree(d, ignore_errors=True)


class T20Capacity(unittest.TestCase):
    """Nodes with capacity, the scheduler's filters and message, ResourceQuota and LimitRange admission."""

    @classmethod
    def setUpClass(cls):
        admin("DELETE", "/nodes")
        admin("POST", "/nodes", [
            {"name": "cap-a", "capacity": {"cpu": "4", "memory": "8192Mi"}},
            {"name": "cap-b", "capacity": {"cpu": "8", "memory": "16Gi", "pods": "20"}, "labels": {"disk": "ssd"},
             "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}])

    @classmethod
    def tearDownClass(cls):
        admin("POST", "/reset")   # back to the single emulator-node for whatever runs next
        admin("POST", "/storage-classes", {"name": "fast"})

    @staticmethod
    def pod(name, cpu=None, limit_cpu=None, extra=None):
        res = {}
        if cpu:
            res["requests"] = {"cpu": cpu}
        if limit_cpu:
            res["limits"] = {"cpu": limit_cpu}
        spec = {"containers": [{"name": "c", "image": "busybox:1.36", "resources": res}]}
        spec.update(extra or {})
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}

    def test_nodes_with_capacity_in_canonical_quantities(self):
        st, nodes = kc().req("GET", "/api/v1/nodes")
        self.assertEqual(st, 200)
        self.assertEqual([n["metadata"]["name"] for n in nodes["items"]], ["cap-a", "cap-b"])
        a, b = nodes["items"]
        self.assertEqual(a["status"]["allocatable"], {"cpu": "4", "memory": "8Gi", "pods": "110",
                                                      "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
                                                      "hugepages-2Mi": "0"})
        self.assertEqual(b["spec"]["taints"], [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
        self.assertEqual(b["metadata"]["labels"]["disk"], "ssd")
        self.assertEqual(b["metadata"]["labels"]["kubernetes.io/hostname"], "cap-b")
        self.assertEqual([c["type"] for c in b["status"]["conditions"]],
                         ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"])

    def test_scheduler_filters_message_and_retry(self):
        admin("DELETE", "/nodes")   # fresh nodes: the other tests' pods stay bound to cap-a
        admin("POST", "/nodes", [
            {"name": "sched-a", "capacity": {"cpu": "4", "memory": "8Gi"}},
            {"name": "sched-b", "capacity": {"cpu": "8", "memory": "16Gi"}, "labels": {"disk": "ssd"},
             "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}])
        ns = ns_create("cap-sched")
        base = "/api/v1/namespaces/%s/pods" % ns
        self.assertEqual(kc().req("POST", base, self.pod("p1", "3"))[0], 201)
        p1 = wait_for(lambda: kc().req("GET", base + "/p1")[1]["spec"].get("nodeName") and kc().req("GET", base + "/p1")[1])
        self.assertEqual(p1["spec"]["nodeName"], "sched-a")        # sched-b is tainted
        self.assertEqual(p1["status"]["qosClass"], "Burstable")
        self.assertEqual(kc().req("POST", base, self.pod("p2", "2"))[0], 201)
        want = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}."
        p2 = wait_for(lambda: [c for c in kc().req("GET", base + "/p2")[1]["status"].get("conditions", [])
                               if c.get("reason") == "Unschedulable"])
        self.assertEqual(p2[0]["message"], want)
        self.assertEqual(p2[0]["status"], "False")
        evs = kc().req("GET", "/api/v1/namespaces/%s/events?fieldSelector=reason%%3DFailedScheduling" % ns)[1]["items"]
        self.assertEqual(evs[0]["message"], want)
        # a toleration and a nodeSelector reach cap-b; a preset nodeName skips the scheduler
        tol = self.pod("p3", "6", extra={"nodeSelector": {"disk": "ssd"}, "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]})
        self.assertEqual(kc().req("POST", base, tol)[0], 201)
        wait_for(lambda: kc().req("GET", base + "/p3")[1]["spec"].get("nodeName") == "sched-b")
        self.assertEqual(kc().req("POST", base, self.pod("p4", "1", extra={"nodeName": "sched-b"}))[0], 201)
        wait_for(lambda: kc().req("GET", base + "/p4")[1]["status"].get("phase") == "Running")
        # freeing capacity lets the Pending pod in
        self.assertEqual(kc().req("DELETE", base + "/p1")[0], 200)
        wait_for(lambda: kc().req("GET", base + "/p2")[1]["spec"].get("nodeName") == "sched-a", timeout=15)

    def test_quota_status_and_admission(self):
        ns = ns_create("cap-quota")
        q = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
             "spec": {"hard": {"requests.cpu": "2000m", "pods": "5", "requests.memory": "1024Mi"}}}
        st, obj = kc().req("POST", "/api/v1/namespaces/%s/resourcequotas" % ns, q)
        self.assertEqual(st, 201)
        self.assertEqual(obj["spec"]["hard"], {"requests.cpu": "2", "pods": "5", "requests.memory": "1Gi"})
        qpath = "/api/v1/namespaces/%s/resourcequotas/compute" % ns
        wait_for(lambda: kc().req("GET", qpath)[1]["status"].get("used") ==
                 {"requests.cpu": "0", "pods": "0", "requests.memory": "0"})
        base = "/api/v1/namespaces/%s/pods" % ns
        st, err = kc().req("POST", base, self.pod("nocpu"))
        self.assertEqual((st, err["reason"]), (403, "Forbidden"))
        self.assertEqual(err["message"], 'pods "nocpu" is forbidden: failed quota: compute: must specify '
                                         'requests.cpu for: c; requests.memory for: c')
        ok = self.pod("a", "1500m")
        ok["spec"]["containers"][0]["resources"]["requests"]["memory"] = "256Mi"
        self.assertEqual(kc().req("POST", base, ok)[0], 201)
        wait_for(lambda: kc().req("GET", qpath)[1]["status"]["used"]["requests.cpu"] == "1500m")
        wait_for(lambda: kc().req("GET", base + "/a")[1]["spec"].get("nodeName"))   # bound before the nodes change
        big = self.pod("b", "1")
        big["spec"]["containers"][0]["resources"]["requests"]["memory"] = "256Mi"
        st, err = kc().req("POST", base, big)
        self.assertEqual(st, 403)
        self.assertEqual(err["message"], 'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=1, '
                                         'used: requests.cpu=1500m, limited: requests.cpu=2')
        # a controller's pods: the ReplicaSet reports FailedCreate
        d = deployment("web", replicas=1)
        d["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Mi"}}
        self.assertEqual(kc().req("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, d)[0], 201)
        ev = wait_for(lambda: kc().req("GET", "/api/v1/namespaces/%s/events?fieldSelector=reason%%3DFailedCreate" % ns)[1]["items"])
        self.assertRegex(ev[0]["message"], r'^Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: exceeded quota: '
                                           r'compute, requested: requests.cpu=1, used: requests.cpu=1500m, limited: requests.cpu=2$')

    def test_limit_range_defaults_and_max(self):
        ns = ns_create("cap-limits")
        lr = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
              "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}}]}}
        st, obj = kc().req("POST", "/api/v1/namespaces/%s/limitranges" % ns, lr)
        self.assertEqual(st, 201)
        self.assertEqual(obj["spec"]["limits"][0]["default"], {"cpu": "1"})           # from max
        self.assertEqual(obj["spec"]["limits"][0]["defaultRequest"], {"cpu": "1", "memory": "64Mi"})  # default, min
        base = "/api/v1/namespaces/%s/pods" % ns
        st, p = kc().req("POST", base, self.pod("plain"))
        self.assertEqual(st, 201)
        self.assertEqual(p["spec"]["containers"][0]["resources"], {"limits": {"cpu": "1"},
                                                                   "requests": {"cpu": "1", "memory": "64Mi"}})
        wait_for(lambda: kc().req("GET", base + "/plain")[1]["spec"].get("nodeName"))
        st, err = kc().req("POST", base, self.pod("greedy", limit_cpu="2"))
        self.assertEqual(st, 403)
        self.assertEqual(err["message"], 'pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2')


if __name__ == "__main__":
    unittest.main(verbosity=2 if "-v" in sys.argv else 1, warnings="ignore", argv=[a for a in sys.argv if a != "-v"])
