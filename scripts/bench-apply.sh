#!/usr/bin/env bash
# Apply benchmark: a full two-party install (parties 9999 and 10000, FATE v1.11 on Eggroll)
# against the Kubernetes API emulator, timed side by side with `kubectl apply --server-side -f`
# of the same rendered objects. Both runs start from an empty emulator and do not wait for
# readiness (the emulator's pod start delay would dominate). Prints both wall times and the ratio
# (target: fatectl at most half of kubectl's wall time).
#
#   scripts/bench-apply.sh [ROUNDS=3]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FATECTL=${FATECTL:-$ROOT/build/fatectl}
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
ROUNDS=${1:-3}
[ -x "$FATECTL" ] || { echo "bench-apply: no $FATECTL (scripts/build.sh first, or set FATECTL)" >&2; exit 2; }
[ -x "$KUBECTL" ] || { echo "bench-apply: no kubectl at $KUBECTL" >&2; exit 2; }

W=$(mktemp -d /tmp/fatectl-bench-apply.XXXXXX)
D=$W/emu
cleanup() { "$ROOT/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"$ROOT/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 1800 >/dev/null
KC=$D/kubeconfig
ADMIN=$(cat "$D/admin-url")
SPECS=("$ROOT/examples/v1.11/party-9999-eggroll.yaml" "$ROOT/examples/v1.11/party-10000-eggroll.yaml")

# The same objects for kubectl: fatectl's client dry run (Secret values come out masked as "***";
# give them a valid base64 placeholder so kubectl accepts them).
for s in "${SPECS[@]}"; do
  "$FATECTL" cluster install -f "$s" --dry-run=client -o yaml 2>/dev/null | sed 's/"\*\*\*"/"Kg=="/' > "$W/$(basename "$s" .yaml).objects.yaml"
done
nobj=$(cat "$W"/*.objects.yaml | grep -c '^kind:' || true)

reset() { curl -fsS -X POST "$ADMIN/reset" >/dev/null; }
now_ms() { date +%s%3N; }
best_f=999999 best_k=999999 sum_f=0 sum_k=0
for r in $(seq 1 "$ROUNDS"); do
  reset
  t0=$(now_ms)
  for s in "$W"/*.objects.yaml; do
    "$KUBECTL" --kubeconfig "$KC" --cache-dir "$W/kcache-$r" apply --server-side --field-manager=kubectl-bench -f "$s" >/dev/null
  done
  k=$(( $(now_ms) - t0 ))
  reset
  t0=$(now_ms)
  for s in "${SPECS[@]}"; do
    "$FATECTL" --kubeconfig "$KC" -q cluster install -f "$s" --create-namespace --no-wait >/dev/null
  done
  f=$(( $(now_ms) - t0 ))
  echo "round $r: kubectl ${k} ms, fatectl ${f} ms"
  sum_f=$((sum_f + f)); sum_k=$((sum_k + k))
  [ $f -lt $best_f ] && best_f=$f
  [ $k -lt $best_k ] && best_k=$k
done
ratio=$(awk -v f="$sum_f" -v k="$sum_k" 'BEGIN { printf "%.2f", f / k }')
echo "apply of $nobj objects (two parties), $ROUNDS rounds:"
echo "  kubectl apply --server-side: mean $((sum_k / ROUNDS)) ms (best $best_k ms)"
echo "  fatectl cluster install:     mean $((sum_f / ROUNDS)) ms (best $best_f ms)  (includes release records and its own discovery)"
echo "  ratio fatectl/kubectl: $ratio (target <= 0.50)"
