"""What an issuer signs: native credentials and the lists terminals trust.

Low level on purpose — the test-vector generator builds malformed credentials with the same
functions. Signing uses the project's SM2 code with a nonce from :mod:`secrets` (never gmssl's
signer, whose nonce comes from Mersenne Twister). Holder IDs are only ever hashed (HMAC-SM3 under
the issuer's holder key) and names masked before they are signed.
"""

from __future__ import annotations

import secrets
import zlib
from typing import Any

from terminal.crypto import sm2, sm3
from terminal.formats import base45, cbor, cose, native
from terminal.formats.names import mask_name
from terminal.lists import listfiles
from terminal.lists.signedlist import ALG_SM2_SM3, key_id, sign_list

DEFAULT_TTL = 60


def holder_hash(holder_key: bytes, holder_id: str) -> bytes:
    """The 16-byte keyed hash of a holder ID: HMAC-SM3(key, UTF-8(upper(strip(ID))))[0:16]."""
    return sm3.hmac_sm3(holder_key, holder_id.strip().upper().encode("utf-8"))[:native.HOLDER_HASH_LENGTH]


def encode_credential(claims: dict[int, Any], private_key: int, *,
                      protected: dict[int, Any] | None = None,
                      unprotected: dict[int, Any] | None = None, prefix: str = native.PREFIX,
                      k: int | None = None) -> str:
    """Sign a claims map and wrap it (COSE_Sign1 → zlib → Base45 → prefix) into QR text.

    ``protected`` defaults to alg SM2/SM3 and the signer's key id. Low level on purpose: the test
    vector generator uses it to build malformed credentials too.
    """
    if protected is None:
        protected = {cose.HEADER_ALG: ALG_SM2_SM3,
                     cose.HEADER_KID: key_id(sm2.public_key_of(private_key))}
    payload = cbor.dumps(claims)
    signature = sm2.sign(private_key, cose.to_be_signed(protected, payload), k=k)
    sign1 = cose.encode_sign1(protected, unprotected or {}, payload, signature)
    return prefix + base45.encode(zlib.compress(sign1, 9))


def credential_claims(*, issuer: str, kid: bytes, type: str, name: str, holder_id: str,
                      holder_key: bytes, now: int, ttl: int = DEFAULT_TTL,
                      status: str | None = None, serial: bytes | None = None,
                      id_tail: bool | None = None) -> dict[int, Any]:
    """The claims map of a new credential: masked name, hashed holder ID, random serial.

    ``id_tail`` (default: only for insurance and social-security) adds the ID's last 4 characters.
    """
    claims = {
        native.ISSUER: issuer,
        native.KID: kid,
        native.IAT: now,
        native.NBF: now,
        native.EXP: now + ttl,
        native.SERIAL: serial if serial is not None else secrets.token_bytes(native.SERIAL_LENGTH),
        native.TYPE: type,
        native.NAME_CLAIM: mask_name(name),
        native.HOLDER: holder_hash(holder_key, holder_id),
    }
    if status is not None:
        claims[native.STATUS] = status
    if id_tail is None:
        id_tail = type in ("insurance", "social-security")
    if id_tail and holder_id.strip():
        claims[native.ID_TAIL] = holder_id.strip().upper()[-native.MAX_ID_TAIL:]
    return claims


def trust_entry(public_key: bytes, issuer: str, valid_from: int, valid_to: int,
                types: tuple[str, ...] | list[str], alg: int = ALG_SM2_SM3,
                kid: bytes | None = None) -> dict[str, Any]:
    """One trust-list entry for an issuer key (``kid`` defaults to the key's derived id)."""
    return {"kid": kid if kid is not None else key_id(public_key), "issuer": issuer, "alg": alg,
            "valid_from": valid_from, "valid_to": valid_to, "types": list(types),
            "public_key": bytes(public_key)}


def sign_trust_list(entries: list[dict[str, Any]], version: int, issued: int, valid_until: int,
                    root_private_key: int) -> bytes:
    """A signed trust list (kind ``trust``) holding ``entries``."""
    return sign_list("trust", version, issued, valid_until, {"keys": entries}, root_private_key)


def sign_revocation_list(hashes: bytes, version: int, issued: int, valid_until: int,
                         root_private_key: int) -> bytes:
    """A signed revocation snapshot (kind ``revocation``) in the sync part's format."""
    return listfiles.sign_snapshot(version, issued, valid_until, hashes, root_private_key)


