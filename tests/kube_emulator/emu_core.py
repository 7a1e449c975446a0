"""Core of fatectl's Kubernetes API emulator: the object store with its watch event log, the API
operations (create, update, patch, server-side apply, delete with propagation) and the simulated
controllers (Deployment/ReplicaSet, StatefulSet, Job, pod lifecycle, PVC binding, Service IPs and
NodePorts, namespace teardown, garbage collection). Standard library only; see emulator.py."""

import base64
import copy
import hashlib
import heapq
import itertools
import json
import random
import re
import threading
import time
import traceback
import uuid

import emu_capacity
import kube_model as km
from kube_model import ApiError

DEFAULT_TIMINGS = {
    "pod_schedule_delay": 0.05,   # Pending (unscheduled) -> scheduled, ContainerCreating
    "pod_ready_delay": 0.4,       # ContainerCreating -> Running + Ready
    "pod_delete_delay": 0.2,      # graceful pod deletion (deletionTimestamp set) -> gone
    "pvc_bind_delay": 0.1,        # Pending -> Bound for a known storage class
    "lb_delay": 0.3,              # LoadBalancer Service -> status.loadBalancer.ingress
    "namespace_delete_delay": 0.2,  # Terminating namespace -> content deleted
    "job_duration": 0.5,          # Job pod Running -> Succeeded
    "crashloop_interval": 5.0,    # CrashLoopBackOff restartCount tick
    "controller_delay": 0.0,      # delay of every controller reaction (creating pods, status updates)
}
NODE_NAME = "emulator-node"


def jdump(o):
    return json.dumps(o, separators=(",", ":")).encode()


def tail_lines(text, n):
    lines = text.splitlines(True)
    return "".join(lines[-n:]) if n > 0 else ""


# ---------------------------------------------------------------------------------------------
# scheduler (one thread runs all controllers and timed transitions)
# ---------------------------------------------------------------------------------------------

class Scheduler:
    def __init__(self, emu):
        self.emu = emu
        self.heap = []
        self.seq = itertools.count()
        self.cv = threading.Condition()
        self.pending = {}
        t = threading.Thread(target=self.loop, daemon=True, name="controllers")
        t.start()

    def after(self, delay, fn, *args, dedup=False):
        key = (fn.__name__,) + args
        due = time.monotonic() + max(0.0, delay)
        with self.cv:
            if dedup:
                if key in self.pending and self.pending[key] <= due:
                    return
                self.pending[key] = due
            heapq.heappush(self.heap, (due, next(self.seq), fn, args, key if dedup else None))
            self.cv.notify()

    def clear(self):
        with self.cv:
            self.heap = []
            self.pending = {}

    def loop(self):
        while True:
            with self.cv:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    self.cv.wait(None if not self.heap else max(0.0, self.heap[0][0] - time.monotonic()))
                due, _, fn, args, key = heapq.heappop(self.heap)
                if key is not None:
                    if self.pending.get(key) != due:
                        continue
                    del self.pending[key]
            try:
                with self.emu.lock:
                    fn(*args)
            except Exception:
                traceback.print_exc()


# ---------------------------------------------------------------------------------------------
# object store with a watch event log
# ---------------------------------------------------------------------------------------------

class Entry:
    __slots__ = ("obj", "owners")

    def __init__(self, obj, owners=None):
        self.obj = obj
        self.owners = owners if owners is not None else {}   # manager -> dict(op, apiVersion, time, fields, sub)


