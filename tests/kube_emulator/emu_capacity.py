"""Node capacity, scheduling and namespace admission for the emulator: Nodes with capacity,
allocatable, labels and taints (admin /nodes); the default scheduler's filters and its
"0/N nodes are available: ..." message; ResourceQuota (status.hard/used kept by a controller,
admission refusing what exceeds it) and LimitRange (defaults and min/max) as kube-apiserver's
admission plugins do them; Kubernetes quantities in canonical form.

Standard library only; used by emu_core.py (hooks: default, admit, schedule, on_change) and
emu_http.py (admin /nodes)."""

import copy
import re
from fractions import Fraction

import kube_model as km
from kube_model import ApiError

# ---------------------------------------------------------------------------------------------
# quantities
# ---------------------------------------------------------------------------------------------

_BIN = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX = {v: k for k, v in _DEC.items()}
_QRE = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)((?:[eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def parse_quantity(s):
    """(Fraction value, format) of a quantity string; format BinarySI, DecimalSI or DecimalExponent.
    Raises ValueError like resource.ParseQuantity."""
    m = _QRE.match(str(s).strip()) if len(str(s)) <= 64 else None
    if not m:
        raise ValueError("quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    sign, num, suf = m.groups()
    v = Fraction(num)
    if sign == "-":
        v = -v
    if suf in _BIN:
        return v * (1024 ** _BIN[suf]), "BinarySI"
    if suf and suf[0] in "eE" and len(suf) > 1:
        return v * Fraction(10) ** int(suf[1:]), "DecimalExponent"
    return v * Fraction(10) ** _DEC[suf], "DecimalSI"


def canonical(s):
    """The form kube-apiserver stores a quantity in: "0.5" -> "500m", "1.5Gi" -> "1536Mi",
    "1024Mi" -> "1Gi", "2000m" -> "2", "1000" -> "1k"."""
    v, fmt = parse_quantity(s)
    if v == 0:
        return "0"
    neg = v < 0
    v = abs(v)
    if fmt == "BinarySI" and v.denominator == 1 and v >= 1024:
        n, e = v.numerator, 0
        while n % 1024 == 0 and e < 6:
            n //= 1024
            e += 1
        if e > 0:
            return ("-" if neg else "") + str(n) + [k for k, x in _BIN.items() if x == e][0]
    # decimal: an integer mantissa at the largest multiple-of-3 exponent (nano precision, rounded up)
    n = v * 10 ** 9
    n = n.numerator // n.denominator + (1 if n.denominator != 1 else 0)
    e = -9
    while n % 1000 == 0 and e < 18:
        n //= 1000
        e += 3
    if fmt == "DecimalExponent":
        suffix = "" if e == 0 else "e%d" % e
    else:
        suffix = _DEC_SUFFIX[e]
    return ("-" if neg else "") + str(n) + suffix


def value(s, cpu=False):
    """Integer value (millicores when cpu), rounded up."""
    v, _ = parse_quantity(s)
    if cpu:
        v *= 1000
    return v.numerator // v.denominator + (1 if v.denominator != 1 else 0)


def is_cpu(name):
    return name == "cpu" or name.endswith(".cpu")


def fmt(name, n):
    """A value of resource `name` back to a quantity string."""
    if is_cpu(name):
        return canonical("%dm" % n)
    return canonical(str(n)) if not ("memory" in name or "storage" in name) else canonical_bytes(n)


def canonical_bytes(n):
    return canonical("%d" % n) if n % 1024 else canonical("%dKi" % (n // 1024))


def canon_map(m):
    out = {}
    for k, v in (m or {}).items():
        try:
            out[k] = canonical(v)
        except ValueError:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------------------------

def make_node(spec, version, ip):
    """A Node as a kubelet registers it, from the admin spec {name, capacity, allocatable, labels,
    taints, unschedulable, ready, addresses}. `addresses` ([{type, address}], e.g. an ExternalIP)
    replaces the default InternalIP 172.18.x.y."""
    name = spec["name"]
    cap = {"cpu": "16", "memory": "65842Mi", "pods": "110", "ephemeral-storage": "100Gi",
           "hugepages-1Gi": "0", "hugepages-2Mi": "0"}
    cap.update(spec.get("capacity") or {})
    alloc = dict(cap)
    alloc.update(spec.get("allocatable") or {})
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
    labels.update(spec.get("labels") or {})
    ready = spec.get("ready", True)
    now = km.now_ts()
    conds = [{"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": now,
              "lastTransitionTime": now} for t, r, m in (
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
    conds.append({"type": "Ready", "status": "True" if ready else "Unknown",
                  "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                  "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
                  "lastHeartbeatTime": now, "lastTransitionTime": now})
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"podCIDR": spec.get("pod_cidr", "10.244.0.0/24")},
            "status": {"conditions": conds, "capacity": canon_map(cap), "allocatable": canon_map(alloc),
                       "addresses": list(spec.get("addresses") or [{"type": "InternalIP", "address": ip}]) +
                                    [{"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"kubeletVersion": version, "containerRuntimeVersion": "containerd://1.7.13",
                                    "osImage": "fatectl kube emulator", "operatingSystem": "linux",
                                    "architecture": "amd64", "kernelVersion": "6.1.0", "kubeProxyVersion": version}}}
    taints = list(spec.get("taints") or [])
    if spec.get("unschedulable"):
        node["spec"]["unschedulable"] = True
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    if not ready:
        taints.append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"})
    if taints:
        node["spec"]["taints"] = taints
    return node


def admin_nodes(emu, method, body):
    """Admin /nodes: GET lists names; POST adds or replaces nodes (one object or a list);
    DELETE removes every node (pods bound to them stay bound, as when kubelets vanish)."""
    nrt = emu.rt("", "nodes")
    with emu.lock:
        if method == "POST":
            specs = body if isinstance(body, list) else [body]
            for s in specs:
                if not isinstance(s, dict) or not s.get("name"):
                    return 400, {"error": "each node needs a name"}
                try:
                    node = make_node(s, emu.git_version, "172.18.%d.%d" % (1 + len(emu.table(nrt)) // 250,
                                                                           2 + len(emu.table(nrt)) % 250))
                except ValueError as e:
                    return 400, {"error": "%s: %s" % (s["name"], e)}
                old = emu.get(nrt, "", s["name"])
                if old:
                    emu.internal_delete(nrt, old.obj)
                emu.internal_create(nrt, node)
        elif method == "DELETE":
            for e in list(emu.table(nrt).values()):
                emu.internal_delete(nrt, e.obj)
        elif method != "GET":
            return 405, {"error": "method"}
        return 200, sorted(n for _, n in emu.table(nrt))


def node_status(n):
    """STATUS column of kubectl get nodes: Ready / NotReady / Unknown, SchedulingDisabled when cordoned."""
    st = "Unknown"
    for c in (n.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            st = "Ready" if c.get("status") == "True" else "NotReady"
    return st + (",SchedulingDisabled" if (n.get("spec") or {}).get("unschedulable") else "")


def node_roles(n):
    """ROLES column: the node-role.kubernetes.io/<role> labels, or <none>."""
    roles = sorted(k.split("/", 1)[1] for k in (n["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and k.split("/", 1)[1])
    return ",".join(roles) or "<none>"


def node_ip(emu, name):
    e = emu.get(emu.rt("", "nodes"), "", name)
    for a in ((e.obj.get("status") or {}).get("addresses") or []) if e else []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return "172.18.0.2"


# ---------------------------------------------------------------------------------------------
# pods' requests
# ---------------------------------------------------------------------------------------------

def pod_resources(pod, which="requests"):
    """Pod requests (or limits) as the scheduler sums them: containers added, init containers at
    their largest, plus overhead. Integers: millicores for cpu, units otherwise."""
    spec = pod.get("spec") or {}
    total, init = {}, {}
    for c in spec.get("containers") or []:
        for r, q in (((c.get("resources") or {}).get(which)) or {}).items():
            total[r] = total.get(r, 0) + value(q, is_cpu(r))
    for c in spec.get("initContainers") or []:
        for r, q in (((c.get("resources") or {}).get(which)) or {}).items():
            init[r] = max(init.get(r, 0), value(q, is_cpu(r)))
    for r, v in init.items():
        total[r] = max(total.get(r, 0), v)
    for r, q in (spec.get("overhead") or {}).items():
        total[r] = total.get(r, 0) + value(q, is_cpu(r))
    return total


def qos_class(pod):
    cs = (pod.get("spec") or {}).get("containers") or []
    reqs = [((c.get("resources") or {}).get("requests") or {}) for c in cs]
    lims = [((c.get("resources") or {}).get("limits") or {}) for c in cs]
    if not any(reqs) and not any(lims):
        return "BestEffort"
    if all(lm.get("cpu") and lm.get("memory") and (not rq.get("cpu") or value(rq["cpu"], True) == value(lm["cpu"], True))
           and (not rq.get("memory") or value(rq["memory"]) == value(lm["memory"])) for rq, lm in zip(reqs, lims)):
        return "Guaranteed"
    return "Burstable"


def default_pod_requests(pod):
    """SetDefaults_Pod: a container limit without a request makes the request equal to it."""
    for c in ((pod.get("spec") or {}).get("containers") or []) + ((pod.get("spec") or {}).get("initContainers") or []):
        res = c.get("resources")
        if not isinstance(res, dict) or not res.get("limits"):
            continue
        req = res.setdefault("requests", {})
        for r, q in res["limits"].items():
            req.setdefault(r, q)


# ---------------------------------------------------------------------------------------------
# scheduling
# ---------------------------------------------------------------------------------------------

def _tolerates(pod, key, val, effect):
    for t in (pod.get("spec") or {}).get("tolerations") or []:
        if t.get("effect") and t["effect"] != effect:
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t["key"] != key:
            continue
        if op == "Exists" or (op == "Equal" and (t.get("value") or "") == (val or "")):
            return True
    return False


def _req_ok(req, labels, name=None, field=False):
    key, op, vals = req.get("key"), req.get("operator"), req.get("values") or []
    have = name if field else labels.get(key)
    present = have is not None
    if op == "In":
        return present and have in vals
    if op == "NotIn":
        return not present or have not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present:
        try:
            return int(have) > int(vals[0]) if op == "Gt" else int(have) < int(vals[0])
        except (ValueError, IndexError):
            return False
    return False


def _node_matches(pod, node):
    labels = node["metadata"].get("labels") or {}
    spec = pod.get("spec") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if not terms:
        return True
    for t in terms:
        exprs = [("l", r) for r in t.get("matchExpressions") or []] + [("f", r) for r in t.get("matchFields") or []]
        if exprs and all(_req_ok(r, labels, node["metadata"]["name"], kind == "f") for kind, r in exprs):
            return True
    return False


def _selector_ok(sel, labels):
    if sel is None:
        return False
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    return all(_req_ok(r, labels) for r in sel.get("matchExpressions") or [])


def _anti_affine(pod, other):
    for t in ((((pod.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or []):
        if t.get("topologyKey") == "kubernetes.io/hostname" and \
                _selector_ok(t.get("labelSelector"), other["metadata"].get("labels") or {}) and \
                other["metadata"].get("namespace") == pod["metadata"].get("namespace"):
            return True
    return False


def unbound_claims(emu, pod):
    """'wait' while a claim binds, the scheduler's reason when one cannot bind, else None."""
    ns = pod["metadata"].get("namespace", "")
    crt, scrt = emu.rt("", "persistentvolumeclaims"), emu.rt("storage.k8s.io", "storageclasses")
    waiting = False
    for v in (pod.get("spec") or {}).get("volumes") or []:
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim:
            continue
        e = emu.get(crt, ns, claim)
        if e is None:
            return 'persistentvolumeclaim "%s" not found' % claim
        if (e.obj.get("status") or {}).get("phase") == "Bound":
            continue
        sc = (e.obj.get("spec") or {}).get("storageClassName")
        if sc and emu.get(scrt, "", sc):
            waiting = True
            continue
        return "pod has unbound immediate PersistentVolumeClaims"
    return "wait" if waiting else None


def choose_node(emu, pod):
    """(node name, None) for the node the default scheduler would bind `pod` to, or (None, message)."""
    nodes = sorted((e.obj for e in emu.table(emu.rt("", "nodes")).values()), key=lambda n: n["metadata"]["name"])
    claims = unbound_claims(emu, pod)
    if claims == "wait":
        return None, "wait"
    if claims:
        return None, "0/%d nodes are available: %s." % (len(nodes), claims)
    if not nodes:
        return None, "no nodes available to schedule pods"
    bound = {}
    for e in emu.table(emu.rt("", "pods")).values():
        p = e.obj
        n = (p.get("spec") or {}).get("nodeName")
        if not n or p["metadata"].get("uid") == pod["metadata"].get("uid") or \
                (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        bound.setdefault(n, []).append(p)
    want = pod_resources(pod)
    reasons, feasible = {}, []
    for node in nodes:
        name = node["metadata"]["name"]
        why = _misfit(pod, node, bound.get(name, []), want)
        for w in why:
            reasons[w] = reasons.get(w, 0) + 1
        if not why:
            feasible.append(node)
    if not feasible:
        return None, "0/%d nodes are available: %s." % (
            len(nodes), ", ".join(sorted("%d %s" % (c, w) for w, c in reasons.items())))

    nonzero = {"cpu": 100, "memory": 200 * 1024 * 1024}   # what scoring counts for a pod without requests

    def score(node):
        name = node["metadata"]["name"]
        alloc = (node.get("status") or {}).get("allocatable") or {}
        used = {}
        for p in bound.get(name, []) + [pod]:
            req = pod_resources(p)
            for r in ("cpu", "memory"):
                used[r] = used.get(r, 0) + (req.get(r) or nonzero[r])
        free = []
        for r in ("cpu", "memory"):
            a = value(alloc[r], is_cpu(r)) if r in alloc else 0
            if a > 0:
                free.append(max(0, a - used.get(r, 0)) / a)
        owner = (pod["metadata"].get("ownerReferences") or [{}])[0].get("uid")
        same = sum(1 for p in bound.get(name, []) if owner and
                   (p["metadata"].get("ownerReferences") or [{}])[0].get("uid") == owner)
        return (same, -(sum(free) / len(free) if free else 0), name)
    return min(feasible, key=score)["metadata"]["name"], None


def _misfit(pod, node, bound, want):
    spec = node.get("spec") or {}
    if spec.get("unschedulable") and not _tolerates(pod, "node.kubernetes.io/unschedulable", "", "NoSchedule"):
        return ["node(s) were unschedulable"]
    for t in spec.get("taints") or []:
        if t.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, t.get("key"), t.get("value"), t["effect"]):
            return ["node(s) had untolerated taint {%s: %s}" % (t.get("key"), t.get("value") or "")]
    if not _node_matches(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    alloc = (node.get("status") or {}).get("allocatable") or {}
    used = {}
    for p in bound:
        for r, v in pod_resources(p).items():
            used[r] = used.get(r, 0) + v
    why = []
    if len(bound) + 1 > value(alloc.get("pods", "110")):
        why.append("Too many pods")
    for r, v in sorted(want.items()):
        if v <= 0:
            continue
        have = value(alloc[r], is_cpu(r)) if r in alloc else 0
        if v > have - used.get(r, 0):
            why.append("Insufficient %s" % r)
    if why:
        return why
    for p in bound:
        if _anti_affine(pod, p) or _anti_affine(p, pod):
            return ["node(s) didn't match pod anti-affinity rules"]
    return []


# ---------------------------------------------------------------------------------------------
# LimitRange and ResourceQuota
# ---------------------------------------------------------------------------------------------

def default_object(emu, kind, obj, old):
    """API defaulting of the kinds this module owns (canonical quantities, LimitRange defaults)."""
    if kind == "LimitRange":
        for item in (obj.get("spec") or {}).get("limits") or []:
            for k in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                if k in item:
                    item[k] = canon_map(item[k])
            if item.get("type") == "Container":   # SetDefaults_LimitRangeItem
                d = item.setdefault("default", {})
                dr = item.setdefault("defaultRequest", {})
                for r, q in (item.get("max") or {}).items():
                    d.setdefault(r, q)
                for r, q in d.items():
                    dr.setdefault(r, q)
                for r, q in (item.get("min") or {}).items():
                    dr.setdefault(r, q)
                for k in ("default", "defaultRequest"):
                    if not item[k]:
                        del item[k]
    elif kind == "ResourceQuota":
        spec = obj.setdefault("spec", {})
        spec["hard"] = canon_map(spec.get("hard"))
        obj["status"] = copy.deepcopy((old or {}).get("status") or {})   # the quota controller fills it
    elif kind == "Node":
        st = obj.get("status") or {}
        for k in ("capacity", "allocatable"):
            if k in st:
                st[k] = canon_map(st[k])


def _limit_ranges(emu, ns):
    return [e.obj for (n, _), e in emu.table(emu.rt("", "limitranges")).items() if n == ns]


def _quotas(emu, ns):
    return [e for (n, _), e in emu.table(emu.rt("", "resourcequotas")).items() if n == ns]


def _limit_errors(limit_type, item, req, lim):
    errs = []
    for r, q in sorted((item.get("min") or {}).items()):
        head = "minimum %s usage per %s is %s" % (r, limit_type, q)
        if r not in req:
            errs.append(head + ".  No request is specified")
        elif value(req[r], True) < value(q, True):
            errs.append(head + ", but request is %s" % req[r])
        elif r in lim and value(lim[r], True) < value(q, True):
            errs.append(head + ", but limit is %s" % lim[r])
    for r, q in sorted((item.get("max") or {}).items()):
        head = "maximum %s usage per %s is %s" % (r, limit_type, q)
        if r not in lim:
            errs.append(head + ".  No limit is specified")
        elif value(lim[r], True) > value(q, True):
            errs.append(head + ", but limit is %s" % lim[r])
        elif r in req and value(req[r], True) > value(q, True):
            errs.append(head + ", but request is %s" % req[r])
    for r, q in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        head = "%s max limit to request ratio per %s is %s" % (r, limit_type, q)
        rq, lm = value(req.get(r, "0"), True), value(lim.get(r, "0"), True)
        if rq == 0:
            errs.append(head + ", but no request is specified or request is 0")
        elif lm == 0:
            errs.append(head + ", but no limit is specified or limit is 0")
        elif lm * 1000 > value(q, True) * rq:
            errs.append(head + ", but provided ratio is %f" % (lm / rq))
    return errs


def _forbidden(rt, name, errs):
    msg = errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (rt.gr, name, msg), km._details(rt, name))


def _pvc_usage(emu, pvc):
    size = value((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0"))
    sc = (pvc.get("spec") or {}).get("storageClassName")
    u = {"persistentvolumeclaims": 1, "count/persistentvolumeclaims": 1, "requests.storage": size}
    if sc:
        u[sc + ".storageclass.storage.k8s.io/requests.storage"] = size
        u[sc + ".storageclass.storage.k8s.io/persistentvolumeclaims"] = 1
    return u


def _pod_usage(pod):
    u = {"pods": 1, "count/pods": 1}
    for r, v in pod_resources(pod).items():
        if r in ("cpu", "memory", "ephemeral-storage"):
            u[r] = v
        u["requests." + r] = v
    for r, v in pod_resources(pod, "limits").items():
        if r in ("cpu", "memory", "ephemeral-storage"):
            u["limits." + r] = v
    return u


def usage_of(emu, rt, obj):
    """Quota usage of one object, or None when quota does not track its kind."""
    if rt.kind == "Pod":
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return {"count/pods": 1}
        return _pod_usage(obj)
    if rt.kind == "PersistentVolumeClaim":
        return _pvc_usage(emu, obj)
    u = {"count/" + rt.plural + ("." + rt.group if rt.group else ""): 1}
    if not rt.group and rt.kind in ("Service", "ConfigMap", "Secret", "ReplicationController", "ResourceQuota"):
        u[rt.plural] = 1
    if rt.kind == "Service":
        t = (obj.get("spec") or {}).get("type")
        if t in ("NodePort", "LoadBalancer"):
            u["services.nodeports"] = len((obj.get("spec") or {}).get("ports") or [])
        if t == "LoadBalancer":
            u["services.loadbalancers"] = 1
    return u


_VALIDATION = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def admit(emu, rt, ns, obj, dry):
    """LimitRanger then ResourceQuota admission of a new object; raises 403 Forbidden like
    kube-apiserver, mutates `obj` (LimitRange defaults) and charges the quotas' status."""
    if not rt.namespaced:
        return
    name = obj["metadata"].get("name", "")
    if rt.kind == "Pod":
        default_pod_requests(obj)
        errs = []
        for lr in _limit_ranges(emu, ns):
            for item in (lr.get("spec") or {}).get("limits") or []:
                if item.get("type") != "Container":
                    continue
                for c in ((obj.get("spec") or {}).get("containers") or []) + \
                        ((obj.get("spec") or {}).get("initContainers") or []):
                    res = c.setdefault("resources", {})
                    for r, q in (item.get("default") or {}).items():
                        res.setdefault("limits", {}).setdefault(r, q)
                    for r, q in (item.get("defaultRequest") or {}).items():
                        res.setdefault("requests", {}).setdefault(r, q)
            for item in (lr.get("spec") or {}).get("limits") or []:
                cs = (obj.get("spec") or {}).get("containers") or []
                if item.get("type") == "Container":
                    for c in cs:
                        res = c.get("resources") or {}
                        errs += _limit_errors("Container", item, res.get("requests") or {}, res.get("limits") or {})
                elif item.get("type") == "Pod":
                    req = {r: fmt(r, v) for r, v in pod_resources(obj).items()}
                    lim = {r: fmt(r, v) for r, v in pod_resources(obj, "limits").items()}
                    errs += _limit_errors("Pod", item, req, lim)
        if errs:
            raise _forbidden(rt, name, errs)
    elif rt.kind == "PersistentVolumeClaim":
        req = ((obj.get("spec") or {}).get("resources") or {}).get("requests") or {}
        errs = []
        for lr in _limit_ranges(emu, ns):
            for item in (lr.get("spec") or {}).get("limits") or []:
                if item.get("type") != "PersistentVolumeClaim":
                    continue
                for r, q in (item.get("min") or {}).items():
                    if r in req and value(req[r]) < value(q):
                        errs.append("minimum %s usage per PersistentVolumeClaim is %s, but request is %s" % (r, q, req[r]))
                for r, q in (item.get("max") or {}).items():
                    if r in req and value(req[r]) > value(q):
                        errs.append("maximum %s usage per PersistentVolumeClaim is %s, but request is %s" % (r, q, req[r]))
        if errs:
            raise _forbidden(rt, name, errs)
    quotas = _quotas(emu, ns)
    if not quotas:
        return
    usage = usage_of(emu, rt, obj)
    for e in quotas:
        q = e.obj
        hard = (q.get("status") or {}).get("hard") or {}
        used = (q.get("status") or {}).get("used") or {}
        matched = [k for k in hard if k in usage or (rt.kind == "Pod" and k in _VALIDATION)]
        if not matched:
            continue
        if rt.kind == "Pod":
            missing = {}
            for c in ((obj.get("spec") or {}).get("containers") or []) + ((obj.get("spec") or {}).get("initContainers") or []):
                res = c.get("resources") or {}
                for k in matched:
                    if k not in _VALIDATION:
                        continue
                    r = k.split(".")[-1]
                    have = (res.get("limits") or {}) if k.startswith("limits.") else (res.get("requests") or {})
                    if r not in have:
                        missing.setdefault(k, set()).add(c.get("name", ""))
            if missing:
                raise _forbidden(rt, name, ["failed quota: %s: must specify %s" % (q["metadata"]["name"], "; ".join(
                    "%s for: %s" % (k, ",".join(sorted(v))) for k, v in sorted(missing.items())))])
        unknown = sorted(k for k in matched if k not in used)
        if unknown:
            raise _forbidden(rt, name, ["status unknown for quota: %s, resources: %s" % (q["metadata"]["name"],
                                                                                         ",".join(unknown))])
    for e in quotas:
        q = e.obj
        hard = (q.get("status") or {}).get("hard") or {}
        used = (q.get("status") or {}).get("used") or {}
        over = sorted(k for k, v in usage.items() if k in hard and v and
                      value(used.get(k, "0"), is_cpu(k)) + v > value(hard[k], is_cpu(k)))
        if over:
            raise _forbidden(rt, name, ["exceeded quota: %s, requested: %s, used: %s, limited: %s" % (
                q["metadata"]["name"], ",".join("%s=%s" % (k, fmt(k, usage[k])) for k in over),
                ",".join("%s=%s" % (k, used.get(k, "0")) for k in over),
                ",".join("%s=%s" % (k, hard[k]) for k in over))])
    if dry:
        return
    for e in quotas:   # charge now, as the quota admission does, so that the next request sees it
        q = copy.deepcopy(e.obj)
        if not (q.get("status") or {}).get("hard"):
            continue     # the controller has not synced it yet: admission does not track it either
        hard, used = q["status"]["hard"], q["status"].setdefault("used", {})
        changed = False
        for k, v in usage.items():
            if k in hard and v:
                used[k] = fmt(k, value(used.get(k, "0"), is_cpu(k)) + v)
                changed = True
        if changed:
            emu.internal_update(emu.rt("", "resourcequotas"), q)


def recompute_quotas(emu, ns):
    """The resource quota controller: status.used from what the namespace holds."""
    qrt = emu.rt("", "resourcequotas")
    quotas = _quotas(emu, ns)
    if not quotas:
        return
    total = {}
    for rt in emu.restypes:
        if not rt.namespaced or rt.kind in ("Event",):
            continue
        for (n, _), e in emu.table(rt).items():
            if n != ns or e.obj["metadata"].get("deletionTimestamp") and rt.kind != "Pod":
                continue
            for k, v in (usage_of(emu, rt, e.obj) or {}).items():
                total[k] = total.get(k, 0) + v
    for e in quotas:
        q = copy.deepcopy(e.obj)
        hard = dict((q.get("spec") or {}).get("hard") or {})
        q["status"] = {"hard": hard, "used": {k: fmt(k, total.get(k, 0)) for k in hard}}
        emu.internal_update(qrt, q)


def on_change(emu, rt, etype, obj):
    """Wake the quota controller and the pods waiting for a node."""
    ns = obj["metadata"].get("namespace", "")
    if rt.namespaced and rt.kind != "Event":
        if _quotas(emu, ns):
            emu.sched.after(0.05, recompute_quotas, emu, ns, dedup=True)
    if rt.kind in ("Node", "PersistentVolumeClaim", "StorageClass") or (rt.kind == "Pod" and etype == "DELETED"):
        retry_unscheduled(emu, 0.05)


def retry_unscheduled(emu, delay):
    for e in list(emu.table(emu.rt("", "pods")).values()):
        p = e.obj
        if not (p.get("spec") or {}).get("nodeName") and not p["metadata"].get("deletionTimestamp"):
            emu.sched.after(delay, emu.pod_schedule, p["metadata"]["namespace"], p["metadata"]["name"],
                            p["metadata"]["uid"], dedup=True)
