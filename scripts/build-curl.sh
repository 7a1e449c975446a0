#!/usr/bin/env bash
# Builds a minimal static libcurl from Debian's own source (toolchain.md §1) and caches it.
# Prints the install prefix. Debian's libcurl.a cannot be linked fully static (GSS-API, p11-kit).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CACHE="${FATECTL_CACHE:-/var/cache/fatectl}"
FLAGS="--disable-shared --enable-static --with-openssl --with-zlib --disable-ldap --disable-ldaps --disable-rtsp
 --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp --disable-gopher
 --disable-mqtt --disable-smb --disable-manual --disable-ftp --disable-file --without-libpsl --without-brotli
 --without-zstd --without-libidn2 --without-nghttp2 --without-librtmp --without-libssh2 --without-gssapi
 --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt"
VERSION="$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev 2>/dev/null || echo unknown)"
KEY="$(echo "$VERSION $FLAGS" | sha256sum | cut -c1-12)"
PREFIX="$CACHE/curl-min-$KEY"
if [ -f "$PREFIX/lib/libcurl.a" ]; then echo "$PREFIX"; exit 0; fi

mkdir -p "$CACHE"
W="$(mktemp -d "$CACHE/curl-build.XXXXXX")"
trap 'rm -rf "$W"' EXIT
echo "building static libcurl $VERSION (once; cached in $PREFIX)..." >&2
mkdir -p "$W"/apt/{parts,lists/partial,cache/archives/partial}
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$W/apt/parts/src.sources"
else
  grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$W/apt/parts/src.list"
fi
APTO=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$W/apt/parts" -o "Dir::State::Lists=$W/apt/lists" -o "Dir::Cache=$W/apt/cache")
(cd "$W" && apt-get "${APTO[@]}" update -qq >/dev/null 2>&1 && apt-get "${APTO[@]}" source --download-only curl >/dev/null 2>&1)
(cd "$W" && dpkg-source -x curl_*.dsc >/dev/null)
SRC="$(find "$W" -mindepth 1 -maxdepth 1 -type d -name "curl-[0-9]*" | head -1)"
cd "$SRC"
# Debian's last two patches rename the library for the gnutls/nss flavours; undo them.
for p in 99_nss.patch 90_gnutls.patch; do
  [ -f "debian/patches/$p" ] && patch -s -R -p1 < "debian/patches/$p" || true
done
# shellcheck disable=SC2086
./configure --prefix="$W/out" $FLAGS >"$W/configure.log" 2>&1 || { tail -30 "$W/configure.log" >&2; exit 1; }
make -s -j"$(nproc)" -C lib >"$W/make.log" 2>&1 || { tail -30 "$W/make.log" >&2; exit 1; }
make -s -C lib install >/dev/null && make -s -C include install >/dev/null
rm -rf "$PREFIX" && mv "$W/out" "$PREFIX"
echo "$PREFIX"
