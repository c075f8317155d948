"""SM2 API behaviour: strict key and signature parsing, signing, the table and no-table paths."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from terminal.crypto import curve, sm2
from terminal.errors import KeyFormatError, ScanpointError
from tests.support import sm2_reference as ref

N, P = sm2.N, sm2.P
RNG_SEED = 20261124


def _pt_bytes(x: int, y: int) -> bytes:
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


G_BYTES = _pt_bytes(sm2.GX, sm2.GY)


@pytest.fixture(scope="module")
def signer():
    d = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
    pub = sm2.public_key_of(d)
    msg = b"scanpoint credential"
    return d, pub, msg, sm2.sign(d, msg)


# --- public keys ----------------------------------------------------------------------------

def test_invalid_public_key_is_a_key_format_and_value_error():
    assert issubclass(sm2.InvalidPublicKey, KeyFormatError)
    assert issubclass(sm2.InvalidPublicKey, ValueError)
    assert issubclass(sm2.InvalidPublicKey, ScanpointError)


@pytest.mark.parametrize("length", [0, 1, 32, 33, 63, 66, 96, 128])
def test_wrong_key_length_is_refused(length, signer):
    _, pub, msg, sig = signer
    key = (b"\x04" + pub + pub)[:length]
    with pytest.raises(sm2.InvalidPublicKey, match=f"got {length}"):
        sm2.parse_public_key(key)
    with pytest.raises(sm2.InvalidPublicKey):
        sm2.verify(key, msg, sig)
    with pytest.raises(sm2.InvalidPublicKey):
        sm2.load_public_key(key)


@pytest.mark.parametrize("value", [None, 42, "04" + "00" * 64, [1, 2], 3.5])
def test_non_bytes_key_is_refused(value, signer):
    _, _, msg, sig = signer
    with pytest.raises(sm2.InvalidPublicKey, match="must be bytes"):
        sm2.parse_public_key(value)
    with pytest.raises(sm2.InvalidPublicKey, match="must be bytes"):
        sm2.verify(value, msg, sig)
    with pytest.raises(sm2.InvalidPublicKey, match="must be bytes"):
        sm2.load_public_key(value)


@pytest.mark.parametrize("prefix", [0x00, 0x02, 0x03, 0x05, 0x06, 0x07, 0xFF])
def test_65_byte_key_needs_the_04_prefix(prefix, signer):
    _, pub, _, _ = signer
    with pytest.raises(sm2.InvalidPublicKey, match="must start with 04"):
        sm2.parse_public_key(bytes([prefix]) + pub)
    assert sm2.parse_public_key(b"\x04" + pub) == sm2.parse_public_key(pub)


def test_compressed_key_is_refused(signer):
    _, pub, _, _ = signer
    with pytest.raises(sm2.InvalidPublicKey, match="got 33"):
        sm2.parse_public_key(b"\x02" + pub[:32])


@pytest.mark.parametrize("key", [b"\x00" * 64, b"\x04" + b"\x00" * 64])
def test_identity_is_refused(key):
    with pytest.raises(sm2.InvalidPublicKey, match="point at infinity"):
        sm2.parse_public_key(key)
    with pytest.raises(sm2.InvalidPublicKey, match="point at infinity"):
        sm2.verify(key, b"m", b"\x01" * 64)


def test_single_zero_byte_identity_encoding_is_refused():
    with pytest.raises(sm2.InvalidPublicKey):
        sm2.parse_public_key(b"\x00")


def test_off_curve_key_is_refused(signer):
    _, pub, msg, sig = signer
    bad = pub[:63] + bytes([pub[63] ^ 1])
    with pytest.raises(sm2.InvalidPublicKey, match="not a point on sm2p256v1"):
        sm2.verify(bad, msg, sig)
    with pytest.raises(sm2.InvalidPublicKey, match="not a point on sm2p256v1"):
        sm2.load_public_key(bad)


def _point_with_small_x() -> tuple[int, int]:
    """A curve point with x < 2^256 − p, so that x + p still fits in 32 bytes."""
    x = 1
    while True:
        rhs = (x ** 3 + sm2.A * x + sm2.B) % P
        y = pow(rhs, (P + 1) // 4, P)  # p ≡ 3 (mod 4)
        if y * y % P == rhs:
            return x, y
        x += 1


def test_non_canonical_x_plus_p_is_refused():
    x, y = _point_with_small_x()
    assert sm2.parse_public_key(_pt_bytes(x, y)) == (x, y)  # the canonical form is a fine key
    assert x + P < 2 ** 256
    with pytest.raises(sm2.InvalidPublicKey, match="not below the field prime"):
        sm2.parse_public_key(_pt_bytes(x + P, y))


@pytest.mark.parametrize("x,y", [(P, sm2.GY), (sm2.GX, P), (2 ** 256 - 1, sm2.GY),
                                 (sm2.GX, 2 ** 256 - 1), (P, 0), (0, P)])
def test_coordinate_at_or_above_p_is_refused(x, y):
    with pytest.raises(sm2.InvalidPublicKey, match="not below the field prime"):
        sm2.parse_public_key(_pt_bytes(x, y))


def test_bad_key_is_not_cached():
    bad = b"\x01" * 64
    for _ in range(3):
        with pytest.raises(sm2.InvalidPublicKey):
            sm2.verify(bad, b"m", b"\x01" * 64)
    assert bad not in sm2._CACHE


# --- signatures -----------------------------------------------------------------------------

def test_good_signature_verifies_in_every_accepted_form(signer):
    _, pub, msg, sig = signer
    assert sm2.verify(pub, msg, sig) is True
    assert sm2.verify(b"\x04" + pub, msg, sig) is True
    assert sm2.verify(bytearray(pub), bytearray(msg), bytearray(sig)) is True
    assert sm2.verify(pub, memoryview(msg), memoryview(sig)) is True


@pytest.mark.parametrize("mangle", [
    lambda s: s[:63], lambda s: s + b"\x00", lambda s: b"\x00" + s, lambda s: b"",
    lambda s: s[:32], lambda s: s + s,
    lambda s: encode_dss_signature(int.from_bytes(s[:32], "big"), int.from_bytes(s[32:], "big")),
    lambda s: s.hex().encode(),
], ids=["63", "65-trailing", "65-leading", "empty", "32", "128", "der", "hex"])
def test_malformed_signature_is_false(mangle, signer):
    _, pub, msg, sig = signer
    assert sm2.verify(pub, msg, mangle(sig)) is False
    assert sm2.load_public_key(pub).verify(msg, mangle(sig)) is False


@pytest.mark.parametrize("value", [None, 7, "x" * 64, ["a"] * 64])
def test_non_bytes_signature_is_false(value, signer):
    _, pub, msg, _ = signer
    assert sm2.verify(pub, msg, value) is False


def test_range_checks_of_r_and_s(signer):
    """§7.1 B1/B2: r, s ∈ [1, n−1]; B5: t = (r + s) mod n ≠ 0."""
    _, pub, msg, sig = signer
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:], "big")
    for bad_r in (0, N, N + 1, 2 ** 256 - 1, r + N if r + N < 2 ** 256 else N + 2):
        assert sm2.verify(pub, msg, _pt_bytes(bad_r, s)) is False
    for bad_s in (0, N, N + 1, 2 ** 256 - 1):
        assert sm2.verify(pub, msg, _pt_bytes(r, bad_s)) is False
    assert sm2.verify(pub, msg, _pt_bytes(r, N - r)) is False  # t = 0
    assert sm2.verify(pub, msg, _pt_bytes(r, s)) is True


def test_non_bytes_message_is_a_type_error(signer):
    _, pub, _, sig = signer
    with pytest.raises(TypeError):
        sm2.verify(pub, "text", sig)


def test_signer_id_must_be_bytes_and_short(signer):
    _, pub, msg, sig = signer
    with pytest.raises(TypeError):
        sm2.verify(pub, msg, sig, signer_id="1234567812345678")
    with pytest.raises(ValueError):
        sm2.verify(pub, msg, sig, signer_id=b"x" * 8192)
    assert sm2.verify(pub, msg, sig, signer_id=b"x" * 8191) is False
    assert sm2.verify(pub, msg, sig, signer_id=b"") is False


def test_point_at_infinity_is_rejected():
    """Choose r so that [s]G + [t]P_A = O; the standard requires rejection (gmssl crashes)."""
    d = 0x1234567890ABCDEF
    pub = sm2.public_key_of(d)
    s = 0xC0FFEE
    r = -s * (1 + d) * pow(d, -1, N) % N  # s + (r + s)·d ≡ 0
    assert ref.add(ref.mul(s, ref.G), ref.mul((r + s) % N, sm2.parse_public_key(pub))) is None
    key_table = sm2.PublicKey(pub)
    key_plain = sm2.PublicKey(pub, precompute=False)
    for e in (0, 1, r, N - 1):
        eb = e.to_bytes(32, "big")
        assert key_table.verify_digest(eb, _pt_bytes(r, s)) is False
        assert key_plain.verify_digest(eb, _pt_bytes(r, s)) is False


# --- internal paths: comb table, NAF path, completeness ------------------------------------

def test_table_and_plain_paths_agree_with_the_reference():
    rng = random.Random(RNG_SEED)
    keys = [G_BYTES, _pt_bytes(sm2.GX, P - sm2.GY), sm2.public_key_of(2), sm2.public_key_of(N - 2)]
    keys += [sm2.public_key_of(rng.randrange(1, N - 1)) for _ in range(3)]
    for pub in keys:
        x, y = sm2.parse_public_key(pub)
        with_table, plain = sm2.PublicKey(pub), sm2.PublicKey(pub, precompute=False)
        assert with_table.precomputed and not plain.precomputed
        for i in range(6):
            r = rng.choice([1, 2, N - 1, rng.randrange(1, N)])
            s = rng.choice([1, N - 1, rng.randrange(1, N)])
            if (r + s) % N == 0:
                continue
            # choose e so that the signature is valid half the time
            pt = ref.add(ref.mul(s, ref.G), ref.mul((r + s) % N, (x, y)))
            e = (r - pt[0]) % N if i % 2 == 0 else rng.randrange(N)
            expected = ref.verify_e(x, y, e, r, s)
            assert expected is (i % 2 == 0)
            eb, sig = e.to_bytes(32, "big"), _pt_bytes(r, s)
            assert with_table.verify_digest(eb, sig) is expected
            assert plain.verify_digest(eb, sig) is expected


def test_x1_between_n_and_p_is_handled():
    """x1 ∈ [n, p) (probability ~2^-129 at random): R = (e + x1) mod n wraps, so the projective
    comparison must also try x1 = c + n. Build such a case: choose R with x ≥ n, s and t, and
    solve for the key P = [t⁻¹](R − [s]G) and for e."""
    x1 = N
    while True:
        rhs = (x1 ** 3 + sm2.A * x1 + sm2.B) % P
        y1 = pow(rhs, (P + 1) // 4, P)
        if y1 * y1 % P == rhs:
            break
        x1 += 1
    assert N <= x1 < P
    s, t = 0x5EED, 0xBEEF
    neg_sg = ref.mul(s, ref.G)
    neg_sg = (neg_sg[0], P - neg_sg[1])
    pub = ref.mul(pow(t, -1, N), ref.add((x1, y1), neg_sg))
    r = (t - s) % N
    e = (r - x1) % N
    sig = _pt_bytes(r, s)
    assert ref.verify_e(*pub, e, r, s)
    for key in (sm2.PublicKey(_pt_bytes(*pub)), sm2.PublicKey(_pt_bytes(*pub), precompute=False)):
        assert key.verify_digest(e.to_bytes(32, "big"), sig) is True
        assert key.verify_digest(((e + 1) % N).to_bytes(32, "big"), sig) is False


def test_comb_sum_is_complete_for_doubling_and_cancellation():
    table = curve.g_table()
    one = [1] + [0] * (len(table) - 1)
    doubled = curve.comb_sum((table, one), acc=(sm2.GX, sm2.GY, 1))
    assert curve.affine(doubled) == ref.mul(2, ref.G)
    assert curve.comb_sum((table, one), acc=(sm2.GX, P - sm2.GY, 1)) is None
    # Jacobian representation with Z ≠ 1 of the same point
    z = 0x1234567
    g_jac = (sm2.GX * z * z % P, sm2.GY * z * z * z % P, z)
    assert curve.affine(curve.comb_sum((table, one), acc=g_jac)) == ref.mul(2, ref.G)
    # within one sum: G + G, then G + G − 2G = O, then O + G = G
    assert curve.affine(curve.comb_sum((table, one), (table, one))) == ref.mul(2, ref.G)
    minus_two = [-2] + [0] * (len(table) - 1)
    assert curve.comb_sum((table, one), (table, one), (table, minus_two)) is None
    assert curve.affine(curve.comb_sum((table, one), (table, minus_two), (table, one),
                                     (table, one))) == ref.mul(1, ref.G)


def test_digits_recombine_to_the_scalar():
    rng = random.Random(RNG_SEED + 2)
    for w in (5, 7, 8):
        rows = (257 + w - 1) // w
        for k in [0, 1, N - 1, 2 ** 256 - 1, *(rng.randrange(2 ** 256) for _ in range(50))]:
            digits = curve.digits(k, w, rows)
            assert sum(d << (w * i) for i, d in enumerate(digits)) == k
            assert all(-(1 << (w - 1)) < d <= 1 << (w - 1) for d in digits)
        assert sum(d << i for i, d in enumerate(curve.wnaf(k, 5))) == k


def test_scalar_multiplication_matches_reference():
    rng = random.Random(RNG_SEED + 3)
    for k in [1, 2, 3, 255, 256, 257, N - 1, N - 2, *(rng.randrange(1, N) for _ in range(8))]:
        assert curve.affine(curve.mul_g(k)) == ref.mul(k, ref.G)
        assert curve.affine(curve.mul_wnaf(k, sm2.GX, sm2.GY)) == ref.mul(k, ref.G)
    assert curve.mul_g(N) is None
    assert curve.mul_g(0) is None


def test_verify_cache_is_bounded_and_never_builds_a_table_in_the_call(monkeypatch):
    monkeypatch.setattr(sm2, "KEY_CACHE_SIZE", 8)
    keys = [sm2.public_key_of(1000 + i) for i in range(sm2.KEY_CACHE_SIZE + 3)]
    for pub in keys:
        sm2.verify(pub, b"m", b"\x01" * 64)
    assert len(sm2._CACHE) == sm2.KEY_CACHE_SIZE
    assert keys[0] not in sm2._CACHE and keys[-1] in sm2._CACHE
    d = 1000 + len(keys) - 1
    assert sm2.verify(keys[-1], b"m", sm2.sign(d, b"m")) is True
    loaded = sm2.load_public_key(keys[-2])
    assert loaded.precomputed and loaded is sm2._CACHE[keys[-2]]
    assert sm2.load_public_key(loaded) is loaded
    assert bytes(loaded) == keys[-2]


def test_public_key_object():
    key = sm2.load_public_key(b"\x04" + G_BYTES)
    assert bytes(key) == G_BYTES
    assert key == sm2.PublicKey(G_BYTES, precompute=False)
    assert hash(key) == hash(sm2.PublicKey(G_BYTES, precompute=False))
    assert "PublicKey" in repr(key)
    with pytest.raises(ValueError):
        sm2.PublicKey(G_BYTES, window=1)


# --- signing --------------------------------------------------------------------------------

def test_sign_verify_round_trip():
    rng = random.Random(RNG_SEED + 4)
    for _ in range(30):
        d = rng.randrange(1, N - 1)
        msg = rng.randbytes(rng.randrange(0, 300))
        uid = rng.choice([sm2.DEFAULT_SIGNER_ID, b"", b"issuer@example.cn", rng.randbytes(40)])
        sig = sm2.sign(d, msg, signer_id=uid)
        pub = sm2.public_key_of(d)
        assert len(sig) == 64
        assert sm2.verify(pub, msg, sig, signer_id=uid) is True
        x, y = sm2.parse_public_key(pub)
        e = int.from_bytes(sm2.load_public_key(pub).digest(msg, uid), "big")
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        assert ref.verify_e(x, y, e, r, s)
        assert sm2.verify(pub, msg + b"\x00", sig, signer_id=uid) is False


def test_random_nonces_differ_and_deterministic_ones_repeat():
    d = sm2.generate_private_key()
    pub = sm2.public_key_of(d)
    assert sm2.sign(d, b"m") != sm2.sign(d, b"m")
    det = sm2.sign(d, b"m", deterministic=True)
    assert det == sm2.sign(d, b"m", deterministic=True)
    assert det != sm2.sign(d, b"n", deterministic=True)
    assert det != sm2.sign(d, b"m", deterministic=True, signer_id=b"other")
    assert sm2.verify(pub, b"m", det) is True


def test_deterministic_nonce_is_rfc6979_with_hmac_sm3():
    """The first RFC 6979 candidate, computed step by step here, is the nonce used."""
    from terminal.crypto.sm3 import hmac_sm3, sm3
    d = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
    pub = sm2.public_key_of(d)
    e = sm3(sm2.za(pub) + b"message digest")
    x, h1 = d.to_bytes(32, "big"), (int.from_bytes(e, "big") % N).to_bytes(32, "big")
    v, k = b"\x01" * 32, b"\x00" * 32
    k = hmac_sm3(k, v + b"\x00" + x + h1)
    v = hmac_sm3(k, v)
    k = hmac_sm3(k, v + b"\x01" + x + h1)
    v = hmac_sm3(k, v)
    nonce = int.from_bytes(hmac_sm3(k, v), "big")
    assert 1 <= nonce < N
    fixed = sm2.sign(d, b"message digest", k=nonce)
    assert sm2.sign(d, b"message digest", deterministic=True) == fixed


@pytest.mark.parametrize("d", [0, -1, N - 1, N, 2 ** 256, True, 1.0, "1"])
def test_private_key_out_of_range_is_refused(d):
    with pytest.raises(KeyFormatError):
        sm2.sign(d, b"m")
    with pytest.raises(KeyFormatError):
        sm2.public_key_of(d)


@pytest.mark.parametrize("k", [0, N, -5, True])
def test_fixed_k_out_of_range_is_refused(k):
    with pytest.raises(ValueError):
        sm2.sign(5, b"m", k=k)


def test_public_key_edge_scalars():
    assert sm2.public_key_of(1) == G_BYTES
    assert sm2.parse_public_key(sm2.public_key_of(N - 2)) == ref.mul(N - 2, ref.G)
    assert all(1 <= sm2.generate_private_key() <= N - 2 for _ in range(20))


def test_sign_refuses_non_bytes_message():
    with pytest.raises(TypeError):
        sm2.sign(5, "text")


def test_za_accepts_bytes_like_signer_id_and_caches():
    key = sm2.PublicKey(G_BYTES, precompute=False)
    assert key.za(bytearray(b"ALICE")) == key.za(b"ALICE") == sm2.za(G_BYTES, b"ALICE")
    for i in range(10):
        key.za(b"id%d" % i)
    assert len(key._za) <= 4


@pytest.mark.parametrize("window", [2, 5, 7])
def test_comb_table_entries_are_the_right_multiples(window):
    """Every row i holds d·2^(w·i)·Q for d = 1 … 2^(w−1) and the negatives, checked with the
    reference's affine arithmetic."""
    q = ref.mul(0xC0DE, ref.G)
    table = curve.comb_table(*q, window)
    half = 1 << (window - 1)
    assert len(table) == -(-257 // window)
    base = q
    for row in table:
        assert len(row) == 2 * half and row[0] is None
        assert row[1] == base
        for d in range(1, half):
            assert row[d + 1] == ref.add(row[d], base)
            assert row[-d] == (row[d][0], P - row[d][1])
        base = ref.mul(1 << window, base)


def test_a_managed_key_gets_its_tables_from_the_manager_never_from_a_verification():
    from terminal.crypto.keytables import KeyTables

    d = 0xABCDEF
    pub = sm2.public_key_of(d)
    sig = sm2.sign(d, b"m")
    tables = KeyTables(background=False)
    key = sm2.load_public_key(pub, lazy=True, tables=tables)
    for _ in range(3):
        assert key.verify(b"m", sig) is True
        assert not key.precomputed and not key.split_ready     # no build inside a verify
    assert tables.build_pending() == 2                          # split, then comb (used 3 times)
    assert key.split_ready and key.precomputed
    assert key.verify(b"m", sig) is True and not key.verify(b"m!", sig)
    never = sm2.PublicKey(pub, precompute=False)
    for _ in range(3):
        assert never.verify(b"m", sig) is True
    assert not never.precomputed and not never.split_ready
