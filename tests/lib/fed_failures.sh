# Helpers for the failure tests of federated training (tests/integration/fed_failures*.sh):
# each party is its own `fatectl train --job J --party-id P` process, started in the background;
# the helpers start them, wait for them with a bound, and compare models. Source after assert.sh.
#   ff_setup DIR               certificates, free ports P9999 P10000 P10001, data paths
#   ff_job FILE PDT [ROUTES]   a hetero LR job on those ports (peerDeadTimeout PDT, extra YAML)
#   ff_start NAME JOB PARTY OUT [ENV=V ...] [-- FLAGS...]   one party in the background
#   ff_wait SECS               waits for every started party; RC[p], END[p] (epoch seconds)
#   ff_wait_log FILE TEXT SECS waits until FILE contains TEXT
#   ff_same_model A B          guest and host models of OUT dirs A and B are identical
#   ff_kill_all                kills what is still running (trap)

declare -A FF_PID RC END
FF_W=""

ff_free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ff_setup() {
  FF_W="$1"
  "$FATECTL" certs init --domain fate.org --dir "$FF_W/certs" >/dev/null
  "$FATECTL" certs issue --party 9999 --party 10000 --party 10001 --dir "$FF_W/certs" >/dev/null
  P9999=$(ff_free_port); P10000=$(ff_free_port); P10001=$(ff_free_port)
  FF_DATA="${FATECTL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/examples/data"
}

# ff_job FILE PDT [EXTRA]: 3 parties, hetero LR long enough to act in the middle of (14 epochs of
# 3 mini-batches, 1024-bit key), short transport timeouts.
ff_job() {
  local host_data="${FF_HOST_DATA:-$FF_DATA/breast_hetero_host.csv}"
  cat > "$1" <<YAML
job: it-failures
domain: fate.org
certificates: $FF_W/certs
timeout: 3m
parties:
  - {id: 9999, role: guest, listen: 127.0.0.1:$P9999, data: $FF_DATA/breast_hetero_guest.csv}
  - {id: 10000, role: host, listen: 127.0.0.1:$P10000, data: $host_data}
  - {id: 10001, role: arbiter, listen: 127.0.0.1:$P10001}
${3:-}
algorithm:
  name: hetero_lr
  params:
    optimizer: rmsprop
    learning_rate: 0.1
    alpha: 0.01
    max_iter: 14
    batch_size: 200
    masked_rate: 1
    tol: 0.0000001
    init_param: {init_method: random_uniform, random_seed: 17}
    encrypt_param: {key_length: 1024, allow_insecure_key_size: true}
transport: {connectTimeout: 3s, handshakeTimeout: 2s, heartbeatInterval: 200ms, peerDeadTimeout: $2, closeTimeout: 3s}
YAML
}

ff_start() {
  local name="$1" job="$2" party="$3" out="$4"; shift 4
  local envs=() flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && shift
  flags=("$@")
  env "${envs[@]}" "$FATECTL" train --job "$job" --party-id "$party" --out "$out" "${flags[@]}" \
    > "$FF_W/$name.$party.log" 2>&1 &
  FF_PID[$party]=$!
  unset "RC[$party]" "END[$party]"
}

ff_now() { date +%s.%N; }

