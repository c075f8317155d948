"""SM2 digital signatures (GB/T 32918.2) over sm2p256v1 with SM3.

BASELINE: straightforward Jacobian arithmetic, correct but not yet fast. The public API below is
fixed; the implementation behind it may change.
"""

from __future__ import annotations

import secrets

from terminal.crypto.sm3 import sm3
from terminal.errors import KeyFormatError

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_SIGNER_ID = b"1234567812345678"


class InvalidPublicKey(KeyFormatError):
    """The public key is not 64/65 bytes, not on sm2p256v1, or the point at infinity."""


def _add(p1, p2):
    """Jacobian point addition (None is the point at infinity)."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    if u1 == u2:
        if s1 != s2:
            return None
        return _double(p1)
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = u1 * h2 % P
    x3 = (r * r - h3 - 2 * u1h2) % P
    y3 = (r * (u1h2 - x3) - s1 * h3) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _double(p1):
    if p1 is None:
        return None
    x1, y1, z1 = p1
    if y1 == 0:
        return None
    yy = y1 * y1 % P
    s = 4 * x1 * yy % P
    zz = z1 * z1 % P
    m = (3 * x1 * x1 + A * zz * zz) % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y1 * z1 % P
    return (x3, y3, z3)


def _mul(k: int, point):
    result = None
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _double(addend)
        k >>= 1
    return result


def _affine(point):
    if point is None:
        return None
    x, y, z = point
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return (x * zi2 % P, y * zi2 * zi % P)


def parse_public_key(public_key: bytes) -> tuple[int, int]:
    """Validate a 64-byte X‖Y or 65-byte 04‖X‖Y key and return (x, y); raise InvalidPublicKey."""
    if not isinstance(public_key, (bytes, bytearray)):
        raise InvalidPublicKey("public key must be bytes")
    if len(public_key) == 65:
        if public_key[0] != 0x04:
            raise InvalidPublicKey("65-byte public key must start with 04 (uncompressed)")
        public_key = public_key[1:]
    if len(public_key) != 64:
        raise InvalidPublicKey(f"public key must be 64 or 65 bytes, got {len(public_key)}")
    x = int.from_bytes(public_key[:32], "big")
    y = int.from_bytes(public_key[32:], "big")
    if x >= P or y >= P:
        raise InvalidPublicKey("public key coordinate out of range")
    if (y * y - (x * x * x + A * x + B)) % P:
        raise InvalidPublicKey("public key is not a point on sm2p256v1")
    return x, y


def za(public_key: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
    """Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)."""
    x, y = parse_public_key(public_key)
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    parts = [A, B, GX, GY, x, y]
    return sm3(entl + signer_id + b"".join(v.to_bytes(32, "big") for v in parts))


def verify(public_key: bytes, message: bytes, signature: bytes, *,
           signer_id: bytes = DEFAULT_SIGNER_ID) -> bool:
    """True if ``signature`` (64-byte r‖s) is a valid SM2 signature of ``message`` by ``public_key``.

    Any malformed signature gives False; a malformed key raises :class:`InvalidPublicKey`.
    """
    x, y = parse_public_key(public_key)
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < N and 1 <= s < N):
        return False
    e = int.from_bytes(sm3(za(public_key, signer_id) + message), "big")
    t = (r + s) % N
    if t == 0:
        return False
    pt = _add(_mul(s, (GX, GY, 1)), _mul(t, (x, y, 1)))
    if pt is None:
        return False
    x1, _ = _affine(pt)
    return (e + x1) % N == r


def public_key_of(private_key: int) -> bytes:
    """The 64-byte X‖Y public key of a private scalar d ∈ [1, n−2]."""
    if not 1 <= private_key <= N - 2:
        raise KeyFormatError("SM2 private key must be in [1, n-2]")
    x, y = _affine(_mul(private_key, (GX, GY, 1)))
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def generate_private_key() -> int:
    """A new private scalar from the operating system's CSPRNG."""
    return 1 + secrets.randbelow(N - 2)


def sign(private_key: int, message: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
         k: int | None = None) -> bytes:
    """Sign ``message``; returns 64-byte r‖s. ``k`` is for known-answer tests only.

    The nonce comes from :mod:`secrets` (never :mod:`random`, unlike gmssl's signer).
    """
    pub = public_key_of(private_key)
    e = int.from_bytes(sm3(za(pub, signer_id) + message), "big")
    while True:
        kk = k if k is not None else 1 + secrets.randbelow(N - 1)
        x1, _ = _affine(_mul(kk, (GX, GY, 1)))
        r = (e + x1) % N
        if r == 0 or r + kk == N:
            if k is not None:
                raise ValueError("fixed k gives r = 0 or r + k = n")
            continue
        s = pow(1 + private_key, -1, N) * (kk - r * private_key) % N
        if s == 0:
            if k is not None:
                raise ValueError("fixed k gives s = 0")
            continue
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
