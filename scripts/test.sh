#!/usr/bin/env bash
# The test command (README, CI): installs what the tests need, builds build/fatectl (static),
# runs every unit and integration test with ctest, then the sanitizer run of the parser tests.
# Integration tests start the real services they need themselves (Kubernetes API emulator,
# Apache Traffic Server, nginx -t, TLS backends) and stop them on exit.
#   FATECTL_TEST_FILTER=regex   run only matching ctest tests
#   FATECTL_SKIP_ASAN=1         skip the ASan/UBSan pass
#   FATECTL_SKIP_FUZZ=1         skip the short libFuzzer run (scripts/fuzz.sh --ci)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
TEST_PACKAGES=(python3 python3-numpy python3-sklearn python3-kubernetes python3-websocket python3-yaml python3-cryptography
  nginx-light libnginx-mod-http-lua libnginx-mod-stream trafficserver openssl procps iproute2 curl
  python3-grpcio zsh clang libclang-rt-dev
  chromium)  # chromium: the training report is checked as a person sees it (it_ml_fraud)
# node + npm run the schema check (kubernetes-models); the machine image may ship its own node,
# whose npm conflicts with Debian's package: install Debian's only when there is none.
command -v node >/dev/null && command -v npm >/dev/null || TEST_PACKAGES+=(nodejs npm)
apt_install "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
command -v kubectl >/dev/null || echo "note: kubectl not installed; tests that compare with kubectl are skipped" >&2

scripts/build.sh
start=$(date +%s)
cd build
args=(--output-on-failure --timeout 1200 -j"${FATECTL_TEST_JOBS:-2}")
[ -n "${FATECTL_TEST_FILTER:-}" ] && args+=(-R "$FATECTL_TEST_FILTER")
ctest "${args[@]}"
cd ..

if [ -z "${FATECTL_SKIP_ASAN:-}" ] && [ -z "${FATECTL_TEST_FILTER:-}" ] && [ -x tests/asan.sh ]; then
  tests/asan.sh
fi
# The parsers' fuzz harnesses (docs/limits.md): replay every saved finding, then run each on a
# fixed, seeded set of inputs so they stay alive. (ctest fuzz_replay already replayed the
# findings with this build.)
if [ -z "${FATECTL_SKIP_FUZZ:-}" ] && [ -z "${FATECTL_TEST_FILTER:-}" ]; then
  scripts/fuzz.sh --ci "${FATECTL_FUZZ_CI_RUNS:-4000}"
fi
echo "tests took $(( $(date +%s) - start )) s" >&2
