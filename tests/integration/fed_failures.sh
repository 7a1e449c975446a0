#!/usr/bin/env bash
# Failures of a federated training job, each party its own `fatectl train --job J --party-id P`
# process, direct routes (tests/integration/fed_failures_ats.sh: the same through Traffic Server):
#   - an error in one party mid-training: every party ends within seconds, the others with exit 5
#     and "party 10000 failed at epoch 3, batch 2: <reason>"; `fatectl job status` shows it;
#   - --retry on every party: the job ends with the uninterrupted run's model;
#   - a party stopped with SIGTERM (a deleted pod): it tells the others, which exit 5 at once;
#   - a party killed with SIGKILL: the others report it within peerDeadTimeout (+ one attempt);
#     --retry with damaged checkpoints (the guest's newest unreadable, the one before the host's
#     newest unreadable): each says so, every party starts from the last epoch all can load, and
#     the model is the uninterrupted run's;
#   - a party that crashes and is started again with --resume while the others run rejoins them,
#     and the model is the uninterrupted run's.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
source "$(dirname "$0")/../lib/fed_failures.sh"
W="$(mktemp -d "${TMPDIR:-/tmp}/fed_failures.XXXXXX")"
trap 'ff_kill_all; rm -rf "$W"' EXIT
ff_setup "$W"
ff_job "$W/job.yaml" 2s

# The uninterrupted model, in one process (the arithmetic is exact: processes give the same).
expect_rc 0 "the uninterrupted run (reference model)" -- "$FATECTL" train --local --in-process --job "$W/job.yaml" --out "$W/ref"

# 1. An error in one party in the middle of training.
ff_start err "$W/job.yaml" 9999 "$W/out1"
ff_start err "$W/job.yaml" 10001 "$W/out1"
ff_start err "$W/job.yaml" 10000 "$W/out1" FATECTL_TRAIN_FAIL_AT=10000:3:2
ff_wait 90 || not_ok "the parties did not all end within 90 s"
[ "${RC[10000]}" = 1 ] && ok "the failing host exits 1" || not_ok "host: exit ${RC[10000]}: $(tail -3 "$W/err.10000.log")"
grep -q "data error at epoch 3, batch 2" "$W/err.10000.log" && ok "the host reports its own error" || not_ok "host error text"
ff_others_failed err "error: party 10000 failed at epoch 3, batch 2: data error at epoch 3, batch 2" 5
expect_rc 0 "job status after the failure" -- "$FATECTL" job status "$W/out1"
echo "$OUT"
grep -Eq "^10000 +host +failed +epoch 3, batch 2 +1 +epoch 2 " <<<"$OUT" \
  && ok "job status: the host failed at epoch 3, batch 2 (checkpoint epoch 2)" || not_ok "job status host line"
grep -Eq "^9999 +guest +failed .*party 10000 failed at epoch 3, batch 2" <<<"$OUT" \
  && ok "job status: the guest failed because of party 10000" || not_ok "job status guest line"
expect_rc 0 "job status -o json" -- "$FATECTL" job status "$W/out1" -o json
/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
p = {x["party"]: x for x in d["parties"]}
assert p[10000]["state"] == "failed" and p[10000]["exit_code"] == 1, p[10000]
assert p[9999]["cause_party"] == 10000 and p[9999]["exit_code"] == 5, p[9999]
assert p[10001]["cause_party"] == 10000, p[10001]
' <<<"$OUT" && ok "job status -o json: states, exit codes, cause" || not_ok "job status json: $OUT"

# 2. Retry on every party: from the last checkpoint to the uninterrupted run's model.
expect_rc 2 "--retry with no earlier run is refused" -- "$FATECTL" train --job "$W/job.yaml" --party-id 9999 --out "$W/none" --retry
expect_contains "nothing to retry" "and says why"
ff_reset
for p in 9999 10000 10001; do ff_start retry "$W/job.yaml" "$p" "$W/out1" -- --retry; done
ff_wait 120 || not_ok "the retried job did not end within 120 s"
ff_all_succeeded retry
grep -q "retrying job it-failures as party 10000 (attempt 2); the last run failed at epoch 3, batch 2: data error" "$W/retry.10000.log" \
  && ok "retry says what it picks up" || not_ok "retry message: $(head -3 "$W/retry.10000.log")"
grep -q "resumed after epoch 2" "$W/out1/9999/train.log" && ok "retry resumed after epoch 2" || not_ok "retry did not resume"
ff_same_model "$W/ref" "$W/out1" && ok "retry: the model equals the uninterrupted run's" || not_ok "retry: models differ"
expect_rc 0 "job status after the retry" -- "$FATECTL" job status "$W/out1"
[ "$(grep -Ec "^[0-9]+ +[a-z]+ +succeeded .* 2 " <<<"$OUT")" = 3 ] && ok "job status: every party succeeded (attempt 2)" \
  || not_ok "job status after retry: $OUT"

