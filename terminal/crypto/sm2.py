"""SM2 digital signatures (GB/T 32918.2) over sm2p256v1 with SM3, strict and fast, in pure Python.

Verification follows GB/T 32918.2 §7.1 exactly: r, s ∈ [1, n−1], t = (r + s) mod n ≠ 0, the point
(x1, y1) = [s]G + [t]P_A must not be the point at infinity, and R = (e + x1) mod n must equal r.
Only the fixed 64-byte r‖s signature encoding is accepted (never DER), and public keys are
validated (coordinates < p, on the curve, not the identity) once, when they are loaded.

Why it is fast without C: there are no doublings at verification time. Both [s]G and [t]P are
read from precomputed *comb tables* (for each w-bit chunk i of the scalar, the multiples
j·2^(w·i)·Q for j = 1 … 2^(w−1), signed digits, affine coordinates), so a verification is about
2·⌈257/w⌉ mixed Jacobian-affine additions, and no modular inversion at all (x1 is compared in
projective form). The generator's table is built once per process (~11 ms, ~1.4 MB), when the
first key gets a table; each issuer key gets its own table in :class:`PublicKey` (see
:func:`load_public_key`, ~6 ms, ~0.7 MB), which the trust list keeps for the keys it holds.
:func:`verify` keeps the most recently used keys in a small LRU cache; a key it meets for the
first time is checked without a table (width-5 NAF double-and-add, ~1 ms) and gets its table when
it is used again. Until some key has a table, [s]G is computed the same way, so a process that
checks a signature or two (``scanpoint verify``) builds no table at all.
Measured on x86-64 (``benchmarks/bench_sm2.py``): ~0.24 ms per verification with a cached key,
gmssl ~8–11 ms.

Signing is for issuer tools, which run offline: it is *not* side-channel hardened (Python big
integers leak timing); never sign on a machine that runs untrusted code. The nonce comes from
:mod:`secrets` by default (never :mod:`random`, unlike gmssl's signer), or deterministically
from the key and message (RFC 6979 §3.2 with HMAC-SM3) with ``deterministic=True``.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator

from terminal.crypto import curve
from terminal.crypto.curve import GX, GY, A, B, N, P
from terminal.crypto.sm3 import hmac_sm3, sm3
from terminal.errors import KeyFormatError

DEFAULT_SIGNER_ID = b"1234567812345678"

#: Comb window of an issuer key's table: 37 rows of 64 points (~0.7 MB, ~6 ms to build).
KEY_WINDOW = 7
#: How many public keys the module-level :func:`verify` keeps tables for.
KEY_CACHE_SIZE = 8

_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
_MAX_SIGNER_ID = 8191  # ENTL is the ID's length in *bits* in two bytes


class InvalidPublicKey(KeyFormatError):
    """The public key is not 64/65 bytes, not on sm2p256v1, or the point at infinity."""


# --------------------------------------------------------------------------------------------
# Keys


def parse_public_key(public_key: bytes) -> tuple[int, int]:
    """Validate a 64-byte X‖Y or 65-byte 04‖X‖Y key and return (x, y); raise InvalidPublicKey."""
    if not isinstance(public_key, (bytes, bytearray, memoryview)):
        raise InvalidPublicKey(f"public key must be bytes, not {type(public_key).__name__}")
    public_key = bytes(public_key)
    if len(public_key) == 65:
        if public_key[0] != 0x04:
            raise InvalidPublicKey(
                f"65-byte public key must start with 04 (uncompressed), not {public_key[0]:02x}")
        public_key = public_key[1:]
    if len(public_key) != 64:
        raise InvalidPublicKey(
            f"public key must be 64 bytes (X‖Y) or 65 bytes (04‖X‖Y), got {len(public_key)}")
    x = int.from_bytes(public_key[:32], "big")
    y = int.from_bytes(public_key[32:], "big")
    if x == 0 and y == 0:
        raise InvalidPublicKey("public key is the point at infinity (all zero)")
    if x >= P or y >= P:
        raise InvalidPublicKey("public key coordinate is not below the field prime p")
    if (y * y - (x * x * x + A * x + B)) % P:
        raise InvalidPublicKey("public key is not a point on sm2p256v1 (wrong curve or corrupted)")
    return x, y


def _check_signer_id(signer_id: object) -> bytes:
    if not isinstance(signer_id, (bytes, bytearray)):
        raise TypeError(f"signer_id must be bytes, not {type(signer_id).__name__}")
    if len(signer_id) > _MAX_SIGNER_ID:
        raise ValueError(f"signer_id longer than {_MAX_SIGNER_ID} bytes")
    return bytes(signer_id)


def _za(x: int, y: int, signer_id: bytes) -> bytes:
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    return sm3(entl + signer_id + _CURVE_BYTES + x.to_bytes(32, "big") + y.to_bytes(32, "big"))


def za(public_key: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
    """Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)."""
    x, y = parse_public_key(public_key)
    return _za(x, y, _check_signer_id(signer_id))


def _split_signature(signature: object) -> tuple[int, int] | None:
    """(r, s) from a 64-byte r‖s that passes §7.1 steps B1–B2, else None."""
    if not isinstance(signature, (bytes, bytearray, memoryview)) or len(signature) != 64:
        return None
    signature = bytes(signature)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return None
    return r, s


class PublicKey:
    """A validated sm2p256v1 public key with its comb table and Z_A values cached.

    Build one with :func:`load_public_key` (validation happens there, once); then
    :meth:`verify` costs two table walks and one SM3, with no doublings and no inversion.

    ``precompute``: True builds the comb table now; None ("lazy") verifies the first signature
    without a table (~1 ms) and builds it on the second, so keys that are never or rarely used
    cost neither the time nor the ~0.7 MB; False builds it only when :meth:`precompute` is called.
    """

    __slots__ = (
        "__weakref__",
        "_lazy",
        "_rows",
        "_table",
        "_used",
        "_window",
        "_za",
        "x",
        "y",
    )

    def __init__(self, public_key: bytes, *, window: int = KEY_WINDOW,
                 precompute: bool | None = True) -> None:
        if not 2 <= window <= 10:
            raise ValueError("comb window must be between 2 and 10 bits")
        self.x, self.y = parse_public_key(public_key)
        self._window = window
        self._rows = (257 + window - 1) // window
        self._table: list[list] | None = None
        self._za: dict[bytes, bytes] = {}
        self._lazy = precompute is None
        self._used = False
        if precompute:
            self.precompute()

    @property
    def precomputed(self) -> bool:
        """Whether this key's comb table is built (verification ~0.25 ms instead of ~1 ms)."""
        return self._table is not None

    def precompute(self) -> None:
        """Build this key's comb table now (~6 ms on x86-64, once per key), and the generator's
        (once per process): a key worth a table is verified often."""
        curve.g_table()
        if self._table is None:
            self._table = curve.comb_table(self.x, self.y, self._window)

    def __bytes__(self) -> bytes:
        return self.x.to_bytes(32, "big") + self.y.to_bytes(32, "big")

    def __repr__(self) -> str:
        return f"<sm2.PublicKey {bytes(self)[:8].hex()}…>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    def za(self, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """Z_A for ``signer_id`` (cached; a key normally has one signer ID)."""
        if type(signer_id) is not bytes:
            signer_id = _check_signer_id(signer_id)
        z = self._za.get(signer_id)
        if z is None:
            signer_id = _check_signer_id(signer_id)
            z = _za(self.x, self.y, signer_id)
            if len(self._za) >= 4:
                self._za.clear()
            self._za[signer_id] = z
        return z

    def digest(self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """e = SM3(Z_A ‖ M), the value that is signed."""
        if not isinstance(message, (bytes, bytearray, memoryview)):
            raise TypeError(f"message must be bytes, not {type(message).__name__}")
        return sm3(self.za(signer_id) + bytes(message))

    def verify(self, message: bytes, signature: bytes, *,
               signer_id: bytes = DEFAULT_SIGNER_ID) -> bool:
        """True if ``signature`` (64-byte r‖s) is this key's SM2 signature of ``message``."""
        rs = _split_signature(signature)
        if rs is None:
            return False
        return self._check(int.from_bytes(self.digest(message, signer_id), "big"), *rs)

    def verify_digest(self, e: bytes, signature: bytes) -> bool:
        """Like :meth:`verify` for an already computed e = H(Z_A ‖ M) (big-endian, any length,
        taken mod n as OpenSSL does); for known-answer tests of other hash combinations."""
        if not isinstance(e, (bytes, bytearray, memoryview)):
            raise TypeError(f"digest must be bytes, not {type(e).__name__}")
        rs = _split_signature(signature)
        if rs is None:
            return False
        return self._check(int.from_bytes(bytes(e), "big"), *rs)

    def _check(self, e: int, r: int, s: int) -> bool:
        """§7.1 B5–B7 for r, s already in [1, n−1]."""
        t = (r + s) % N
        if t == 0:
            return False
        table = self._table
        if table is None and self._lazy:
            if self._used:
                self.precompute()
                table = self._table
            self._used = True
        g_table = curve.g_table() if table is not None else curve.built_g_table()
        if g_table is None:     # nothing kept in this process needs tables (a one-shot check)
            acc = curve.mul_wnaf(t, self.x, self.y, curve.mul_wnaf(s, GX, GY))
        else:
            g_walk = curve.g_walk(s, g_table)
            if table is not None:
                acc = curve.comb_sum(g_walk, (table, curve.digits(t, self._window, self._rows)))
            else:
                acc = curve.mul_wnaf(t, self.x, self.y, curve.comb_sum(g_walk))
        if acc is None:  # [s]G + [t]P_A is the point at infinity
            return False
        x, _, z = acc
        # x1 = x / z² must be ≡ r − e (mod n); as 0 ≤ x1 < p < 2n, x1 is c or c + n.
        c = (r - e) % N
        zz = z * z % P
        if x == c * zz % P:
            return True
        c += N
        return c < P and x == c * zz % P


