#!/usr/bin/env bash
# Failures of a federated training job through a real Apache Traffic Server Exchange (SNI tunnels
# to each party), each party its own `fatectl train --job J --party-id P` process:
#   - a data error in one party at setup: every party ends within seconds with the reason;
#   - a misrouted Exchange (the route for the host leads nowhere): every party ends within seconds,
#     the ones that cannot reach the host with the reason;
#   - the Exchange down for longer than connectTimeout and peerDeadTimeout: the job rides it out
#     (one progress line) and ends with the uninterrupted run's model;
#   - a party killed with SIGKILL while the Exchange answers: reported within peerDeadTimeout;
#   - a crashed party started again with --resume rejoins through the Exchange, same model.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
source "$(dirname "$0")/../lib/ats.sh"
source "$(dirname "$0")/../lib/fed_failures.sh"
W="$(mktemp -d "${TMPDIR:-/tmp}/fed_failures_ats.XXXXXX")"
trap 'ff_kill_all; ats_stop; rm -rf "$W"' EXIT
if ! command -v traffic_manager >/dev/null; then
  echo "trafficserver is not installed (apt-get install trafficserver)"; not_ok "Traffic Server available"; finish; exit 1
fi
ff_setup "$W"
cat > "$W/sni.yaml" <<YAML
sni:
  - {fqdn: 9999.fate.org, tunnel_route: 127.0.0.1:$P9999}
  - {fqdn: 10000.fate.org, tunnel_route: 127.0.0.1:$P10000}
  - {fqdn: 10001.fate.org, tunnel_route: 127.0.0.1:$P10001}
YAML
ats_start "$W/ats" "$W/sni.yaml" && ok "Traffic Server started" || { not_ok "Traffic Server start"; finish; exit 1; }
ROUTES="routes:
  default: {exchange: 127.0.0.1:$ATS_PORT}"
ff_job "$W/job.yaml" 3s "$ROUTES"
expect_rc 0 "the uninterrupted run (reference model)" -- "$FATECTL" train --local --in-process --job "$W/job.yaml" --out "$W/ref"

# 1. A data error in the host at setup (a host that exits 2 at once, as in the issue).
printf 'id,x0,x1\n1,0.5,0.1\n2,abc,0.2\n' > "$W/bad.csv"
FF_HOST_DATA="$W/bad.csv" ff_job "$W/bad.yaml" 3s "$ROUTES"
for p in 9999 10000 10001; do ff_start bad "$W/bad.yaml" "$p" "$W/out0"; done
ff_wait 30 || not_ok "the parties did not all end within 30 s"
[ "${RC[10000]}" = 2 ] && ok "the host exits 2 (bad data)" || not_ok "host: exit ${RC[10000]}: $(tail -2 "$W/bad.10000.log")"
ff_others_failed bad "party 10000 failed at setup: $W/bad.csv:3:2: x0: not a number: 'abc'" 5

# 1b. A misrouted Exchange: its route for the host leads to a port where nothing listens. The guest
# and the arbiter hear the host (its own connections arrive) but cannot reach it; they say so after
# connectTimeout (exit 3, or 5 when the other's abort comes first), the host learns it (exit 5).
sed "s/tunnel_route: 127.0.0.1:$P10000/tunnel_route: 127.0.0.1:$(ff_free_port)/" "$W/sni.yaml" > "$W/sni-bad.yaml"
ats_reload "$W/sni-bad.yaml" && ok "the Exchange's route for the host misrouted" || not_ok "reload the misrouted sni.yaml"
ff_reset
STARTED=$(ff_now)
for p in 9999 10000 10001; do ff_start misrouted "$W/job.yaml" "$p" "$W/outm"; done
ff_wait 60 || not_ok "the parties did not all end within 60 s"
for p in 9999 10000 10001; do
  d=$(ff_secs "$STARTED" "${END[$p]}")
  ff_le "$d" 20 && ok "misrouted: party $p ended ${d} s after the start" || not_ok "misrouted: party $p ended ${d} s after the start"
done
for p in 9999 10001; do
  case "${RC[$p]}" in 3|5) ok "misrouted: party $p exits ${RC[$p]}" ;; *) not_ok "misrouted: party $p exit ${RC[$p]}: $(tail -2 "$W/misrouted.$p.log")" ;; esac
  grep -q "cannot reach party 10000 via exchange 127.0.0.1:$ATS_PORT (sni 10000.fate.org) for .* although it is alive (its own connections arrive): the exchange's route for 10000.fate.org does not lead to it" "$W/misrouted.$p.log" \
    && ok "misrouted: party $p says the Exchange's route to the host is wrong" || not_ok "misrouted: party $p: $(tail -2 "$W/misrouted.$p.log")"
done
[ "${RC[10000]}" = 5 ] && grep -q "party \(9999\|10001\) failed" "$W/misrouted.10000.log" \
  && ok "misrouted: the host exits 5, naming a party that failed" || not_ok "misrouted: host exit ${RC[10000]}: $(tail -2 "$W/misrouted.10000.log")"
ats_reload "$W/sni.yaml" && ok "the Exchange's routes restored" || not_ok "reload the good sni.yaml"

# 2. The Exchange down for 7 s (> connectTimeout 3 s, > peerDeadTimeout 3 s) in the middle of training.
ff_reset
for p in 9999 10000 10001; do ff_start outage "$W/job.yaml" "$p" "$W/out1"; done
ff_wait_log "$W/out1/9999/train.log" "epoch 3/14" 90 || not_ok "training did not reach epoch 3"
ats_stop
sleep 7
ats_start "$W/ats" "$W/sni.yaml" && ok "Traffic Server restarted after 7 s" || not_ok "Traffic Server restart"
ff_wait 120 || not_ok "the job did not end within 120 s of the outage"
ff_all_succeeded outage
cat "$W"/outage.*.log | grep -q "exchange 127.0.0.1:$ATS_PORT unreachable for [0-9]* s, retrying until the job timeout at" \
  && ok "progress: the Exchange unreachable, retrying until the job timeout" || not_ok "no outage progress line"
ff_same_model "$W/ref" "$W/out1" && ok "outage: the model equals the uninterrupted run's" || not_ok "outage: models differ"

# 3. SIGKILL of the host while the Exchange answers.
ff_sigkill "$W/job.yaml" "$W/out2" \
  "party 10000 failed at epoch .*: no sign of life for .* while the exchange 127.0.0.1:$ATS_PORT answered" 6

# 4. Rejoin through the Exchange.
ff_job "$W/rejoin.yaml" 6s "$ROUTES"
ff_rejoin "$W/rejoin.yaml" "$W/out3" "$W/ref"
finish
