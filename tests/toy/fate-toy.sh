#!/usr/bin/env bash
# Stands in for a FATE Flow container in the Kubernetes API emulator: prints what FATE's toy
# example prints, per FATE version, so `fatectl toy` can be tested without FATE.
#
# Run by the emulator's exec map (tests/integration/toy_cluster.sh) as
#   fate-toy.sh <the command fatectl asked to exec...>
# Environment (from the exec map, or the emulator):
#   TOY_FATE_VERSION   1.6 | 1.8 | 1.11 | 2.0 (default: from the pod image's tag, EMULATOR_IMAGE)
#   TOY_MODE           success | failed | timeout | query-failed | flow-down   (two-sided run)
#   TOY_MODE_ONE_SIDED the same for the one-sided run (default success)
#   EMULATOR_CONTAINER the container fatectl exec'd into (set by the emulator)
#   TOY_DELAY          seconds between status lines (default 0.05)
# The wrapper first checks that fatectl sent the command and container this FATE version uses; a
# wrong one fails the way the real container would (command not found, exit 127).
set -u
tag=${EMULATOR_IMAGE##*:}
ver=${TOY_FATE_VERSION:-$(grep -oE '^[0-9]+\.[0-9]+' <<<"$tag" || true)}
[ -n "$ver" ] || { echo "fate-toy.sh: no FATE version (TOY_FATE_VERSION or an image tag like 1.11.2-release)" >&2; exit 2; }
container=${EMULATOR_CONTAINER:-}
delay=${TOY_DELAY:-0.05}
job=$(date -u +%Y%m%d%H%M%S)$(printf '%06d' $((RANDOM * 7)))

want_container=fateflow
case $ver in 1.6|1.7|1.8) want_container=python ;; esac
if [ "$container" != "$want_container" ]; then
  echo "error: fate-toy.sh: FATE $ver runs the toy in container $want_container, not '$container'" >&2
  exit 126
fi

guest='' host=''
if [ "$ver" = 1.6 ]; then
  # bash -c "cd /data/projects/fate/examples/toy_example && python run_toy_example.py G H 1"
  if [ "${1:-}" != bash ] || [ "${2:-}" != -c ]; then echo "fate-toy.sh: expected bash -c '...' for 1.6, got: $*" >&2; exit 127; fi
  re='^cd /data/projects/fate/examples/toy_example && python run_toy_example.py ([0-9]+) ([0-9]+) 1$'
  if [[ ! ${3:-} =~ $re ]]; then echo "bash: line 1: unexpected toy command: ${3:-}" >&2; exit 127; fi
  guest=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]}
else
  if [ "${1:-}" != flow ] || [ "${2:-}" != test ] || [ "${3:-}" != toy ] || [ "${4:-}" != -gid ] || [ "${6:-}" != -hid ]; then
    echo "OCI runtime exec failed: exec failed: unexpected command for FATE $ver: $*" >&2; exit 127
  fi
  guest=$5 host=$7
fi
mode=${TOY_MODE:-success}
[ "$guest" = "$host" ] && mode=${TOY_MODE_ONE_SIDED:-success}

secure_add_log() {  # the guest's secure_add log lines as the toy prints them
  local pre=$1
  printf '%s- secure_add_guest.py[line:96] - INFO: begin to init parameters of secure add example guest\n' "$pre"
  printf '%s- secure_add_guest.py[line:99] - INFO: begin to make guest data\n' "$pre"
  printf '%s- secure_add_guest.py[line:102] - INFO: split data into two random parts\n' "$pre"
  printf '%s- secure_add_guest.py[line:105] - INFO: share one random part data to host\n' "$pre"
  printf '%s- secure_add_guest.py[line:108] - INFO: get share of one random part data from host\n' "$pre"
  printf '%s- secure_add_guest.py[line:111] - INFO: begin to get sum of guest and host\n' "$pre"
  printf '%s- secure_add_guest.py[line:114] - INFO: receive host sum from guest\n' "$pre"
  printf '%s- secure_add_guest.py[line:118] - INFO: success to calculate secure_sum, it is 2000.0000000000002\n' "$pre"
}

