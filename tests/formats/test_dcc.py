"""The EU DCC format (``HC1:``) on codes signed here with throwaway keys: every stage and reason."""

from __future__ import annotations

import dataclasses
import hashlib
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.crypto import ecdsa
from terminal.formats import base45, cbor, cose, dcc, dsc, names
from terminal.formats.chain import VerifyContext
from terminal.reasons import Decision, Reason
from tools import dcc_sample as sample

NOW = time.time()
YEAR = 365 * 86400


@pytest.fixture(scope="module")
def ec_signer():
    return sample.make_signer("ec", eku=[sample.EKU["v"], sample.EKU["t"], sample.EKU["r"]])


@pytest.fixture(scope="module")
def rsa_signer():
    return sample.make_signer("rsa")


def ctx_for(*ders, now=NOW, skew=0.0):
    return VerifyContext(now=now, skew=skew, dsc=dsc.DscStore.from_der(ders))


def hc1_from_cose(obj) -> str:
    return sample.encode_hc1(cbor.dumps(obj))


def cose_parts(text: str) -> list:
    """The 4 items of the COSE_Sign1 inside an HC1 text (for tampering)."""
    obj = cbor.loads(zlib.decompress(base45.decode(text[4:])))
    return list(obj.value)


# --- passing codes -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, type_", [("v", "dcc-vaccination"), ("t", "dcc-test"),
                                         ("r", "dcc-recovery")])
def test_es256_code_passes_with_masked_credential(ec_signer, kind, type_):
    key, der = ec_signer
    text = sample.make_dcc(key, der, kind, iat=NOW - 60, exp=NOW + 3600)
    result = dcc.read(text, ctx_for(der))
    assert (result.decision, result.reason, result.format) == (Decision.PASS, Reason.OK, "dcc")
    cred = result.credential
    assert cred.type == type_ and cred.format == "dcc" and cred.issuer == "DE"
    assert cred.key_id == dsc.kid_of(der).hex()
    assert cred.issued_at == int(NOW - 60) and cred.not_before == cred.issued_at
    assert cred.expires == int(NOW + 3600)
    ci = sample.SAMPLE_ENTRIES[kind]["ci"]
    assert cred.serial == hashlib.sha256(ci.encode()).digest()[:16]
    assert cred.masked_name == "E*** M***"
    shown = repr(result)
    for secret in ("Erika", "Mustermann", "MUSTERMANN", "1964-08-12", ci):
        assert secret not in shown


def test_ps256_code_passes(rsa_signer):
    key, der = rsa_signer
    result = dcc.read(sample.make_dcc(key, der, "t"), ctx_for(der))
    assert result.passed, result


def test_kid_in_unprotected_header_is_used(ec_signer):
    key, der = ec_signer
    assert dcc.read(sample.make_dcc(key, der, kid_unprotected=True), ctx_for(der)).passed


def test_every_certificate_with_the_kid_is_tried(ec_signer):
    """Kids are 8 bytes and collide: a wrong certificate with the same kid must not hide the right one."""
    key, der = ec_signer
    _, other = sample.make_signer("ec")
    store = dsc.DscStore()
    impostor = dataclasses.replace(dsc.signer_certificate(other), kid=dsc.kid_of(der))
    store.add(impostor)
    store.add(dsc.signer_certificate(der))
    assert len(store.find(dsc.kid_of(der))) == 2
    assert dcc.read(sample.make_dcc(key, der), VerifyContext(now=NOW, dsc=store)).passed
    only_impostor = dsc.DscStore([impostor])
    result = dcc.read(sample.make_dcc(key, der), VerifyContext(now=NOW, dsc=only_impostor))
    assert result.reason is Reason.SIGNATURE_INVALID


def test_protected_kid_wins_over_unprotected(ec_signer):
    """A kid in both buckets is read from the protected one (EU suite cases CO21/CO22)."""
    key, der = ec_signer
    payload = cbor.dumps(sample.claims())
    good = sample.sign_cose(key, {1: ecdsa.ES256, 4: dsc.kid_of(der)}, {4: b"wrongkid"}, payload)
    assert dcc.read(sample.encode_hc1(good), ctx_for(der)).passed
    bad = sample.sign_cose(key, {1: ecdsa.ES256, 4: b"wrongkid"}, {4: dsc.kid_of(der)}, payload)
    assert dcc.read(sample.encode_hc1(bad), ctx_for(der)).reason is Reason.KEY_UNKNOWN


