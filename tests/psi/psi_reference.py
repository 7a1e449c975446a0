#!/usr/bin/python3
"""An independent implementation of fatectl's ECDH PSI primitives, written from docs/psi.md
(not from the C++): the id hash onto Curve25519 and X25519 (RFC 7748, pure Python).

    psi_reference.py hash SALT ID...          print H(SALT, ID) for each id (hex, little-endian)
    psi_reference.py x25519 SECRET_HEX U_HEX  print X25519(secret, u)
"""
import hashlib
import sys

P = 2**255 - 19
A = 486662
DOMAIN = b"fatectl-psi-ecdh-v1"
# u-coordinates of the curve points of order 4 and 8 (order 1 and 2 fail the square test)
SMALL_ORDER = {
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
}


def be32(n):
    return n.to_bytes(4, "big")


def hash_to_u(salt: bytes, ident: bytes) -> int:
    for ctr in range(256):
        msg = DOMAIN + b"\x00" + be32(len(salt)) + salt + be32(len(ident)) + ident + be32(ctr)
        u = int.from_bytes(hashlib.sha512(msg).digest(), "little") % P
        f = (u * u * u + A * u * u + u) % P
        if f != 0 and pow(f, (P - 1) // 2, P) == 1 and u not in SMALL_ORDER:
            return u
    raise ValueError("no point after 256 counters")


def hash_to_curve(salt: bytes, ident: bytes) -> bytes:
    return hash_to_u(salt, ident).to_bytes(32, "little")


def x25519(k: bytes, u: bytes) -> bytes:
    """RFC 7748 section 5: clamp the scalar, Montgomery ladder on the u-coordinate."""
    kk = bytearray(k)
    kk[0] &= 248
    kk[31] &= 127
    kk[31] |= 64
    scalar = int.from_bytes(kk, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x1 %= P
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (scalar >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) ** 2 % P
        z3 = x1 * (da - cb) ** 2 % P
        x2 = aa * bb % P
        z2 = e * (aa + 121665 * e) % P
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "hash":
        for i in sys.argv[3:]:
            print(hash_to_curve(sys.argv[2].encode(), i.encode()).hex())
    elif len(sys.argv) == 4 and sys.argv[1] == "x25519":
        print(x25519(bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])).hex())
    else:
        sys.exit(__doc__)