# 2b. SIGTERM of one party (a pod deleted, Ctrl-C): from its signal handler, it tells the others.
ff_reset
for p in 9999 10000 10001; do ff_start term "$W/job.yaml" "$p" "$W/outt"; done
ff_wait_log "$W/outt/9999/train.log" "epoch 3/14" 90 || not_ok "training did not reach epoch 3"
kill -TERM "${FF_PID[10000]}"
ff_wait 30 || not_ok "the parties did not end within 30 s of the SIGTERM"
[ "${RC[10000]}" = 143 ] && ok "SIGTERM: the host exits 143" || not_ok "SIGTERM: host exit ${RC[10000]}: $(tail -2 "$W/term.10000.log")"
ff_others_failed term "error: party 10000 failed at epoch [0-9]*\(, batch [0-9]\)\?: stopped by SIGTERM" 5
expect_rc 0 "job status after a SIGTERM" -- "$FATECTL" job status "$W/outt"
grep -Eq "^10000 +host +failed .* stopped by SIGTERM" <<<"$OUT" && ok "job status: the host was stopped by SIGTERM" || not_ok "job status: $OUT"

# 3. SIGKILL of one party: no word from it; the others report it within peerDeadTimeout.
ff_sigkill "$W/job.yaml" "$W/out2" \
  "party 10000 failed at epoch .*: no sign of life for .* (peerDeadTimeout 2s) while its host 127.0.0.1:$P10000 answered" 5
expect_rc 0 "job status after a SIGKILL" -- "$FATECTL" job status "$W/out2"
grep -Eq "^10000 +host +running\? .*is gone" <<<"$OUT" && ok "job status: the killed host's process is gone" || not_ok "job status: $OUT"

# 3b. Retry after the SIGKILL with damaged checkpoints: the guest's newest is unreadable (it reports
# the one before it), and the host's newest is readable but the one before it is not (the others may
# go back there, so it reports the one below). Every party says what it found, starts from the
# epoch they all can load, and the model is the uninterrupted run's.
newest() { ls "$1/checkpoint" | sed -n 's/^epoch-\([0-9]*\)\.yaml$/\1/p' | sort -n | tail -1; }
NEWEST=$(newest "$W/out2/10000"); NEWEST_G=$(newest "$W/out2/9999")
echo '{"epochs": 3, "weights": [0.1, ' > "$W/out2/10000/checkpoint/epoch-$((NEWEST - 1)).yaml"
echo '{"epochs": 3, "weights": [0.1, ' > "$W/out2/9999/checkpoint/epoch-$NEWEST_G.yaml"
ff_reset
for p in 9999 10000 10001; do ff_start retry2 "$W/job.yaml" "$p" "$W/out2" -- --retry; done
ff_wait 120 || not_ok "the retried job did not end within 120 s"
ff_all_succeeded retry2
grep -q "epoch-$NEWEST_G.yaml: checkpoint unreadable" "$W/retry2.9999.log" && ok "the guest reports its unreadable newest checkpoint" \
  || not_ok "no report of the guest's unreadable checkpoint: $(head -5 "$W/retry2.9999.log")"
grep -q "epoch-$((NEWEST - 1)).yaml: checkpoint unreadable" "$W/retry2.10000.log" \
  && grep -q "checkpoint/epoch-$NEWEST.yaml is readable but the parties may go back to epoch $((NEWEST - 1)), whose checkpoint is not" "$W/retry2.10000.log" \
  && ok "the host reports its unreadable checkpoint and why it reports an older one" \
  || not_ok "host's checkpoint report: $(head -5 "$W/retry2.10000.log")"
if [ "$NEWEST" -gt 2 ]; then
  grep -q "resumed after epoch $((NEWEST - 2))" "$W/out2/9999/train.log" \
    && ok "every party went back to epoch $((NEWEST - 2)), the host's last usable checkpoint" || not_ok "guest: $(grep resumed "$W/out2/9999/train.log")"
fi
ff_same_model "$W/ref" "$W/out2" && ok "retry after SIGKILL: the model equals the uninterrupted run's" || not_ok "retry2: models differ"

# 4. Rejoin: the host crashes after epoch 5 and is started again with --resume while the guest
# and the arbiter still run (peerDeadTimeout 6 s leaves time for the restart).
ff_job "$W/rejoin.yaml" 6s
ff_rejoin "$W/rejoin.yaml" "$W/out3" "$W/ref"
finish