# --- refusals, stage by stage --------------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("HC2:6BFOXN", Reason.PREFIX_INVALID),
    ("hc1:6BFOXN", Reason.PREFIX_INVALID),
    ("6BFOXN%TS3DH", Reason.PREFIX_INVALID),
    ("HC1:abc", Reason.BASE45_INVALID),
    ("HC1:" + "0" * 5000, Reason.PAYLOAD_TOO_LARGE),
    ("HC1:A", Reason.BASE45_INVALID),
    ("HC1:" + base45.encode(b"\x78\x9c\x00garbage"), Reason.DECOMPRESSION_FAILED),
    ("HC1:" + base45.encode(zlib.compress(b"\0" * 200_000, 9)), Reason.PAYLOAD_TOO_LARGE),
    ("HC1:" + base45.encode(zlib.compress(b"\xd2\x84\x40\xa0\x40\x40\x00")), Reason.CBOR_INVALID),
    ("HC1:" + base45.encode(zlib.compress(cbor.dumps([b"", {}, b""]))), Reason.COSE_INVALID),
])
def test_malformed_codes_are_refused_with_their_stage_reason(ec_signer, text, reason):
    result = dcc.read(text, ctx_for(ec_signer[1]))
    assert (result.decision, result.reason, result.credential) == (Decision.DENY, reason, None)
    assert result.detail


def test_uncompressed_cose_is_refused(ec_signer):
    """The specification requires zlib; a bare COSE message is not accepted (EU suite case Z2)."""
    key, der = ec_signer
    text = sample.make_dcc(key, der)
    bare = sample.encode_hc1(zlib.decompress(base45.decode(text[4:])), compress=False)
    assert dcc.read(bare, ctx_for(der)).reason is Reason.DECOMPRESSION_FAILED


def test_unknown_critical_header_refused(ec_signer):
    key, der = ec_signer
    signed = sample.sign_cose(key, {1: ecdsa.ES256, 4: dsc.kid_of(der), 2: [99], 99: 1}, {},
                              cbor.dumps(sample.claims()))
    assert dcc.read(sample.encode_hc1(signed), ctx_for(der)).reason is Reason.CRITICAL_HEADER_UNKNOWN


def test_trust_problems(ec_signer):
    key, der = ec_signer
    text = sample.make_dcc(key, der)
    assert dcc.read(text, VerifyContext(now=NOW)).reason is Reason.TRUST_LIST_MISSING
    _, other = sample.make_signer("ec")
    assert dcc.read(text, ctx_for(other)).reason is Reason.KEY_UNKNOWN
    no_kid = sample.sign_cose(key, {1: ecdsa.ES256}, {}, cbor.dumps(sample.claims()))
    assert dcc.read(sample.encode_hc1(no_kid), ctx_for(der)).reason is Reason.KEY_UNKNOWN


def test_altered_payload_or_signature_is_forged(ec_signer):
    key, der = ec_signer
    parts = cose_parts(sample.make_dcc(key, der))
    altered = cbor.dumps(sample.claims(exp=NOW + 10 * YEAR))
    forged = hc1_from_cose(cbor.Tag(18, [parts[0], parts[1], altered, parts[3]]))
    assert dcc.read(forged, ctx_for(der)).reason is Reason.SIGNATURE_INVALID
    bad_sig = parts[3][:-1] + bytes([parts[3][-1] ^ 1])
    assert dcc.read(hc1_from_cose(cbor.Tag(18, parts[:3] + [bad_sig])), ctx_for(der)).reason \
        is Reason.SIGNATURE_INVALID
    # a signature that fails is reported as such even when the payload is not a credential
    junk = hc1_from_cose(cbor.Tag(18, [parts[0], parts[1], b"\x01", parts[3]]))
    assert dcc.read(junk, ctx_for(der)).reason is Reason.SIGNATURE_INVALID


def test_algorithm_must_be_es256_or_ps256_and_match_the_key(ec_signer, rsa_signer):
    key, der = ec_signer
    payload = cbor.dumps(sample.claims())
    es384 = sample.sign_cose(key, {1: -35, 4: dsc.kid_of(der)}, {}, payload)
    assert dcc.read(sample.encode_hc1(es384), ctx_for(der)).reason is Reason.ALGORITHM_UNSUPPORTED
    # an ES256 signature relabelled PS256 against an EC certificate
    parts = cose_parts(sample.make_dcc(key, der))
    relabelled = cbor.dumps({1: ecdsa.PS256, 4: dsc.kid_of(der)})
    text = hc1_from_cose(cbor.Tag(18, [relabelled, {}, parts[2], parts[3]]))
    assert dcc.read(text, ctx_for(der)).reason is Reason.SIGNATURE_INVALID


def test_signed_but_malformed_claims(ec_signer):
    key, der = ec_signer
    base = sample.claims()
    both = sample.claims()
    both[-260][1]["t"] = [sample.SAMPLE_ENTRIES["t"]]
    no_ci = sample.claims(entry={k: v for k, v in sample.SAMPLE_ENTRIES["v"].items() if k != "ci"})
    for claims in ({k: v for k, v in base.items() if k != -260},
                   {k: v for k, v in base.items() if k != 4},
                   {**base, 6: "yesterday"}, {**base, 1: 276}, both, no_ci, [1, 2]):
        signed = sample.sign_cose(key, {1: ecdsa.ES256, 4: dsc.kid_of(der)}, {}, cbor.dumps(claims))
        result = dcc.read(sample.encode_hc1(signed), ctx_for(der))
        assert result.reason is Reason.CLAIMS_INVALID, claims
    trailing = sample.sign_cose(key, {1: ecdsa.ES256, 4: dsc.kid_of(der)}, {}, cbor.dumps(base) + b"\0")
    assert dcc.read(sample.encode_hc1(trailing), ctx_for(der)).reason is Reason.CBOR_INVALID


