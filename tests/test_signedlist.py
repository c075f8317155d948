"""Signed lists: the root-signed envelope of trust and revocation lists."""

from __future__ import annotations

import pytest

from terminal.crypto import sm2
from terminal.errors import TrustListError
from terminal.formats import cbor
from terminal.lists.signedlist import ALG_SM2_SM3, key_id, sign_list, verify_list
from tests.support.credentials import DAY, NOW, ROOT, ROOT_PUB, STRANGER, raw_sign1, signed_list


def test_round_trip_gives_every_field():
    data = sign_list("revocation", 7, NOW, NOW + DAY, {"entries": [b"\x01" * 16]}, ROOT)
    got = verify_list(data, ROOT_PUB, "revocation", max_bytes=4096)
    assert (got.kind, got.version, got.issued, got.valid_until) == ("revocation", 7, NOW, NOW + DAY)
    assert got.body == {"entries": [b"\x01" * 16]}
    assert not got.stale(NOW + DAY) and got.stale(NOW + DAY + 1)


def test_key_id_is_sm3_prefix_of_public_key():
    assert len(key_id(ROOT_PUB)) == 8
    assert key_id(b"\x04" + ROOT_PUB) == key_id(ROOT_PUB)
    assert key_id(ROOT_PUB) != key_id(sm2.public_key_of(STRANGER))


def test_signed_by_another_root_is_refused():
    data = signed_list("trust", {"keys": []}, root=STRANGER)
    with pytest.raises(TrustListError, match="not the pinned root"):
        verify_list(data, ROOT_PUB, "trust")


def test_forged_signature_with_root_kid_is_refused():
    payload = cbor.dumps({"kind": "trust", "version": 9, "issued": NOW, "valid_until": NOW + 1,
                          "body": {"keys": []}})
    protected = {1: ALG_SM2_SM3, 4: key_id(ROOT_PUB)}
    data = raw_sign1(payload, STRANGER, protected=protected)
    with pytest.raises(TrustListError, match="signature does not verify"):
        verify_list(data, ROOT_PUB, "trust")


def test_tampered_payload_is_refused():
    data = bytearray(signed_list("trust", {"keys": []}, version=5))
    i = data.index(b"version") + len(b"version")
    data[i] ^= 0x01  # version 5 -> 4
    with pytest.raises(TrustListError, match="signature does not verify"):
        verify_list(bytes(data), ROOT_PUB, "trust")


def test_wrong_kind_is_refused():
    data = signed_list("revocation", {"entries": []})
    with pytest.raises(TrustListError, match="expected a trust list, got kind 'revocation'"):
        verify_list(data, ROOT_PUB, "trust")


def test_size_is_capped_before_parsing():
    with pytest.raises(TrustListError, match="more than the 100 allowed"):
        verify_list(b"\xff" * 101, ROOT_PUB, "trust", max_bytes=100)


@pytest.mark.parametrize("junk", [b"", b"\x00", b"\xd2\x84", b"garbage" * 10])
def test_garbage_is_refused_as_malformed(junk):
    with pytest.raises(TrustListError, match="malformed"):
        verify_list(junk, ROOT_PUB, "trust")


def test_wrong_algorithm_is_refused():
    payload = cbor.dumps({"kind": "trust", "version": 1, "issued": NOW, "valid_until": NOW + 1,
                          "body": {}})
    data = raw_sign1(payload, ROOT, protected={1: -7, 4: key_id(ROOT_PUB)})
    with pytest.raises(TrustListError, match="algorithm -7"):
        verify_list(data, ROOT_PUB, "trust")


@pytest.mark.parametrize("payload, why", [
    ({"kind": "trust", "version": 1, "issued": NOW, "valid_until": NOW + 1}, "exactly"),
    ({"kind": "trust", "version": 0, "issued": NOW, "valid_until": NOW + 1, "body": {}}, ">= 1"),
    ({"kind": "trust", "version": True, "issued": NOW, "valid_until": NOW + 1, "body": {}},
     "non-negative integer"),
    ({"kind": "trust", "version": 1, "issued": NOW, "valid_until": NOW, "body": {}}, "not after"),
    ({"kind": "trust", "version": 1, "issued": NOW, "valid_until": NOW + 1, "body": []}, "map"),
    ([1, 2], "exactly"),
])
def test_signed_but_malformed_fields_are_refused(payload, why):
    data = raw_sign1(cbor.dumps(payload), ROOT, protected={1: ALG_SM2_SM3, 4: key_id(ROOT_PUB)})
    with pytest.raises(TrustListError, match=why):
        verify_list(data, ROOT_PUB, "trust")


def test_invalid_pinned_root_is_reported():
    with pytest.raises(TrustListError, match="configured root key is invalid"):
        verify_list(signed_list("trust", {"keys": []}), b"\x01" * 64, "trust")


def test_sign_list_checks_its_arguments():
    with pytest.raises(ValueError):
        sign_list("trust", 0, NOW, NOW + 1, {}, ROOT)
    with pytest.raises(ValueError):
        sign_list("trust", 1, NOW, NOW, {}, ROOT)
