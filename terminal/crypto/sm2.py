"""SM2 digital signatures (GB/T 32918.2) over sm2p256v1 with SM3, strict and fast, in pure Python.

Verification follows GB/T 32918.2 §7.1 exactly: r, s ∈ [1, n−1], t = (r + s) mod n ≠ 0, the point
(x1, y1) = [s]G + [t]P_A must not be the point at infinity, and R = (e + x1) mod n must equal r.
Only the fixed 64-byte r‖s signature encoding is accepted (never DER), and public keys are
validated (coordinates < p, on the curve, not the identity) once, when they are loaded.

Why it is fast without C: there are no doublings at verification time. Both [s]G and [t]P are
read from precomputed *comb tables* (for each w-bit chunk i of the scalar, the multiples
j·2^(w·i)·Q for j = 1 … 2^(w−1), signed digits, affine coordinates), so a verification is about
2·⌈257/w⌉ mixed Jacobian-affine additions, and no modular inversion at all (x1 is compared in
projective form). The generator's table is built once per process (~11 ms, ~1.4 MB); an
issuer key's own comb table (~6 ms, ~0.7 MB) is built off the scan path by
:mod:`terminal.crypto.keytables`, within a memory budget and for the most used keys first; a key
without one is verified with its small split table (~6 KB, ~0.45 ms) or, before that is ready,
with no table at all (width-5 NAF double-and-add, ~1 ms). A verification never builds a table.
Measured on x86-64 (``benchmarks/bench_sm2.py``, ``benchmarks/bench_keys.py``): ~0.25 ms per
verification with a comb table, gmssl ~8–11 ms.

Signing is for issuer tools, which run offline: it is *not* side-channel hardened (Python big
integers leak timing); never sign on a machine that runs untrusted code. The nonce comes from
:mod:`secrets` by default (never :mod:`random`, unlike gmssl's signer), or deterministically
from the key and message (RFC 6979 §3.2 with HMAC-SM3) with ``deterministic=True``.
"""

from __future__ import annotations

import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator

from terminal.crypto import curve, keytables
from terminal.crypto.curve import GX, GY, A, B, N, P
from terminal.crypto.sm3 import hmac_sm3, sm3
from terminal.errors import KeyFormatError

DEFAULT_SIGNER_ID = b"1234567812345678"

#: Comb window of an issuer key's table: 37 rows of 64 points (~0.7 MB, ~6 ms to build).
KEY_WINDOW = 7
#: How many validated public keys the module-level :func:`verify` keeps (without their comb
#: tables, a few KB each: the tables are :mod:`terminal.crypto.keytables`' and its budget's).
KEY_CACHE_SIZE = 1024

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
    """A validated sm2p256v1 public key with its tables and Z_A values cached.

    Build one with :func:`load_public_key` (validation happens there, once); with its comb table
    :meth:`verify` costs two table walks and one SM3, with no doublings and no inversion.

    ``precompute``: True builds the comb table now (tools and tests); None hands the key to a
    :class:`~terminal.crypto.keytables.KeyTables` (``tables``, default the process's), which
    builds its tables in the background — its split table soon, its comb table if the key is
    used enough and the budget has room; False: no tables unless :meth:`precompute` is called.
    A verification never builds a table, whatever the setting.
    """

    __slots__ = (
        "__weakref__",
        "_rows",
        "_split",
        "_table",
        "_tables",
        "_window",
        "_za",
        "x",
        "y",
    )

    def __init__(self, public_key: bytes, *, window: int = KEY_WINDOW,
                 precompute: bool | None = True,
                 tables: keytables.KeyTables | None = None) -> None:
        if not 2 <= window <= 10:
            raise ValueError("comb window must be between 2 and 10 bits")
        self.x, self.y = parse_public_key(public_key)
        self._window = window
        self._rows = (257 + window - 1) // window
        self._table: list[list] | None = None
        self._split: list[list[tuple[int, int]]] | None = None
        self._za: dict[bytes, bytes] = {}
        self._tables = None
        if precompute is None:
            self._tables = tables if tables is not None else keytables.default()
        if precompute:
            self.precompute()

    @property
    def precomputed(self) -> bool:
        """Whether this key's comb table is built (verification ~0.25 ms instead of ~1 ms)."""
        return self._table is not None

    @property
    def split_ready(self) -> bool:
        """Whether this key's small split table is built (verification ~0.45 ms)."""
        return self._split is not None

    @property
    def window(self) -> int:
        """Bits per digit of this key's comb table."""
        return self._window

    def precompute(self) -> None:
        """Build this key's comb table now (~6 ms on x86-64, once per key), and the generator's
        (once per process), in this thread: for tools and tests that want the fast path now."""
        curve.g_table()
        if self._table is None:
            self._table = curve.comb_table(self.x, self.y, self._window)

    def set_comb(self, table: list[list] | None) -> None:
        """Give the key its comb table or drop it (the table manager's call)."""
        self._table = table

    def set_split(self, table: list[list[tuple[int, int]]]) -> None:
        """Give the key its split table (the table manager's call)."""
        self._split = table

    def tables(self) -> tuple[bool, bool]:
        """(has a comb table, has a split table)."""
        return self._table is not None, self._split is not None

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
        table = self._table                 # one read: the manager may drop it meanwhile
        g_table = curve.built_g_table()     # built off the scan path (keytables) or not at all
        if table is not None and g_table is not None:
            acc = curve.comb_sum(curve.g_walk(s, g_table),
                                 (table, curve.digits(t, self._window, self._rows)))
        else:
            sg = (curve.comb_sum(curve.g_walk(s, g_table)) if g_table is not None
                  else curve.mul_wnaf(s, GX, GY))
            split = self._split
            if table is not None:
                acc = curve.comb_sum((table, curve.digits(t, self._window, self._rows)), acc=sg)
            elif split is not None:
                acc = curve.mul_split(t, split, sg)
            else:
                acc = curve.mul_wnaf(t, self.x, self.y, sg)
        if self._tables is not None:
            self._tables.note_use(self)
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


