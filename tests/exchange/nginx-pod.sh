#!/usr/bin/env bash
# Stands in for the nginx container of KubeFATE's exchange chart in the Kubernetes API emulator:
# an exec into that pod runs here. The mounted route table is mapped to NGINX_ROUTES, a file a
# stand-in kubelet (kubelet.py) keeps in step with the nginx-config ConfigMap.
set -u
R=${NGINX_ROUTES:?}
args=()
for a in "$@"; do args+=("${a//\/data\/projects\/fate\/proxy\/nginx\/conf\/modifiable\/route_table.yaml/$R}"); done
exec "${args[@]}"
