"""Property-based checks (hypothesis): arbitrary bytes never crash the verifier or pass."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.crypto import sm2
from tests.support import sm2_reference as ref

D = 0x1F2E3D4C5B6A7988
PUB = sm2.public_key_of(D)
MSG = b"property"
SIG = sm2.sign(D, MSG, deterministic=True)


def _on_curve(data: bytes) -> bool:
    """Independent of the code under test: the reference's affine curve equation."""
    if len(data) == 65 and data[0] == 4:
        data = data[1:]
    if len(data) != 64:
        return False
    x, y = int.from_bytes(data[:32], "big"), int.from_bytes(data[32:], "big")
    return ref.on_curve(x, y) and (x, y) != (0, 0)


# random bytes are almost never a curve point, so real keys (with and without the 04 prefix, and
# with one bit flipped) are mixed in: both the "parses" and the "refused" branch must be taken
KEYS = st.integers(min_value=1, max_value=sm2.N - 2).map(sm2.public_key_of)
KEY_BYTES = st.one_of(
    st.binary(max_size=130), KEYS, KEYS.map(lambda k: b"\x04" + k),
    st.tuples(KEYS, st.integers(0, 511)).map(
        lambda t: t[0][:t[1] // 8] + bytes([t[0][t[1] // 8] ^ (1 << t[1] % 8)]) + t[0][t[1] // 8 + 1:]))


@settings(max_examples=300, deadline=None)
@given(KEY_BYTES)
def test_any_bytes_as_key_either_parse_to_a_curve_point_or_raise_invalid_public_key(data):
    expected = _on_curve(data)
    try:
        x, y = sm2.parse_public_key(data)
    except sm2.InvalidPublicKey:
        assert not expected, data.hex()
        return
    assert expected, data.hex()
    assert len(data) in (64, 65)
    assert (x, y) == (int.from_bytes(data[-64:-32], "big"), int.from_bytes(data[-32:], "big"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=130))
def test_any_bytes_as_signature_give_a_bool_and_never_pass(data):
    result = sm2.verify(PUB, MSG, data)
    assert result is (data == SIG)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2 ** 256 - 1),
       st.integers(min_value=0, max_value=2 ** 256 - 1))
def test_any_r_s_pair_is_false_unless_it_is_the_signature(r, s):
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert sm2.verify(PUB, MSG, sig) is (sig == SIG)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=sm2.N - 2), st.binary(max_size=64),
       st.binary(max_size=40))
def test_sign_then_verify(d, msg, signer_id):
    sig = sm2.sign(d, msg, signer_id=signer_id)
    assert sm2.verify(sm2.public_key_of(d), msg, sig, signer_id=signer_id) is True