ff_wait() {
  local secs="$1" deadline p left
  deadline=$(( $(date +%s) + secs ))
  while :; do
    left=0
    for p in "${!FF_PID[@]}"; do
      [ -n "${RC[$p]:-}" ] && continue
      if kill -0 "${FF_PID[$p]}" 2>/dev/null; then left=1; continue; fi
      set +e; wait "${FF_PID[$p]}"; RC[$p]=$?; set -e
      END[$p]=$(ff_now)
    done
    [ "$left" = 0 ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      for p in "${!FF_PID[@]}"; do
        if [ -z "${RC[$p]:-}" ]; then kill -9 "${FF_PID[$p]}" 2>/dev/null || true; RC[$p]=timeout; END[$p]=$(ff_now); fi
      done
      return 1
    fi
    sleep 0.1
  done
}

ff_wait_log() {
  local file="$1" text="$2" secs="$3" i
  for i in $(seq 1 $((secs * 10))); do
    grep -qF -- "$text" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# seconds between two ff_now stamps, e.g. ff_secs "$A" "$B" → 1.234
ff_secs() { /usr/bin/python3 -c "print(f'{$2 - $1:.2f}')"; }
# ff_le X Y: X <= Y (decimals)
ff_le() { /usr/bin/python3 -c "import sys; sys.exit(0 if $1 <= $2 else 1)"; }

ff_same_model() {
  local a="$1" b="$2" p
  for p in 9999 10000; do
    cmp -s <(grep -v '"job"' "$a/$p/model.json" 2>/dev/null) <(grep -v '"job"' "$b/$p/model.json" 2>/dev/null) || return 1
  done
}

ff_kill_all() {
  local p
  for p in "${!FF_PID[@]}"; do kill -9 "${FF_PID[$p]}" 2>/dev/null || true; done
}

ff_reset() { FF_PID=(); RC=(); END=(); }

# ff_others_failed NAME PATTERN MAXSECS [FROM]: the guest and the arbiter of run NAME exited 5, say
# PATTERN (grep basic regex) and ended at most MAXSECS after FROM (an ff_now stamp; default: when
# the host ended).
ff_others_failed() {
  local name="$1" pattern="$2" max="$3" from="${4:-${END[10000]:-0}}" p d
  for p in 9999 10001; do
    [ "${RC[$p]:-}" = 5 ] && ok "$name: party $p exits 5 (another party failed)" \
      || not_ok "$name: party $p exit ${RC[$p]:-?}: $(tail -3 "$FF_W/$name.$p.log")"
    grep -q -- "$pattern" "$FF_W/$name.$p.log" && ok "$name: party $p names the party, its step and the reason" \
      || not_ok "$name: party $p does not say '$pattern': $(tail -2 "$FF_W/$name.$p.log")"
    d=$(ff_secs "$from" "${END[$p]:-0}")
    ff_le "$d" "$max" && ok "$name: party $p ended ${d} s after the cause" || not_ok "$name: party $p ended ${d} s after the cause"
  done
}

# ff_all_succeeded NAME: every party of run NAME exited 0.
ff_all_succeeded() {
  local p
  for p in 9999 10000 10001; do
    [ "${RC[$p]:-}" = 0 ] && ok "$1: party $p succeeded" || not_ok "$1: party $p exit ${RC[$p]:-?}: $(tail -3 "$FF_W/$1.$p.log")"
  done
}

# ff_sigkill JOB OUT PATTERN MAXSECS: runs the job, kills the host with SIGKILL once the guest
# finished epoch 3, and checks the others (run name "kill").
ff_sigkill() {
  local job="$1" out="$2" pattern="$3" max="$4" p killed
  ff_reset
  for p in 9999 10000 10001; do ff_start kill "$job" "$p" "$out"; done
  ff_wait_log "$out/9999/train.log" "epoch 3/14" 90 || not_ok "training did not reach epoch 3"
  killed=$(ff_now)
  kill -9 "${FF_PID[10000]}"
  ff_wait 30 || not_ok "the parties did not end within 30 s of the kill"
  ff_others_failed kill "$pattern" "$max" "$killed"
}

# ff_rejoin JOB OUT REF: the host crashes after epoch 5 (exit 9 at once, no word to anyone) and is
# started again with --resume while the guest and the arbiter still run; every party succeeds
# and the model is REF's (run name "rejoin").
ff_rejoin() {
  local job="$1" out="$2" ref="$3" host1 i rc
  ff_reset
  ff_start rejoin "$job" 9999 "$out"
  ff_start rejoin "$job" 10001 "$out"
  ff_start crash "$job" 10000 "$out" FATECTL_TRAIN_CRASH_AFTER=10000:5
  host1=${FF_PID[10000]}
  for i in $(seq 1 900); do kill -0 "$host1" 2>/dev/null || break; sleep 0.1; done
  set +e; wait "$host1"; rc=$?; set -e
  [ "$rc" = 9 ] && ok "rejoin: the host crashed after epoch 5 (exit 9)" || not_ok "rejoin: host crash: exit $rc"
  kill -0 "${FF_PID[9999]}" 2>/dev/null && kill -0 "${FF_PID[10001]}" 2>/dev/null \
    && ok "rejoin: the guest and the arbiter still run" || not_ok "rejoin: guest/arbiter ended with the crash"
  unset "FF_PID[10000]"
  ff_start rejoin "$job" 10000 "$out" -- --resume
  ff_wait 120 || not_ok "rejoin: the job did not end within 120 s"
  ff_all_succeeded rejoin
  grep -q "rejoin: party 9999: party 10000 restarted" "$out/9999/train.log" \
    && ok "rejoin: the guest rolled back when the host came back" || not_ok "rejoin: no rejoin in the guest's train.log"
  grep -q "resumed after epoch 5" "$out/9999/train.log" && ok "rejoin: every party went back to epoch 5, the last one all had" \
    || not_ok "rejoin: guest: $(grep -E "resumed|rejoin" "$out/9999/train.log")"
  ff_same_model "$ref" "$out" && ok "rejoin: the model equals the uninterrupted run's" || not_ok "rejoin: models differ"
}
