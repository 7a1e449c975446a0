#!/usr/bin/python3
"""The guest's analyst: given everything the guest saw during id alignment (its PSI transcript,
written with FATECTL_PSI_TRANSCRIPT) and its own data file, find out which ids the hosts hold.

    analyst.py TRANSCRIPT GUEST_CSV LO HI [ID_COLUMN]

Every candidate id LO..HI-1 (ids like account numbers the guest can enumerate) is tested against
every value the guest received, in every way the guest can compute with its own secret. Prints a
JSON object: per host, the ids the guest can tell the host has ("recovered"), and a check that the
transcript's values are exactly what docs/psi.md defines (hash onto the curve, then X25519 with
the guest's secret) — computed independently here (psi_reference.py)."""
import csv
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import psi_reference as ref  # noqa: E402

try:  # fast X25519 for the bulk; the pure-Python ladder checks a sample against it
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    def x25519(k, u):
        return X25519PrivateKey.from_private_bytes(k).exchange(X25519PublicKey.from_public_bytes(u))
except ImportError:  # pragma: no cover
    x25519 = ref.x25519


def sections(path):
    """Splits the transcript into one dict per peer: scalar keys, and lists of byte values."""
    out, cur = [], None
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.rstrip("\n").partition(" ")
            if key == "method":
                cur = {"lists": {}}
                out.append(cur)
            if key in ("method", "role", "peer", "salt", "secret"):
                cur[key] = value
            else:
                cur["lists"].setdefault(key, []).append(bytes.fromhex(value))
    return out


def main():
    path, guest_csv, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    id_col = sys.argv[5] if len(sys.argv) > 5 else "id"
    with open(guest_csv) as f:
        ids = [row[id_col] for row in csv.DictReader(f)]
    candidates = [str(c) for c in range(lo, hi)]
    report = {"candidates": len(candidates), "guest_ids": len(ids), "hosts": []}
    for s in sections(path):
        salt = s["salt"].encode()
        lists = s["lists"]
        found = set()
        h = {"peer": s["peer"], "method": s["method"]}
        if s["method"] == "raw":
            # salted SHA-256 with a salt every party knows: hash each candidate and look it up
            got = set(lists.get("recv.host_hash", []))
            h["received"] = len(lists.get("recv.host_hash", []))
            for c in candidates + ids:
                if hashlib.sha256(salt + b"\x00" + c.encode()).digest() in got:
                    found.add(c)
        else:
            g = bytes.fromhex(s["secret"])
            sent = lists["sent.single"]
            host_single = lists.get("recv.host_single", [])
            own_double = lists.get("recv.own_double", [])
            h["received"] = len(host_single) + len(own_double)
            # docs/psi.md, exactly: what the guest sent is X25519(secret, H(salt, id)) in row order
            doc_ok = len(sent) == len(ids)
            for i, ident in enumerate(ids):
                u = ref.hash_to_curve(salt, ident.encode())
                v = ref.x25519(g, u) if i < 5 else x25519(g, u)
                doc_ok = doc_ok and v == sent[i]
            h["transcript_matches_docs"] = doc_ok
            # everything the guest can derive from what it received
            host_double = {x25519(g, r) for r in host_single}
            received = set(host_single) | host_double | set(own_double)
            # 1. its own ids: double-blinded by the host and found among the host's values
            for i, ident in enumerate(ids):
                if i < len(own_double) and own_double[i] in host_double:
                    found.add(ident)
            # 2. any candidate: hash it (and blind it with the guest's secret) and look it up
            for c in candidates:
                u = ref.hash_to_curve(salt, c.encode())
                if u in received or x25519(g, u) in received:
                    found.add(c)
        h["recovered"] = sorted(found, key=lambda x: (len(x), x))
        report["hosts"].append(h)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
