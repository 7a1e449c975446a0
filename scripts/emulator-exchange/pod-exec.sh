#!/usr/bin/env bash
# Exec into an Exchange pod of the Kubernetes API emulator (scripts/kube-emulator --with-exchange):
# runs the command here with the pod's paths mapped to the files node.py mounted for it.
#   /some/path (when it, or its folder, is mounted)  ->  $EMULATOR_POD_DIR/root/some/path
#   /opt/trafficserver/bin/traffic_ctl|traffic_layout  ->  Debian's, with the pod's private runroot
set -u
ROOT=$EMULATOR_POD_DIR/root
# The API server reports the pod Running before node.py mounted its volumes: wait for them, as a
# real container only starts after its volumes are mounted.
for _ in $(seq 1 150); do [ -e "$EMULATOR_POD_DIR/mounted" ] && break; sleep 0.1; done
[ -e "$EMULATOR_POD_DIR/mounted" ] || { echo "container $EMULATOR_CONTAINER of pod $EMULATOR_POD has not started (volumes not mounted)" >&2; exit 126; }
ATS=$EMULATOR_POD_DIR/ats
args=()
for a in "$@"; do
  if [[ $a == /* ]] && { [ -e "$ROOT$a" ] || [ -d "$(dirname "$ROOT$a")" ]; }; then a=$ROOT$a; fi
  args+=("$a")
done
ats() {
  if [ ! -f "$ATS/runroot.yaml" ]; then echo "traffic server of pod $EMULATOR_POD is not running" >&2; exit 2; fi
  exec "$1" --run-root="$ATS/runroot.yaml" "${@:2}" 2> >(grep -v 'using command line path as RUNROOT' >&2)
}
case ${args[0]} in
  */traffic_ctl) ats traffic_ctl "${args[@]:1}" ;;
  */traffic_layout) ats traffic_layout "${args[@]:1}" ;;
  /*) if [ ! -x "${args[0]}" ]; then
        echo "OCI runtime exec failed: exec failed: unable to start container process: exec: \"${args[0]}\": stat ${args[0]}: no such file or directory: unknown" >&2
        exit 126
      fi ;;
esac
exec "${args[@]}"