_CACHE: OrderedDict[bytes, PublicKey] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _cached_key(public_key: bytes, precompute: bool | None) -> PublicKey:
    """The cached :class:`PublicKey` for these bytes, created (and validated) on first use.

    ``precompute`` as for :class:`PublicKey`; True also builds the table of a cached lazy key.
    """
    if not isinstance(public_key, (bytes, bytearray, memoryview)):
        raise InvalidPublicKey(f"public key must be bytes, not {type(public_key).__name__}")
    cache_key = bytes(public_key)
    with _CACHE_LOCK:
        key = _CACHE.get(cache_key)
        if key is not None:
            _CACHE.move_to_end(cache_key)
    if key is not None:
        if precompute:
            key.precompute()  # no-op once built
        return key
    key = PublicKey(cache_key, precompute=precompute)  # raises InvalidPublicKey; never cached
    with _CACHE_LOCK:
        _CACHE[cache_key] = key
        _CACHE.move_to_end(cache_key)
        while len(_CACHE) > KEY_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return key


def load_public_key(public_key: bytes, *, lazy: bool = False) -> PublicKey:
    """The validated :class:`PublicKey`, with its table, for 64-byte X‖Y or 65-byte 04‖X‖Y bytes.

    Validates once and builds the key's comb table (~6 ms, ~0.7 MB); with ``lazy=True`` the
    table is built on the key's second verification instead (for long lists of keys of which
    few are used). The last :data:`KEY_CACHE_SIZE` keys are kept (LRU), so loading or verifying
    with a key again is free. Raises :class:`InvalidPublicKey` for a malformed key. Hold on to
    the result for keys you keep (the trust list does), rather than relying on the small cache.
    """
    if isinstance(public_key, PublicKey):
        if not lazy:
            public_key.precompute()
        return public_key
    return _cached_key(public_key, precompute=None if lazy else True)


