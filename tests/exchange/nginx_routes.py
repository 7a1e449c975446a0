#!/usr/bin/python3
"""What the Exchange's nginx pods route, for an exchange in the Kubernetes API emulator started
with `scripts/kube-emulator start DIR --with-exchange` (each nginx pod runs Debian's nginx with
fatectl's stand-in for the image's lua, scripts/emulator-exchange/nginx-image/): for each party,
an HTTP request (headers dest-party-id: P, service: proxy) to the pod's port 9300 and a gRPC call
(the same metadata) to its port 9310 must reach that party's backend (tests/exchange/party_backends.py)
exactly when P is expected; a party not routed must reach no backend. nginx re-reads its route
table every 5 s, so an expected difference is retried for up to --settle seconds.

usage: nginx_routes.py EMU_DIR NAMESPACE --parties 9999,10000 --expect 9999 [--settle 8]
Prints one line per pod; exits 1 on a difference. Also a module: probe_pods(...)."""
import argparse, json, os, subprocess, sys, time, urllib.error, urllib.request


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(port, party):
    """The party whose backend answered an HTTP request for `party`, or '' (an error status)."""
    req = urllib.request.Request("http://127.0.0.1:%d/v1/party/probe" % port,
                                 headers={"dest-party-id": party, "service": "proxy"})
    try:
        with NO_PROXY.open(req, timeout=5) as r:
            return r.headers.get("X-Party") or ""
    except urllib.error.HTTPError:
        return ""


def grpc_probe(port, party):
    """The party whose backend answered a gRPC call for `party`, or '' (a gRPC error)."""
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    import grpc
    with grpc.insecure_channel("127.0.0.1:%d" % port, options=[("grpc.enable_http_proxy", 0)]) as ch:
        try:
            reply = ch.unary_unary("/fatectl.test.Party/Who")(b"", timeout=5, metadata=(
                ("dest-party-id", party), ("service", "proxy")))
        except grpc.RpcError:
            return ""
    text = reply.decode(errors="replace")
    return text.split()[1] if text.startswith("party ") else "?" + text


def probe_pods(emu, ns, parties, expect, settle=8.0, running=None):
    """[(pod, routed-by-http, routed-by-grpc, problems)] for every started nginx pod of `ns`
    (restricted to the names in `running` when given)."""
    out = []
    pods = json.load(open(os.path.join(emu, "exchange-pods.json")))
    for p in pods:
        if p["namespace"] != ns or p["container"] != "nginx" or (running is not None and p["pod"] not in running):
            continue
        ports = p.get("nginxPorts")
        deadline = time.time() + 10
        while not ports and time.time() < deadline:  # nginx starting in a new pod
            time.sleep(0.2)
            for q in json.load(open(os.path.join(emu, "exchange-pods.json"))):
                if q["pod"] == p["pod"] and q["container"] == "nginx":
                    ports = q.get("nginxPorts")
        if not ports:
            out.append((p["pod"], set(), set(), ["nginx does not listen (see its nginx/out.log)"]))
            continue
        end = time.time() + settle
        while True:
            problems, by_http, by_grpc = [], set(), set()
            for party in parties:
                for kind, probe, got_set, port in (("http", http_probe, by_http, ports["9300"]),
                                                   ("grpc", grpc_probe, by_grpc, ports["9310"])):
                    got = probe(port, party)
                    if got == party:
                        got_set.add(party)
                    elif got:
                        problems.append("%s for party %s reached party %s's backend" % (kind, party, got))
            for kind, got_set in (("http", by_http), ("grpc", by_grpc)):
                if got_set != expect:
                    problems.append("%s routes %s, expected %s" % (kind, sorted(got_set, key=int), sorted(expect, key=int)))
            if not problems or time.time() >= end:
                break
            time.sleep(0.5)
        out.append((p["pod"], by_http, by_grpc, problems))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("emu"); ap.add_argument("ns")
    ap.add_argument("--parties", required=True)
    ap.add_argument("--expect", default="")
    ap.add_argument("--settle", type=float, default=8.0)
    a = ap.parse_args()
    env = dict(os.environ, KUBECONFIG=os.path.join(a.emu, "kubeconfig"))
    running = set(subprocess.run(["kubectl", "-n", a.ns, "get", "pods", "-l", "fateMoudle=nginx", "-o",
                                  "jsonpath={.items[?(@.status.phase==\"Running\")].metadata.name}"],
                                 env=env, capture_output=True, text=True, check=True).stdout.split())
    res = probe_pods(a.emu, a.ns, [x for x in a.parties.split(",") if x], set(x for x in a.expect.split(",") if x),
                     a.settle, running)
    bad = not res
    if not res:
        print("no running nginx pod")
    for pod, h, g, problems in res:
        print("pod %s: nginx routes http={%s} grpc={%s}" % (pod, ",".join(sorted(h, key=int)), ",".join(sorted(g, key=int))))
        for pr in problems:
            print("DISAGREE: pod %s: %s" % (pod, pr))
            bad = True
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
