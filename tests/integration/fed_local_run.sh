#!/usr/bin/env bash
# Party runtime through the binary: certs init/issue, party serve, run --local (2 and 3 parties),
# a failing party stopping the others, Ctrl-C, job-file errors with line numbers.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
SRC="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
W="$(mktemp -d "${TMPDIR:-/tmp}/fed_local_run.XXXXXX")"
RUN_PID=""
cleanup() {
  [ -n "$RUN_PID" ] && kill -KILL "$RUN_PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- certificates -----------------------------------------------------------------------------
expect_rc 0 "certs init" -- "$FATECTL" certs init --domain fate.org --dir "$W/certs"
expect_contains "OU=fate.org" "the CA records its domain"
expect_rc 0 "certs issue two parties" -- "$FATECTL" certs issue --party 9999 --party 10000 --dir "$W/certs"
expect_contains "CN=10000.fate.org" "party certificate named <party>.<domain>"
[ "$(stat -c %a "$W/certs/10000.key")" = 600 ] && ok "party key is 0600" || not_ok "party key mode $(stat -c %a "$W/certs/10000.key")"
[ "$(stat -c %a "$W/certs/ca.key")" = 600 ] && ok "CA key is 0600" || not_ok "CA key mode"
openssl x509 -in "$W/certs/10000.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:10000.fate.org" \
  && ok "SAN DNS:10000.fate.org" || not_ok "SAN missing"
openssl verify -CAfile "$W/certs/ca.crt" "$W/certs/9999.crt" >/dev/null 2>&1 && ok "openssl verifies the party certificate" || not_ok "openssl verify"
expect_rc 2 "issuing over an existing key needs --force" -- "$FATECTL" certs issue --party 9999 --dir "$W/certs"
expect_rc 2 "issue without a CA" -- "$FATECTL" certs issue --party 1 --dir "$W/nothing"
expect_contains "fatectl certs init" "the error says how to create a CA"

# --- party serve, two processes, direct routes ------------------------------------------------
P1=$(free_port); P2=$(free_port)
cat > "$W/job.yaml" <<YAML
job: it-echo
domain: fate.org
certificates: certs
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:$P1}
  - {id: 10000, role: host, listen: 127.0.0.1:$P2}
algorithm:
  name: echo
  params: {rounds: 10, streamBytes: 2Mi}
transport: {connectTimeout: 20s}
YAML
"$FATECTL" party serve --job "$W/job.yaml" --party-id 10000 --role host > "$W/host.out" 2>&1 &
HOST=$!
expect_rc 0 "party serve: guest reaches host over mutual TLS" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 9999 --role guest
expect_contains "sha256 match" "guest saw its stream hashed identically"
expect_contains "echo: success" "echo program succeeded"
wait "$HOST" && ok "host exited 0" || not_ok "host failed: $(tail -3 "$W/host.out")"
expect_rc 2 "party serve with the wrong role" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 9999 --role host
expect_contains "is the guest in this job, not host" "role mismatch explained"
expect_rc 2 "party serve for a party not in the job" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 4242
expect_contains "party 4242 is not in this job" "unknown party explained"

# a private key readable by others is refused
chmod 644 "$W/certs/9999.key"
expect_rc 2 "world-readable key refused" -- "$FATECTL" party serve --job "$W/job.yaml" --party-id 9999
expect_contains "chmod 600" "error says chmod 600"
chmod 600 "$W/certs/9999.key"

# --- job file errors --------------------------------------------------------------------------
sed 's/role: host/role: hots/' "$W/job.yaml" > "$W/bad.yaml"
expect_rc 2 "bad role in the job file" -- "$FATECTL" party serve --job "$W/bad.yaml" --party-id 9999
expect_contains "bad.yaml:6:" "error names file and line"
expect_contains "parties[1].role" "error names the key"
sed 's/name: echo/name: no_such_program/' "$W/job.yaml" > "$W/bad2.yaml"
expect_rc 2 "unknown program" -- "$FATECTL" party serve --job "$W/bad2.yaml" --party-id 9999
expect_contains "bad2.yaml:8:9: algorithm.name: unknown program 'no_such_program' (known: " "unknown program with location"

# --- run --local ------------------------------------------------------------------------------
expect_rc 0 "run --local: the example job (3 parties, throwaway CA)" -- "$FATECTL" run --local --job "$SRC/examples/jobs/echo.yaml" --run-dir "$W/run1"
expect_contains "[9999 guest] echo: success, reached 2 other parties" "guest output forwarded with its prefix"
expect_contains "[10001 arbiter] echo: answered" "arbiter output forwarded with its prefix"
expect_contains "every party succeeded" "run summary"
[ -s "$W/run1/9999.log" ] && [ -s "$W/run1/10000.log" ] && [ -s "$W/run1/10001.log" ] && ok "one log file per party" || not_ok "log files missing"
grep -q "sha256 match" "$W/run1/9999.log" && ok "guest log holds its output" || not_ok "guest log content"
[ "$(stat -c %a "$W/run1/certs/10001.key")" = 600 ] && ok "throwaway CA issued 0600 keys" || not_ok "throwaway key mode"
grep -q "127.0.0.1:" "$W/run1/job.yaml" && ! grep -q "192.168" "$W/run1/job.yaml" && ok "local job copy uses loopback, no exchange routes" || not_ok "local job copy"