class Emulator:
    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.sched = Scheduler(self)
        self.ca_pem = open(args.ca).read() if args.ca else ""
        self.reqlog = []
        self.reqseq = itertools.count(1)
        self.reqlock = threading.Lock()
        self.start_settings = {"version": args.version, "storage_classes": args.storage_classes.split(","),
                               "default_storage_class": args.storage_classes.split(",")[0]}
        self.tokens = {}
        for spec in args.token or []:
            tok, user = spec.split("=", 1)
            self.tokens[tok] = user
        self.exec_maps = []
        for spec in args.exec_map or []:
            self.exec_maps.append(json.loads(spec))
        self.reset(initial=True)

    # ----------------------------------------------------------------- state
    def reset(self, initial=False):
        with self.lock:
            self.sched.clear()
            self.objs = {}
            self.rv = 0
            self.events = []
            self.ev_base = 1
            self.settings = {"timings": dict(DEFAULT_TIMINGS)}
            self.set_version(self.start_settings["version"])
            self.faults = []
            self.denials = []
            self.pod_failures = []
            self.pod_logs = []
            if not initial:
                self.exec_maps = [m for m in self.exec_maps if m.get("builtin")]
            self.ip_seq = itertools.count(10)
            self.pod_ip_seq = itertools.count(10)
            self.lb_seq = itertools.count(10)
            self.used_node_ports = {}
            self.used_cluster_ips = set()
            self.sc_default = self.start_settings["default_storage_class"]
            self.bootstrap()
            self.cond.notify_all()
        with self.reqlock:
            self.reqlog = []

    def set_version(self, v):
        v = v.lstrip("v")
        parts = (v.split("-")[0].split(".") + ["0", "0"])[:3]
        self.major, self.minor, self.patch = int(parts[0]), int(parts[1]), int(parts[2])
        self.git_version = "v%d.%d.%d" % (self.major, self.minor, self.patch)
        self.restypes = km.resources_for(self.minor)
        self.by_gv = {}
        for r in self.restypes:
            self.by_gv.setdefault((r.group, r.version), {})[r.plural] = r
        self.by_key = {r.key: r for r in self.restypes}
        self.by_kind = {(r.group, r.kind): r for r in self.restypes}

    def rt(self, group, plural):
        return self.by_key.get((group, plural)) or next(r for r in km.RESOURCES if r.key == (group, plural))

    def bootstrap(self):
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME,
                                                           "kubernetes.io/os": "linux",
                                                           "node-role.kubernetes.io/control-plane": ""}},
                "spec": {"podCIDR": "10.244.0.0/24"},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                           "message": "kubelet is posting ready status",
                                           "lastHeartbeatTime": km.now_ts(), "lastTransitionTime": km.now_ts()}],
                           "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                         {"type": "Hostname", "address": NODE_NAME}],
                           "capacity": {"cpu": "16", "memory": "65842Mi", "pods": "110"},
                           "allocatable": {"cpu": "16", "memory": "65842Mi", "pods": "110"},
                           "nodeInfo": {"kubeletVersion": self.git_version, "containerRuntimeVersion":
                                        "containerd://1.7.13", "osImage": "fatectl kube emulator",
                                        "operatingSystem": "linux", "architecture": "amd64"}}}
        self.internal_create(self.rt("", "nodes"), node)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.internal_create(self.rt("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": ns}})
        for sc in self.start_settings["storage_classes"]:
            self.add_storage_class(sc, sc == self.sc_default)

    def add_storage_class(self, name, default=False):
        obj = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": name}, "provisioner": "emulator.fatectl/hostpath",
               "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}
        if default:
            obj["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        rt = self.rt("storage.k8s.io", "storageclasses")
        if not self.get(rt, "", name):
            self.internal_create(rt, obj)

    def timing(self, k):
        return float(self.settings["timings"].get(k, DEFAULT_TIMINGS.get(k, 0)))

    # ----------------------------------------------------------------- store primitives
    def table(self, rt):
        return self.objs.setdefault(rt.key, {})

    def get(self, rt, ns, name):
        return self.table(rt).get((ns or "", name))

    def put(self, rt, obj, etype, entry=None, prev=None):
        """store a new snapshot of obj (never mutated afterwards) and log a watch event"""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if etype == "DELETED":
            self.table(rt).pop(key, None)
        else:
            if entry is None:
                entry = self.table(rt).get(key) or Entry(obj)
            entry.obj = obj
            if entry.owners:
                obj["metadata"]["managedFields"] = self.render_managed(entry)
            else:
                obj["metadata"].pop("managedFields", None)
            self.table(rt)[key] = entry
        self.events.append((self.rv, etype, rt.key, obj, prev))
        if len(self.events) > 40000:
            drop = 20000
            self.events = self.events[drop:]
            self.ev_base += drop
        self.cond.notify_all()
        self.on_change(rt, etype, obj, prev)
        return obj

    def render_managed(self, entry):
        out = []
        for mgr, o in entry.owners.items():
            if not o["fields"]:
                continue
            mf = {"manager": mgr.split("\0")[0], "operation": o["op"], "apiVersion": o["apiVersion"], "time": o["time"],
                  "fieldsType": "FieldsV1", "fieldsV1": km.fields_v1(o["fields"])}
            if o.get("sub"):
                mf["subresource"] = o["sub"]
            out.append(mf)
        return out

    def list_objs(self, rt, ns):
        t = self.table(rt)
        items = [e.obj for (n, _), e in t.items() if not ns or n == ns]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    def new_meta(self, obj, ns, rt):
        md = obj.setdefault("metadata", {})
        if rt.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = km.now_ts()
        if rt.kind in km.GENERATION_KINDS:
            md["generation"] = 1
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
            md.pop(k, None)

    def internal_create(self, rt, obj, owners=None):
        """create without API checks (bootstrap and controllers)"""
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        self.new_meta(obj, obj["metadata"].get("namespace", ""), rt)
        self.default(rt, obj, None)
        return self.put(rt, obj, "ADDED", Entry(obj, owners or {}))

    def internal_update(self, rt, obj):
        e = self.get(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if e is None:
            return None
        if self.strip_volatile(e.obj) == self.strip_volatile(obj):
            return e.obj
        return self.put(rt, obj, "MODIFIED", e, prev=e.obj)

    @staticmethod
    def strip_volatile(o):
        o = dict(o)
        md = dict(o.get("metadata", {}))
        md.pop("resourceVersion", None)
        md.pop("managedFields", None)
        o["metadata"] = md
        return o

    def internal_delete(self, rt, obj):
        e = self.get(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if e is None:
            return
        final = copy.deepcopy(e.obj)
        self.put(rt, final, "DELETED", prev=e.obj)
        self.after_delete(rt, final)

    # ----------------------------------------------------------------- defaulting and validation
    def default(self, rt, obj, old):
        kind = rt.kind
        spec = obj.get("spec")
        if kind == "Namespace":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            if old is None:
                obj["status"] = {"phase": "Active"}
            else:
                obj["status"] = old.get("status", {"phase": "Active"})
        elif kind == "Service":
            self.default_service(obj, old)
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"):
            spec = obj.setdefault("spec", {})
            if kind != "Job" and kind != "DaemonSet":
                spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10) if kind in ("Deployment", "StatefulSet", "DaemonSet") else None
            if kind == "Deployment":
                spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {
                    "maxUnavailable": "25%", "maxSurge": "25%"}})
                spec.setdefault("progressDeadlineSeconds", 600)
            if kind == "StatefulSet":
                spec.setdefault("podManagementPolicy", "OrderedReady")
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
                if self.minor >= 27:
                    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
                for t in spec.get("volumeClaimTemplates", []) or []:
                    t.setdefault("apiVersion", "v1")
                    t.setdefault("kind", "PersistentVolumeClaim")
                    t.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
            if kind == "Job":
                spec.setdefault("completions", 1)
                spec.setdefault("parallelism", 1)
                spec.setdefault("backoffLimit", 6)
                if old is None:
                    uid = obj["metadata"]["uid"]
                    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
                    lb = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
                    lb.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name":
                               obj["metadata"]["name"], "controller-uid": uid, "job-name": obj["metadata"]["name"]})
            tmpl = spec.get("template")
            if isinstance(tmpl, dict):
                tmpl.setdefault("metadata", {}).pop("creationTimestamp", None)
                self.default_pod_spec(tmpl.setdefault("spec", {}), job=(kind == "Job"))
            if old is None or "status" not in old:
                obj["status"] = {} if kind != "StatefulSet" else {"replicas": 0, "availableReplicas": 0}
            else:
                obj["status"] = old["status"]
        elif kind == "Pod":
            self.default_pod_spec(obj.setdefault("spec", {}))
            if old is None:
                obj["status"] = {"phase": "Pending", "qosClass": emu_capacity.qos_class(obj)}
            else:
                obj["status"] = old.get("status", {})
        elif kind == "PersistentVolumeClaim":
            spec = obj.setdefault("spec", {})
            spec.setdefault("volumeMode", "Filesystem")
            if "storageClassName" not in spec and self.sc_default and \
                    self.get(self.rt("storage.k8s.io", "storageclasses"), "", self.sc_default):
                spec["storageClassName"] = self.sc_default
            obj["status"] = old.get("status", {"phase": "Pending"}) if old else {"phase": "Pending"}
        elif kind in ("LimitRange", "ResourceQuota", "Node"):
            emu_capacity.default_object(self, kind, obj, old)
        elif kind == "ServiceAccount":
            pass
        elif kind == "Secret":
            obj.setdefault("type", "Opaque")
            for k, v in list((obj.get("stringData") or {}).items()):
                obj.setdefault("data", {})[k] = base64.b64encode(v.encode()).decode()
            obj.pop("stringData", None)

    def default_pod_spec(self, ps, job=False):
        ps.setdefault("restartPolicy", "Never" if job else "Always")
        ps.setdefault("dnsPolicy", "ClusterFirst")
        ps.setdefault("schedulerName", "default-scheduler")
        ps.setdefault("terminationGracePeriodSeconds", 30)
        ps.setdefault("securityContext", {})
        for c in (ps.get("containers") or []) + (ps.get("initContainers") or []):
            if not isinstance(c, dict):
                continue
            img = c.get("image", "")
            tag = img.rsplit("/", 1)[-1]
            c.setdefault("imagePullPolicy", "Always" if (":" not in tag or tag.endswith(":latest")) and
                         "@" not in tag else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")

    def default_service(self, obj, old):
        spec = obj.setdefault("spec", {})
        ospec = (old or {}).get("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            if "clusterIP" not in spec or spec.get("clusterIP") in ("", None):
                spec["clusterIP"] = ospec.get("clusterIP") or self.alloc_cluster_ip()
            spec["clusterIPs"] = [spec["clusterIP"]]
            if spec["clusterIP"] != "None":
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        oldports = {(p.get("port"), p.get("protocol", "TCP")): p for p in ospec.get("ports", []) or []}
        for p in spec.get("ports", []) or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer"):
                if not p.get("nodePort"):
                    op = oldports.get((p.get("port"), p["protocol"]))
                    p["nodePort"] = op.get("nodePort") if op and op.get("nodePort") else None
            else:
                p.pop("nodePort", None)
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        obj["status"] = (old or {}).get("status", {"loadBalancer": {}}) if old and \
            ospec.get("type") == spec["type"] else {"loadBalancer": {}}

    def alloc_cluster_ip(self):
        while True:
            n = next(self.ip_seq)
            ip = "10.96.%d.%d" % (n // 250, 1 + n % 250)
            if ip not in self.used_cluster_ips:
                self.used_cluster_ips.add(ip)
                return ip

    def alloc_node_ports(self, rt, obj, old, dry):
        """allocate/validate NodePorts; raises 422 Invalid like the real allocator"""
        spec = obj["spec"]
        uid = obj["metadata"]["uid"]
        name = obj["metadata"]["name"]
        mine = {p for p, u in self.used_node_ports.items() if u == uid}
        want = []
        for i, p in enumerate(spec.get("ports", []) or []):
            np_ = p.get("nodePort")
            if spec["type"] not in ("NodePort", "LoadBalancer"):
                continue
            if np_:
                if not isinstance(np_, int) or not 30000 <= np_ <= 32767:
                    raise km.invalid(rt, name, [("spec.ports[%d].nodePort" % i,
                                                 "Invalid value: %s: provided port is not in the valid range. "
                                                 "The range of valid ports is 30000-32767" % np_)])
                if (self.used_node_ports.get(np_) not in (None, uid)) or np_ in want:
                    raise km.invalid(rt, name, [("spec.ports[%d].nodePort" % i,
                                                 "Invalid value: %d: provided port is already allocated" % np_)])
                want.append(np_)
        for p in spec.get("ports", []) or []:
            if spec["type"] in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                rnd = random.Random(hash((uid, p.get("port"))))
                while True:
                    cand = rnd.randint(30000, 32767)
                    if self.used_node_ports.get(cand) in (None, uid) and cand not in want:
                        break
                p["nodePort"] = cand
                want.append(cand)
        if not dry:
            for p in mine - set(want):
                self.used_node_ports.pop(p, None)
            for p in want:
                self.used_node_ports[p] = uid

    def validate(self, rt, obj, old):
        name = obj["metadata"].get("name", "")
        causes = []
        err = km.name_error(name, label=rt.kind in ("Namespace", "Service"))
        if err:
            causes.append(("metadata.name", 'Invalid value: "%s": %s' % (name, err)))
        spec = obj.get("spec") or {}
        if rt.kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"):
            sel = spec.get("selector")
            tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not sel:
                causes.append(("spec.selector", "Required value"))
            elif not km.labels_match(km.selector_to_reqs(sel), tl):
                causes.append(("spec.template.metadata.labels", "Invalid value: %s: `selector` does not match "
                               "template `labels`" % json.dumps(tl)))
            if old is not None and sel and (old.get("spec") or {}).get("selector") != sel:
                causes.append(("spec.selector", "Invalid value: %s: field is immutable" % json.dumps(sel)))
        if rt.kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job", "Pod"):
            ps = spec if rt.kind == "Pod" else ((spec.get("template") or {}).get("spec") or {})
            pre = "spec" if rt.kind == "Pod" else "spec.template.spec"
            cs = ps.get("containers")
            if not cs:
                causes.append((pre + ".containers", "Required value"))
            for i, c in enumerate(cs or []):
                if not c.get("name"):
                    causes.append(("%s.containers[%d].name" % (pre, i), "Required value"))
                if not c.get("image"):
                    causes.append(("%s.containers[%d].image" % (pre, i), "Required value"))
        if rt.kind == "Service":
            if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
                causes.append(("spec.type", 'Unsupported value: "%s": supported values: "ClusterIP", '
                                            '"ExternalName", "LoadBalancer", "NodePort"' % spec.get("type")))
            if not spec.get("ports") and spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None":
                causes.append(("spec.ports", "Required value"))
            if old is not None and (old.get("spec") or {}).get("clusterIP") not in (None, "") and \
                    spec.get("clusterIP") != old["spec"]["clusterIP"]:
                causes.append(("spec.clusterIPs[0]", "Invalid value: %s: may not change once set"
                               % json.dumps([spec.get("clusterIP")])))
        if causes:
            raise km.invalid(rt, name, causes)

    # ----------------------------------------------------------------- API operations
    def check_ns(self, rt, ns, creating, name=""):
        if not rt.namespaced:
            return
        nse = self.get(self.rt("", "namespaces"), "", ns)
        if nse is None:
            raise km.not_found(self.rt("", "namespaces"), ns)
        if creating and nse.obj["status"].get("phase") == "Terminating":
            head = '%s "%s" is forbidden' % (rt.gr, name) if name else "%s is forbidden" % rt.gr
            det = km._details(rt, name)
            det["causes"] = [{"reason": "NamespaceTerminating", "message": "namespace %s is being terminated" % ns,
                              "field": "metadata.namespace"}]
            raise ApiError(403, "Forbidden", "%s: unable to create new content in namespace %s because it is "
                                             "being terminated" % (head, ns), det)

    def check_body(self, rt, body, ns, name=None):
        if not isinstance(body, dict):
            raise km.bad_request("the object provided is not a JSON object")
        kind, av = body.get("kind"), body.get("apiVersion")
        if kind and kind != rt.kind or av and av != rt.api_version:
            raise km.bad_request('the API version in the data (%s) does not match the expected API version (%s)'
                                 % (av, rt.api_version) if av != rt.api_version else
                                 "Object '%s' has the wrong kind: expected %s" % (kind, rt.kind))
        md = body.setdefault("metadata", {})
        if rt.namespaced and md.get("namespace") and md["namespace"] != ns:
            raise km.bad_request("the namespace of the provided object does not match the namespace sent on "
                                 "the request")
        if name is not None and md.get("name") and md["name"] != name:
            raise km.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                 % (md["name"], name))
        body["kind"], body["apiVersion"] = rt.kind, rt.api_version

    def op_create(self, rt, ns, body, manager, dry):
        self.check_body(rt, body, ns)
        md = body["metadata"]
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + km.safe_encode(random.getrandbits(40), 5)
            else:
                raise km.invalid(rt, "", [("metadata.name", "Required value: name or generateName is required")])
        self.check_ns(rt, ns, True, md["name"])
        if self.get(rt, ns, md["name"]):
            raise km.already_exists(rt, md["name"])
        obj = copy.deepcopy(body)
        self.new_meta(obj, ns, rt)
        self.default(rt, obj, None)
        self.validate(rt, obj, None)
        emu_capacity.admit(self, rt, ns, obj, dry)   # LimitRanger, ResourceQuota
        if rt.kind == "Service":
            self.alloc_node_ports(rt, obj, None, dry)
        entry = Entry(obj)
        self.track_update(entry, None, obj, manager, rt)
        if dry:
            obj["metadata"]["managedFields"] = self.render_managed(entry)
            return 201, obj
        return 201, self.put(rt, obj, "ADDED", entry)

    def op_update(self, rt, ns, name, body, manager, dry, sub=None):
        self.check_body(rt, body, ns, name)
        e = self.get(rt, ns, name)
        if e is None:
            raise km.not_found(rt, name)
        self.check_ns(rt, ns, False)
        rv = body["metadata"].get("resourceVersion")
        if rv and rv != e.obj["metadata"]["resourceVersion"]:
            raise km.conflict(rt, name)
        old = e.obj
        if sub == "status":
            obj = copy.deepcopy(old)
            obj["status"] = copy.deepcopy(body.get("status", {}))
        else:
            obj = copy.deepcopy(body)
            md = obj["metadata"]
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "namespace"):
                if k in old["metadata"]:
                    md[k] = old["metadata"][k]
                else:
                    md.pop(k, None)
            md["name"] = name
            md.pop("managedFields", None)
            self.default(rt, obj, old)
            self.validate(rt, obj, old)
            if rt.kind == "Service":
                self.alloc_node_ports(rt, obj, old, dry)
        return self.finish_write(rt, e, old, obj, manager, dry, sub)

    def finish_write(self, rt, e, old, obj, manager, dry, sub=None, owners=None):
        if rt.kind in km.GENERATION_KINDS and spec_of(obj) != spec_of(old):
            obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        entry = Entry(obj, copy.deepcopy(owners if owners is not None else e.owners))
        if owners is None:
            self.track_update(entry, old, obj, manager, rt, sub)
        if dry:
            obj["metadata"]["managedFields"] = self.render_managed(entry)
            obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return 200, obj
        if self.strip_volatile(obj) == self.strip_volatile(old) and \
                self.render_managed(entry) == old["metadata"].get("managedFields", []):
            return 200, old     # no-op writes do not bump resourceVersion
        out = self.put(rt, obj, "MODIFIED", entry, prev=old)
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers") and \
                rt.kind not in ("Pod", "Namespace"):
            final = copy.deepcopy(out)
            self.put(rt, final, "DELETED", prev=out)
            self.after_delete(rt, final)
        return 200, out

    def track_update(self, entry, old, new, manager, rt, sub=None):
        """ownership after a non-apply write: changed fields move to `manager` (operation Update)"""
        withst = sub == "status"
        nf = km.field_set(new, withst)
        if withst:
            nf = {p for p in nf if p[0] == "f:status"}
        if old is None:
            changed = nf
        else:
            of = km.field_set(old, withst)
            changed = {p for p in nf if p not in of or km.get_path(old, p) != km.get_path(new, p)}
            gone = of - nf
            for o in entry.owners.values():
                o["fields"] -= gone
        if not changed:
            return
        for m, o in entry.owners.items():
            if m != manager or o["op"] != "Update":
                o["fields"] -= changed
        key = manager
        o = entry.owners.get(key)
        if o is None or o["op"] != "Update":
            if o is not None:   # same manager used Apply before: Update gets its own entry
                key = manager + "\0update"
            o = entry.owners.setdefault(key, {"op": "Update", "fields": set()})
        o.update({"apiVersion": rt.api_version, "time": km.now_ts(), "sub": sub})
        o["fields"] |= changed
        entry.owners = {k: v for k, v in entry.owners.items() if v["fields"]}

    def op_patch(self, rt, ns, name, body_bytes, ctype, params, manager, dry, sub=None):
        ctype = (ctype or "").split(";")[0].strip()
        e = self.get(rt, ns, name)
        if ctype == "application/apply-patch+yaml":
            return self.op_apply(rt, ns, name, body_bytes, params, dry, e, sub)
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                         "application/json-patch+json"):
            raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                           "accepted media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml")
        if e is None:
            raise km.not_found(rt, name)
        try:
            patch = json.loads(body_bytes or b"null")
        except ValueError as ex:
            raise km.bad_request("error decoding patch: %s" % ex)
        old = e.obj
        base = copy.deepcopy(old)
        base["metadata"].pop("managedFields", None)
        if ctype == "application/json-patch+json":
            newobj = km.json_patch(base, patch)
        elif ctype == "application/merge-patch+json":
            newobj = km.merge_patch(base, patch)
        else:
            if rt.kind not in {r.kind for r in km.RESOURCES}:
                raise ApiError(415, "UnsupportedMediaType", "strategic merge patch is not supported for %s" % rt.kind)
            newobj = km.strategic_merge(base, patch)
        if not isinstance(newobj, dict) or not isinstance(newobj.get("metadata"), dict):
            raise km.bad_request("the patched object is not a Kubernetes object")
        rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise km.conflict(rt, name)
        newobj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        return self.op_update(rt, ns, name, newobj, manager, dry, sub)

    def op_apply(self, rt, ns, name, body_bytes, params, dry, e, sub):
        mgr = params.get("fieldManager")
        if not mgr:
            raise km.bad_request("PATCH %s: fieldManager is required for apply requests" % rt.plural)
        force = params.get("force", "false").lower() == "true"
        try:
            applied = json.loads(body_bytes)
        except ValueError:
            applied = parse_yaml_subset(body_bytes.decode("utf-8", "replace"))
        if not isinstance(applied, dict):
            raise km.bad_request("error decoding YAML: the apply configuration is not an object")
        self.check_body(rt, applied, ns, name)
        applied["metadata"]["name"] = name
        if rt.namespaced:
            applied["metadata"]["namespace"] = ns
        applied.pop("status", None) if sub != "status" else None
        aset = km.field_set(applied, sub == "status")
        if sub == "status":
            aset = {p for p in aset if p[0] == "f:status"}
        if e is None:
            if sub:
                raise km.not_found(rt, name)
            code, obj = self.op_create(rt, ns, copy.deepcopy(applied), "\0none", True)
            obj["metadata"].pop("managedFields", None)
            owners = {mgr: {"op": "Apply", "apiVersion": rt.api_version, "time": km.now_ts(), "fields": aset,
                            "sub": None}}
            entry = Entry(obj, owners)
            if dry:
                obj["metadata"]["managedFields"] = self.render_managed(entry)
                return 201, obj
            if rt.kind == "Service":
                self.alloc_node_ports(rt, obj, None, False)
            return 201, self.put(rt, obj, "ADDED", entry)
        old = e.obj
        rv = applied["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise km.conflict(rt, name)
        applied["metadata"].pop("resourceVersion", None)
        owners = copy.deepcopy(e.owners)
        conflicts = []
        for m, o in owners.items():
            if m == mgr:
                continue
            for p in sorted(aset & o["fields"]):
                if km.get_path(old, p) != km.get_path(applied, p):
                    conflicts.append((p, m, o))
        if conflicts and not force:
            causes = [{"reason": "FieldManagerConflict", "message": 'conflict with "%s"%s' % (
                m.split("\0")[0], " using " + o["apiVersion"] if o["op"] == "Update" else ""),
                "field": km.path_to_str(p)} for p, m, o in conflicts]
            if len(causes) == 1:
                msg = "Apply failed with 1 conflict: %s: %s" % (causes[0]["message"], causes[0]["field"])
            else:
                msg = "Apply failed with %d conflicts: %s" % (len(causes), "\n".join(
                    "%s: %s" % (c["message"], c["field"]) for c in causes))
            d = km._details(rt, name)
            d["causes"] = causes
            raise ApiError(409, "Conflict", msg, d)
        for p, m, o in conflicts:
            o["fields"].discard(p)
        prev = owners.get(mgr, {"fields": set()})["fields"] if owners.get(mgr, {}).get("op") == "Apply" else set()
        base = copy.deepcopy(old)
        base["metadata"].pop("managedFields", None)
        merged = km.apply_merge(base, {k: v for k, v in applied.items() if k != "status" or sub == "status"})
        others = set()
        for m, o in owners.items():
            if m != mgr:
                others |= o["fields"]
        keep = others | aset
        for p in sorted(prev - aset, key=len, reverse=True):
            if p not in others and not any(q[:len(p)] == p for q in keep):
                km.remove_path(merged, p)
                # prune parents left empty that nobody owns (labels: {} after the last label went)
                par = p[:-1]
                while par and par not in keep and not any(q[:len(par)] == par for q in keep):
                    v = km.get_path(merged, par)
                    if v in ({}, []):
                        km.remove_path(merged, par)
                        par = par[:-1]
                    else:
                        break
        owners[mgr] = {"op": "Apply", "apiVersion": rt.api_version, "time": km.now_ts(), "fields": aset,
                       "sub": sub}
        owners = {k: v for k, v in owners.items() if v["fields"]}
        if sub != "status":
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if k in old["metadata"]:
                    merged["metadata"][k] = old["metadata"][k]
            self.default(rt, merged, old)
            self.validate(rt, merged, old)
            if rt.kind == "Service":
                self.alloc_node_ports(rt, merged, old, dry)
        return self.finish_write(rt, e, old, merged, mgr, dry, sub, owners=owners)

    def op_delete(self, rt, ns, name, opts, dry):
        e = self.get(rt, ns, name)
        if e is None:
            raise km.not_found(rt, name)
        obj = e.obj
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise km.conflict(rt, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                              % (pre["uid"], obj["metadata"]["uid"]))
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise km.conflict(rt, name, "Precondition failed: ResourceVersion in precondition: %s, "
                              "ResourceVersion in object meta: %s" % (pre["resourceVersion"],
                                                                      obj["metadata"]["resourceVersion"]))
        policy = opts.get("propagationPolicy") or ("Orphan" if opts.get("orphanDependents") else None)
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise km.invalid(rt, name, [("propagationPolicy", 'Unsupported value: "%s": supported values: '
                                         '"Foreground", "Background", "Orphan", "nil"' % policy)])
        grace = opts.get("gracePeriodSeconds")
        if obj["metadata"].get("deletionTimestamp"):
            return 200, obj
        graceful = (rt.kind == "Pod" and grace != 0 and obj.get("spec", {}).get("nodeName")) or \
            rt.kind == "Namespace" or policy == "Foreground" or obj["metadata"].get("finalizers")
        if dry:
            o = copy.deepcopy(obj)
            if graceful:
                o["metadata"]["deletionTimestamp"] = km.now_ts()
                return 200, o
            return 200, o
        if not graceful:
            final = copy.deepcopy(obj)
            self.put(rt, final, "DELETED", prev=obj)
            self.after_delete(rt, final, policy)
            return 200, km.success_status(rt, name, obj["metadata"]["uid"])
        o = copy.deepcopy(obj)
        o["metadata"]["deletionTimestamp"] = km.now_ts()
        if rt.kind == "Pod":
            g = grace if grace is not None else o["spec"].get("terminationGracePeriodSeconds", 30)
            o["metadata"]["deletionGracePeriodSeconds"] = g
            o = self.put(rt, o, "MODIFIED", e, prev=obj)
            self.sched.after(self.timing("pod_delete_delay"), self.pod_finalize, ns, name, o["metadata"]["uid"])
        elif rt.kind == "Namespace":
            o["metadata"]["deletionGracePeriodSeconds"] = 0
            o["status"] = {"phase": "Terminating"}
            o = self.put(rt, o, "MODIFIED", e, prev=obj)
            self.sched.after(self.timing("namespace_delete_delay"), self.ns_teardown, name, o["metadata"]["uid"])
        else:
            o["metadata"]["deletionGracePeriodSeconds"] = 0
            if policy == "Foreground":
                o["metadata"]["finalizers"] = list(o["metadata"].get("finalizers", [])) + ["foregroundDeletion"]
            o = self.put(rt, o, "MODIFIED", e, prev=obj)
            if policy == "Foreground":
                self.gc_dependents(o["metadata"]["uid"], "Background")
                self.sched.after(0.05, self.foreground_finish, rt.key, ns, name, o["metadata"]["uid"])
            if "kubernetes.io/pvc-protection" in o["metadata"].get("finalizers", []):
                self.sched.after(self.timing("pod_delete_delay"), self.pvc_unprotect, ns, name, o["metadata"]["uid"])
        return 200, o

    def after_delete(self, rt, obj, policy=None):
        uid = obj["metadata"]["uid"]
        if rt.kind == "Service":
            for p, u in list(self.used_node_ports.items()):
                if u == uid:
                    del self.used_node_ports[p]
            self.used_cluster_ips.discard(obj.get("spec", {}).get("clusterIP"))
        self.gc_dependents(uid, policy or "Background")

    def gc_dependents(self, uid, policy):
        for key, table in list(self.objs.items()):
            rt = self.rt(*key)
            for e in list(table.values()):
                refs = e.obj["metadata"].get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if policy == "Orphan":
                    o = copy.deepcopy(e.obj)
                    o["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    if not o["metadata"]["ownerReferences"]:
                        del o["metadata"]["ownerReferences"]
                    self.put(rt, o, "MODIFIED", e, prev=e.obj)
                else:
                    self.sched.after(self.timing("controller_delay"), self.gc_delete, key,
                                     e.obj["metadata"].get("namespace", ""), e.obj["metadata"]["name"],
                                     e.obj["metadata"]["uid"])

    def gc_delete(self, key, ns, name, uid):
        rt = self.rt(*key)
        e = self.get(rt, ns, name)
        if e and e.obj["metadata"]["uid"] == uid:
            try:
                self.op_delete(rt, ns, name, {"propagationPolicy": "Background"}, False)
            except ApiError:
                pass

    def foreground_finish(self, key, ns, name, uid):
        rt = self.rt(*key)
        e = self.get(rt, ns, name)
        if not e or e.obj["metadata"]["uid"] != uid:
            return
        for table in self.objs.values():
            for d in table.values():
                if any(r.get("uid") == uid for r in d.obj["metadata"].get("ownerReferences") or []):
                    self.sched.after(0.05, self.foreground_finish, key, ns, name, uid)
                    return
        final = copy.deepcopy(e.obj)
        final["metadata"]["finalizers"] = [f for f in final["metadata"].get("finalizers", [])
                                           if f != "foregroundDeletion"]
        if final["metadata"]["finalizers"]:
            self.put(rt, final, "MODIFIED", e, prev=e.obj)
            return
        del final["metadata"]["finalizers"]
        self.put(rt, final, "DELETED", prev=e.obj)
        self.after_delete(rt, final)

    def ns_teardown(self, ns, uid):
        nrt = self.rt("", "namespaces")
        e = self.get(nrt, "", ns)
        if not e or e.obj["metadata"]["uid"] != uid:
            return
        left = 0
        for key, table in list(self.objs.items()):
            rt = self.rt(*key)
            if not rt.namespaced:
                continue
            for (n, name), oe in list(table.items()):
                if n != ns:
                    continue
                left += 1
                if not oe.obj["metadata"].get("deletionTimestamp"):
                    try:
                        self.op_delete(rt, ns, name, {"propagationPolicy": "Background"}, False)
                    except ApiError:
                        pass
        if left:
            self.sched.after(0.1, self.ns_teardown, ns, uid)
            return
        final = copy.deepcopy(e.obj)
        final["spec"]["finalizers"] = []
        self.put(nrt, final, "DELETED", prev=e.obj)

    def pvc_unprotect(self, ns, name, uid):
        """kubernetes.io/pvc-protection: drop the finalizer once no pod uses the claim"""
        rt = self.rt("", "persistentvolumeclaims")
        e = self.get(rt, ns, name)
        if not e or e.obj["metadata"]["uid"] != uid:
            return
        for p in self.list_objs(self.rt("", "pods"), ns):
            if any((v.get("persistentVolumeClaim") or {}).get("claimName") == name
                   for v in p["spec"].get("volumes", []) or []):
                self.sched.after(0.1, self.pvc_unprotect, ns, name, uid)
                return
        o = copy.deepcopy(e.obj)
        o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers", [])
                                       if f != "kubernetes.io/pvc-protection"]
        if o["metadata"]["finalizers"]:
            self.put(rt, o, "MODIFIED", e, prev=e.obj)
            return
        del o["metadata"]["finalizers"]
        o = self.put(rt, o, "MODIFIED", e, prev=e.obj)
        final = copy.deepcopy(o)
        self.put(rt, final, "DELETED", prev=o)
        self.after_delete(rt, final)

    def pod_finalize(self, ns, name, uid):
        rt = self.rt("", "pods")
        e = self.get(rt, ns, name)
        if e and e.obj["metadata"]["uid"] == uid:
            final = copy.deepcopy(e.obj)
            self.put(rt, final, "DELETED", prev=e.obj)
            self.after_delete(rt, final)

    # ----------------------------------------------------------------- controllers
    def on_change(self, rt, etype, obj, prev):
        md = obj["metadata"]
        ns, name = md.get("namespace", ""), md["name"]
        cd = self.timing("controller_delay")
        k = rt.kind
        emu_capacity.on_change(self, rt, etype, obj)
        if k == "Namespace" and etype == "ADDED":
            self.sched.after(0, self.ns_init, name, md["uid"])
        elif k == "Deployment" and etype != "DELETED":
            self.sched.after(cd, self.reconcile_deploy, ns, name, dedup=True)
        elif k == "ReplicaSet":
            if etype != "DELETED":
                self.sched.after(cd, self.reconcile_rs, ns, name, dedup=True)
            self.kick_owner(md, cd)
        elif k == "StatefulSet" and etype != "DELETED":
            self.sched.after(cd, self.reconcile_sts, ns, name, dedup=True)
        elif k == "Job" and etype != "DELETED":
            self.sched.after(cd, self.reconcile_job, ns, name, dedup=True)
        elif k == "Pod":
            if etype == "ADDED":   # a preset spec.nodeName skips the scheduler; the kubelet still starts it
                self.sched.after(self.timing("pod_schedule_delay"), self.pod_schedule, ns, name, md["uid"])
            self.kick_owner(md, cd)
        elif k == "PersistentVolumeClaim" and etype == "ADDED":
            self.sched.after(self.timing("pvc_bind_delay"), self.pvc_bind, ns, name, md["uid"])
        elif k == "StorageClass" and etype == "ADDED":
            for e in list(self.table(self.rt("", "persistentvolumeclaims")).values()):
                if e.obj["status"].get("phase") == "Pending":
                    self.sched.after(0, self.pvc_bind, e.obj["metadata"]["namespace"], e.obj["metadata"]["name"],
                                     e.obj["metadata"]["uid"])
        elif k == "Service" and etype != "DELETED":
            if obj["spec"].get("type") == "LoadBalancer" and not obj.get("status", {}).get("loadBalancer", {}) \
                    .get("ingress"):
                self.sched.after(self.timing("lb_delay"), self.lb_assign, ns, name, md["uid"], dedup=True)

    def kick_owner(self, md, cd, depth=0):
        for r in md.get("ownerReferences") or []:
            fn = {"ReplicaSet": self.reconcile_rs, "Deployment": self.reconcile_deploy,
                  "StatefulSet": self.reconcile_sts, "Job": self.reconcile_job}.get(r.get("kind"))
            if fn:
                self.sched.after(cd, fn, md.get("namespace", ""), r.get("name"), dedup=True)
            if r.get("kind") == "ReplicaSet" and depth == 0:     # pods also wake the Deployment
                rs = self.get(self.rt("apps", "replicasets"), md.get("namespace", ""), r.get("name"))
                if rs:
                    self.kick_owner(rs.obj["metadata"], cd, 1)

    def ns_init(self, ns, uid):
        e = self.get(self.rt("", "namespaces"), "", ns)
        if not e or e.obj["metadata"]["uid"] != uid or e.obj["metadata"].get("deletionTimestamp"):
            return
        sa = self.rt("", "serviceaccounts")
        if not self.get(sa, ns, "default"):
            self.internal_create(sa, {"metadata": {"name": "default", "namespace": ns}})
        cm = self.rt("", "configmaps")
        if not self.get(cm, ns, "kube-root-ca.crt"):
            self.internal_create(cm, {"metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                                   "annotations": {"kubernetes.io/description": "Contains a CA "
                                                                   "bundle that can be used to verify the "
                                                                   "kube-apiserver when using internal endpoints "
                                                                   "such as the internal service IP or "
                                                                   "kubernetes.default.svc. No other usage is "
                                                                   "guaranteed across distributions of "
                                                                   "Kubernetes clusters."}},
                                      "data": {"ca.crt": self.ca_pem}})

    def owned(self, rt, ns, uid):
        return [e.obj for (n, _), e in self.table(rt).items() if n == ns and
                any(r.get("uid") == uid for r in e.obj["metadata"].get("ownerReferences") or [])]

    @staticmethod
    def owner_ref(obj):
        return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    def reconcile_deploy(self, ns, name):
        drt, rsrt = self.rt("apps", "deployments"), self.rt("apps", "replicasets")
        e = self.get(drt, ns, name)
        if not e or e.obj["metadata"].get("deletionTimestamp"):
            return
        d = e.obj
        spec = d["spec"]
        desired = spec.get("replicas", 1)
        tmpl = copy.deepcopy(spec.get("template", {}))
        h = km.template_hash(tmpl)
        rsname = "%s-%s" % (name, h)
        rss = self.owned(rsrt, ns, d["metadata"]["uid"])
        new = next((r for r in rss if r["metadata"]["name"] == rsname), None)
        revs = [int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")) for r in rss]
        old = sorted([r for r in rss if r["metadata"]["name"] != rsname],
                     key=lambda r: int(r["metadata"].get("annotations", {}).get(
                         "deployment.kubernetes.io/revision", "0")))
        scale = {r["metadata"]["name"]: r["spec"].get("replicas", 0) for r in old}
        new_cur = new["spec"].get("replicas", 0) if new else 0
        surge, unavail = surge_unavailable(spec, desired)
        if spec.get("strategy", {}).get("type") == "Recreate":
            # Recreate: all old pods go first; the new ReplicaSet scales up once none is left
            for r in old:
                scale[r["metadata"]["name"]] = 0
            old_pods = sum(len(self.owned(self.rt("", "pods"), ns, r["metadata"]["uid"])) for r in old)
            target = desired if old_pods == 0 else 0
        elif not any(scale.values()):
            target = desired
        else:
            # RollingUpdate as the deployment controller does it: scale up within maxSurge, scale old
            # ReplicaSets down (unhealthy replicas first) while keeping desired - maxUnavailable available
            cur_total = sum(scale.values()) + new_cur
            target = min(new_cur, desired)
            if new_cur < desired and cur_total < desired + surge:
                target = min(desired, new_cur + desired + surge - cur_total)
            new_avail = new["status"].get("availableReplicas", 0) if new else 0
            min_avail = desired - unavail
            cleanup = sum(scale.values()) + target - min_avail - (target - new_avail)
            for r in old:
                n = r["metadata"]["name"]
                unhealthy = scale[n] - r.get("status", {}).get("availableReplicas", 0)
                if cleanup <= 0:
                    break
                if unhealthy > 0:
                    k = min(unhealthy, cleanup)
                    scale[n] -= k
                    cleanup -= k
            avail_total = new_avail + sum(min(scale[r["metadata"]["name"]],
                                              r.get("status", {}).get("availableReplicas", 0)) for r in old)
            down = avail_total - min_avail
            for r in old:
                if down <= 0:
                    break
                n = r["metadata"]["name"]
                k = min(scale[n], down)
                scale[n] -= k
                down -= k
        ann = {"deployment.kubernetes.io/desired-replicas": str(desired),
               "deployment.kubernetes.io/max-replicas": str(desired + surge)}
        if new is None:
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(spec.get("selector", {}))
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            ann["deployment.kubernetes.io/revision"] = str(max(revs + [0]) + 1)
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": rsname, "namespace": ns, "labels": dict(tmpl["metadata"]["labels"]),
                               "annotations": ann, "ownerReferences": [self.owner_ref(d)]},
                  "spec": {"replicas": target, "selector": sel, "template": tmpl}}
            self.internal_create(rsrt, rs)
            if target:
                self.record_event(d, "Normal", "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d"
                                  % (rsname, target), "deployment-controller")
        elif new_cur != target or any(new["metadata"].get("annotations", {}).get(k) != v for k, v in ann.items()):
            o = copy.deepcopy(new)
            o["spec"]["replicas"] = target
            o["metadata"].setdefault("annotations", {}).update(ann)
            self.internal_update(rsrt, o)
            if new_cur != target:
                self.record_event(d, "Normal", "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d" % (
                    "up" if target > new_cur else "down", rsname, new_cur, target), "deployment-controller")
        for r in old:
            if r["spec"].get("replicas", 0) != scale[r["metadata"]["name"]]:
                o = copy.deepcopy(r)
                o["spec"]["replicas"] = scale[r["metadata"]["name"]]
                self.internal_update(rsrt, o)
                self.record_event(d, "Normal", "ScalingReplicaSet", "Scaled down replica set %s from %d to %d" % (
                    r["metadata"]["name"], r["spec"].get("replicas", 0), o["spec"]["replicas"]),
                    "deployment-controller")
        # status
        rss = self.owned(rsrt, ns, d["metadata"]["uid"])
        new = next((r for r in rss if r["metadata"]["name"] == rsname), {"status": {}})
        tot = sum(r["status"].get("replicas", 0) for r in rss)
        ready = sum(r["status"].get("readyReplicas", 0) for r in rss)
        avail = sum(r["status"].get("availableReplicas", 0) for r in rss)
        upd = new["status"].get("replicas", 0)
        st = copy.deepcopy(d.get("status", {}))
        st.update({"observedGeneration": d["metadata"].get("generation", 1), "replicas": tot,
                   "updatedReplicas": upd, "readyReplicas": ready, "availableReplicas": avail,
                   "unavailableReplicas": max(0, desired - avail) if tot or desired else 0})
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
            if not st[k]:
                del st[k]
        now = km.now_ts()
        conds = {c["type"]: c for c in st.get("conditions", [])}
        avail_ok = avail >= desired - max_unavailable(spec, desired)
        self.set_cond(conds, "Available", "True" if avail_ok else "False",
                      "MinimumReplicasAvailable" if avail_ok else "MinimumReplicasUnavailable",
                      "Deployment has minimum availability." if avail_ok else
                      "Deployment does not have minimum availability.", now)
        complete = upd == desired and avail >= desired and tot == desired
        prog = conds.get("Progressing")
        if complete:
            self.set_cond(conds, "Progressing", "True", "NewReplicaSetAvailable",
                          'ReplicaSet "%s" has successfully progressed.' % rsname, now)
        else:
            started = parse_or_now(prog.get("lastUpdateTime")) if prog and prog.get("reason") == \
                "ReplicaSetUpdated" else None
            deadline = spec.get("progressDeadlineSeconds", 600)
            if prog and prog.get("reason") == "ProgressDeadlineExceeded":
                pass
            elif started is not None and time.time() - started > deadline:
                self.set_cond(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                              'ReplicaSet "%s" has timed out progressing.' % rsname, now)
            else:
                if not prog or prog.get("reason") != "ReplicaSetUpdated":
                    self.set_cond(conds, "Progressing", "True", "ReplicaSetUpdated",
                                  'ReplicaSet "%s" is progressing.' % rsname, now, force=True)
                self.sched.after(min(deadline, 5) + 0.1, self.reconcile_deploy, ns, name, dedup=True)
        st["conditions"] = [conds[t] for t in ("Available", "Progressing") if t in conds]
        if st != d.get("status"):
            o = copy.deepcopy(d)
            o["status"] = st
            self.internal_update(drt, o)

    @staticmethod
    def set_cond(conds, typ, status, reason, msg, now, force=False):
        c = conds.get(typ)
        if c and c["status"] == status and c.get("reason") == reason and not force:
            return
        nc = {"type": typ, "status": status, "lastUpdateTime": now,
              "lastTransitionTime": c["lastTransitionTime"] if c and c["status"] == status else now,
              "reason": reason, "message": msg}
        conds[typ] = nc

    def new_pod(self, owner, name, tmpl, extra_labels=None):
        ns = owner["metadata"]["namespace"]
        md = copy.deepcopy(tmpl.get("metadata", {}))
        md["name"] = name
        md["namespace"] = ns
        md["ownerReferences"] = [self.owner_ref(owner)]
        if extra_labels:
            md.setdefault("labels", {}).update(extra_labels)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(tmpl.get("spec", {}))}
        pod["spec"].setdefault("serviceAccountName", "default")
        pod["spec"].setdefault("serviceAccount", pod["spec"]["serviceAccountName"])
        pod["spec"].setdefault("enableServiceLinks", True)
        pod["spec"].setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}])
        try:
            emu_capacity.admit(self, self.rt("", "pods"), ns, pod, False)
        except ApiError as err:   # the controller's FailedCreate event; it tries again later
            kind = owner["kind"]
            msg = ("create Pod %s in StatefulSet %s failed error: %s" % (name, owner["metadata"]["name"], err.message)
                   if kind == "StatefulSet" else "Error creating: %s" % err.message)
            self.record_event(owner, "Warning", "FailedCreate", msg, {
                "ReplicaSet": "replicaset-controller", "StatefulSet": "statefulset-controller"}.get(kind, "job-controller"))
            retry = {"ReplicaSet": self.reconcile_rs, "StatefulSet": self.reconcile_sts, "Job": self.reconcile_job}.get(kind)
            if retry:
                self.sched.after(2.0, retry, ns, owner["metadata"]["name"], dedup=True)
            return None
        return self.internal_create(self.rt("", "pods"), pod)

    @staticmethod
    def pod_ready(p):
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in p.get("status", {}).get("conditions", []))

    def reconcile_rs(self, ns, name):
        rsrt, prt = self.rt("apps", "replicasets"), self.rt("", "pods")
        e = self.get(rsrt, ns, name)
        if not e or e.obj["metadata"].get("deletionTimestamp"):
            return
        rs = e.obj
        want = rs["spec"].get("replicas", 1)
        pods = [p for p in self.owned(prt, ns, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")]
        if len(pods) < want:
            for _ in range(want - len(pods)):
                while True:
                    pname = "%s-%s" % (name, km.safe_encode(random.getrandbits(40), 5))
                    if not self.get(prt, ns, pname):
                        break
                if self.new_pod(rs, pname, rs["spec"]["template"]) is None:
                    break
                self.record_event(rs, "Normal", "SuccessfulCreate", "Created pod: %s" % pname, "replicaset-controller")
        elif len(pods) > want:
            pods.sort(key=lambda p: (self.pod_ready(p), p["metadata"]["creationTimestamp"]))
            for p in pods[:len(pods) - want]:
                self.op_delete(prt, ns, p["metadata"]["name"], {}, False)
                self.record_event(rs, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"],
                                  "replicaset-controller")
        pods = [p for p in self.owned(prt, ns, rs["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if self.pod_ready(p))
        st = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
              "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration")}
        if st != rs.get("status"):
            o = copy.deepcopy(rs)
            o["status"] = st
            self.internal_update(rsrt, o)

    def reconcile_sts(self, ns, name):
        srt, prt, crt = self.rt("apps", "statefulsets"), self.rt("", "pods"), self.rt("", "persistentvolumeclaims")
        e = self.get(srt, ns, name)
        if not e or e.obj["metadata"].get("deletionTimestamp"):
            return
        s = e.obj
        spec = s["spec"]
        want = spec.get("replicas", 1)
        rev = "%s-%s" % (name, km.template_hash(spec.get("template", {}))[:10])
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {}
        for p in self.owned(prt, ns, s["metadata"]["uid"]):
            m = re.match(r"^%s-(\d+)$" % re.escape(name), p["metadata"]["name"])
            if m:
                pods[int(m.group(1))] = p
        # scale down and roll (highest ordinal first)
        busy = any(p["metadata"].get("deletionTimestamp") for p in pods.values())
        for i in sorted(pods, reverse=True):
            p = pods[i]
            if p["metadata"].get("deletionTimestamp"):
                continue
            if i >= want or p["metadata"].get("labels", {}).get("controller-revision-hash") != rev:
                if ordered and (busy or not all(self.pod_ready(pods[j]) for j in pods if j < i and j < want)):
                    break
                self.op_delete(prt, ns, p["metadata"]["name"], {}, False)
                busy = True
                if ordered:
                    break
        for i in range(want):
            if i in pods:
                if ordered and not self.pod_ready(pods[i]):
                    break
                continue
            if ordered and busy:
                break
            tmpl = copy.deepcopy(spec.get("template", {}))
            vols = tmpl.setdefault("spec", {}).setdefault("volumes", [])
            for ct in spec.get("volumeClaimTemplates", []) or []:
                cname = "%s-%s-%d" % (ct["metadata"]["name"], name, i)
                if not self.get(crt, ns, cname):
                    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": cname, "namespace": ns,
                                        "labels": dict(spec.get("selector", {}).get("matchLabels", {}))},
                           "spec": copy.deepcopy(ct.get("spec", {}))}
                    self.internal_create(crt, pvc)
                vols = [v for v in vols if v.get("name") != ct["metadata"]["name"]]
                vols.append({"name": ct["metadata"]["name"], "persistentVolumeClaim": {"claimName": cname}})
            tmpl["spec"]["volumes"] = vols
            if not vols:
                del tmpl["spec"]["volumes"]
            tmpl["spec"].setdefault("hostname", "%s-%d" % (name, i))
            if spec.get("serviceName"):
                tmpl["spec"].setdefault("subdomain", spec["serviceName"])
            self.new_pod(s, "%s-%d" % (name, i), tmpl, {
                "controller-revision-hash": rev, "statefulset.kubernetes.io/pod-name": "%s-%d" % (name, i),
                "apps.kubernetes.io/pod-index": str(i)})
            if ordered:
                break
        live = [p for p in self.owned(prt, ns, s["metadata"]["uid"]) if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in live if self.pod_ready(p))
        upd = sum(1 for p in live if p["metadata"].get("labels", {}).get("controller-revision-hash") == rev)
        st = copy.deepcopy(s.get("status", {}))
        cur_rev = st.get("currentRevision", rev)
        if upd == want == len(live):
            cur_rev = rev
        cur = sum(1 for p in live if p["metadata"].get("labels", {}).get("controller-revision-hash") == cur_rev)
        st.update({"observedGeneration": s["metadata"].get("generation", 1), "replicas": len(live),
                   "readyReplicas": ready, "availableReplicas": ready, "currentReplicas": cur,
                   "updatedReplicas": upd, "currentRevision": cur_rev, "updateRevision": rev, "collisionCount": 0})
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not st[k]:
                del st[k]
        if st != s.get("status"):
            o = copy.deepcopy(s)
            o["status"] = st
            self.internal_update(srt, o)

    def reconcile_job(self, ns, name):
        jrt, prt = self.rt("batch", "jobs"), self.rt("", "pods")
        e = self.get(jrt, ns, name)
        if not e or e.obj["metadata"].get("deletionTimestamp"):
            return
        j = e.obj
        st = copy.deepcopy(j.get("status", {}))
        pods = self.owned(prt, ns, j["metadata"]["uid"])
        succeeded = sum(1 for p in pods if p["status"].get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p["status"].get("phase") == "Failed")
        active = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")
                  and not p["metadata"].get("deletionTimestamp")]
        done = any(c["type"] in ("Complete", "Failed") for c in st.get("conditions", []))
        comps = j["spec"].get("completions", 1)
        if not done and succeeded < comps and not active and failed <= j["spec"].get("backoffLimit", 6):
            self.new_pod(j, "%s-%s" % (name, km.safe_encode(random.getrandbits(40), 5)), j["spec"]["template"])
            active = [1]
        st.setdefault("startTime", km.now_ts())
        st["active"] = len(active)
        st["succeeded"], st["failed"] = succeeded, failed
        st["ready"] = sum(1 for p in active if isinstance(p, dict) and self.pod_ready(p))
        if not done and succeeded >= comps:
            now = km.now_ts()
            st["completionTime"] = now
            conds = []
            if self.minor >= 31:
                conds.append({"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                              "message": "Reached expected number of succeeded pods",
                              "lastProbeTime": now, "lastTransitionTime": now})
            conds.append({"type": "Complete", "status": "True", "reason": "CompletionsReached",
                          "message": "Reached expected number of succeeded pods",
                          "lastProbeTime": now, "lastTransitionTime": now})
            st["conditions"] = conds
        elif not done and failed > j["spec"].get("backoffLimit", 6):
            now = km.now_ts()
            st["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                 "message": "Job has reached the specified backoff limit",
                                 "lastProbeTime": now, "lastTransitionTime": now}]
        for k in ("active", "succeeded", "failed"):
            if not st[k]:
                del st[k]
        if st != j.get("status"):
            o = copy.deepcopy(j)
            o["status"] = st
            self.internal_update(jrt, o)

    def record_event(self, obj, etype, reason, message, component, field_path=None):
        """a core/v1 Event about obj, aggregated like the kubelet/controllers do (count, lastTimestamp)"""
        md = obj["metadata"]
        ns = md.get("namespace") or "default"
        if self.get(self.rt("", "namespaces"), "", ns) is None:
            return
        ert = self.rt("", "events")
        now = km.now_ts()
        for e in self.table(ert).values():
            o = e.obj
            if o["metadata"]["namespace"] == ns and o["involvedObject"].get("uid") == md.get("uid") and \
                    o["reason"] == reason and o["message"] == message:
                n = copy.deepcopy(o)
                n["count"] = o.get("count", 1) + 1
                n["lastTimestamp"] = now
                self.put(ert, n, "MODIFIED", e, prev=o)
                return
        io = {"kind": obj["kind"], "namespace": ns, "name": md["name"], "uid": md.get("uid", ""),
              "apiVersion": obj["apiVersion"], "resourceVersion": md.get("resourceVersion", "")}
        if field_path:
            io["fieldPath"] = field_path
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "%s.%016x" % (md["name"], random.getrandbits(64)), "namespace": ns},
              "involvedObject": io, "reason": reason, "message": message,
              "source": {"component": component, **({"host": NODE_NAME} if component == "kubelet" else {})},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": etype, "eventTime": None,
              "reportingComponent": component, "reportingInstance": NODE_NAME if component == "kubelet" else ""}
        self.internal_create(ert, ev)

    # pods
    def pod_entry(self, ns, name, uid):
        e = self.get(self.rt("", "pods"), ns, name)
        if e and e.obj["metadata"]["uid"] == uid and not e.obj["metadata"].get("deletionTimestamp"):
            return e
        return None

    def pod_schedule(self, ns, name, uid):
        e = self.pod_entry(ns, name, uid)
        if not e:
            return
        if e.obj["spec"].get("nodeName") and e.obj.get("status", {}).get("hostIP"):
            return     # already bound (a retry that came late)
        p = copy.deepcopy(e.obj)
        node = p["spec"].get("nodeName")
        if not node:
            node, why = emu_capacity.choose_node(self, p)
            if node is None:
                return self.pod_unschedulable(e, why)
        now = km.now_ts()
        n = next(self.pod_ip_seq)
        p["spec"]["nodeName"] = node
        host_ip = emu_capacity.node_ip(self, node)
        p["status"] = {"phase": "Pending", "conditions": [
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
            {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
             "reason": "ContainersNotReady", "message": "containers with unready status: [%s]" %
             " ".join(c["name"] for c in p["spec"].get("containers", []))},
            {"type": "ContainersReady", "status": "False", "lastProbeTime": None, "lastTransitionTime": now,
             "reason": "ContainersNotReady", "message": "containers with unready status: [%s]" %
             " ".join(c["name"] for c in p["spec"].get("containers", []))},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}],
            "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "podIP": "10.244.%d.%d" % (n // 250, 1 + n % 250), "startTime": now, "qosClass": emu_capacity.qos_class(p),
            "containerStatuses": [{"name": c["name"], "image": c.get("image", ""), "imageID": "",
                                   "ready": False, "restartCount": 0, "started": False,
                                   "state": {"waiting": {"reason": "ContainerCreating"}},
                                   "lastState": {}} for c in p["spec"].get("containers", [])]}
        p["status"]["podIPs"] = [{"ip": p["status"]["podIP"]}]
        p = self.put(self.rt("", "pods"), p, "MODIFIED", e, prev=e.obj)
        self.record_event(p, "Normal", "Scheduled", "Successfully assigned %s/%s to %s" % (ns, name, node),
                          "default-scheduler")
        self.sched.after(self.timing("pod_ready_delay"), self.pod_start, ns, name, uid)

    def pod_unschedulable(self, e, why):
        """No node fits: PodScheduled False/Unschedulable with the scheduler's message and a
        FailedScheduling event; tried again when nodes, claims or pods change (and every 2 s)."""
        md = e.obj["metadata"]
        if why == "wait":     # a claim is binding: try again shortly, as the scheduler's queue would
            self.sched.after(0.1, self.pod_schedule, md["namespace"], md["name"], md["uid"], dedup=True)
            return
        conds = e.obj.get("status", {}).get("conditions") or []
        if not any(c.get("type") == "PodScheduled" and c.get("message") == why for c in conds):
            p = copy.deepcopy(e.obj)
            p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                          "lastTransitionTime": km.now_ts(), "reason": "Unschedulable",
                                          "message": why}]
            p = self.put(self.rt("", "pods"), p, "MODIFIED", e, prev=e.obj)
            self.record_event(p, "Warning", "FailedScheduling", why, "default-scheduler")
        self.sched.after(2.0, self.pod_schedule, md["namespace"], md["name"], md["uid"], dedup=True)

    def failure_for(self, pod, cname, image):
        md = pod["metadata"]
        for r in reversed(self.pod_failures):
            if r.get("namespace") and r["namespace"] != md.get("namespace"):
                continue
            if r.get("pod_regex") and not re.search(r["pod_regex"], md["name"]):
                continue
            if r.get("container") and r["container"] != cname:
                continue
            if r.get("image_regex") and not re.search(r["image_regex"], image):
                continue
            return r
        return None

    def pod_start(self, ns, name, uid):
        e = self.pod_entry(ns, name, uid)
        if not e or not e.obj["spec"].get("nodeName"):
            return
        p = copy.deepcopy(e.obj)
        now = km.now_ts()
        job = any(r.get("kind") == "Job" for r in p["metadata"].get("ownerReferences") or [])
        statuses, all_ready, crash, evs = [], True, False, []
        old_cs = {c["name"]: c for c in p["status"].get("containerStatuses", [])}
        phase = "Running"
        for c in p["spec"].get("containers", []):
            img = c.get("image", "")
            f = self.failure_for(p, c["name"], img)
            oc = old_cs.get(c["name"], {})
            cs = {"name": c["name"], "image": img, "imageID": "", "ready": False,
                  "restartCount": oc.get("restartCount", 0), "started": False, "lastState": {}}
            reason = (f or {}).get("reason")
            fp = "spec.containers{%s}" % c["name"]
            if reason in ("ImagePullBackOff", "ErrImagePull", "InvalidImageName"):
                evs.append(("Normal", "Pulling", 'Pulling image "%s"' % img, fp))
                evs.append(("Warning", "Failed", 'Failed to pull image "%s": rpc error: code = NotFound desc = failed '
                            'to pull and unpack image "%s": failed to resolve reference "%s": not found'
                            % (img, img, img), fp))
                evs.append(("Warning", "Failed", "Error: " + reason, fp))
                evs.append(("Normal", "BackOff", 'Back-off pulling image "%s"' % img, fp))
                msg = f.get("message") or ('Back-off pulling image "%s"' % img if reason == "ImagePullBackOff" else
                                           'failed to pull and unpack image "%s": failed to resolve reference '
                                           '"%s": not found' % (img, img))
                cs["state"] = {"waiting": {"reason": reason, "message": msg}}
                all_ready = False
                if phase == "Running":
                    phase = "Pending" if not any("running" in s.get("state", {}) for s in statuses) else "Running"
            elif reason in ("CrashLoopBackOff", "Error"):
                evs.append(("Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                            % (c["name"], name, ns, uid), fp))
                crash = True
                cs["restartCount"] = max(cs["restartCount"], 1)
                cs["imageID"] = image_id(img)
                cs["containerID"] = "containerd://" + hashlib.sha256((uid + c["name"]).encode()).hexdigest()
                cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off %ds restarting "
                               "failed container=%s pod=%s_%s(%s)" % (min(300, 10 * 2 ** min(cs["restartCount"], 5)),
                                                                      c["name"], name, ns, uid)}}
                cs["lastState"] = {"terminated": {"exitCode": int(f.get("exit_code", 1)), "reason": "Error",
                                                  "startedAt": now, "finishedAt": now,
                                                  "containerID": cs["containerID"]}}
                all_ready = False
            else:
                if "running" not in oc.get("state", {}):
                    evs.append(("Normal", "Pulled", 'Container image "%s" already present on machine' % img, fp))
                    evs.append(("Normal", "Created", "Created container %s" % c["name"], fp))
                    evs.append(("Normal", "Started", "Started container %s" % c["name"], fp))
                cs.update({"ready": True, "started": True, "imageID": image_id(img),
                           "containerID": "containerd://" + hashlib.sha256((uid + c["name"]).encode()).hexdigest(),
                           "state": {"running": {"startedAt": oc.get("state", {}).get("running", {})
                                                 .get("startedAt", now)}}})
            statuses.append(cs)
        if all(("waiting" in s["state"] and s["state"]["waiting"]["reason"] != "CrashLoopBackOff")
               for s in statuses):
            phase = "Pending"
        p["status"]["phase"] = phase
        p["status"]["containerStatuses"] = statuses
        unready = [s["name"] for s in statuses if not s["ready"]]
        for c in p["status"]["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                st = "True" if all_ready else "False"
                if c["status"] != st:
                    c["lastTransitionTime"] = now
                c["status"] = st
                if all_ready:
                    c.pop("reason", None)
                    c.pop("message", None)
                else:
                    c["reason"] = "ContainersNotReady"
                    c["message"] = "containers with unready status: [%s]" % " ".join(unready)
        if self.minor >= 29 and not any(c["type"] == "PodReadyToStartContainers" for c in p["status"]["conditions"]):
            p["status"]["conditions"].insert(0, {"type": "PodReadyToStartContainers", "status": "True",
                                                 "lastProbeTime": None, "lastTransitionTime": now})
        p = self.put(self.rt("", "pods"), p, "MODIFIED", e, prev=e.obj)
        for ev in evs:
            self.record_event(p, ev[0], ev[1], ev[2], "kubelet", ev[3])
        if crash:
            self.sched.after(self.timing("crashloop_interval"), self.pod_crash_tick, ns, name, uid)
        elif job and all_ready:
            self.sched.after(self.timing("job_duration"), self.pod_succeed, ns, name, uid)

    def pod_crash_tick(self, ns, name, uid):
        e = self.pod_entry(ns, name, uid)
        if not e:
            return
        p = e.obj
        crashing = [c for c in p["spec"].get("containers", [])
                    if (self.failure_for(p, c["name"], c.get("image", "")) or {}).get("reason")
                    in ("CrashLoopBackOff", "Error")]
        if not crashing:
            return
        p = copy.deepcopy(p)
        for cs in p["status"].get("containerStatuses", []):
            if any(c["name"] == cs["name"] for c in crashing):
                cs["restartCount"] = cs.get("restartCount", 0) + 1
        p = self.put(self.rt("", "pods"), p, "MODIFIED", e, prev=e.obj)
        for c in crashing:
            self.record_event(p, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                              % (c["name"], name, ns, uid), "kubelet", "spec.containers{%s}" % c["name"])
        self.sched.after(self.timing("crashloop_interval"), self.pod_crash_tick, ns, name, uid)

    def pod_succeed(self, ns, name, uid):
        e = self.pod_entry(ns, name, uid)
        if not e:
            return
        p = copy.deepcopy(e.obj)
        now = km.now_ts()
        p["status"]["phase"] = "Succeeded"
        for cs in p["status"].get("containerStatuses", []):
            started = cs.get("state", {}).get("running", {}).get("startedAt", now)
            cs["state"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                          "finishedAt": now, "containerID": cs.get("containerID", "")}}
            cs["ready"], cs["started"] = False, False
        for c in p["status"]["conditions"]:
            if c["type"] in ("Ready", "ContainersReady"):
                c.update({"status": "False", "reason": "PodCompleted", "lastTransitionTime": now})
        self.put(self.rt("", "pods"), p, "MODIFIED", e, prev=e.obj)

    def refresh_pods(self):
        """re-evaluate failure rules for all scheduled pods (after the rules changed)"""
        for e in list(self.table(self.rt("", "pods")).values()):
            p = e.obj
            if p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp") and \
                    p["status"].get("phase") in ("Pending", "Running"):
                self.sched.after(0, self.pod_start, p["metadata"]["namespace"], p["metadata"]["name"],
                                 p["metadata"]["uid"])

    def pvc_bind(self, ns, name, uid):
        rt = self.rt("", "persistentvolumeclaims")
        e = self.get(rt, ns, name)
        if not e or e.obj["metadata"]["uid"] != uid or e.obj["status"].get("phase") == "Bound":
            return
        sc = e.obj["spec"].get("storageClassName")
        if not sc or not self.get(self.rt("storage.k8s.io", "storageclasses"), "", sc):
            return
        o = copy.deepcopy(e.obj)
        o["spec"]["volumeName"] = "pvc-" + uid
        o["metadata"].setdefault("annotations", {}).update({
            "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
            "volume.beta.kubernetes.io/storage-provisioner": "emulator.fatectl/hostpath",
            "volume.kubernetes.io/storage-provisioner": "emulator.fatectl/hostpath"})
        o["metadata"]["finalizers"] = ["kubernetes.io/pvc-protection"]
        o["status"] = {"phase": "Bound", "accessModes": o["spec"].get("accessModes", ["ReadWriteOnce"]),
                       "capacity": {"storage": o["spec"].get("resources", {}).get("requests", {})
                                    .get("storage", "1Gi")}}
        self.put(rt, o, "MODIFIED", e, prev=e.obj)

    def lb_assign(self, ns, name, uid):
        rt = self.rt("", "services")
        e = self.get(rt, ns, name)
        if not e or e.obj["metadata"]["uid"] != uid or e.obj["spec"].get("type") != "LoadBalancer":
            return
        o = copy.deepcopy(e.obj)
        ip = o["spec"].get("loadBalancerIP") or "172.18.255.%d" % (next(self.lb_seq) % 250 + 1)
        o["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} if self.minor >= 30 else
                                                    {"ip": ip}]}}
        self.put(rt, o, "MODIFIED", e, prev=e.obj)

    def pod_log(self, pod, container, previous=False):
        md = pod["metadata"]
        for r in reversed(self.pod_logs):
            if r.get("namespace") and r["namespace"] != md.get("namespace"):
                continue
            if r.get("pod_regex") and not re.search(r["pod_regex"], md["name"]):
                continue
            if r.get("container") and r["container"] != container:
                continue
            return r.get("log", "")
        img = next((c.get("image", "") for c in pod["spec"].get("containers", []) if c["name"] == container), "")
        f = self.failure_for(pod, container, img)
        if f and f.get("reason") in ("CrashLoopBackOff", "Error"):
            return f.get("log", "")
        return ""