if [ "$ver" = 1.6 ]; then
  if [ "$mode" = flow-down ]; then
    cat <<'T'
Traceback (most recent call last):
  File "/data/projects/fate/python/fate_flow/fate_flow_client.py", line 106, in call_fun
    response = requests.post("/".join([server_url, "job", func.rstrip('_job')]), json=config_data)
requests.exceptions.ConnectionError: HTTPConnectionPool(host='fateflow', port=9380): Max retries exceeded with url: /v1/job/submit (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object>: Failed to establish a new connection: [Errno 111] Connection refused'))
T
    exit 1
  fi
  printf 'stdout:{\n    "data": {\n        "board_url": "http://fateboard:8080/index.html#/dashboard?job_id=%s&role=guest&party_id=%s",\n        "model_info": {"model_id": "guest-%s#host-%s#model", "model_version": "%s"}\n    },\n    "jobId": "%s",\n    "retcode": 0,\n    "retmsg": "success"\n}\n\n' "$job" "$guest" "$guest" "$host" "$job" "$job"
  case $mode in
    success)
      for i in 1 2 3; do echo "job status is running"; sleep "$delay"; done
      echo "job status is success"
      secure_add_log "[INFO] [2026-11-30 05:00:0$((RANDOM % 9)),123] [1:140] "
      exit 0 ;;
    failed)
      for i in 1 2; do echo "job status is running"; sleep "$delay"; done
      echo "job status is failed"
      echo "[ERROR] [2026-11-30 05:00:03,456] [1:140] - task_executor.py[line:211]: <fate_arch.federation.eggroll._federation.Federation> remote failed: rollsite cannot route to party $host"
      exit 0 ;;
    timeout)
      for i in 1 2 3 4 5; do echo "job status is running"; sleep "$delay"; done
      cat <<'T'
Traceback (most recent call last):
  File "run_toy_example.py", line 176, in <module>
    exec_toy_example(runtime_config)
  File "run_toy_example.py", line 152, in exec_toy_example
    raise ValueError("job running time exceed, please check federation or eggroll log")
ValueError: job running time exceed, please check federation or eggroll log
T
      exit 1 ;;
    query-failed)
      for i in 1 2 3 4 5 6; do echo "job status is query job status failed"; sleep "$delay"; done
      echo 'ValueError: job running time exceed, please check federation or eggroll log'
      exit 1 ;;
  esac
fi

# flow test toy (1.7 and later)
if [ "$mode" = flow-down ]; then
  echo '{"retcode": 100, "retmsg": "Connection refused, Please check if the fate flow service is started"}'
  exit 0
fi
if [ "$ver" = 2.0 ]; then log_hint="You can use the command of 'flow job download-log -j $job -o \$download_dir' to download logs"
else log_hint="please check the log of job $job with 'flow job log -j $job -o \$download_dir'"; fi
echo "toy test job $job is waiting"; sleep "$delay"
case $mode in
  success)
    for i in 1 2 3; do echo "toy test job $job is running"; sleep "$delay"; done
    echo "toy test job $job is success"
    secure_add_log "\"2026-11-30 05:00:05,123 "
    exit 0 ;;
  failed)
    echo "toy test job $job is running"; sleep "$delay"
    echo "toy test job $job is failed"
    echo "$log_hint"
    exit 0 ;;
  timeout)
    for i in 1 2 3 4 5; do echo "toy test job $job is running"; sleep "$delay"; done
    if [ "$ver" = 2.0 ]; then echo "timeout..."; else echo "check job status timeout"; fi
    echo "$log_hint"
    exit 0 ;;
  query-failed)
    for i in 1 2 3 4 5 6; do echo "toy test job $job is query job status failed"; sleep "$delay"; done
    echo "check job status timeout"
    exit 0 ;;
esac
echo "fate-toy.sh: unknown TOY_MODE $mode" >&2
exit 2
