#!/usr/bin/env bash
# Stands in for the traffic-server container of KubeFATE's exchange chart in the Kubernetes API
# emulator: an exec into that pod runs here, against a real private Traffic Server.
# Paths of the pod are mapped to the private instance (ATS_ROOT, runroot.yaml inside):
#   /opt/trafficserver/bin/traffic_ctl|traffic_layout  ->  the Debian binaries with --run-root
#   /opt/trafficserver/etc/trafficserver/...           ->  $ATS_ROOT/etc/...
set -u
A=${ATS_ROOT:?}
args=()
for a in "$@"; do args+=("${a//\/opt\/trafficserver\/etc\/trafficserver\//$A/etc/}"); done
case ${args[0]} in
  */traffic_ctl) exec traffic_ctl --run-root="$A/runroot.yaml" "${args[@]:1}" 2> >(grep -v 'using command line path as RUNROOT' >&2) ;;
  */traffic_layout) exec traffic_layout --run-root="$A/runroot.yaml" "${args[@]:1}" 2> >(grep -v 'using command line path as RUNROOT' >&2) ;;
  /*) if [ ! -x "${args[0]}" ]; then
        echo "OCI runtime exec failed: exec failed: unable to start container process: exec: \"${args[0]}\": stat ${args[0]}: no such file or directory: unknown" >&2
        exit 126
      fi ;;
esac
exec "${args[@]}"