def verify(public_key: bytes, message: bytes, signature: bytes, *,
           signer_id: bytes = DEFAULT_SIGNER_ID) -> bool:
    """True if ``signature`` (64-byte r‖s) is a valid SM2 signature of ``message`` by the key.

    Any malformed signature gives False; a malformed key raises :class:`InvalidPublicKey`.
    The last :data:`KEY_CACHE_SIZE` keys are cached: the first verification with a key costs
    ~1 ms, later ones ~0.25 ms (x86-64).
    """
    return _cached_key(public_key, precompute=None).verify(message, signature,
                                                          signer_id=signer_id)


# --------------------------------------------------------------------------------------------
# Signing (issuer tools, offline)


def _check_private_key(private_key: int) -> int:
    if isinstance(private_key, bool) or not isinstance(private_key, int):
        raise KeyFormatError("SM2 private key must be an integer")
    if not 1 <= private_key <= N - 2:
        raise KeyFormatError("SM2 private key must be in [1, n-2]")
    return private_key


def public_key_of(private_key: int) -> bytes:
    """The 64-byte X‖Y public key of a private scalar d ∈ [1, n−2]."""
    x, y = curve.affine(curve.mul_g(_check_private_key(private_key)))
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def generate_private_key() -> int:
    """A new private scalar d ∈ [1, n−2] from the operating system's CSPRNG."""
    return 1 + secrets.randbelow(N - 2)