_LIVE: weakref.WeakValueDictionary[bytes, PublicKey] = weakref.WeakValueDictionary()
"""Every managed key still held anywhere (a trust list): a reloaded list reuses its keys and
their tables instead of starting cold."""


def _shared_key(public_key: bytes) -> PublicKey:
    """The live managed :class:`PublicKey` for these bytes (the cache's, or one still held, e.g.
    by a trust list), else a new one (validated: raises :class:`InvalidPublicKey`)."""
    if not isinstance(public_key, (bytes, bytearray, memoryview)):
        raise InvalidPublicKey(f"public key must be bytes, not {type(public_key).__name__}")
    raw = bytes(public_key)
    with _CACHE_LOCK:
        key = _CACHE.get(raw)
        if key is not None:
            _CACHE.move_to_end(raw)
            return key
        key = _LIVE.get(raw)
    if key is None:
        key = PublicKey(raw, precompute=None)
        with _CACHE_LOCK:
            key = _LIVE.setdefault(raw, key)
    return key


def _cached_key(public_key: bytes) -> PublicKey:
    """:func:`_shared_key`, also kept in the bounded cache of :func:`verify`'s callers."""
    key = _shared_key(public_key)
    raw = bytes(public_key)
    with _CACHE_LOCK:
        _CACHE[raw] = key
        _CACHE.move_to_end(raw)
        while len(_CACHE) > KEY_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return key


def load_public_key(public_key: bytes, *, lazy: bool = False,
                    tables: keytables.KeyTables | None = None) -> PublicKey:
    """The validated :class:`PublicKey` for 64-byte X‖Y or 65-byte 04‖X‖Y bytes.

    Validates once. Without ``lazy`` the key's comb table is built now, in this thread (~6 ms,
    ~0.7 MB: tools, tests), and the key is kept in :func:`verify`'s cache; with ``lazy=True``
    the key's tables are left to the table manager (``tables``, default the process's), which
    builds them in the background within its budget — what the trust list does for its keys,
    which hold them (a key still held is reused, tables and all; a dropped one frees them).
    Raises :class:`InvalidPublicKey` for a malformed key.
    """
    if isinstance(public_key, PublicKey):
        if not lazy:
            public_key.precompute()
        return public_key
    if tables is not None:
        return PublicKey(public_key, precompute=None if lazy else True, tables=tables)
    if lazy:
        return _shared_key(public_key)
    key = _cached_key(public_key)
    key.precompute()  # no-op once built
    return key


def verify(public_key: bytes, message: bytes, signature: bytes, *,
           signer_id: bytes = DEFAULT_SIGNER_ID) -> bool:
    """True if ``signature`` (64-byte r‖s) is a valid SM2 signature of ``message`` by the key.

    Any malformed signature gives False; a malformed key raises :class:`InvalidPublicKey`.
    The last :data:`KEY_CACHE_SIZE` keys are cached: the first verification with a key costs
    ~1 ms, later ones ~0.25 ms (x86-64).
    """
    return _cached_key(public_key).verify(message, signature, signer_id=signer_id)


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
