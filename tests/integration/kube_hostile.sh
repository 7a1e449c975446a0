#!/usr/bin/env bash
# A broken or hostile Kubernetes API server (emulator faults: no answer, trickle, 429 with a huge
# Retry-After, endless continue, endless chunked body, oversize body, gzip bomb, a million-item
# list, endless exec stdout) against the binary: cluster install (and its wait loop), list -A,
# history, status and toy each end within their timeout plus a small margin, with the documented
# exit code and message, and their peak memory (wait4's ru_maxrss) stays under 512 MiB.
set -uo pipefail
SRC=${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
source "$SRC/tests/lib/assert.sh"
TEST_NAME=kube_hostile
W=$(mktemp -d /tmp/fatectl-hostile-it.XXXXXX)
D=$W/emu
cleanup() { "$SRC/scripts/kube-emulator" stop "$D" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --with-exchange: the Exchange's pods have their routes mounted (cluster status reads them)
"$SRC/scripts/kube-emulator" start "$D" --watch-pid $$ --max-lifetime 900 --with-exchange >/dev/null || { not_ok "emulator start"; finish; exit 1; }
KC=$D/kubeconfig
ADMIN=$(cat "$D/admin-url")
MARGIN=8           # seconds a command may run past its limit (loaded 2-core CI machines)
MAX_RSS_KIB=524288 # 512 MiB
SPEC=$SRC/examples/exchange/fate-exchange.yaml
fault() { curl -fsS -X DELETE "$ADMIN/faults" >/dev/null && curl -fsS -X POST "$ADMIN/faults" -d "$1" >/dev/null || echo "admin: fault $1 failed" >&2; }

# hostile NAME RC LIMIT_S TEXT -- ARGS...: runs fatectl ARGS under tests/lib/measure.py and checks
# the exit code, that it ended within LIMIT_S + MARGIN seconds, that stderr+stdout hold TEXT, and
# that its peak memory stayed under 512 MiB.
hostile() {
  local name="$1" want="$2" limit="$3" text="$4"; shift 5
  local r rc wall rss
  mkdir -p "$W/m"
  r=$(/usr/bin/python3 "$SRC/tests/lib/measure.py" --kill-after $((limit + 60)) "$W/m" -- "$FATECTL" --kubeconfig "$KC" "$@")
  rc=${r#rc=}; rc=${rc%% *}
  wall=${r#*wall=}; wall=${wall%% *}
  rss=${r#*maxrss_kib=}
  OUT="$(cat "$W/m/err" "$W/m/out")"
  if [ "$rc" = "$want" ]; then ok "$name: exit $rc"; else not_ok "$name: exit $rc, wanted $want: $(tail -c 400 "$W/m/err")"; fi
  if awk -v w="$wall" -v l="$limit" -v m="$MARGIN" 'BEGIN { exit !(w <= l + m) }'; then
    ok "$name: ended after ${wall}s (limit ${limit}s + ${MARGIN}s)"
  else
    not_ok "$name: ran ${wall}s, more than ${limit}s + ${MARGIN}s"
  fi
  if [ "$rss" -lt "$MAX_RSS_KIB" ]; then ok "$name: peak memory $((rss / 1024)) MiB"; else not_ok "$name: peak memory $((rss / 1024)) MiB"; fi
  expect_contains "$text" "$name: says what happened"
  echo "     $name: $(grep -m1 -E 'error|FAIL' <<<"$OUT" | cut -c1-240)"
}

# A healthy release to read (list, history, status) and a FATE Flow pod for the toy.
expect_rc 0 "the Exchange's certificate Secret" -- "$FATECTL" --kubeconfig "$KC" certs exchange --parties 9999 --dir "$W/certs" --apply --create-namespace
expect_rc 0 "install the Exchange on a healthy server" -- timeout 120 "$FATECTL" --kubeconfig "$KC" cluster install -f "$SPEC" --create-namespace --timeout 90s
cat >"$W/flow.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: python-0, namespace: default, labels: {fateMoudle: python}}
spec:
  containers:
  - {name: fateflow, image: "federatedai/fateflow:1.11.2"}
  - {name: python, image: "federatedai/python:1.11.2"}
EOF
expect_rc 0 "a FATE Flow pod for the toy (kubectl)" -- timeout 60 /usr/bin/kubectl --kubeconfig "$KC" --cache-dir "$W/kc" apply -f "$W/flow.yaml"
NS=fate-exchange
SECRETS='"method":"GET","path_regex":"/secrets"'

# 1. No answer: the command's --timeout, or --request-timeout where it has none.
fault "{\"action\":\"hang\",$SECRETS}"
hostile "install, no answer to a GET" 4 6 "no answer from https://127.0.0.1:" -- cluster install -f "$SPEC" --timeout 6s
expect_contains "limit: --timeout 6s" "the message names the limit"
hostile "list -A, no answer" 4 3 "no answer from https://127.0.0.1:" -- --request-timeout 3s cluster list -A
expect_contains "(request GET /api/v1/secrets" "the message names the request"
hostile "status, no answer" 4 3 "no answer from" -- --request-timeout 3 cluster status fate-exchange -n $NS
fault '{"action":"hang","method":"GET","path_regex":"/deployments\\?limit"}'
hostile "install's wait loop, no answer" 4 8 "no answer from" -- cluster install -f "$SPEC" --timeout 8s

# 2. 429 with Retry-After: 999999 on a PATCH: not waited for, exit 4 at once.
fault '{"action":"status","status":429,"retry_after":999999,"method":"PATCH"}'
hostile "install, 429 Retry-After 999999" 4 20 "asked to retry after 999999 s" -- cluster install -f "$SPEC" --timeout 20s

# 3. A response trickling one byte per second: the low-speed limit ends it.
fault "{\"action\":\"trickle\",$SECRETS}"
hostile "install, trickle" 3 20 "sent only" -- cluster install -f "$SPEC" --timeout 20s
hostile "list -A, trickle" 3 12 "sent only" -- cluster list -A

# 4. Lists without end: the same continue token, or a new one every page.
fault "{\"action\":\"endless-continue\",$SECRETS}"
hostile "list -A, continue repeats" 3 10 "same continue token" -- cluster list -A
fault "{\"action\":\"endless-continue\",\"mode\":\"new\",$SECRETS}"
hostile "history, continue never ends" 3 30 "stopped after 1000 pages" -- cluster history fate-exchange -n $NS

# 5. Too much: an endless chunked body, a 200 MB body, a gzip bomb, a million-item list.
fault "{\"action\":\"endless-body\",$SECRETS}"
hostile "status, endless chunked body" 3 30 "more than 64 MiB for one list of secrets" -- cluster status fate-exchange -n $NS
fault "{\"action\":\"oversize\",\"bytes\":200000000,$SECRETS}"
hostile "list -A, 200 MB body" 3 30 "more than 64 MiB" -- cluster list -A
fault "{\"action\":\"gzip-bomb\",\"bytes\":268435456,$SECRETS}"
hostile "history, gzip bomb" 3 30 "more than 64 MiB" -- cluster history fate-exchange -n $NS
fault "{\"action\":\"big-list\",\"items\":1000000,$SECRETS}"
hostile "list -A, a million items" 3 40 "more than 250000 JSON values" -- cluster list -A
fault '{"action":"gzip-bomb","bytes":268435456,"method":"GET","path_regex":"/deployments\\?limit"}'
hostile "install's wait loop, gzip bomb" 3 30 "more than 64 MiB" -- cluster install -f "$SPEC" --timeout 30s

# 6. An exec that streams stdout without end: the toy ends at --timeout with its verdict.
fault '{"action":"exec-flood","path_regex":"/exec"}'
hostile "toy, endless exec stdout" 4 6 "FAIL: timeout" -- toy --guest 9999 --host 10000 -n default --timeout 6s
hostile "toy -o json, endless exec stdout" 4 6 '"verdict": "timeout"' -- toy --guest 9999 --host 10000 -n default --timeout 6s --skip-one-sided -o json

# 7. Absurd limits are usage errors; after the faults the same commands work again.
expect_rc 2 "--request-timeout 1y is a usage error" -- "$FATECTL" --kubeconfig "$KC" --request-timeout 1y cluster list -A
expect_contains "--request-timeout: '1y'" "it names the flag and the value"
expect_rc 2 "--timeout 99999999h is a usage error" -- "$FATECTL" --kubeconfig "$KC" cluster install -f "$SPEC" --timeout 99999999h
expect_rc 2 "--timeout 0 is a usage error" -- "$FATECTL" --kubeconfig "$KC" cluster install -f "$SPEC" --timeout 0
curl -fsS -X DELETE "$ADMIN/faults" >/dev/null
expect_rc 0 "list -A on a healthy server" -- timeout 30 "$FATECTL" --kubeconfig "$KC" --request-timeout 20s cluster list -A
expect_contains "fate-exchange" "the release is listed"
expect_rc 0 "status on a healthy server" -- timeout 30 "$FATECTL" --kubeconfig "$KC" cluster status fate-exchange
finish
