#!/usr/bin/env bash
# Fuzzes fatectl's parsers with libFuzzer (clang, ASan + UBSan) — tests/fuzz/<target>.cc.
#   scripts/fuzz.sh                     every target, 10 minutes each (one after the other)
#   scripts/fuzz.sh TARGET [SECONDS]    one target (default 600 s)
#   scripts/fuzz.sh all SECONDS         every target for SECONDS each
#   scripts/fuzz.sh --ci [RUNS]         what scripts/test.sh runs: replay every saved finding and
#                                       corpus entry, then each target for RUNS inputs (default
#                                       4000) from the committed seeds with a fixed random seed, at
#                                       most 20 s each: a fixed count, not a time, so a faster CI
#                                       machine does not wander further (coverage-guided choices
#                                       still vary a little); new findings come from the long runs
#   scripts/fuzz.sh --list              the targets
# Builds build-fuzz/ (FATECTL_FUZZ=ON) first. New corpus entries go to build-fuzz/corpus/<target>
# (the committed seeds in tests/fuzz/corpus/<target> are read, never written); a finding is
# written to tests/fuzz/regressions/<target>/ — fix it, keep the file (it is replayed by every
# test run from then on), and commit both. Per-run statistics: build-fuzz/logs/<target>.log.
# FATECTL_FUZZ_JOBS=N runs N targets at a time (default 1).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
FUZZ_PACKAGES=(clang libclang-rt-dev)
apt_install "${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"

mode=run
case "${1:-}" in
  --ci) mode=ci; shift ;;
  --list) mode=list; shift ;;
esac
targets=()
for f in tests/fuzz/*.cc; do
  t=$(basename "$f" .cc)
  [ "$t" = replay_main ] || targets+=("$t")
done
if [ "$mode" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi

if [ "$mode" = ci ]; then
  ci_runs="${1:-4000}"; seconds=20; selected=("${targets[@]}")
else
  sel="${1:-all}"; seconds="${2:-600}"
  if [ "$sel" = all ]; then selected=("${targets[@]}")
  elif [ -f "tests/fuzz/$sel.cc" ]; then selected=("$sel")
  else echo "fuzz.sh: no target '$sel' (targets: ${targets[*]})" >&2; exit 2; fi
fi

B=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFATECTL_FUZZ=ON >/dev/null
build_targets=()
for t in "${selected[@]}"; do build_targets+=(--target "fuzz_$t"); done
if ! cmake --build "$B" -j"${FATECTL_JOBS:-$(nproc)}" "${build_targets[@]}" >"$B/build.log" 2>&1; then
  grep -E "error|undefined reference" "$B/build.log" | head -40 >&2 || true
  echo "fuzz build failed (full log: $B/build.log)" >&2
  exit 1
fi
mkdir -p "$B/logs"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Limits a finding is judged by: 10 s for one input, 2 GiB of memory, 64 KiB inputs.
FLAGS=(-timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)

replay() {  # every committed seed and saved finding must pass
  local t=$1
  local dirs=()
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do [ -d "$d" ] && dirs+=("$d"); done
  [ ${#dirs[@]} -eq 0 ] && return 0
  local files
  files=$(find "${dirs[@]}" -type f ! -name '*.md' | sort)
  [ -z "$files" ] && return 0
  # shellcheck disable=SC2086
  "$B/fuzz_$t" "${FLAGS[@]}" $files >"$B/logs/$t.replay.log" 2>&1 || {
    tail -40 "$B/logs/$t.replay.log" >&2; echo "fuzz: $t: a saved input fails again (log: $B/logs/$t.replay.log)" >&2; return 1; }
}

fuzz_one() {
  local t=$1 secs=$2
  local work="$B/corpus/$t" found="tests/fuzz/regressions/$t" limit=(-max_total_time="$secs")
  if [ "$mode" = ci ]; then  # deterministic: fixed seed and count, an empty working corpus
    work="$B/ci-corpus/$t"; rm -rf "$work"; limit+=(-seed=1 -runs="$ci_runs")
  fi
  mkdir -p "$work" "$found"
  local seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds+=("tests/fuzz/corpus/$t")
  local rc=0 t0=$SECONDS
  "$B/fuzz_$t" "${FLAGS[@]}" "${limit[@]}" -artifact_prefix="$found/" "$work" "${seeds[@]}" \
    >"$B/logs/$t.log" 2>&1 || rc=$?
  local execs cov ft
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$B/logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE '(DONE|pulse|NEW|REDUCE|INITED) +cov: [0-9]+' "$B/logs/$t.log" | grep -oE '[0-9]+$' | tail -1)
  ft=$(grep -oE ' ft: [0-9]+' "$B/logs/$t.log" | grep -oE '[0-9]+' | tail -1)
  if [ $rc -ne 0 ]; then
    grep -E "ERROR|fuzz finding|SUMMARY|Test unit written|deadly signal|timeout|out-of-memory" "$B/logs/$t.log" | head -12 >&2
    echo "fuzz: $t: FINDING after ${execs:-?} executions (input saved under $found/, log $B/logs/$t.log)" >&2
    return 1
  fi
  printf 'fuzz: %-16s %4ss  %10s execs  cov %-6s ft %-6s no findings\n' "$t" "$((SECONDS - t0))" "${execs:-?}" "${cov:-?}" "${ft:-?}"
}

fail=0
if [ "$mode" = ci ]; then
  for t in "${selected[@]}"; do replay "$t" || fail=1; done
fi
jobs_max="${FATECTL_FUZZ_JOBS:-1}"
pids=()
for t in "${selected[@]}"; do
  if [ "$jobs_max" -le 1 ]; then
    fuzz_one "$t" "$seconds" || fail=1
  else
    fuzz_one "$t" "$seconds" & pids+=($!)
    if [ ${#pids[@]} -ge "$jobs_max" ]; then wait "${pids[0]}" || fail=1; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ $fail -eq 0 ] || { echo "fuzz: findings (see above)" >&2; exit 1; }
echo "fuzz: ${#selected[@]} targets, no findings"
