#!/usr/bin/python3
"""Checks that the five places an Exchange's SNI and nginx routes live agree, for an exchange in
the Kubernetes API emulator started with `scripts/kube-emulator start DIR --with-exchange`:
  1. the release record            (fatectl exchange route list --release NAME -o json)
  2. the ConfigMaps                (traffic-server-sni sni.yaml, nginx-config route_table.yaml)
  3. each pod's mounted file       (DIR/pods/NS/POD/CONTAINER/root/..., what the node mounted)
  4. what each Traffic Server routes: `openssl s_client -servername P.DOMAIN` against the pod's
     private Traffic Server answers with the certificate of the backend the route leads to
     (CN=P.DOMAIN) when P is routed, and with Traffic Server's own (CN=proxy.DOMAIN) when not;
     with --nginx-probe, what each nginx routes: an HTTP request and a gRPC call per party
     (nginx_routes.py) reach that party's backend exactly when the record routes it
  5. optionally EXPECT: the parties that must be routed (SNI), e.g. "9999,10000"
Prints one line per place; exits 1 on any disagreement.

usage: agree.py EMU_DIR NAMESPACE RELEASE FATECTL --parties 9999,10000,10001 [--expect 9999,10000]
                [--nginx-expect 9999] [--nginx-probe 9999,10000] [--domain fate.org]"""
import argparse, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nginx_routes

ap = argparse.ArgumentParser()
ap.add_argument("emu"); ap.add_argument("ns"); ap.add_argument("release"); ap.add_argument("fatectl")
ap.add_argument("--parties", required=True, help="every party to probe by SNI")
ap.add_argument("--expect", help="parties that must have an SNI route")
ap.add_argument("--nginx-expect", help="parties that must have an nginx route")
ap.add_argument("--nginx-probe", help="parties with backends behind their nginx routes: probe each nginx pod")
ap.add_argument("--domain", default="fate.org")
a = ap.parse_args()
env = dict(os.environ, KUBECONFIG=os.path.join(a.emu, "kubeconfig"))
bad = []


def kubectl(*args):
    return subprocess.run(["kubectl", "-n", a.ns] + list(args), env=env, capture_output=True, text=True, check=True).stdout


def sni_parties(text):
    """Parties of an sni.yaml (fqdn P.DOMAIN), without yaml: the rendered layout is fixed."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("- fqdn:"):
            out.add(line.split(":", 1)[1].strip().split(".")[0])
    return out


def nginx_parties(text):
    """Top-level keys of a route_table.yaml except default and the exchange's own party 1."""
    out = set()
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            k = line[:-1].strip("'\"")
            if k not in ("default", "1"):
                out.add(k)
    return out


def show(name, s):
    return "%s={%s}" % (name, ",".join(sorted(s, key=int)))


rec = json.loads(subprocess.run([a.fatectl, "exchange", "route", "list", "--release", a.release, "-n", a.ns, "-o", "json"],
                                env=env, capture_output=True, text=True, check=True).stdout)
rec_sni = {str(r["party"]) for r in rec["sni"]}
rec_ngx = {str(r["party"]) for r in rec["nginx"]}
line = "record revision %s: %s %s" % (rec.get("revision"), show("sni", rec_sni), show("nginx", rec_ngx))
if a.expect is not None:
    want = set(x for x in a.expect.split(",") if x)
    if want != rec_sni:
        bad.append("record sni %s, expected %s" % (sorted(rec_sni), sorted(want)))
if a.nginx_expect is not None:
    want = set(x for x in a.nginx_expect.split(",") if x)
    if want != rec_ngx:
        bad.append("record nginx %s, expected %s" % (sorted(rec_ngx), sorted(want)))
print(line)

cm_sni = sni_parties(json.loads(kubectl("get", "cm", "traffic-server-sni", "-o", "json"))["data"]["sni.yaml"])
print("configmap traffic-server-sni: " + show("sni", cm_sni))
if cm_sni != rec_sni:
    bad.append("ConfigMap traffic-server-sni has %s, the record %s" % (sorted(cm_sni), sorted(rec_sni)))
try:
    cm_ngx = nginx_parties(json.loads(kubectl("get", "cm", "nginx-config", "-o", "json"))["data"]["route_table.yaml"])
    print("configmap nginx-config: " + show("nginx", cm_ngx))
    if cm_ngx != rec_ngx:
        bad.append("ConfigMap nginx-config has %s, the record %s" % (sorted(cm_ngx), sorted(rec_ngx)))
except subprocess.CalledProcessError:
    cm_ngx = None

pods = json.load(open(os.path.join(a.emu, "exchange-pods.json")))
running = set(kubectl("get", "pods", "-o", "jsonpath={.items[?(@.status.phase==\"Running\")].metadata.name}").split())
seen_ts = 0
for p in pods:
    if p["namespace"] != a.ns or p["pod"] not in running:
        continue
    if p["container"] == "traffic-server":
        seen_ts += 1
        f = p["root"] + "/opt/trafficserver/etc/trafficserver/sni/sni.yaml"
        mounted = sni_parties(open(f).read())
        routed = set()
        for party in a.parties.split(","):
            subject = ""
            for _ in range(12):  # a reload applies within a second; retry a little
                r = subprocess.run(["openssl", "s_client", "-servername", "%s.%s" % (party, a.domain), "-connect",
                                    "127.0.0.1:%d" % p["trafficServerPort"]], input="", capture_output=True, text=True,
                                   timeout=10)
                subject = next((l for l in r.stdout.splitlines() if l.startswith("subject=")), "")
                if ("CN = %s.%s" % (party, a.domain)) in subject:
                    break
                if ("CN = proxy.%s" % a.domain) in subject and party not in rec_sni:
                    break
                time.sleep(0.25)
            if ("CN = %s.%s" % (party, a.domain)) in subject:
                routed.add(party)
            elif ("CN = proxy.%s" % a.domain) not in subject:
                bad.append("pod %s: SNI %s.%s answered %r" % (p["pod"], party, a.domain, subject or "nothing"))
        print("pod %s: mounted %s, Traffic Server routes %s" % (p["pod"], show("sni", mounted), show("sni", routed)))
        if mounted != rec_sni:
            bad.append("pod %s mounts %s, the record has %s" % (p["pod"], sorted(mounted), sorted(rec_sni)))
        if routed != rec_sni & set(a.parties.split(",")):
            bad.append("pod %s: Traffic Server routes %s, the record has %s" % (p["pod"], sorted(routed), sorted(rec_sni)))
    elif p["container"] == "nginx":
        f = p["root"] + "/data/projects/fate/proxy/nginx/conf/modifiable/route_table.yaml"
        mounted = nginx_parties(open(f).read())
        print("pod %s: mounted %s" % (p["pod"], show("nginx", mounted)))
        if mounted != rec_ngx:
            bad.append("pod %s mounts nginx %s, the record has %s" % (p["pod"], sorted(mounted), sorted(rec_ngx)))
if a.nginx_probe:
    probe = [x for x in a.nginx_probe.split(",") if x]
    for pod, by_http, by_grpc, problems in nginx_routes.probe_pods(a.emu, a.ns, probe, rec_ngx & set(probe),
                                                                  running=running):
        print("pod %s: nginx routes %s by HTTP, %s by gRPC" % (pod, show("nginx", by_http), show("nginx", by_grpc)))
        bad.extend("pod %s: %s" % (pod, pr) for pr in problems)
if seen_ts == 0:
    bad.append("no running traffic-server pod")
for b in bad:
    print("DISAGREE: " + b)
sys.exit(1 if bad else 0)
