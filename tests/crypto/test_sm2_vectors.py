"""Known-answer vectors: the standard's Annex A, OpenSSL, Bouncy Castle, RustCrypto (shared data).

Every valid sm2p256v1 vector must verify (and its Z_A and e must match where given); vectors of
other curves must not: their public keys are refused as not on sm2p256v1, and their signatures do
not verify under the sm2p256v1 key of the same private scalar.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from terminal.crypto import curve, sm2
from terminal.crypto.sm3 import hmac_sm3, sm3
from tools.testdata import find_testdata

ANNEX_A = "sm2p256v1-gmt0003.5-annexA"


def _vectors() -> list[dict]:
    root = find_testdata()
    if root is None:
        return []
    return json.loads((root / "crypto" / "sm2_vectors.json").read_text())["sm2_signature_vectors"]


VECTORS = _vectors()
SM2P256V1 = [v for v in VECTORS if v["curve"] == "sm2p256v1"]
OTHER = [v for v in VECTORS if v["curve"] != "sm2p256v1"]


def _ids(vectors):
    return [v["id"] for v in vectors]


def _pub(v) -> bytes:
    return bytes.fromhex(v["public_key_x"] + v["public_key_y"])


def _sig(v) -> bytes:
    return bytes.fromhex(v["r"] + v["s"])


def _hash(v):
    return {"SM3": sm3, "SHA-256": lambda b: hashlib.sha256(b).digest()}[v["hash"]]


def _za_with(v, h) -> bytes:
    """Z_A computed with the vector's own hash over sm2p256v1's parameters (independent code)."""
    uid = bytes.fromhex(v["user_id_hex"])
    return h((len(uid) * 8).to_bytes(2, "big") + uid + sm2._CURVE_BYTES + _pub(v))


def test_the_shared_file_holds_what_we_rely_on(testdata):
    ids = _ids(SM2P256V1)
    assert ANNEX_A in ids
    assert len(SM2P256V1) >= 6
    assert {v["curve"] for v in OTHER} >= {"sm2_test_fp256", "nist_p256"}
    assert all(v["expected_valid"] for v in SM2P256V1)


@pytest.mark.parametrize("v", SM2P256V1, ids=_ids(SM2P256V1))
def test_valid_sm2p256v1_vector_verifies(testdata, v):
    key = sm2.load_public_key(_pub(v))
    sig = _sig(v)
    if v.get("message_hex") is None:
        # OpenSSL EVP tests give e itself (SM3 or SHA-512 digest), no message or ID.
        e = bytes.fromhex(v["e_prehashed_input"])
        assert key.verify_digest(e, sig) is True
        flipped = bytes([e[0] ^ 1]) + e[1:]
        assert key.verify_digest(flipped, sig) is False
        return
    uid = bytes.fromhex(v["user_id_hex"])
    msg = bytes.fromhex(v["message_hex"])
    h = _hash(v)
    za = _za_with(v, h)
    assert za.hex().upper() == v["ZA"]
    e = h(za + msg)
    assert e.hex().upper() == v["e"]
    assert key.verify_digest(e, sig) is True
    if v["hash"] == "SM3":
        assert key.za(uid) == za
        assert key.digest(msg, uid) == e
        assert sm2.za(_pub(v), uid) == za
        assert sm2.verify(_pub(v), msg, sig, signer_id=uid) is True
        assert sm2.verify(b"\x04" + _pub(v), msg, sig, signer_id=uid) is True
        assert key.verify(msg, sig, signer_id=uid) is True
        # the same signature under the default (or another) ID is a different e: must fail
        other_id = b"1234567812345678" if uid != b"1234567812345678" else b"ALICE123@YAHOO.COM"
        assert sm2.verify(_pub(v), msg, sig, signer_id=other_id) is False
    else:
        # SM2 with SHA-256 is not SM2-with-SM3: our verify() (SM3) must refuse it
        assert sm2.verify(_pub(v), msg, sig, signer_id=uid) is False
    assert sm2.verify(_pub(v), msg + b"!", sig, signer_id=uid) is False
    if v.get("private_key"):
        assert sm2.public_key_of(int(v["private_key"], 16)) == _pub(v)


@pytest.mark.parametrize("v", [v for v in SM2P256V1 if v.get("k") and v["hash"] == "SM3"],
                         ids=lambda v: v["id"])
def test_sign_with_fixed_k_reproduces_vector(testdata, v):
    sig = sm2.sign(int(v["private_key"], 16), bytes.fromhex(v["message_hex"]),
                   signer_id=bytes.fromhex(v["user_id_hex"]), k=int(v["k"], 16))
    assert sig == _sig(v)


def test_annex_a_signature_is_reproduced_exactly(testdata):
    (v,) = [v for v in SM2P256V1 if v["id"] == ANNEX_A]
    d = int(v["private_key"], 16)
    sig = sm2.sign(d, b"message digest", k=int(v["k"], 16))
    # r and s as printed in the standard's Annex A
    assert sig[:32].hex().upper() == ("F5A03B0648D2C4630EEAC513E1BB81A1"
                                      "5944DA3827D5B74143AC7EACEEE720B3")
    assert sig[32:].hex().upper() == ("B1B6AA29DF212FD8763182BC0D421CA1"
                                      "BB9038FD1F7F42D4840B69C485BBC1AA")
    x1, _ = curve.affine(curve.mul_g(int(v["k"], 16)))
    assert x1 == int(v["x1"], 16)


@pytest.mark.parametrize("v", [v for v in OTHER if v.get("public_key_x")], ids=lambda v: v["id"])
def test_other_curve_public_key_is_refused(testdata, v):
    with pytest.raises(sm2.InvalidPublicKey, match="not a point on sm2p256v1"):
        sm2.load_public_key(_pub(v))
    with pytest.raises(sm2.InvalidPublicKey, match="not a point on sm2p256v1"):
        sm2.verify(_pub(v), bytes.fromhex(v["message_hex"]), _sig(v),
                   signer_id=bytes.fromhex(v["user_id_hex"]))


@pytest.mark.parametrize("v", OTHER, ids=_ids(OTHER))
def test_other_curve_signature_does_not_verify_under_sm2p256v1_key(testdata, v):
    # The same private scalar on sm2p256v1 gives a valid key; the foreign signature is False.
    pub = sm2.public_key_of(int(v["private_key"], 16))
    if v.get("public_key_x"):
        assert pub != _pub(v)
    uid = (v.get("user_id_hex") and bytes.fromhex(v["user_id_hex"])) or v["user_id"].encode()
    msg = (v.get("message_hex") and bytes.fromhex(v["message_hex"])) or v["message"].encode()
    assert sm2.verify(pub, msg, _sig(v), signer_id=uid) is False
    if v.get("e"):
        assert sm2.load_public_key(pub).verify_digest(bytes.fromhex(v["e"]), _sig(v)) is False


def _sm3_vectors():
    root = find_testdata()
    if root is None:
        return []
    return json.loads((root / "crypto" / "sm2_vectors.json").read_text())["sm3_vectors"]


@pytest.mark.parametrize("v", _sm3_vectors(), ids=lambda v: v["name"])
def test_sm3_vector(testdata, v):
    assert sm3(bytes.fromhex(v["input_hex"])).hex().upper() == v["digest"]


def _hmac_cases():
    root = find_testdata()
    if root is None:
        return []
    doc = json.loads((root / "crypto" / "wycheproof" / "hmac_sm3_test.json").read_text())
    return [(g["tagSize"], t) for g in doc["testGroups"] for t in g["tests"]]


HMAC_CASES = _hmac_cases()


@pytest.mark.parametrize("tag_size,t", HMAC_CASES, ids=[f"tc{t['tcId']}" for _, t in HMAC_CASES])
def test_hmac_sm3_wycheproof(testdata, tag_size, t):
    mac = hmac_sm3(bytes.fromhex(t["key"]), bytes.fromhex(t["msg"]))
    assert len(mac) == 32
    tag = bytes.fromhex(t["tag"])
    assert len(tag) == tag_size // 8  # 128-bit groups carry truncated tags
    if t["result"] == "valid":
        assert mac[: len(tag)] == tag
    else:
        assert t["result"] == "invalid"
        assert mac[: len(tag)] != tag


def test_hmac_sm3_vector_file_is_complete(testdata):
    assert len(HMAC_CASES) == 174
    assert sum(t["result"] == "valid" for _, t in HMAC_CASES) == 66
