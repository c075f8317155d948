"""Signed lists: the envelope shared by trust lists and revocation lists.

A signed list is a COSE_Sign1 signed with SM2/SM3 by the root key pinned in the terminal config;
its payload is a CBOR map ``{kind, version, issued, valid_until, body}`` (see
``docs/credential-format.md`` §5). This module checks the envelope and the signature only; the
caller compares versions (they only go up) and judges freshness against its clock.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from terminal.crypto import sm2, sm3
from terminal.errors import CredentialError, KeyFormatError, TrustListError
from terminal.formats import cbor, cose

log = logging.getLogger(__name__)

ALG_SM2_SM3 = -65537
"""COSE algorithm id (private-use range) for an SM2 signature over SM3 with the pinned signer ID."""

HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_KID = 4

KEY_ID_LENGTH = 8
MAX_LIST_BYTES = 1 << 20
"""Default cap for a trust list file (a revocation list passes its own, larger ``max_bytes``)."""

_FIELDS = ("kind", "version", "issued", "valid_until", "body")


@dataclass(frozen=True)
class SignedList:
    """A verified list: what it is, which version, when made, until when it may be relied on."""

    kind: str
    version: int
    issued: int
    valid_until: int
    body: dict

    def stale(self, now: float) -> bool:
        """True once ``now`` is past ``valid_until``: the list may no longer be relied on (and
        for a ``now`` that is not a finite number: no list is current at an unknown time)."""
        return not math.isfinite(now) or now > self.valid_until


def key_id(public_key: bytes) -> bytes:
    """The 8-byte key id of an SM2 public key: ``SM3(X ‖ Y)[0:8]``."""
    x, y = sm2.parse_public_key(public_key)
    return sm3.sm3(x.to_bytes(32, "big") + y.to_bytes(32, "big"))[:KEY_ID_LENGTH]


def sign_list(kind: str, version: int, issued: int, valid_until: int, body: dict,
              private_key: int) -> bytes:
    """Sign a list with the root ``private_key``; returns the COSE_Sign1 bytes to publish."""
    if not kind or not isinstance(kind, str):
        raise ValueError("list kind must be a non-empty string")
    if not isinstance(version, int) or version < 1:
        raise ValueError("list version must be an integer >= 1")
    if not (isinstance(issued, int) and isinstance(valid_until, int) and 0 <= issued < valid_until):
        raise ValueError("need integer times with 0 <= issued < valid_until")
    if not isinstance(body, dict):
        raise ValueError("list body must be a dict")
    payload = cbor.dumps({"kind": kind, "version": version, "issued": issued,
                          "valid_until": valid_until, "body": body})
    protected = {HEADER_ALG: ALG_SM2_SM3, HEADER_KID: key_id(sm2.public_key_of(private_key))}
    signature = sm2.sign(private_key, cose.to_be_signed(protected, payload))
    return cose.encode_sign1(protected, {}, payload, signature)


def verify_list(data: bytes, root_public_key: bytes, kind: str, *,
                max_bytes: int = MAX_LIST_BYTES) -> SignedList:
    """Check a signed list's size, envelope, root signature and fields; return what it says.

    Raises :class:`TrustListError` naming what is wrong. It does not compare versions or judge
    staleness: the caller holds the previous version and the clock.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TrustListError(f"{kind} list: expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise TrustListError(f"{kind} list is {len(data)} bytes, more than the {max_bytes} allowed",
                             code="too-large")
    try:
        root_kid = key_id(root_public_key)
    except KeyFormatError as exc:
        raise TrustListError(f"configured root key is invalid: {exc}") from None
    try:
        sign1 = cose.parse_sign1(bytes(data))
        cose.check_critical(sign1, {HEADER_ALG, HEADER_KID})
    except CredentialError as exc:
        raise TrustListError(f"{kind} list envelope is malformed: {exc}") from None
    if sign1.alg != ALG_SM2_SM3:
        raise TrustListError(f"{kind} list is signed with algorithm {sign1.alg!r}, not SM2/SM3")
    kid = sign1.protected.get(HEADER_KID) if isinstance(sign1.protected, dict) else None
    if not isinstance(kid, bytes) or kid != root_kid:
        shown = kid.hex() if isinstance(kid, bytes) else "none"
        raise TrustListError(
            f"{kind} list is signed by key {shown}, not the pinned root {root_kid.hex()}: "
            "check [trust] root_key", code="wrong-signer")
    message = cose.sig_structure(sign1)
    if not sm2.verify(root_public_key, message, sign1.signature):
        raise TrustListError(f"{kind} list signature does not verify against the pinned root key",
                             code="bad-signature")
    try:
        payload = cbor.loads(sign1.payload)
    except CredentialError as exc:
        raise TrustListError(f"{kind} list payload is malformed CBOR: {exc}") from None
    return _fields(payload, kind)


def _fields(payload: object, kind: str) -> SignedList:
    if not isinstance(payload, dict) or set(payload) != set(_FIELDS):
        raise TrustListError(f"{kind} list payload must be a map with exactly {', '.join(_FIELDS)}")
    got_kind = payload["kind"]
    if got_kind != kind:
        raise TrustListError(f"expected a {kind} list, got kind {got_kind!r}")
    for name in ("version", "issued", "valid_until"):
        value = payload[name]
        if type(value) is not int or value < 0:
            raise TrustListError(f"{kind} list field {name} must be a non-negative integer")
    if payload["version"] < 1:
        raise TrustListError(f"{kind} list version must be >= 1")
    if payload["valid_until"] <= payload["issued"]:
        raise TrustListError(f"{kind} list valid_until is not after issued")
    if not isinstance(payload["body"], dict):
        raise TrustListError(f"{kind} list body must be a map")
    return SignedList(kind, payload["version"], payload["issued"], payload["valid_until"],
                      payload["body"])
