#!/usr/bin/python3
"""No password in clear in rendered objects (tests/integration/render_secrets.sh).

Usage: check_secrets.py RENDERED.yaml [PASSWORD|+PASSWORD...]   (+: must also be in a Secret)

Reads every object of a `fatectl cluster render` stream and fails (exit 1, one line per finding)
when
  - a ConfigMap data value holds one of the PASSWORDs, or a `key: value` / `key=value` line whose
    key names a password, secret or token and whose value is not empty, a boolean or null;
  - a ConfigMap key itself names a password and holds a value (env-style ConfigMaps);
  - a container or init container has an env `value` holding one of the PASSWORDs, or an env
    variable named like a password with a literal value;
  - an env secretKeyRef, an envFrom secretRef, a secret volume or a projected secret source names a
    Secret (or key) the stream does not hold;
  - a PASSWORD given is in no Secret at all (it went missing instead of moving).
Written independently of fatectl's own rule (src/render/credentials.cc), from the issue's words.
"""
import base64
import re
import sys

import yaml

NAME = re.compile(r"pass(word|wd)|secret|token", re.I)
NOT_A_VALUE = {"", "null", "~", "true", "false", "{}", "[]", '""', "''"}


def credential_key(k):
    k = k.strip().strip("\"'")
    low = k.lower()
    # where a password is kept, or whether one is used (MYSQL_ALLOW_EMPTY_PASSWORD=1): not one
    if low.endswith("path") or low.endswith("file") or low.endswith("encrypt_password") or "allow" in low or " " in k:
        return False
    return bool(NAME.search(k)) or any(w in ("pass", "pwd") for w in re.split(r"[_.\-]", low))


def line_findings(text):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s[0] in "#;" or s.startswith("//") or s.startswith("--"):
            continue
        if s.startswith("- "):
            s = s[2:]
        m = re.match(r"""^["']?([^"'=:]+)["']?\s*[:=]\s*(.*)$""", s)
        if not m or not credential_key(m.group(1)):
            continue
        v = m.group(2).strip().rstrip(",").strip()
        if v.lower() in NOT_A_VALUE or v.startswith("${"):
            continue
        out.append("line %d: %s" % (n, m.group(1).strip()))
    return out


def main():
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
    passwords = [p.lstrip("+") for p in sys.argv[2:] if p.lstrip("+")]
    must_move = [p[1:] for p in sys.argv[2:] if p.startswith("+") and len(p) > 1]
    bad = []
    secrets = {}
    for d in docs:
        if d.get("kind") == "Secret":
            data = {k: base64.b64decode(v).decode("utf-8", "replace") for k, v in (d.get("data") or {}).items()}
            data.update(d.get("stringData") or {})
            secrets[d["metadata"]["name"]] = data
    for d in docs:
        kind, name = d.get("kind"), d.get("metadata", {}).get("name")
        where = "%s/%s" % (kind, name)
        if kind == "ConfigMap":
            for k, v in (d.get("data") or {}).items():
                v = str(v)
                for p in passwords:
                    if p in v:
                        bad.append("%s data %s holds a password in clear" % (where, k))
                if credential_key(k) and v.strip().lower() not in NOT_A_VALUE:
                    bad.append("%s key %s is a password" % (where, k))
                for f in line_findings(v):
                    bad.append("%s data %s %s holds a password" % (where, k, f))
        pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for e in c.get("env") or []:
                if "value" in e:
                    v = str(e["value"])
                    for p in passwords:
                        if p in v:
                            bad.append("%s container %s env %s holds a password in clear" % (where, c["name"], e["name"]))
                    if credential_key(e["name"]) and v.strip() != "":
                        bad.append("%s container %s env %s is a password in a plain value" % (where, c["name"], e["name"]))
                ref = ((e.get("valueFrom") or {}).get("secretKeyRef")) or None
                if ref and (ref["name"] not in secrets or ref["key"] not in secrets[ref["name"]]):
                    bad.append("%s env %s refers to a missing Secret key %s/%s" % (where, e["name"], ref["name"], ref["key"]))
            for ef in c.get("envFrom") or []:
                if "secretRef" in ef and ef["secretRef"]["name"] not in secrets:
                    bad.append("%s envFrom names a missing Secret %s" % (where, ef["secretRef"]["name"]))
        for vol in pod.get("volumes") or []:
            names = []
            if "secret" in vol:
                names.append(vol["secret"]["secretName"])
            for src in (vol.get("projected") or {}).get("sources") or []:
                if "secret" in src:
                    names.append(src["secret"]["name"])
            for n in names:
                # user-provided Secrets (certificates, pull secrets) are not rendered
                if n in ("eggroll-certs", "pulsar-cert", "traffic-server-cert") or n.endswith("-credential"):
                    continue
                if n not in secrets:
                    bad.append("%s volume %s names a missing Secret %s" % (where, vol["name"], n))
    everything = "\n".join(v for s in secrets.values() for v in s.values())
    for p in must_move:
        if p not in everything:
            bad.append("the password %s... is in no Secret: it went missing instead of moving" % p[:3])
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
