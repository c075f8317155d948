"""The trust list: key validation at load, versions only go up, staleness."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from terminal.crypto import sm2
from terminal.errors import TrustListError
from terminal.issuer import credentials as iss
from terminal.lists.signedlist import key_id
from terminal.lists.trust import TrustList, TrustStore
from tests.support.credentials import (
    DAY,
    ISSUER,
    ISSUER_KID,
    ISSUER_NAME,
    ISSUER_PUB,
    NOW,
    ROOT_PUB,
    STRANGER,
    default_entries,
    signed_list,
    trust_bytes,
    trust_list,
)


def p256_public_key() -> bytes:
    """A valid NIST P-256 point: a key of the wrong curve for SM2."""
    nums = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")


def test_loads_keys_with_their_rights():
    tl = trust_list()
    assert tl.version == 1 and len(tl.keys) == 3
    key = tl.key(ISSUER_KID)
    assert key.issuer == ISSUER_NAME and key.public_key == ISSUER_PUB
    assert key.types == {"health", "insurance", "social-security"}
    assert key.supported and key.valid_at(NOW) and not key.valid_at(NOW + 400 * DAY)
    assert tl.key(b"\x00" * 8) is None


def test_loaded_key_verifies_signatures():
    tl = trust_list()
    sig = sm2.sign(ISSUER, b"hello")
    assert tl.key(ISSUER_KID).verify(b"hello", sig)
    assert not tl.key(ISSUER_KID).verify(b"hellO", sig)


def test_stale_after_valid_until():
    tl = trust_list(valid_until=NOW + 10)
    assert not tl.stale(NOW + 10)
    assert tl.stale(NOW + 11)


def test_wrong_curve_issuer_key_refuses_the_whole_list():
    bad = p256_public_key()
    entries = default_entries() + [
        iss.trust_entry(bad, "Elsewhere", NOW - DAY, NOW + DAY, ["health"], kid=b"\x01" * 8)]
    with pytest.raises(TrustListError, match="public key refused: .*not a point on sm2p256v1"):
        TrustList.from_bytes(trust_bytes(entries), ROOT_PUB)


def test_off_curve_and_short_keys_are_refused():
    for bad, why in [(b"\x00" * 64, "point at infinity"), (ISSUER_PUB[:-1] + bytes([ISSUER_PUB[-1] ^ 1]),
                                                     "not a point"),
                     (ISSUER_PUB[:40], "must be 64 bytes")]:
        entry = iss.trust_entry(bad, "X", NOW, NOW + 1, ["health"], kid=b"\x02" * 8)
        with pytest.raises(TrustListError, match=why):
            TrustList.from_bytes(trust_bytes([entry]), ROOT_PUB)


def test_kid_must_derive_from_the_key():
    entry = iss.trust_entry(ISSUER_PUB, "X", NOW, NOW + 1, ["health"], kid=b"\x03" * 8)
    with pytest.raises(TrustListError, match="kid does not match"):
        TrustList.from_bytes(trust_bytes([entry]), ROOT_PUB)


def test_duplicate_kid_is_refused():
    entry = default_entries()[0]
    with pytest.raises(TrustListError, match="listed twice"):
        TrustList.from_bytes(trust_bytes([entry, dict(entry)]), ROOT_PUB)


@pytest.mark.parametrize("change, why", [
    ({"types": []}, "types"), ({"types": "health"}, "types"), ({"issuer": ""}, "issuer"),
    ({"valid_from": NOW + 5, "valid_to": NOW}, "valid_from <= valid_to"),
    ({"alg": "SM2"}, "alg must be an integer"), ({"kid": b"\x01"}, "kid must be 8 bytes"),
    ({"extra": 1}, "exactly"), ({"public_key": "04ab"}, "public_key must be bytes"),
])
def test_malformed_entries_are_refused(change, why):
    entry = {**default_entries()[0], **change}
    with pytest.raises(TrustListError, match=why):
        TrustList.from_bytes(trust_bytes([entry]), ROOT_PUB)


def test_body_must_hold_only_keys():
    with pytest.raises(TrustListError, match="only 'keys'"):
        TrustList.from_bytes(signed_list("trust", {"keys": [], "x": 1}), ROOT_PUB)


def test_unsupported_algorithm_key_is_kept_but_cannot_verify():
    entry = iss.trust_entry(p256_public_key(), "Elsewhere", NOW, NOW + DAY, ["health"], alg=-7,
                            kid=b"\x04" * 8)
    tl = TrustList.from_bytes(trust_bytes([entry]), ROOT_PUB)
    key = tl.key(b"\x04" * 8)
    assert not key.supported and not key.verify(b"m", b"\x01" * 64)


def test_bad_signature_refused():
    with pytest.raises(TrustListError, match="not the pinned root"):
        TrustList.from_bytes(trust_bytes(root=STRANGER), ROOT_PUB)


def test_store_accepts_only_higher_versions(tmp_path):
    store = TrustStore(ROOT_PUB, tmp_path / "held" / "trust.cose")
    assert store.load() is None
    store.update(trust_bytes(version=3))
    assert store.current.version == 3
    with pytest.raises(TrustListError, match="version 2 refused: version 3 is already held"):
        store.update(trust_bytes(version=2))
    with pytest.raises(TrustListError, match="version 3 refused"):
        store.update(trust_bytes(version=3))
    assert store.current.version == 3
    store.update(trust_bytes(version=4))
    assert store.current.version == 4


def test_store_remembers_version_across_restart(tmp_path):
    path = tmp_path / "trust.cose"
    TrustStore(ROOT_PUB, path).update(trust_bytes(version=5))
    restarted = TrustStore(ROOT_PUB, path)
    assert restarted.load().version == 5
    with pytest.raises(TrustListError, match="already held"):
        restarted.update(trust_bytes(version=4))
    assert TrustStore(ROOT_PUB, path).load().version == 5


def test_refused_update_keeps_file_and_list(tmp_path):
    path = tmp_path / "trust.cose"
    store = TrustStore(ROOT_PUB, path)
    store.update(trust_bytes(version=1))
    before = path.read_bytes()
    with pytest.raises(TrustListError):
        store.update(trust_bytes(version=2, root=STRANGER))
    assert path.read_bytes() == before and store.current.version == 1


def test_load_reports_missing_file(tmp_path):
    with pytest.raises(TrustListError, match="cannot read trust list"):
        TrustList.load(tmp_path / "nope.cose", ROOT_PUB)


def test_load_caps_file_size(tmp_path):
    path = tmp_path / "big.cose"
    path.write_bytes(b"\x00" * 2048)
    with pytest.raises(TrustListError, match="more than the 1024 allowed"):
        TrustList.load(path, ROOT_PUB, max_bytes=1024)


def test_key_id_of_65_byte_key_matches():
    assert key_id(b"\x04" + ISSUER_PUB) == ISSUER_KID


# --- fuzzing: a list loader only ever says TrustListError ------------------------------------

GOOD_LIST = trust_bytes()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_trust_list_error(data):
    with pytest.raises(TrustListError):
        TrustList.from_bytes(data, ROOT_PUB)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(GOOD_LIST) - 1), st.binary(min_size=1, max_size=8))
def test_mutated_list_is_refused(where, patch):
    mutated = GOOD_LIST[:where] + patch + GOOD_LIST[where + len(patch):]
    assume(mutated != GOOD_LIST)
    with pytest.raises(TrustListError):
        TrustList.from_bytes(mutated, ROOT_PUB)


def test_key_tables_come_from_the_manager_not_from_load_or_scans():
    """Loading a list builds no table; the manager builds them (all when they fit, else the
    keys that are used), and verifications use whatever is there meanwhile."""
    from terminal.crypto.keytables import KeyTables

    tables = KeyTables(background=False)
    short = TrustList.from_bytes(trust_bytes(), ROOT_PUB, tables=tables)
    assert not any(k.verifier.precomputed for k in short.keys.values())
    tables.build_pending()
    assert all(k.verifier.precomputed and k.verifier.split_ready for k in short.keys.values())

    small = KeyTables(budget_bytes=2 * 2**20, background=False)       # room for 2 comb tables
    privs = [sm2.generate_private_key() for _ in range(6)]
    entries = [iss.trust_entry(sm2.public_key_of(d), "Many", NOW - DAY, NOW + DAY, ["health"])
               for d in privs]
    long_list = TrustList.from_bytes(trust_bytes(entries), ROOT_PUB, tables=small)
    key = long_list.key(key_id(sm2.public_key_of(privs[0])))
    sig = sm2.sign(privs[0], b"scan")
    assert key.verify(b"scan", sig) and key.verify(b"scan", sig)       # no table yet: still right
    assert not key.verifier.precomputed
    small.build_pending()
    assert all(k.verifier.split_ready for k in long_list.keys.values())
    assert [k.verifier.precomputed for k in long_list.keys.values()].count(True) == 1
    assert key.verifier.precomputed                                     # the one that was used
    assert key.verify(b"scan", sig) and not key.verify(b"scan!", sig)


