"""The generic chain stages: Base45, bounded inflate, strict CBOR, COSE_Sign1."""

from __future__ import annotations

import os
import zlib

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.errors import CredentialError
from terminal.formats import base45, cbor, cose, inflate
from terminal.reasons import Reason

# --- Base45 (RFC 9285 examples) ---------------------------------------------------------------

@pytest.mark.parametrize("raw, text", [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"),
                                       (b"base-45", "UJCLQE7W581"), (b"ietf!", "QED8WEX0"),
                                       (b"", "")])
def test_base45_rfc_examples(raw, text):
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


@given(st.binary(max_size=300))
def test_base45_round_trip(data):
    assert base45.decode(base45.encode(data)) == data


@pytest.mark.parametrize("text, why", [("A", "dangling"), ("GGW", "exceeds two bytes"),
                                       ("::", "exceeds one byte"), ("abc", "not Base45"),
                                       ("AB\n", "not Base45")])
def test_base45_rejects(text, why):
    with pytest.raises(base45.Base45Error, match=why) as info:
        base45.decode(text)
    assert info.value.reason is Reason.BASE45_INVALID


# --- inflate ----------------------------------------------------------------------------------

def test_inflate_round_trip_and_limit_edge():
    data = os.urandom(1000)
    assert inflate.inflate(zlib.compress(data), limit=1000) == data
    with pytest.raises(inflate.PayloadTooLarge):
        inflate.inflate(zlib.compress(data), limit=999)


def test_inflate_refuses_qr_sized_bomb_without_inflating_it():
    bomb = zlib.compress(b"\0" * 2_900_000, 9)
    assert len(bomb) < 3000  # fits a QR code
    with pytest.raises(inflate.PayloadTooLarge) as info:
        inflate.inflate(bomb)
    assert info.value.reason is Reason.PAYLOAD_TOO_LARGE


@pytest.mark.parametrize("mangle, why", [(lambda z: z[:-4], "truncated"),
                                         (lambda z: z + b"X", "stray bytes"),
                                         (lambda z: b"\x00" + z, "damaged")])
def test_inflate_rejects_damaged_streams(mangle, why):
    with pytest.raises(inflate.DecompressionError, match=why):
        inflate.inflate(mangle(zlib.compress(b"credential" * 20)))


# --- strict CBOR -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 23, 24, 2**64 - 1, -1, -2**64, b"", b"\x00\xff", "", "张*三",
                                   [1, [2, [3]]], {1: 2, "a": b"x", b"k": None}, True, False,
                                   None, 1.5, cbor.Tag(18, [b"", {}, b"p", b"s"])])
def test_cbor_round_trip(value):
    assert cbor.loads(cbor.dumps(value)) == value


def test_cbor_reads_what_cbor2_writes_noncanonically():
    assert cbor.loads(cbor2.dumps({"b": 1, "a": [1.25, "x"]})) == {"b": 1, "a": [1.25, "x"]}


@pytest.mark.parametrize("data, why", [
    (b"\x01\x02", "trailing"),                       # cbor2 would return 1
    (b"\xa2\x01\x01\x01\x02", "duplicate"),          # cbor2 would merge to {1: 2}
    (b"\xa2\x61a\x01\x61a\x02", "duplicate"),
    (b"\x81" * 17 + b"\x01", "deeper than 16"),
    (b"\x9f\x01\xff", "indefinite"),
    (b"\x62a", "runs past"),
    (b"\x62\xff\xfe", "UTF-8"),
    (b"\x9b" + b"\xff" * 8, "more than the data"),
    (b"\xbb" + b"\x00\x00\x00\x01\x00\x00\x00\x00", "more than the data"),
    (b"\x1c", "reserved"),
    (b"\xf0", "simple value"),
    (b"\xff", "break"),
    (b"\xa1\xf5\x01", "key of type bool"),
    (b"\xa1\x80\x01", "key of type list"),
    (b"", "runs past"),
    (b"\x1f", "indefinite length is not allowed"),
])
def test_cbor_rejects(data, why):
    with pytest.raises(cbor.CBORError, match=why) as info:
        cbor.loads(data)
    assert info.value.reason is Reason.CBOR_INVALID