def _rfc6979_nonces(private_key: int, e: bytes) -> Iterator[int]:
    """RFC 6979 §3.2 nonces k ∈ [1, n−1] from HMAC-SM3 over the key and e (qlen = hlen = 256)."""
    x = private_key.to_bytes(32, "big")
    h1 = (int.from_bytes(e, "big") % N).to_bytes(32, "big")  # bits2octets(e)
    v = b"\x01" * 32
    k = b"\x00" * 32
    k = hmac_sm3(k, v + b"\x00" + x + h1)
    v = hmac_sm3(k, v)
    k = hmac_sm3(k, v + b"\x01" + x + h1)
    v = hmac_sm3(k, v)
    while True:
        v = hmac_sm3(k, v)
        candidate = int.from_bytes(v, "big")
        if 1 <= candidate < N:
            yield candidate
        k = hmac_sm3(k, v + b"\x00")
        v = hmac_sm3(k, v)


def sign(private_key: int, message: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
         k: int | None = None, deterministic: bool = False) -> bytes:
    """Sign ``message`` with d = ``private_key``; returns the 64-byte r‖s (GB/T 32918.2 §6.1).

    The nonce is fresh from :mod:`secrets` by default; ``deterministic=True`` derives it from the
    key and e per RFC 6979 §3.2 with HMAC-SM3 (same message, same signature); ``k`` fixes it for
    known-answer tests only (e.g. the standard's Annex A example). Not side-channel hardened:
    sign only on the offline issuer machine.
    """
    d = _check_private_key(private_key)
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise TypeError(f"message must be bytes, not {type(message).__name__}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < N):
        raise ValueError("fixed k must be an integer in [1, n-1]")
    px, py = curve.affine(curve.mul_g(d))
    e_bytes = sm3(_za(px, py, _check_signer_id(signer_id)) + bytes(message))
    e = int.from_bytes(e_bytes, "big")
    nonces = _rfc6979_nonces(d, e_bytes) if deterministic and k is None else None
    inv = pow(1 + d, -1, N)
    while True:
        if k is not None:
            kk = k
        elif nonces is not None:
            kk = next(nonces)
        else:
            kk = 1 + secrets.randbelow(N - 1)
        x1, _ = curve.affine(curve.mul_g(kk))
        r = (e + x1) % N
        s = inv * (kk - r * d) % N
        if r == 0 or r + kk == N or s == 0:
            if k is not None:
                raise ValueError("fixed k gives r = 0, r + k = n or s = 0; choose another k")
            continue
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
