#!/usr/bin/python3
"""Known-answer data for fatectl's Paillier library (src/he), computed with Python integers only.

Writes tests/he/paillier_kat.json. Deterministic: primes and values come from a seeded
random.Random (test data, not keys anyone should use). Every expected value is computed here
from the textbook definitions, independently of the C++ code:

  encryption   c = (1 + m·n) · r^n mod n²           (g = n + 1)
  DJN          c = (1 + m·n) · h_s^a mod n²,  h_s = (−x² mod n)^n mod n²
  decryption   m = L(c^λ mod n²) · μ mod n,  L(u) = (u − 1)/n, λ = lcm(p−1, q−1), μ = λ⁻¹ mod n
               (deliberately not the CRT formula the C++ code uses)
  add          c1 · c2 mod n²;  add_plain  c · (1 + k·n) mod n²
  mul          c^k mod n² (k ≥ 0),  (c⁻¹)^(−k) mod n² (k < 0)
  FATE 1.x fixed point (fixedpoint.py @ v1.11.4): base 16, exponent = floor((53 − frexp(x)[1]) / 4),
  encoding = round(x · 16^exponent) mod n, max_int = n // 3 − 1.

Run: /usr/bin/python3 tests/he/gen_kat.py > tests/he/paillier_kat.json
"""
import json
import math
import random
import sys

SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def is_probable_prime(n, rng):
    if n < 2:
        return False
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(40):
        a = rng.randrange(2, n - 1)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def prime(bits, rng):
    while True:
        c = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if is_probable_prime(c, rng):
            return c


def inv(a, m):
    return pow(a, -1, m)


def L(u, n):
    return (u - 1) // n


def fate_encode(x, n, max_int, precision=None, max_exponent=None):
    """FATE 1.x FixedPointNumber.encode for a Python float."""
    if abs(x) < 1e-200:
        x = 0.0
    exponent = math.floor((53 - math.frexp(x)[1]) / 4)
    if precision is not None:
        exponent = math.floor(math.log(precision, 16))
    if max_exponent is not None:
        exponent = max(max_exponent, exponent)
    enc = int(round(x * pow(16, exponent)))
    if abs(enc) > max_int:
        return None  # overflow
    return enc % n, exponent


def fate_decode(enc, exponent, n, max_int):
    if enc <= max_int:
        mant = enc
    elif enc >= n - max_int:
        mant = enc - n
    else:
        return None
    return mant * pow(16, -exponent)


def hx(v):
    return format(v, "x")


def make_key(bits, rng):
    half = bits // 2
    while True:
        p, q = prime(half, rng), prime(half, rng)
        n = p * q
        if p != q and n.bit_length() == bits and math.gcd(n, (p - 1) * (q - 1)) == 1:
            break
    if q < p:
        p, q = q, p
    n2 = n * n
    while True:
        x = rng.randrange(2, n)
        if math.gcd(x, n) == 1:
            break
    h = (-x * x) % n
    hs = pow(h, n, n2)
    return p, q, n, n2, hs


def key_cases(bits, seed):
    rng = random.Random(seed)
    p, q, n, n2, hs = make_key(bits, rng)
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    mu = inv(L(pow(n + 1, lam, n2), n), n)
    max_int = n // 3 - 1

    def dec(c):
        return L(pow(c, lam, n2), n) * mu % n

    def unit():
        while True:
            r = rng.randrange(1, n)
            if math.gcd(r, n) == 1:
                return r

    out = {"bits": bits, "p": hx(p), "q": hx(q), "n": hx(n), "h_s": hx(hs), "max_int": hx(max_int)}
    msgs = [0, 1, 2, n - 1, n - 2, max_int, n - max_int, 1 << 63, (1 << 64) - 1] + [rng.randrange(0, n) for _ in range(5)]
    textbook = []
    for m in msgs:
        r = unit()
        c = (1 + m * n) % n2 * pow(r, n, n2) % n2
        assert dec(c) == m
        textbook.append({"m": hx(m), "r": hx(r), "c": hx(c)})
    out["textbook"] = textbook
    djn = []
    for i, m in enumerate(msgs[:8]):
        abits = [bits // 2, 2 * 80 if bits >= 1024 else bits // 4, 7, 1][i % 4]
        a = rng.getrandbits(abits)
        c = (1 + m * n) % n2 * pow(hs, a, n2) % n2
        assert dec(c) == m
        djn.append({"m": hx(m), "a": hx(a), "a_bits": abits, "c": hx(c)})
    out["djn"] = djn
    # Homomorphic operations on fixed ciphertexts.
    ops = []
    for _ in range(6):
        m1, m2 = rng.randrange(0, n), rng.randrange(0, n)
        c1 = (1 + m1 * n) * pow(unit(), n, n2) % n2
        c2 = (1 + m2 * n) * pow(unit(), n, n2) % n2
        k = rng.choice([rng.randrange(-(1 << 63), 1 << 63), rng.randrange(-(1 << 23), 1 << 23), -1, 0, 1])
        kp = rng.randrange(0, n)
        mul = pow(c1, k, n2) if k >= 0 else pow(inv(c1, n2), -k, n2)
        add = c1 * c2 % n2
        addp = c1 * (1 + kp * n) % n2
        assert dec(add) == (m1 + m2) % n and dec(mul) == (m1 * k) % n and dec(addp) == (m1 + kp) % n
        ops.append({"c1": hx(c1), "c2": hx(c2), "m1": hx(m1), "m2": hx(m2), "k": str(k), "plain": hx(kp),
                    "add": hx(add), "mul": hx(mul), "add_plain": hx(addp)})
    out["ops"] = ops
    # Gradient kernel: out_j = Π_i c_i^{x_ij}.
    rows, cols = 7, 3
    cs = [(1 + rng.randrange(0, n) * n) * pow(unit(), n, n2) % n2 for _ in range(rows)]
    xs = [[rng.randrange(-(1 << 30), 1 << 30) for _ in range(cols)] for _ in range(rows)]
    xs[0][0] = 0
    xs[1][1] = -(1 << 40)
    res = []
    for j in range(cols):
        acc = 1
        for i in range(rows):
            k = xs[i][j]
            acc = acc * (pow(cs[i], k, n2) if k >= 0 else pow(inv(cs[i], n2), -k, n2)) % n2
        res.append(hx(acc))
    out["kernel"] = {"rows": rows, "cols": cols, "c": [hx(c) for c in cs], "x": [str(v) for row in xs for v in row],
                     "out": res}
    # FATE fixed point.
    fp = []
    for x in [0.0, 0.3, -0.3, 1000.0, -1e-10, 1e-201, 123456.789, 2.0 ** 60, -(2.0 ** -30), 0.1, 1.5, 7.0 / 3]:
        e = fate_encode(x, n, max_int)
        fp.append({"x": x.hex(), "encoding": hx(e[0]), "exponent": e[1], "decoded": float(fate_decode(e[0], e[1], n, max_int)).hex()})
    for x, prec, mx in [(0.3, 1e-8, None), (0.3, None, 20), (-2.5, None, 16), (12.0, 1e-3, None)]:
        e = fate_encode(x, n, max_int, prec, mx)
        fp.append({"x": x.hex(), "precision": prec, "max_exponent": mx, "encoding": hx(e[0]), "exponent": e[1],
                   "decoded": float(fate_decode(e[0], e[1], n, max_int)).hex()})
    out["fixed_point"] = fp
    return out


def main():
    data = {"generator": "tests/he/gen_kat.py", "keys": [key_cases(1024, 1), key_cases(2048, 2)]}
    json.dump(data, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
