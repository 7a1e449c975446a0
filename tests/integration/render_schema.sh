#!/usr/bin/env bash
# Every object rendered from every example spec (both --kube-version 1.24 with PSP and the default)
# passes the Kubernetes OpenAPI schema check of an independent validator: kubernetes-models@4 on
# node (tests/schema; `npm install` runs once when node_modules is missing, toolchain.md §7), and
# istio's Gateway/VirtualService against @kubernetes-models/istio.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
SCHEMA="$SRC/tests/schema"
command -v node >/dev/null || { echo "render_schema: node not found (apt-get install nodejs npm)"; exit 1; }
if [ ! -d "$SCHEMA/node_modules/kubernetes-models" ] || [ ! -d "$SCHEMA/node_modules/@kubernetes-models/istio" ]; then
  (cd "$SCHEMA" && npm install --no-audit --no-fund >/dev/null 2>&1) || { echo "render_schema: npm install failed in $SCHEMA"; exit 1; }
fi
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
files=()
for f in "$SRC"/examples/v1.6/*.yaml "$SRC"/examples/v1.11/*.yaml "$SRC"/examples/v2.0/*.yaml "$SRC"/examples/exchange/*.yaml "$SRC"/tests/render/specs/*.yaml; do
  [ -f "$f" ] || continue
  name="$(basename "$(dirname "$f")")-$(basename "$f" .yaml)"
  # PSP on so that PodSecurityPolicy/Role/RoleBinding/ServiceAccount are checked too
  sed 's/^  enabled: false/  enabled: true/' "$f" > "$W/$name-psp.yaml"
  "$FATECTL" cluster render -f "$f" > "$W/$name.yaml" && files+=("$W/$name.yaml") || not_ok "$name: render"
  "$FATECTL" cluster render -f "$W/$name-psp.yaml" --kube-version 1.24 > "$W/$name-124.yaml" && files+=("$W/$name-124.yaml") || not_ok "$name: render --kube-version 1.24"
  "$FATECTL" cluster render -f "$f" -o json > "$W/$name.json" && files+=("$W/$name.json") || not_ok "$name: render -o json"
done
set +e
OUT=$(cd "$SCHEMA" && node validate.js "${files[@]}" 2>&1); rc=$?
set -e
echo "$OUT" | tail -20
[ "$rc" -eq 0 ] && ok "schema: every rendered object is valid" || not_ok "schema validation failed"
# the validator is not a rubber stamp: a broken Deployment is refused
cat > "$W/broken.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: three
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: http}]}]}
YAML
set +e; (cd "$SCHEMA" && node validate.js "$W/broken.yaml" >/dev/null 2>&1); rc=$?; set -e
[ "$rc" -eq 1 ] && ok "schema: a broken Deployment is refused" || not_ok "schema: broken Deployment accepted (rc $rc)"
# ... and so is a broken istio VirtualService (its schema comes from @kubernetes-models/istio)
printf 'apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata: {name: ui}\nspec: {hosts: fateboard.example.com, http: [{route: [{destination: {host: fateboard, port: {number: web}}}]}]}\n' > "$W/broken-vs.yaml"
set +e; (cd "$SCHEMA" && node validate.js "$W/broken-vs.yaml" >/dev/null 2>&1); rc=$?; set -e
[ "$rc" -eq 1 ] && ok "schema: a broken VirtualService is refused" || not_ok "schema: broken VirtualService accepted (rc $rc)"
finish
