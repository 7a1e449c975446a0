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
case "$MODE" in
  static|--static)
    CURL_PREFIX="$(scripts/build-curl.sh)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFATECTL_STATIC=ON -DFATECTL_CURL_PREFIX="$CURL_PREFIX" >/dev/null
    cmake --build build -j"$JOBS" 2>&1 | grep -v "requires at runtime the shared libraries" | grep -E "error|warning: Using|Error" || true
    cmake --build build -j"$JOBS" >/dev/null
    if ! file build/fatectl | grep -q "statically linked"; then
      echo "build/fatectl is not statically linked" >&2; exit 1
    fi
    echo "built build/fatectl ($(du -h build/fatectl | cut -f1), static)" >&2 ;;
  --dev)
    cmake -S . -B build-dev -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-dev -j"$JOBS" >/dev/null
    echo "built build-dev/fatectl (dynamic)" >&2 ;;
  --asan)
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFATECTL_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$JOBS" --target fatectl >/dev/null
    echo "built build-asan/fatectl (ASan+UBSan)" >&2 ;;
  *) echo "usage: scripts/build.sh [--dev|--asan]" >&2; exit 2 ;;
esac
