"""PROVISIONAL stand-in for the native engineer's signed-list envelope (same contract).

The sync branch needs ``sign_list``/``verify_list`` before the real module lands; this file
implements the published contract minimally (CBOR payload + SM2 signature by the pinned root key)
and is replaced by the native engineer's ``terminal/signedlist.py`` at merge. Nothing else in the
sync code depends on its byte layout: all envelope calls go through ``terminal/listfiles.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from terminal.crypto import sm2
from terminal.crypto.sm3 import sm3
from terminal.errors import CredentialError, KeyFormatError, TrustListError
from terminal.formats import cbor


@dataclass(frozen=True)
class SignedList:
    kind: str
    version: int
    issued: int
    valid_until: int
    body: dict


def _kid(public_key: bytes) -> bytes:
    return sm3(bytes(public_key))[:8]


def sign_list(kind: str, version: int, issued: int, valid_until: int, body: dict,
              private_key: int) -> bytes:
    """Sign a list with the root key."""
    payload = cbor.dumps({"kind": kind, "version": int(version), "issued": int(issued),
                          "valid_until": int(valid_until), "body": body})
    pub = sm2.public_key_of(private_key)
    return cbor.dumps([_kid(pub), payload, sm2.sign(private_key, payload)])


def verify_list(data: bytes, root_public_key: bytes, kind: str, *, max_bytes: int) -> SignedList:
    """Check size, envelope, signer and signature, then kind; return the list."""
    if len(data) > max_bytes:
        raise TrustListError(f"{kind} list is {len(data)} bytes, over the cap of {max_bytes}")
    try:
        env = cbor.loads(data)
        kid, payload, sig = env
        if not (isinstance(kid, bytes) and isinstance(payload, bytes) and isinstance(sig, bytes)):
            raise ValueError("envelope fields")
    except (CredentialError, ValueError, TypeError) as exc:
        raise TrustListError(f"{kind} list envelope is malformed: {exc}") from None
    if kid != _kid(root_public_key):
        raise TrustListError(f"{kind} list is signed by key {kid.hex()}, not the pinned root key "
                             f"{_kid(root_public_key).hex()} (wrong signer)")
    try:
        good = sm2.verify(root_public_key, payload, sig)
    except KeyFormatError as exc:
        raise TrustListError(f"pinned root key is invalid: {exc}") from None
    if not good:
        raise TrustListError(f"{kind} list signature does not verify (corrupted or forged)")
    try:
        claims = cbor.loads(payload)
        lst = SignedList(claims["kind"], int(claims["version"]), int(claims["issued"]),
                         int(claims["valid_until"]), claims["body"])
    except (CredentialError, KeyError, TypeError, ValueError) as exc:
        raise TrustListError(f"{kind} list payload is malformed: {exc}") from None
    if lst.kind != kind:
        raise TrustListError(f"expected a {kind} list, got a {lst.kind} list")
    if not isinstance(lst.body, dict):
        raise TrustListError(f"{kind} list body is not a map")
    return lst
