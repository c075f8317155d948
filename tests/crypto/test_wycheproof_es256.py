"""Wycheproof ECDSA P-256/SHA-256 raw (IEEE P1363) vectors through the verifier the DCC path uses.

Every ``invalid`` vector must be refused and every ``valid`` one accepted. The file has no
``acceptable`` vectors; should a later version add some, they are treated as must-refuse (the
stricter choice: the gate fails closed) and counted separately.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from terminal.crypto import ecdsa

FILE = "crypto/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json"


@pytest.fixture(scope="module")
def vectors(testdata):
    path = testdata / FILE
    if not path.is_file():
        pytest.skip(f"shared test data lacks {FILE}")
    return json.loads(path.read_text())


def _cases(data):
    for group in data["testGroups"]:
        key = load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
        for test in group["tests"]:
            yield key, test


def test_every_vector_agrees(vectors):
    """Valid accepted, invalid (and acceptable) refused; disagreements listed by tcId and comment."""
    counts = {"valid": [0, 0], "invalid": [0, 0], "acceptable": [0, 0]}
    wrong = []
    for key, test in _cases(vectors):
        accepted = ecdsa.verify(key, ecdsa.ES256, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
        expected = test["result"] == "valid"
        counts[test["result"]][1] += 1
        if accepted == expected:
            counts[test["result"]][0] += 1
        else:
            wrong.append((test["tcId"], test["result"], test["comment"]))
    print("\nWycheproof ecdsa_secp256r1_sha256_p1363: " + ", ".join(
        f"{kind} {ok}/{total}" for kind, (ok, total) in counts.items()))
    assert sum(total for _, total in counts.values()) == vectors["numberOfTests"]
    assert counts["valid"][1] > 0 and counts["invalid"][1] > 0
    assert wrong == []


def test_der_signature_is_not_accepted_as_raw(vectors):
    """A DER-encoded signature of a valid message is refused: ES256 in COSE is raw r‖s only."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    key, test = next((k, t) for k, t in _cases(vectors) if t["result"] == "valid")
    sig = bytes.fromhex(test["sig"])
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    assert ecdsa.verify(key, ecdsa.ES256, bytes.fromhex(test["msg"]), sig)
    assert not ecdsa.verify(key, ecdsa.ES256, bytes.fromhex(test["msg"]), der)


def test_wrong_algorithm_or_key_type_refused(vectors):
    """The same valid signature under PS256, an unknown alg, or a P-384 key is refused, not raised."""
    key, test = next((k, t) for k, t in _cases(vectors) if t["result"] == "valid")
    msg, sig = bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"])
    assert not ecdsa.verify(key, ecdsa.PS256, msg, sig)
    assert not ecdsa.verify(key, -35, msg, sig)
    assert not ecdsa.verify(key, None, msg, sig)
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert not ecdsa.verify(other, ecdsa.ES256, msg, sig)