expect_rc 0 "run --local with the job's own certificates" -- "$FATECTL" run --local --job "$W/job.yaml" --run-dir "$W/run2"
[ ! -d "$W/run2/certs" ] && ok "existing CA used, none created" || not_ok "a throwaway CA was created although certs exist"

# a failing party stops the others and its status is the job's
cat > "$W/fail.yaml" <<YAML
job: it-fail
domain: fate.org
certificates: certs
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0}
  - {id: 10000, role: host, listen: 127.0.0.1:0}
algorithm: {name: no_such_program}
YAML
expect_rc 2 "run --local: a failing party fails the job" -- "$FATECTL" run --local --job "$W/fail.yaml" --run-dir "$W/run3"
expect_contains "failed (exit 2)" "failure reported"

# Ctrl-C stops every party
cat > "$W/long.yaml" <<YAML
job: it-long
domain: fate.org
certificates: certs
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:0}
  - {id: 10000, role: host, listen: 127.0.0.1:0}
algorithm: {name: echo, params: {rounds: 1000000}}
YAML
"$FATECTL" run --local --job "$W/long.yaml" --run-dir "$W/run4" > "$W/run4.out" 2>&1 &
RUN_PID=$!
for i in $(seq 1 100); do grep -q "exchanging with party 10000" "$W/run4.out" 2>/dev/null && break; sleep 0.1; done
kill -INT "$RUN_PID" || true
set +e; wait "$RUN_PID"; rc=$?; set -e
RUN_PID=""
[ "$rc" = 130 ] && ok "Ctrl-C: run exits 130" || not_ok "Ctrl-C: exit $rc ($(tail -3 "$W/run4.out"))"
sleep 0.5
if pgrep -f "$W/run4/job.yaml" >/dev/null; then not_ok "party processes left after Ctrl-C"; else ok "no party process left after Ctrl-C"; fi
grep -q "interrupted" "$W/run4.out" && ok "interruption reported" || not_ok "no interruption message"

# without --run-dir: what run --local / train --local made in $TMPDIR goes away after success
# (the throwaway CA key included); after a failure the logs stay, the throwaway CA does not
mkdir -p "$W/tmp"
expect_rc 0 "train --local without --run-dir" -- env TMPDIR="$W/tmp" "$FATECTL" train --local --job "$SRC/examples/jobs/homo-breast.yaml" --out "$W/homo-out"
expect_contains "removed the run directory $W/tmp/fatectl-run-homo-breast-" "train --local says it removed its run directory"
[ -z "$(ls -A "$W/tmp")" ] && ok "nothing left in TMPDIR (no fatectl-run-*, no CA key)" || not_ok "left in TMPDIR: $(ls "$W/tmp")"
[ -s "$W/homo-out/9999/model.json" ] && ok "the model (--out) is kept" || not_ok "model missing"
expect_rc 0 "toy --native --local leaves nothing either" -- env TMPDIR="$W/tmp" "$FATECTL" toy --native --local --data-num 10
[ -z "$(ls -A "$W/tmp")" ] && ok "nothing left in TMPDIR after the toy" || not_ok "left in TMPDIR: $(ls "$W/tmp")"
expect_rc 2 "run --local failing without --run-dir" -- env TMPDIR="$W/tmp" "$FATECTL" run --local --job "$W/fail.yaml"
# fail.yaml uses the job's own certificates (certs/ exists): no throwaway CA, the logs stay
d=$(ls -d "$W"/tmp/fatectl-run-it-fail-* 2>/dev/null | head -1)
[ -n "$d" ] && [ -s "$d/9999.log" ] && ok "after a failure the logs stay ($d)" || not_ok "no logs kept after a failure"
sed 's/^certificates: certs/certificates: no-such-certs/' "$W/fail.yaml" > "$W/fail-throwaway.yaml"
rm -rf "$W/tmp"/*
expect_rc 2 "run --local failing with a throwaway CA" -- env TMPDIR="$W/tmp" "$FATECTL" run --local --job "$W/fail-throwaway.yaml"
expect_contains "removed the throwaway CA" "says the throwaway CA was removed"
d=$(ls -d "$W"/tmp/fatectl-run-it-fail-* 2>/dev/null | head -1)
[ -n "$d" ] && [ ! -e "$d/certs" ] && [ -s "$d/9999.log" ] && ok "the logs stay, the throwaway CA key does not" || not_ok "after a failure: $(ls -R "$d" | head)"
expect_rc 0 "with --run-dir everything stays" -- env TMPDIR="$W/tmp" "$FATECTL" run --local --job "$SRC/examples/jobs/echo.yaml" --run-dir "$W/run5"
[ -s "$W/run5/certs/ca.key" ] && [ -s "$W/run5/9999.log" ] && ok "--run-dir keeps the logs and the CA" || not_ok "--run-dir content"

expect_rc 2 "run without --local" -- "$FATECTL" run --job "$W/job.yaml"
expect_contains "only --local" "run without --local explains"
finish