def test_cbor_depth_16_is_allowed_and_indefinite_only_on_request():
    nested = 1
    for _ in range(16):
        nested = [nested]
    assert cbor.loads(b"\x81" * 16 + b"\x01") == nested
    assert cbor.loads(b"\x9f\x01\x5f\x41a\x41b\xff\xff", allow_indefinite=True) == [1, b"ab"]


@given(st.binary(max_size=200))
def test_cbor_never_raises_anything_but_cbor_error(data):
    try:
        cbor.loads(data)
    except cbor.CBORError:
        pass


# --- COSE_Sign1 ----------------------------------------------------------------------------------

def test_cose_round_trip_and_signed_bytes():
    protected = {cose.HEADER_ALG: -7, cose.HEADER_KID: b"kid1"}
    blob = cose.encode_sign1(protected, {}, b"payload", b"sig")
    sign1 = cose.parse_sign1(blob)
    assert (sign1.kid, sign1.alg, sign1.payload, sign1.signature) == (b"kid1", -7, b"payload", b"sig")
    assert cose.sig_structure(sign1) == cose.to_be_signed(protected, b"payload")
    assert cose.sig_structure(sign1)[:12] == b"\x84\x6aSignature1"


def test_cose_kid_from_unprotected_when_not_protected():
    blob = cbor.dumps([cbor.dumps({1: -7}), {4: b"abc"}, b"p", b"s"])
    assert cose.parse_sign1(blob).kid == b"abc"


@pytest.mark.parametrize("obj, why", [
    (cbor.Tag(17, [b"", {}, b"p", b"s"]), "not COSE_Sign1"),
    ([b"", {}, b"p"], "array of 4"),
    ([{}, {}, b"p", b"s"], "protected header must be a byte string"),
    ([b"", [], b"p", b"s"], "unprotected header must be a map"),
    ([b"", {}, None, b"s"], "detached"),
    ([b"", {}, b"p", "s"], "signature must be a byte string"),
    ([cbor.dumps([1]), {}, b"p", b"s"], "must encode a map"),
    ([cbor.dumps({4: b"a"}), {4: b"b"}, b"p", b"s"], "both buckets"),
])
def test_cose_rejects(obj, why):
    with pytest.raises(cose.COSEError, match=why):
        cose.parse_sign1(cbor.dumps(obj))


def test_cose_critical_headers():
    def parsed(protected, unprotected=None):
        return cose.parse_sign1(cose.encode_sign1(protected, unprotected or {}, b"p", b"s"))

    cose.check_critical(parsed({1: -7, 2: [1]}), understood={1, 4})
    with pytest.raises(cose.CriticalHeaderUnknown) as info:
        cose.check_critical(parsed({1: -7, 2: [99], 99: 0}), understood={1, 4})
    assert info.value.reason is Reason.CRITICAL_HEADER_UNKNOWN
    for bad in ({2: []}, {2: 5}, {2: [99]}):
        with pytest.raises(cose.COSEError):
            cose.check_critical(parsed(bad), understood={1, 4, 99})
    with pytest.raises(cose.COSEError, match="must be protected"):
        cose.check_critical(parsed({1: -7}, {2: [1]}), understood={1})


def test_stage_errors_are_credential_errors_with_reasons():
    for exc in (base45.Base45Error, inflate.DecompressionError, inflate.PayloadTooLarge,
                cbor.CBORError, cose.COSEError, cose.CriticalHeaderUnknown):
        assert issubclass(exc, CredentialError) and issubclass(exc, ValueError)
        assert isinstance(exc.reason, Reason)