def spec_of(o):
    return {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def parse_or_now(ts):
    return km.parse_ts(ts) if ts else time.time()


def surge_unavailable(spec, desired):
    """maxSurge (percent rounded up) and maxUnavailable (rounded down); both 0 -> unavailable 1"""
    st = spec.get("strategy", {})
    if st.get("type") == "Recreate":
        return 0, desired
    ru = st.get("rollingUpdate", {}) or {}

    def val(v, up):
        if isinstance(v, str) and v.endswith("%"):
            x = desired * int(v[:-1])
            return -(-x // 100) if up else x // 100
        return int(v)
    s, u = val(ru.get("maxSurge", "25%"), True), val(ru.get("maxUnavailable", "25%"), False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def max_unavailable(spec, desired):
    st = spec.get("strategy", {})
    if st.get("type") == "Recreate":
        return 0
    return surge_unavailable(spec, desired)[1]


def image_id(img):
    return "docker.io/library/%s@sha256:%s" % (img.split(":")[0].split("/")[-1],
                                                hashlib.sha256(img.encode()).hexdigest())


def parse_yaml_subset(text):
    """kubectl and fatectl send apply patches as JSON; real YAML bodies are not supported (400)."""
    raise km.bad_request("error decoding YAML: the emulator accepts apply-patch bodies in JSON form only "
                         "(JSON is valid YAML; send application/apply-patch+yaml with a JSON body)")


