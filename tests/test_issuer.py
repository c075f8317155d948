"""Issuer tools: directory layout, key file safety, credentials that verify, nothing raw inside."""

from __future__ import annotations

import json
import os
import stat

import pytest

from terminal import config
from terminal.errors import IssuerError
from terminal.formats import base45, cbor, cose, inflate, native
from terminal.issuer import credentials
from terminal.issuer import directory as iss
from terminal.lists.signedlist import verify_list
from terminal.lists.trust import TrustList
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier

T0 = 1767225600


@pytest.fixture(scope="module")
def issuer_dir(tmp_path_factory):
    return iss.init(tmp_path_factory.mktemp("issuer") / "demo", now=T0)


def test_init_writes_private_keys_0600(issuer_dir):
    for name in (iss.ROOT_KEY, iss.ISSUER_KEY):
        mode = stat.S_IMODE(os.stat(issuer_dir.file(name)).st_mode)
        assert mode == 0o600, name


def test_init_lists_verify_under_the_root(issuer_dir):
    root = issuer_dir.root_public_key()
    tl = TrustList.load(issuer_dir.trust_list_path, root)
    key = issuer_dir.issuer_key()
    assert tl.version == 1 and set(tl.keys) == {key.kid}
    assert tl.key(key.kid).types == set(iss.TYPES)
    rev = verify_list(issuer_dir.revocation_list_path.read_bytes(), root, "revocation",
                      max_bytes=4096)
    assert (rev.version, rev.body) == (1, {"format": 1, "hashes": b"", "count": 0})
    assert rev.valid_until > T0


def test_terminal_config_trusts_the_root_and_passes_credentials(issuer_dir):
    cfg = config.load(issuer_dir.config_path)
    assert bytes.fromhex(cfg.trust.root_key) == issuer_dir.root_public_key()
    text = issuer_dir.issue("health", "张三丰", "110101199001011234", status="green", now=T0)
    r = Verifier.from_config(cfg).verify(text, T0 + 5)
    assert (r.decision, r.reason) == (Decision.PASS, Reason.OK)
    assert r.credential.masked_name == "张*丰"


def test_credential_holds_no_raw_name_or_id(issuer_dir):
    text = issuer_dir.issue("insurance", "欧阳娜娜", "11010119900101123x", now=T0)
    sign1 = cose.parse_sign1(inflate.inflate(base45.decode(text[4:])))
    blob = sign1.payload
    assert "欧阳娜娜".encode() not in blob and b"110101" not in blob.upper()
    claims = cbor.loads(blob)
    assert claims[native.NAME_CLAIM] == "欧**娜"
    assert claims[native.ID_TAIL] == "123X"
    key = issuer_dir.issuer_key()
    assert claims[native.HOLDER] == credentials.holder_hash(key.holder_key, " 11010119900101123X ")


def test_serials_are_random_and_lifetime_is_ttl(issuer_dir):
    a = native.read(issuer_dir.issue("health", "李四", "X1", status="green", now=T0, ttl=30),
                    _ctx(issuer_dir))
    b = native.read(issuer_dir.issue("health", "李四", "X1", status="green", now=T0, ttl=30),
                    _ctx(issuer_dir))
    assert a.credential.serial != b.credential.serial
    assert a.credential.expires - a.credential.issued_at == 30
    assert a.credential.holder_hash == b.credential.holder_hash


def _ctx(d):
    from terminal.formats.chain import VerifyContext
    return VerifyContext(now=T0, skew=30, trust=TrustList.load(d.trust_list_path,
                                                               d.root_public_key()))


@pytest.mark.parametrize("kwargs, why", [
    ({"type": "passport"}, "type must be"), ({"status": None}, "needs --status"),
    ({"type": "insurance"}, "other types take none"), ({"status": "blue"}, "status must be"),
    ({"ttl": 10}, "ttl must be"), ({"ttl": 600}, "ttl must be"), ({"name": " "}, "name must be"),
    ({"holder_id": ""}, "holder ID"),
])
def test_issue_refuses_bad_arguments(issuer_dir, kwargs, why):
    args = {"type": "health", "name": "张三", "holder_id": "1", "status": "green", **kwargs}
    with pytest.raises(ValueError, match=why):
        issuer_dir.issue(args.pop("type"), args.pop("name"), args.pop("holder_id"), **args)


def test_init_refuses_to_overwrite_keys_without_force(tmp_path):
    d = iss.init(tmp_path / "x", now=T0)
    before = d.file(iss.ROOT_KEY).read_bytes()
    with pytest.raises(IssuerError, match="--force"):
        iss.init(tmp_path / "x", now=T0)
    assert d.file(iss.ROOT_KEY).read_bytes() == before
    iss.init(tmp_path / "x", now=T0, force=True)
    assert d.file(iss.ROOT_KEY).read_bytes() != before


def test_key_file_readable_by_others_is_refused(tmp_path):
    d = iss.init(tmp_path / "x", now=T0)
    os.chmod(d.file(iss.ISSUER_KEY), 0o644)
    with pytest.raises(IssuerError, match="chmod 600"):
        d.issue("health", "张三", "1", status="green")


def test_damaged_or_missing_key_file_is_reported(tmp_path):
    d = iss.init(tmp_path / "x", now=T0)
    assert len(d.file(iss.ROOT_KEY).read_text().strip()) == 64  # bare hex (sync's publisher reads it)
    assert d.issuer_key().types == iss.TYPES
    for junk in (json.dumps({"kind": "other"}), "not hex", "00" * 32, json.dumps([1])):
        d.file(iss.ROOT_KEY).write_text(junk)
        with pytest.raises(IssuerError, match="damaged"):
            d.root_private_key()
    with pytest.raises(IssuerError, match="issuer init"):
        iss.IssuerDir(tmp_path / "nothing").issuer_key()


def test_holder_hash_normalises_and_is_keyed():
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    assert credentials.holder_hash(k1, " ab12x ") == credentials.holder_hash(k1, "AB12X")
    assert credentials.holder_hash(k1, "AB12X") != credentials.holder_hash(k2, "AB12X")
    assert len(credentials.holder_hash(k1, "x")) == 16
