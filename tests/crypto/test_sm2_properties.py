"""Property-based checks (hypothesis): arbitrary bytes never crash the verifier or pass."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from terminal.crypto import sm2

D = 0x1F2E3D4C5B6A7988
PUB = sm2.public_key_of(D)
MSG = b"property"
SIG = sm2.sign(D, MSG, deterministic=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=130))
def test_any_bytes_as_key_either_parse_to_a_curve_point_or_raise_invalid_public_key(data):
    try:
        x, y = sm2.parse_public_key(data)
    except sm2.InvalidPublicKey:
        return
    assert len(data) in (64, 65)
    assert (y * y - x ** 3 - sm2.A * x - sm2.B) % sm2.P == 0


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
