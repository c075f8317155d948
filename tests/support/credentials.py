"""Builders for native-format tests and the vector generator: fixed keys, lists, credentials.

Keys are derived from fixed labels so vectors and tests agree without storing private keys in
JSON. They are test keys only.
"""

from __future__ import annotations

import random
import zlib

from terminal.crypto import sm2, sm3
from terminal.formats import base45, cbor, cose, native
from terminal.issuer import credentials as iss
from terminal.lists.signedlist import ALG_SM2_SM3, key_id, sign_list
from terminal.lists.trust import TrustList

DAY = 86400
NOW = 1767225600  # 2026-01-01T00:00:00Z: the verification time of every vector


def test_key(label: str) -> int:
    """A fixed private key derived from ``label`` (tests only)."""
    return int.from_bytes(sm3.sm3(b"scanpoint test key " + label.encode()), "big") % (sm2.N - 2) + 1


ROOT = test_key("root")
ISSUER = test_key("issuer")
OTHER = test_key("other issuer")       # listed, but may sign insurance only
STRANGER = test_key("stranger")        # not in the trust list
OLD = test_key("retired issuer")       # listed, validity ended before NOW
ROOT_PUB = sm2.public_key_of(ROOT)
ISSUER_PUB = sm2.public_key_of(ISSUER)
ISSUER_KID = key_id(ISSUER_PUB)
HOLDER_KEY = sm3.sm3(b"scanpoint test holder key")
ISSUER_NAME = "Test Health Commission"
OTHER_NAME = "Test Insurance Bureau"


def default_entries() -> list[dict]:
    """The trust list used by the vectors: three SM2 keys with different rights and validity."""
    return [
        iss.trust_entry(ISSUER_PUB, ISSUER_NAME, NOW - 365 * DAY, NOW + 365 * DAY,
                        ["health", "insurance", "social-security"]),
        iss.trust_entry(sm2.public_key_of(OTHER), OTHER_NAME, NOW - 365 * DAY, NOW + 365 * DAY,
                        ["insurance"]),
        iss.trust_entry(sm2.public_key_of(OLD), ISSUER_NAME, NOW - 730 * DAY, NOW - 30 * DAY,
                        ["health"]),
    ]


def trust_bytes(entries: list[dict] | None = None, *, version: int = 1, issued: int = NOW - DAY,
                valid_until: int = NOW + 30 * DAY, root: int = ROOT) -> bytes:
    """A signed trust list."""
    return iss.sign_trust_list(default_entries() if entries is None else entries, version, issued,
                               valid_until, root)


#: what :func:`signed_keys` signs: stands in for a credential's Sig_structure
KEYS_MSG = b"a native credential's Sig_structure, more or less"


def signed_keys(n: int, seed: int) -> list[tuple[int, bytes, bytes]]:
    """``n`` issuer keys from ``seed``: (private, public, signature of :data:`KEYS_MSG`) each."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        d = rng.randrange(1, sm2.N - 1)
        out.append((d, sm2.public_key_of(d), sm2.sign(d, KEYS_MSG)))
    return out


def trust_of(keys: list[tuple[int, bytes, bytes]], version: int = 1) -> bytes:
    """A signed trust list holding every key of :func:`signed_keys`, for health credentials."""
    entries = [iss.trust_entry(pub, f"issuer {i}", NOW - DAY, NOW + DAY, ["health"])
               for i, (_, pub, _) in enumerate(keys)]
    return trust_bytes(entries, version=version)


def trust_list(entries: list[dict] | None = None, **kw) -> TrustList:
    """A verified, loaded trust list."""
    return TrustList.from_bytes(trust_bytes(entries, **kw), ROOT_PUB)


def claims(key: int = ISSUER, *, type: str = "health", status: str | None = "green",
           now: int = NOW, ttl: int = 60, issuer: str | None = None,
           changes: dict | None = None) -> dict:
    """Valid claims for ``key``; ``changes`` maps claim keys to new values (None deletes)."""
    c = iss.credential_claims(
        issuer=issuer or (OTHER_NAME if key == OTHER else ISSUER_NAME),
        kid=key_id(sm2.public_key_of(key)), type=type, name="张三丰",
        holder_id="11010119900101123X", holder_key=HOLDER_KEY, now=now, ttl=ttl,
        status=status if type == "health" else None, serial=bytes(range(16)))
    for k, v in (changes or {}).items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def credential(c: dict | None = None, key: int = ISSUER, **kw) -> str:
    """QR text of a credential with claims ``c`` (default valid claims) signed by ``key``."""
    return iss.encode_credential(claims(key) if c is None else c, key, **kw)


def wrap(sign1: bytes, prefix: str = native.PREFIX) -> str:
    """QR text around raw COSE bytes (for envelopes built by hand)."""
    return prefix + base45.encode(zlib.compress(sign1, 9))


def raw_sign1(payload: bytes, key: int = ISSUER, *, protected: dict | None = None,
              unprotected: dict | None = None, protected_bytes: bytes | None = None,
              signature: bytes | None = None, tag: bool = True) -> bytes:
    """A COSE_Sign1 with full control: arbitrary payload bytes, protected bytes, signature."""
    if protected is None:
        protected = {cose.HEADER_ALG: ALG_SM2_SM3, cose.HEADER_KID: key_id(sm2.public_key_of(key))}
    pb = cbor.dumps(protected) if protected_bytes is None else protected_bytes
    if signature is None:
        signature = sm2.sign(key, cbor.dumps(["Signature1", pb, b"", payload]))
    body = [pb, unprotected or {}, payload, signature]
    return cbor.dumps(cbor.Tag(18, body) if tag else body)


def signed_list(kind: str, body: dict, *, version: int = 1, root: int = ROOT,
                issued: int = NOW - DAY, valid_until: int = NOW + 30 * DAY) -> bytes:
    """Any signed list (kind and body free)."""
    return sign_list(kind, version, issued, valid_until, body, root)
