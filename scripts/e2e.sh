#!/usr/bin/env bash
# End-to-end: install -> status -> toy -> uninstall of one party, against whatever kubeconfig you
# give it, or against the Kubernetes API emulator when you give none (what CI does).
#
#   scripts/e2e.sh                                   # emulator, examples/v1.11/party-9999-eggroll.yaml
#   scripts/e2e.sh --kubeconfig ~/.kube/config --context staging --spec my-party.yaml [--keep]
#
# On a real cluster: the spec's namespace is created when missing (--create-namespace), images
# must be pullable (set `registry:` in the spec to your mirror), and the wait is 30 minutes at most.
# --keep leaves the cluster installed. --purge deletes PVCs and the namespace at the end.
# Exit status: 0 when every step passed; the failing step is named otherwise.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FATECTL=${FATECTL:-$ROOT/build/fatectl}
[ -x "$FATECTL" ] || FATECTL=$(command -v fatectl || true)
[ -n "$FATECTL" ] && [ -x "$FATECTL" ] || { echo "e2e: no fatectl binary (build it with scripts/build.sh or set FATECTL)" >&2; exit 2; }

KUBECONFIG_FILE="" CONTEXT="" SPEC=$ROOT/examples/v1.11/party-9999-eggroll.yaml KEEP=0 PURGE="" TIMEOUT=30m
while [ $# -gt 0 ]; do
  case $1 in
    --kubeconfig) KUBECONFIG_FILE=$2; shift 2 ;;
    --context) CONTEXT=$2; shift 2 ;;
    --spec) SPEC=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --purge) PURGE=--purge; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "e2e: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

W=$(mktemp -d /tmp/fatectl-e2e.XXXXXX)
EMU=""
cleanup() {
  [ -n "$EMU" ] && "$ROOT/scripts/kube-emulator" stop "$EMU" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$KUBECONFIG_FILE" ]; then
  EMU=$W/emu
  "$ROOT/scripts/kube-emulator" start "$EMU" --watch-pid $$ --max-lifetime 1800 >/dev/null
  KUBECONFIG_FILE=$EMU/kubeconfig
  TIMEOUT=2m
  echo "e2e: no --kubeconfig given: using the Kubernetes API emulator ($KUBECONFIG_FILE)"
fi
ARGS=(--kubeconfig "$KUBECONFIG_FILE")
[ -n "$CONTEXT" ] && ARGS+=(--context "$CONTEXT")
NAME=$(awk '/^name:/ {print $2; exit}' "$SPEC")
NS=$(awk '/^namespace:/ {print $2; exit}' "$SPEC")

step() {
  local what=$1; shift
  local t0=$(date +%s)
  echo "e2e: == $what"
  if "$@"; then echo "e2e: ok   $what ($(( $(date +%s) - t0 ))s)"; else
    local rc=$?
    echo "e2e: FAIL $what (exit $rc)"; exit 1
  fi
}

step "validate $SPEC" "$FATECTL" cluster validate -f "$SPEC"
step "install $NAME into $NS" "$FATECTL" "${ARGS[@]}" cluster install -f "$SPEC" --create-namespace --timeout "$TIMEOUT"
step "status $NAME" "$FATECTL" "${ARGS[@]}" cluster status "$NAME" -n "$NS"
step "install again is a no-op" "$FATECTL" "${ARGS[@]}" cluster install -f "$SPEC" --timeout "$TIMEOUT"
step "diff shows no change" "$FATECTL" "${ARGS[@]}" cluster diff -f "$SPEC"
PARTY=$(awk '/^partyId:/ {print $2; exit}' "$SPEC")
if [ -n "$EMU" ]; then
  # The emulator runs no FATE containers: exec in the FATE Flow image runs tests/toy/fate-toy.sh,
  # which prints what FATE's toy_example prints (one-sided, guest = host = this party).
  curl -fsS -X POST "$(cat "$EMU/admin-url")/exec-maps" -d "{\"image_regex\":\"federatedai/(python|fateflow):\",\"wrapper\":[\"bash\",\"$ROOT/tests/toy/fate-toy.sh\"],\"env\":{\"TOY_MODE\":\"success\",\"TOY_DELAY\":\"0.01\"}}" >/dev/null
fi
step "toy $PARTY (one-sided)" "$FATECTL" "${ARGS[@]}" toy --guest "$PARTY" --host "$PARTY" -n "$NS" --skip-one-sided --timeout 5m
if [ "$KEEP" = 1 ]; then
  echo "e2e: --keep: leaving $NAME installed in $NS"
else
  step "uninstall $NAME" "$FATECTL" "${ARGS[@]}" cluster uninstall "$NAME" -n "$NS" $PURGE --timeout "$TIMEOUT"
fi
echo "e2e: all steps passed"
