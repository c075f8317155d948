"""The native format reader: credentials read back, fail-closed behaviour, fuzzing (hypothesis)."""

from __future__ import annotations

import logging
import zlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from terminal.formats import base45, cbor, dispatch, names, native
from terminal.formats.chain import VerifyContext
from terminal.lists.trust import TrustList
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit
from tests.support.credentials import ISSUER_KID, NOW

TRUST = kit.trust_list()
CTX = VerifyContext(now=NOW, skew=30, trust=TRUST)
GOOD = kit.credential()
SIGN1 = kit.raw_sign1(cbor.dumps(kit.claims()))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_reads_every_claim():
    r = native.read(kit.credential(kit.claims(type="insurance")), CTX)
    assert r.decision is Decision.PASS and r.reason is Reason.OK and r.format == "native"
    c = r.credential
    assert (c.type, c.issuer, c.key_id, c.status) == ("insurance", kit.ISSUER_NAME,
                                                      ISSUER_KID.hex(), None)
    assert (c.issued_at, c.not_before, c.expires) == (NOW, NOW, NOW + 60)
    assert c.serial == bytes(range(16)) and len(c.holder_hash) == 32
    assert c.masked_name == "张*丰" and c.id_tail == "123X"


def test_dispatch_by_prefix_reaches_native():
    assert dispatch.detect(GOOD) is native
    assert dispatch.read(GOOD, CTX).decision is Decision.PASS


def test_skew_is_configurable():
    late = kit.credential(kit.claims(now=NOW - 80))  # expired 20 s ago
    assert native.read(late, CTX).decision is Decision.PASS
    strict = VerifyContext(now=NOW, skew=0, trust=TRUST)
    assert native.read(late, strict).reason is Reason.EXPIRED


def test_expiry_boundary_is_exclusive():
    cred = kit.credential()
    at_exp = VerifyContext(now=NOW + 60, skew=0, trust=TRUST)
    assert native.read(cred, at_exp).reason is Reason.EXPIRED
    before = VerifyContext(now=NOW + 59, skew=0, trust=TRUST)
    assert native.read(cred, before).decision is Decision.PASS


def test_unsupported_algorithm_key_in_trust_list():
    entry = {**kit.default_entries()[0], "alg": -7}
    tl = TrustList.from_bytes(kit.trust_bytes([entry]), kit.ROOT_PUB)
    ctx = VerifyContext(now=NOW, skew=30, trust=tl)
    assert native.read(GOOD, ctx).reason is Reason.ALGORITHM_UNSUPPORTED


def test_no_trust_list_is_check_not_pass():
    r = native.read(GOOD, VerifyContext(now=NOW, skew=30, trust=None))
    assert (r.decision, r.reason) == (Decision.CHECK, Reason.TRUST_LIST_MISSING)


def test_malformed_input_is_denied_before_the_trust_list_matters():
    r = native.read("SP1:abc", VerifyContext(now=NOW, trust=None))
    assert (r.decision, r.reason) == (Decision.DENY, Reason.BASE45_INVALID)


class ExplodingTrust(TrustList):
    """A trust list whose lookup fails unexpectedly (to exercise the fail-closed path)."""

    def key(self, kid):
        raise RuntimeError("disk on fire")


def test_unexpected_exception_is_internal_error_logged_without_payload(caplog):
    """A stage bug is not a refusal: it passes the chain and the verifier's one boundary answers
    check INTERNAL_ERROR (terminal.result's rule), logging the error type but not the payload."""
    broken = ExplodingTrust(TRUST.signed, TRUST.keys)
    with pytest.raises(RuntimeError):
        native.read(GOOD, VerifyContext(now=NOW, skew=30, trust=broken))
    with caplog.at_level(logging.DEBUG):
        r = Verifier(broken).verify(GOOD, NOW)
    assert (r.decision, r.reason) == (Decision.CHECK, Reason.INTERNAL_ERROR)
    assert "RuntimeError" in caplog.text
    assert GOOD[4:40] not in caplog.text and "disk on fire" not in caplog.text


def test_non_text_input_is_denied():
    for thing in (None, b"SP1:", 42):
        r = native.read(thing, CTX)
        assert r.decision is Decision.DENY and r.reason is Reason.FORMAT_UNKNOWN


@pytest.mark.parametrize("name, masked", [("张三丰", "张*丰"), ("欧阳娜娜", "欧**娜"), ("张三", "张*"),
                                          ("王", "*"), ("John Smith", "J********h"),
                                          ("  李四  ", "李*")])
def test_mask_name(name, masked):
    assert names.mask_name(name) == masked
    assert names.is_masked(masked)


@pytest.mark.parametrize("name", ["张三丰", "张三", "王", "J*hn", "**"[:1] + "a"])
def test_unmasked_names_are_recognised(name):
    assert not names.is_masked(name)


# --- property tests: never an exception, never a pass for anything but the genuine text ------

@FUZZ
@given(st.text(max_size=600))
def test_random_text_never_passes(text):
    r = dispatch.read("SP1:" + text, CTX)
    assert r.decision is not Decision.PASS


@FUZZ
@given(st.text(alphabet=base45.ALPHABET, max_size=600))
def test_random_base45_never_passes(text):
    assert native.read("SP1:" + text, CTX).decision is not Decision.PASS


@FUZZ
@given(st.binary(max_size=400))
def test_random_compressed_bytes_never_pass(data):
    text = "SP1:" + base45.encode(zlib.compress(data))
    assert native.read(text, CTX).decision is not Decision.PASS


@FUZZ
@given(st.data())
def test_mutated_credential_never_passes(data):
    text = GOOD
    for _ in range(data.draw(st.integers(1, 3))):
        if not text:
            break
        op = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate", "swap"]))
        i = data.draw(st.integers(0, len(text) - 1))
        ch = data.draw(st.sampled_from(base45.ALPHABET + "sp\n"))
        if op == "replace":
            text = text[:i] + ch + text[i + 1:]
        elif op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        elif op == "truncate":
            text = text[:i]
        else:
            j = data.draw(st.integers(0, len(text) - 1))
            chars = list(text)
            chars[i], chars[j] = chars[j], chars[i]
            text = "".join(chars)
    assume(text != GOOD)
    r = dispatch.read(text, CTX)
    assert r.decision is not Decision.PASS
    assert isinstance(r.reason, Reason)


@FUZZ
@given(st.binary(min_size=1, max_size=300), st.integers(0, 300))
def test_mutated_cose_bytes_never_pass(patch, where):
    sign1 = SIGN1
    where %= len(sign1)
    mutated = sign1[:where] + patch + sign1[where + len(patch):]
    assume(mutated != sign1)
    assert native.read(kit.wrap(mutated), CTX).decision is not Decision.PASS
