"""Kubernetes API model pieces for the emulator: resource registry, Status objects,
selectors, patches (JSON merge, strategic merge, JSON patch) and server-side-apply field sets.

Standard library only (run with Debian's /usr/bin/python3)."""

import copy
import datetime
import json
import re
import time

# ---------------------------------------------------------------------------------------------
# resource registry
# ---------------------------------------------------------------------------------------------


class ResType:
    def __init__(self, group, version, plural, kind, namespaced, short=(), subs=(), cats=(),
                 max_minor=None, verbs=None):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.subs = list(subs)
        self.cats = list(cats)
        self.max_minor = max_minor
        self.verbs = verbs or ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        self.singular = kind.lower()
        self.key = (group, plural)

    @property
    def api_version(self):
        return self.version if not self.group else self.group + "/" + self.version

    @property
    def gr(self):
        """group-qualified resource name as used in error messages: deployments.apps"""
        return self.plural if not self.group else self.plural + "." + self.group


ALL = ["all"]
RESOURCES = [
    ResType("", "v1", "namespaces", "Namespace", False, ["ns"], ["status", "finalize"],
            verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    ResType("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    ResType("", "v1", "secrets", "Secret", True),
    ResType("", "v1", "services", "Service", True, ["svc"], ["status", "proxy"], ALL),
    ResType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], ["status"]),
    ResType("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], ["status"]),
    ResType("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], ["token"]),
    ResType("", "v1", "pods", "Pod", True, ["po"], ["status", "log", "exec", "attach", "portforward",
                                                   "eviction", "binding"], ALL),
    ResType("", "v1", "events", "Event", True, ["ev"]),
    ResType("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    ResType("", "v1", "nodes", "Node", False, ["no"], ["status", "proxy"]),
    ResType("", "v1", "resourcequotas", "ResourceQuota", True, ["quota"], ["status"]),
    ResType("", "v1", "limitranges", "LimitRange", True, ["limits"]),
    ResType("apps", "v1", "deployments", "Deployment", True, ["deploy"], ["status", "scale"], ALL),
    ResType("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], ["status", "scale"], ALL),
    ResType("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], ["status", "scale"], ALL),
    ResType("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], ["status"], ALL),
    ResType("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    ResType("batch", "v1", "jobs", "Job", True, [], ["status"], ALL),
    ResType("batch", "v1", "cronjobs", "CronJob", True, ["cj"], ["status"], ALL),
    ResType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], ["status"]),
    ResType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    ResType("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    ResType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ResType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"]),
    ResType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], ["status"]),
    ResType("policy", "v1beta1", "podsecuritypolicies", "PodSecurityPolicy", False, ["psp"], max_minor=24),
]
GENERATION_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job", "CronJob", "Ingress",
                    "NetworkPolicy", "PodDisruptionBudget", "PodSecurityPolicy"}


def resources_for(minor):
    return [r for r in RESOURCES if r.max_minor is None or minor <= r.max_minor]


# ---------------------------------------------------------------------------------------------
# time and names
# ---------------------------------------------------------------------------------------------

def now_ts(t=None):
    return datetime.datetime.fromtimestamp(t if t is not None else time.time(), datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except Exception:
        return time.time()


def human_duration(sec):
    sec = int(sec)
    if sec < 0:
        return "0s"
    if sec < 120:
        return "%ds" % sec
    m = sec // 60
    if m < 10:
        return "%dm%ds" % (m, sec % 60) if sec % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = sec // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    return "%dd" % (h // 24)


SAFE_ALPHA = "bcdfghjklmnpqrstvwxz2456789"   # k8s.io/apimachinery/pkg/util/rand alphanumerics


def safe_encode(n, length):
    out = []
    for _ in range(length):
        out.append(SAFE_ALPHA[n % len(SAFE_ALPHA)])
        n //= len(SAFE_ALPHA)
    return "".join(out)


def fnv32a(data):
    h = 0x811c9dc5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xffffffff
    return h


def template_hash(template, length=10):
    """A stable 10-char pod-template-hash (FNV-32a of the template, SafeEncodeString alphabet)."""
    raw = json.dumps(template, sort_keys=True).encode()
    h = fnv32a(raw) | (fnv32a(raw[::-1]) << 32)
    return safe_encode(h, length)


DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def name_error(name, label=False):
    if label:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        return None
    if len(name) > 253 or not DNS1123_SUB.match(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


# ---------------------------------------------------------------------------------------------
# Status objects
# ---------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = headers or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def _details(rt, name):
    d = {}
    if name:
        d["name"] = name
    if rt is not None:
        if rt.group:
            d["group"] = rt.group
        d["kind"] = rt.plural
    return d


def not_found(rt, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (rt.gr, name), _details(rt, name))


def path_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (rt.gr, name), _details(rt, name))


def conflict(rt, name, why="the object has been modified; please apply your changes to the latest version "
                          "and try again"):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (rt.gr, name, why),
                    _details(rt, name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def invalid(rt, name, causes):
    """causes: list of (field, message) -> 422 Invalid as the real server words it."""
    msgs = ["%s: %s" % (f, m) for f, m in causes]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    d = {"name": name, "kind": rt.kind,
         "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]}
    if rt.group:
        d["group"] = rt.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (rt.kind, name, text), d)


def forbidden_msg(rt_plural, group, name, user, verb, ns, sub=None):
    res = rt_plural + ("/" + sub if sub else "")
    grp_res = rt_plural + ("." + group if group else "")
    head = '%s "%s" is forbidden' % (grp_res, name) if name else "%s is forbidden" % grp_res
    where = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    return '%s: User "%s" cannot %s resource "%s" in API group "%s" %s' % (head, user, verb, res, group, where)


def success_status(rt, name, uid):
    d = _details(rt, name)
    d["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}


# ---------------------------------------------------------------------------------------------
# label and field selectors
# ---------------------------------------------------------------------------------------------

def _split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


LS_SET = re.compile(r"^([A-Za-z0-9._/-]+)\s+(in|notin)\s*\(([^)]*)\)$")
LS_OP = re.compile(r"^([A-Za-z0-9._/-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)$")
LS_EX = re.compile(r"^(!?)\s*([A-Za-z0-9._/-]+)$")


def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    for part in _split_top(s):
        m = LS_SET.match(part)
        if m:
            reqs.append((m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}))
            continue
        m = LS_OP.match(part)
        if m:
            op = {"=": "in", "==": "in", "!=": "notin"}[m.group(2)]
            reqs.append((m.group(1), op, {m.group(3)}))
            continue
        m = LS_EX.match(part)
        if m:
            reqs.append((m.group(2), "!" if m.group(1) else "exists", None))
            continue
        raise bad_request('unable to parse requirement: found \'%s\', expected: in, notin, =, ==, !=, gt, lt' % part)
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        if op == "in":
            if labels.get(key) not in vals:
                return False
        elif op == "notin":
            if key in labels and labels[key] in vals:
                return False
        elif op == "exists":
            if key not in labels:
                return False
        elif op == "!":
            if key in labels:
                return False
    return True


def selector_to_reqs(sel):
    """metav1.LabelSelector (matchLabels + matchExpressions) -> requirements"""
    reqs = []
    for k, v in (sel or {}).get("matchLabels", {}).items():
        reqs.append((k, "in", {v}))
    for e in (sel or {}).get("matchExpressions", []) or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(e.get("operator"))
        if op:
            reqs.append((e.get("key"), op, set(e.get("values") or [])))
    return reqs


def selector_string(sel):
    parts = ["%s=%s" % (k, v) for k, v in sorted((sel or {}).get("matchLabels", {}).items())]
    return ",".join(parts)


FIELD_PATHS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
POD_FIELDS = {
    "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
    "status.phase": lambda o: o.get("status", {}).get("phase", ""),
    "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy", ""),
    "status.podIP": lambda o: o.get("status", {}).get("podIP", ""),
}


def parse_field_selector(s, rt):
    reqs = []
    if not s:
        return reqs
    known = dict(FIELD_PATHS)
    if rt.kind == "Pod":
        known.update(POD_FIELDS)
    if rt.kind == "Namespace":
        known["status.phase"] = POD_FIELDS["status.phase"]
    if rt.kind == "Event":   # kubectl describe lists events by involvedObject.*
        for f in ("kind", "name", "namespace", "uid", "apiVersion", "resourceVersion", "fieldPath"):
            known["involvedObject." + f] = (lambda f: lambda o: str(o.get("involvedObject", {}).get(f, "")))(f)
        for f in ("reason", "type", "reportingComponent"):
            known[f] = (lambda f: lambda o: str(o.get(f, "")))(f)
        known["source"] = lambda o: o.get("source", {}).get("component", "")
    for part in _split_top(s):
        m = re.match(r"^([A-Za-z0-9._]+)\s*(==|!=|=)\s*(.*)$", part)
        if not m:
            raise bad_request('invalid selector: \'%s\'; can\'t understand \'%s\'' % (s, part))
        f = m.group(1)
        if f not in known:
            raise bad_request('"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % f)
        reqs.append((known[f], m.group(2) != "!=", m.group(3)))
    return reqs


def fields_match(reqs, obj):
    for getter, eq, val in reqs:
        if (getter(obj) == val) != eq:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# list merge keys (shared by strategic merge patch and server-side apply)
# ---------------------------------------------------------------------------------------------

KEYED_LISTS = {"containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
               "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",),
               "volumeDevices": ("devicePath",), "imagePullSecrets": ("name",), "hostAliases": ("ip",),
               "conditions": ("type",)}


def list_keys(field, items):
    """The associative-list key fields for a list named `field`, or None for an atomic list."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":
        if all("containerPort" in i for i in items):
            return ("containerPort", "protocol")
        if all("port" in i for i in items):
            return ("port", "protocol")
        return None
    keys = KEYED_LISTS.get(field)
    if keys and all(keys[0] in i for i in items):
        return keys
    return None


def item_key(item, keys):
    d = {}
    for k in keys:
        if k in item:
            d[k] = item[k]
        elif k == "protocol":
            d[k] = "TCP"
    return "k:" + json.dumps(d, separators=(",", ":"), sort_keys=True)


# ---------------------------------------------------------------------------------------------
# patches
# ---------------------------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386 JSON merge patch"""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge(target, patch, field=None):
    """Strategic merge patch for the built-in types the emulator knows: associative lists are merged
    by their merge keys (containers by name, ports by containerPort/port, env by name, ...), other
    lists replaced; $patch: delete/replace, $setElementOrder, $retainKeys and $deleteFromPrimitiveList
    directives are honoured in their common forms."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            if isinstance(out.get(name), list):
                out[name] = [x for x in out[name] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            keys = list_keys(k, [i for i in v if isinstance(i, dict) and "$patch" not in i] + out[k]) \
                if all(isinstance(i, dict) for i in v) else None
            if keys:
                cur = list(out[k])
                for item in v:
                    ik = item_key(item, keys)
                    idx = next((n for n, c in enumerate(cur) if item_key(c, keys) == ik), None)
                    if item.get("$patch") == "delete":
                        if idx is not None:
                            cur.pop(idx)
                    elif idx is None:
                        cur.append({a: b for a, b in item.items() if not a.startswith("$")})
                    else:
                        cur[idx] = strategic_merge(cur[idx], item, None)
                out[k] = cur
            else:
                out[k] = copy.deepcopy(v)
        else:
            r = strategic_merge(out.get(k), v, k)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
    if retain is not None:
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc, ops):
    """RFC 6902 JSON patch"""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")

    def walk(parts):
        cur = doc
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur, parts[-1]

    def get(parts):
        cur = doc
        for p in parts:
            cur = cur[int(p)] if isinstance(cur, list) else cur[p]
        return cur

    def add(parts, val):
        parent, last = walk(parts)
        if isinstance(parent, list):
            if last == "-":
                parent.append(val)
            else:
                parent.insert(int(last), val)
        else:
            parent[last] = val

    def remove(parts):
        parent, last = walk(parts)
        if isinstance(parent, list):
            return parent.pop(int(last))
        return parent.pop(last)

    for op in ops:
        try:
            kind, parts = op["op"], _ptr(op["path"])
            if kind == "add":
                if not parts:
                    doc = copy.deepcopy(op["value"])
                else:
                    add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                if not parts:
                    doc = copy.deepcopy(op["value"])
                else:
                    remove(parts)
                    add(parts, copy.deepcopy(op["value"]))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request")
            elif kind == "move":
                v = remove(_ptr(op["from"]))
                add(parts, v)
            elif kind == "copy":
                add(parts, copy.deepcopy(get(_ptr(op["from"]))))
            else:
                raise bad_request("Unexpected kind: %s" % kind)
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: "
                                           "%s: %s" % (type(e).__name__, e))
    return doc


# ---------------------------------------------------------------------------------------------
# server-side apply: field sets (paths of "f:x" / "k:{...}" elements)
# ---------------------------------------------------------------------------------------------

META_UNTRACKED = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                  "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def field_set(obj, with_status=False):
    out = set()

    def walk(val, path, fname):
        if isinstance(val, dict) and val:
            for k, v in val.items():
                walk(v, path + ("f:" + k,), k)
            return
        keys = list_keys(fname, val) if isinstance(val, list) and val else None
        if keys:
            for item in val:
                p = path + (item_key(item, keys),)
                out.add(p)
                for k, v in item.items():
                    walk(v, p + ("f:" + k,), k)
            return
        out.add(path)

    for k, v in obj.items():
        if k in ("apiVersion", "kind") or (k == "status" and not with_status):
            continue
        if k == "metadata":
            for mk, mv in (v or {}).items():
                if mk not in META_UNTRACKED:
                    walk(mv, ("f:metadata", "f:" + mk), mk)
            continue
        walk(v, ("f:" + k,), k)
    return out


_MISSING = object()


def get_path(obj, path):
    cur = obj
    for el in path:
        if el.startswith("f:"):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return _MISSING
            cur = cur[el[2:]]
        else:
            if not isinstance(cur, list):
                return _MISSING
            want = json.loads(el[2:])
            found = _MISSING
            for item in cur:
                if isinstance(item, dict) and item_key(item, tuple(want.keys())) == el:
                    found = item
                    break
            if found is _MISSING:
                return _MISSING
            cur = found
    return cur


def remove_path(obj, path):
    parent = get_path(obj, path[:-1]) if len(path) > 1 else obj
    if parent is _MISSING:
        return
    el = path[-1]
    if el.startswith("f:"):
        if isinstance(parent, dict):
            parent.pop(el[2:], None)
    elif isinstance(parent, list):
        want = json.loads(el[2:])
        for i, item in enumerate(parent):
            if isinstance(item, dict) and item_key(item, tuple(want.keys())) == el:
                parent.pop(i)
                break


def apply_merge(live, applied, fname=None):
    """Merge an applied configuration into the live object (SSA semantics for the emulated types)."""
    if isinstance(applied, dict) and isinstance(live, dict):
        out = dict(live)
        for k, v in applied.items():
            out[k] = apply_merge(live.get(k, _MISSING), v, k) if k in live else copy.deepcopy(v)
        return out
    if isinstance(applied, list) and isinstance(live, list):
        keys = list_keys(fname, applied + live) if applied else None
        if keys:
            out = [copy.deepcopy(i) for i in live]
            for item in applied:
                ik = item_key(item, keys)
                idx = next((n for n, c in enumerate(out) if item_key(c, keys) == ik), None)
                if idx is None:
                    out.append(copy.deepcopy(item))
                else:
                    out[idx] = apply_merge(out[idx], item, None)
            return out
    return copy.deepcopy(applied)


def fields_v1(paths):
    """set of paths -> FieldsV1 JSON ({"f:spec": {"f:replicas": {}}, ...}, "." for owned list items)"""
    root = {}
    for p in sorted(paths, key=len):
        node = root
        for el in p:
            node = node.setdefault(el, {})
    for p in paths:
        node = root
        for el in p:
            node = node[el]
        if node and p and p[-1].startswith("k:"):
            node["."] = {}
    return root


def paths_from_fields_v1(fv, prefix=()):
    out = set()
    for k, v in (fv or {}).items():
        if k == ".":
            out.add(prefix)
            continue
        p = prefix + (k,)
        if not v:
            out.add(p)
        else:
            out |= paths_from_fields_v1(v, p)
    return out


def path_to_str(p):
    s = ""
    for el in p:
        if el.startswith("f:"):
            s += "." + el[2:]
        else:
            want = json.loads(el[2:])
            s += "[" + ",".join("%s=%s" % (k, json.dumps(v)) for k, v in want.items()) + "]"
    return s
