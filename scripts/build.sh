#!/usr/bin/env bash
# Builds the fully static build/fatectl (and the unit tests) after installing what is missing.
#   scripts/build.sh            static release build in build/
#   scripts/build.sh --dev      fast dynamic build in build-dev/ (Debian's libcurl)
#   scripts/build.sh --asan     dynamic AddressSanitizer+UBSan build in build-asan/
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$FATECTL_ROOT"
MODE="${1:-static}"
apt_install "${BUILD_PACKAGES[@]}"
JOBS="${FATECTL_JOBS:-$(nproc)}"
# build_quietly DIR [ARGS]: builds, keeping the log in DIR/build.log; shows the errors on failure.
build_quietly() {
  local dir="$1"; shift
  if ! cmake --build "$dir" -j"$JOBS" "$@" >"$dir/build.log" 2>&1; then
    grep -E "error|undefined reference" "$dir/build.log" | head -40 >&2 || true
    tail -5 "$dir/build.log" >&2
    echo "build failed (full log: $dir/build.log)" >&2
    exit 1
  fi
}
case "$MODE" in
  static|--static)
    CURL_PREFIX="$(scripts/build-curl.sh)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFATECTL_STATIC=ON -DFATECTL_CURL_PREFIX="$CURL_PREFIX" >/dev/null
    build_quietly build
    if ! file build/fatectl | grep -q "statically linked"; then
      echo "build/fatectl is not statically linked" >&2; exit 1
    fi
    echo "built build/fatectl ($(du -h build/fatectl | cut -f1), static)" >&2 ;;
  --dev)
    cmake -S . -B build-dev -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    build_quietly build-dev
    echo "built build-dev/fatectl (dynamic)" >&2 ;;
  --asan)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFATECTL_SANITIZE=ON >/dev/null
    build_quietly build-asan --target fatectl
    echo "built build-asan/fatectl (ASan+UBSan)" >&2 ;;
  *) echo "usage: scripts/build.sh [--dev|--asan]" >&2; exit 2 ;;
esac
