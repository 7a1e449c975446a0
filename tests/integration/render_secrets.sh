#!/usr/bin/env bash
# No password in clear: every example spec and tests/render/specs/*.yaml, rendered as they are
# and with a distinct password on every password key the chart generation has, must hold no
# password in any ConfigMap or env value (tests/render/check_secrets.py reads every object); the
# passwords are in Secrets that the env references and volumes name.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
CHECK="$SRC/tests/render/check_secrets.py"

n=0
for f in "$SRC"/examples/v1.6/*.yaml "$SRC"/examples/v1.11/*.yaml "$SRC"/examples/v2.0/*.yaml "$SRC"/examples/exchange/*.yaml "$SRC"/tests/render/specs/*.yaml; do
  [ -f "$f" ] || continue
  name="$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
  n=$((n + 1))
  # as written (the charts' default passwords: fate_dev, fate, admin)
  if "$FATECTL" cluster render -f "$f" > "$W/$name.yaml" 2> "$W/$name.err"; then
    if out=$(/usr/bin/python3 "$CHECK" "$W/$name.yaml" fate_dev 2>&1); then ok "$name: no password in ConfigMaps or env"
    else not_ok "$name: $(head -5 <<<"$out")"; fi
  else
    not_ok "$name: render failed: $(tail -2 "$W/$name.err")"; continue
  fi
  # a distinct password on every password key of the spec's chart
  /usr/bin/python3 - "$f" "$W/$name-pw.yaml" "$W/$name-pw.args" <<'P'
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
if spec.get("chartName") == "fate-exchange":
    open(sys.argv[2], "w").write(yaml.safe_dump(spec)); open(sys.argv[3], "w").write(""); sys.exit(0)
v16 = str(spec.get("chartVersion", "")).startswith("v1.6")
paths = [("mysql", "password"), ("fateboard", "password"), ("rabbitmq", "password"), ("rabbitmq", "default_pass"),
         ("python", "rabbitmq", "password"), ("externalMysqlPassword",), ("serving", "zookeeper", "password")]
if not v16:
    paths += [("client", "notebook_hashed_password"), ("python", "hive", "password")]
args = []
for i, p in enumerate(paths):
    node = spec
    for k in p[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    pw = "Pw%d-Zq8x!%s" % (i, p[-1][:4])
    node[p[-1]] = pw
    # the database passwords are used by every party with mysql: they must land in a Secret
    args.append(("+" if p in (("mysql", "password"), ("externalMysqlPassword",)) and "mysql" in spec.get("modules", []) else "") + pw)
open(sys.argv[2], "w").write(yaml.safe_dump(spec, sort_keys=False))
open(sys.argv[3], "w").write("\n".join(args))
P
  if ! "$FATECTL" cluster render -f "$W/$name-pw.yaml" > "$W/$name-pw.out" 2> "$W/$name-pw.err"; then
    not_ok "$name with passwords: render failed: $(tail -2 "$W/$name-pw.err")"; continue
  fi
  mapfile -t pws < "$W/$name-pw.args"
  if out=$(/usr/bin/python3 "$CHECK" "$W/$name-pw.out" "${pws[@]}" 2>&1); then ok "$name with a password on every key: none in clear"
  else not_ok "$name with passwords: $(head -5 <<<"$out")"; fi
  if grep -qF -- "${pws[0]:-no-such}" "$W/$name-pw.err"; then not_ok "$name: a password reached stderr"; fi
done
[ "$n" -ge 20 ] && ok "$n specs checked" || not_ok "only $n specs found"

# the checker is not a rubber stamp: a ConfigMap and an env value with passwords are refused
cat > "$W/bad.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: python-config}
data:
  service_conf.yaml: |
    database:
      passwd: fate_dev
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: mysql}
spec:
  template:
    spec:
      containers:
        - {name: mysql, image: mysql, env: [{name: MYSQL_PASSWORD, value: s3cret}]}
Y
set +e; out=$(/usr/bin/python3 "$CHECK" "$W/bad.yaml" s3cret 2>&1); rc=$?; set -e
[ $rc = 1 ] && grep -q "passwd" <<<"$out" && grep -q "MYSQL_PASSWORD" <<<"$out" \
  && ok "checker refuses a password in a ConfigMap and in env" || not_ok "checker accepted clear passwords (rc $rc): $out"
finish
