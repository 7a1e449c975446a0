#!/usr/bin/env bash
# Paillier keys and the Paillier benchmark through the binary, as an operator uses them.
set -euo pipefail
source "$(dirname "$0")/../lib/assert.sh"
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT

expect_rc 2 "a key below 2048 bits needs --insecure-key-size" -- "$FATECTL" keys generate --bits 1024 --out "$W/k"
[ ! -e "$W/k" ] && ok "nothing written after the refusal" || not_ok "a key file was written after the refusal"
expect_rc 0 "generate a 1024-bit demo key" -- "$FATECTL" keys generate --bits 1024 --insecure-key-size --out "$W/k"
[ "$(stat -c %a "$W/k")" = 600 ] && ok "private key is 0600" || not_ok "private key mode $(stat -c %a "$W/k")"
[ -s "$W/k.pub" ] && ok "public key written beside it" || not_ok "no public key"
expect_rc 2 "an existing key is not overwritten" -- "$FATECTL" keys generate --bits 1024 --insecure-key-size --out "$W/k"
expect_rc 0 "show the private key" -- "$FATECTL" keys show "$W/k"
fp_priv="$(echo "$OUT" | grep -io 'fingerprint.*' | head -1)"
expect_rc 0 "show the public key" -- "$FATECTL" keys show "$W/k.pub"
fp_pub="$(echo "$OUT" | grep -io 'fingerprint.*' | head -1)"
[ -n "$fp_priv" ] && [ "$fp_priv" = "$fp_pub" ] && ok "public and private key share a fingerprint" || not_ok "fingerprints '$fp_priv' vs '$fp_pub'"
# the secret factors never appear in show's output
p_hex="$(grep -E '^ *(p|lambda|q):' "$W/k" | awk '{print $2}' | tr -d '"' | head -1)"
if [ -n "$p_hex" ]; then
  "$FATECTL" keys show "$W/k" -o json 2>&1 | grep -qi -- "${p_hex:0:32}" && not_ok "keys show printed the secret prime" || ok "keys show never prints the secret prime"
fi
chmod 644 "$W/k"
expect_rc 2 "a world-readable private key is refused" -- "$FATECTL" keys show "$W/k"
expect_contains "chmod 600" "the refusal says how to fix it"
printf 'garbage\x00\x01' > "$W/bad"; chmod 600 "$W/bad"
expect_rc 2 "a garbage key file is invalid input" -- "$FATECTL" keys show "$W/bad"

expect_rc 0 "bench paillier at 1024 bits, json" -- "$FATECTL" bench paillier --bits 1024 --threads 1 --min-time 0.05 --runs 1 --rows 50 --features 4 -o json
echo "$OUT" | sed -n '/^{/,$p' | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d' \
  && ok "bench output is JSON" || not_ok "bench output is not JSON: $(echo "$OUT" | head -3)"
expect_rc 0 "bench paillier with 2 threads, json" -- "$FATECTL" bench paillier --bits 1024 --threads 2 --min-time 0.05 --runs 1 --rows 50 --features 4 --skip-naive -o json
echo "$OUT" | sed -n '/^{/,$p' | /usr/bin/python3 -c '
import json, re, sys
text = sys.stdin.read(); d = json.loads(text)
assert d["threads"] == 2 and d["clock"] == "wall" and d["arithmetic"] in ("avx512-ifma", "gmp")
assert all("cpusUsed" in r for r in d["results"] if r["name"] in ("encrypt", "decrypt"))
assert not re.search(r"\d\.\d{6,}", text), "a figure printed with too many digits"' \
  && ok "2-thread bench JSON states threads, clock, arithmetic and cores used; figures are rounded" \
  || not_ok "2-thread bench JSON: $(echo "$OUT" | head -5)"
finish