def test_null_entries_of_early_encoders_are_ignored(ec_signer):
    key, der = ec_signer
    claims = sample.claims("r")
    claims[-260][1].update({"v": None, "t": None})
    signed = sample.sign_cose(key, {1: ecdsa.ES256, 4: dsc.kid_of(der)}, {}, cbor.dumps(claims))
    result = dcc.read(sample.encode_hc1(signed), ctx_for(der))
    assert result.passed and result.credential.type == "dcc-recovery"


# --- time ----------------------------------------------------------------------------------------

def test_expired_not_yet_valid_and_skew(ec_signer):
    key, der = ec_signer
    expired = dcc.read(sample.make_dcc(key, der, iat=NOW - 7200, exp=NOW - 1), ctx_for(der))
    assert expired.reason is Reason.EXPIRED
    assert expired.credential is not None and expired.credential.type == "dcc-vaccination"
    early = sample.make_dcc(key, der, iat=NOW + 120, exp=NOW + 3600)
    assert dcc.read(early, ctx_for(der)).reason is Reason.NOT_YET_VALID
    assert dcc.read(early, ctx_for(der, skew=300)).passed
    at = int(NOW)
    assert dcc.read(sample.make_dcc(key, der, exp=at), ctx_for(der, now=at)).passed  # last second counts
    assert dcc.read(sample.make_dcc(key, der, exp=at), ctx_for(der, now=at + 1)).reason is Reason.EXPIRED


def test_signer_certificate_must_be_valid_now():
    key, der = sample.make_signer("ec", not_before=NOW - 2 * YEAR, not_after=NOW - YEAR)
    text = sample.make_dcc(key, der, iat=NOW - 60, exp=NOW + 3600)
    assert dcc.read(text, ctx_for(der)).reason is Reason.KEY_NOT_VALID
    assert dcc.read(text, ctx_for(der, now=NOW - YEAR - 86400)).reason is Reason.NOT_YET_VALID


# --- key usage -----------------------------------------------------------------------------------

@pytest.mark.parametrize("eku, kind, allowed", [
    (None, "t", True),                                          # no EKU extension: signs all
    ([sample.EKU["v"]], "v", True),
    ([sample.EKU["v"]], "t", False),
    ([sample.EKU["v"]], "r", False),
    ([sample.EKU["t"], sample.EKU["r"]], "r", True),
    (["1.3.6.1.4.1.0.1847.2021.1.1"], "t", True),               # the early, misprinted OID
    (["1.3.6.1.4.1.0.1847.2021.1.1"], "v", False),
    (["2.23.136.1.1.14.2"], "v", False),                        # only an unrelated usage
])
def test_extended_key_usage_limits_certificate_types(eku, kind, allowed):
    key, der = sample.make_signer("ec", eku=eku)
    result = dcc.read(sample.make_dcc(key, der, kind), ctx_for(der))
    assert result.passed is allowed
    if not allowed:
        assert result.reason is Reason.KEY_USAGE_INVALID


# --- never raises --------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_read_never_raises_on_any_text(ec_signer, tail):
    for text in ("HC1:" + tail, tail):
        result = dcc.read(text, ctx_for(ec_signer[1]))
        assert result.decision is Decision.DENY


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_read_never_passes_a_mutated_code(ec_signer, data):
    key, der = ec_signer
    raw = bytearray(zlib.decompress(base45.decode(sample.make_dcc(key, der)[4:])))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    result = dcc.read(sample.encode_hc1(bytes(raw)), ctx_for(der))
    assert result.decision is Decision.DENY
    assert result.reason is not Reason.INTERNAL_ERROR


def test_decode_exposes_artefacts_and_the_refusing_stage(ec_signer):
    key, der = ec_signer
    text = sample.make_dcc(key, der, iat=NOW - 7200, exp=NOW - 1)
    out = dcc.decode(text, ctx_for(der))
    assert (out.reason, out.stage) == (Reason.EXPIRED, "validity")
    assert out.base45 == text[4:] and isinstance(out.sign1, cose.Sign1)
    assert out.signer.kid == dsc.kid_of(der) and out.claims.kind == "v"


# --- masking ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("nam, masked", [
    ({"fn": "Musterfrau-Gößinger", "gn": "Gabriele"}, "G*** M***"),
    ({"fn": "Ткаченко", "fnt": "TKACHENKO", "gn": "Мар'яна"}, "М*** Т***"),
    ({"fnt": "DOE"}, "D***"),
    ({"fn": " ", "fnt": "X", "gn": ""}, "X***"),
    ({}, None), (None, None), ("Erika", None),
])
def test_mask_name(nam, masked):
    assert names.initials(nam) == masked
    if masked is not None:
        assert names.is_masked(masked, names.DCC)
    assert not names.is_masked("Marie Dupont", names.DCC) and not names.is_masked("M*** Dupont", names.DCC)
