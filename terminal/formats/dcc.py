"""EU Digital COVID Certificate (``HC1:``): verify a foreign credential against its signer certificate.

The chain is a list of small stages, each a plain function that raises
:class:`~terminal.errors.CredentialError` with one :class:`~terminal.reasons.Reason`:

    unprefix → base45_decode → decompress → parse_cose → verify_signature
    → parse_claims → check_validity → check_key_usage

:func:`decode` runs them in that order and returns every artefact it produced plus the first
refusal (hcert-kotlin style, :mod:`terminal.formats.chain`); :func:`read` turns that into a
:class:`Result`. The EU test-suite runner calls the same stage functions one by one, so what it
proves is what the gate does. The signature is checked before the claims are read: nothing the signer did not sign is
interpreted, and a forged code is reported as forged whatever its payload looks like.

Nothing here keeps the holder's name or identifiers: the credential carries a masked name
(initials) and the SHA-256 of the certificate identifier ``ci`` as its serial.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from typing import Any

from terminal.crypto import ecdsa
from terminal.errors import CredentialError
from terminal.formats import base45, cbor, cose, inflate, names
from terminal.formats import dsc as dsc_store
from terminal.formats.chain import MAX_TEXT_LENGTH, Decoded, Steps, VerifyContext
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

log = logging.getLogger(__name__)

NAME = names.DCC
PREFIX = "HC1:"
PREFIXES = (PREFIX,)

MAX_INFLATED_BYTES = inflate.DEFAULT_LIMIT
"""Largest COSE message accepted after decompression (a real DCC is well under 2 KiB)."""

CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_HCERT = 1, 4, 6, -260
HCERT_EU_DCC = 1

# certificate type key in the DCC payload → (Credential.type, allowed signer EKU OIDs)
TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "v": ("dcc-vaccination", dsc_store.EKU_VACCINATION),
    "t": ("dcc-test", dsc_store.EKU_TEST),
    "r": ("dcc-recovery", dsc_store.EKU_RECOVERY),
}

UNDERSTOOD_HEADERS = {cose.HEADER_ALG, cose.HEADER_KID}
SERIAL_BYTES = 16


class ClaimsError(CredentialError):
    """The CWT claims are missing, of the wrong type, or the DCC payload is malformed."""

    reason = Reason.CLAIMS_INVALID


def _fail(reason: Reason, message: str) -> CredentialError:
    return CredentialError(message, reason)


@dataclass(frozen=True)
class Claims:
    """The CWT claims of a DCC, reduced to what the terminal needs (no name, no identifiers)."""

    issuer: str | None
    issued_at: int
    expires: int
    kind: str                  # "v", "t" or "r"
    serial: bytes              # SHA-256 of the certificate identifier ci, first 16 bytes
    masked_name: str | None

    @property
    def type(self) -> str:
        return TYPES[self.kind][0]


# --- stages ------------------------------------------------------------------------------------

def unprefix(text: str) -> str:
    """The Base45 text after the ``HC1:`` context identifier (PREFIX_INVALID without it,
    PAYLOAD_TOO_LARGE beyond what a QR code can hold)."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        shown = text[:4] if isinstance(text, str) else type(text).__name__
        raise _fail(Reason.PREFIX_INVALID, f"DCC text must start with {PREFIX!r}, not {shown!r}")
    if len(text) > MAX_TEXT_LENGTH:
        raise _fail(Reason.PAYLOAD_TOO_LARGE,
                    f"DCC text of {len(text)} characters is longer than a QR code holds")
    return text[len(PREFIX):]


def base45_decode(text: str) -> bytes:
    """Base45 to bytes (BASE45_INVALID)."""
    return base45.decode(text)


def decompress(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """Inflate the zlib stream to at most ``limit`` bytes (DECOMPRESSION_FAILED, PAYLOAD_TOO_LARGE).

    The specification requires compression; an uncompressed COSE message is refused.
    """
    return inflate.inflate(data, limit)


def parse_cose(data: bytes) -> cose.Sign1:
    """The COSE_Sign1 envelope (CBOR_INVALID, COSE_INVALID, CRITICAL_HEADER_UNKNOWN).

    Tagged 18, inside CWT tag 61, or untagged; indefinite lengths are allowed because some
    national encoders emit them. A label in both header buckets is read from the protected one
    (RFC 8152 §3 lets a receiver do so instead of refusing; the EU suite expects it, case CO21):
    the unprotected copy is dropped before the envelope is built, so it can never be used.
    """
    obj = cbor.loads(data, allow_indefinite=True)
    sign1 = cose.sign1_from_obj(_drop_shadowed_headers(obj), allow_indefinite=True)
    cose.check_critical(sign1, UNDERSTOOD_HEADERS)
    return sign1


def parse_claims(sign1: cose.Sign1) -> Claims:
    """The CWT claims in the payload: iss (1), iat (6), exp (4) and hcert (−260 → {1: DCC}).

    CBOR_INVALID when the payload is not strict CBOR, CLAIMS_INVALID when a claim is missing or
    of the wrong type.
    """
    claims = cbor.loads(sign1.payload, allow_indefinite=True)
    if not isinstance(claims, dict):
        raise ClaimsError("CWT payload must be a CBOR map")
    issuer = claims.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise ClaimsError("CWT issuer (claim 1) must be text")
    issued_at = _numeric_date(claims, CLAIM_IAT, "issued-at")
    expires = _numeric_date(claims, CLAIM_EXP, "expiry")
    hcert = claims.get(CLAIM_HCERT)
    if not isinstance(hcert, dict) or not isinstance(hcert.get(HCERT_EU_DCC), dict):
        raise ClaimsError("CWT has no health certificate (claim -260 with an EU DCC under key 1)")
    payload = hcert[HCERT_EU_DCC]
    kinds = [k for k in TYPES if payload.get(k) is not None]   # early encoders wrote null entries
    if len(kinds) != 1:
        raise ClaimsError(f"DCC must hold exactly one of vaccination/test/recovery, found {len(kinds)}")
    kind = kinds[0]
    entries = payload[kind]
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise ClaimsError(f"DCC entry {kind!r} must be a non-empty array of maps")
    ci = entries[0].get("ci")
    if not isinstance(ci, str) or not ci:
        raise ClaimsError("DCC has no certificate identifier (ci)")
    return Claims(issuer=issuer, issued_at=issued_at, expires=expires, kind=kind,
                  serial=hashlib.sha256(ci.encode("utf-8")).digest()[:SERIAL_BYTES],
                  masked_name=names.initials(payload.get("nam")))


def find_signers(sign1: cose.Sign1, store: dsc_store.DscStore | None) -> tuple[dsc_store.SignerCertificate, ...]:
    """Every certificate carrying the message's kid (KEY_UNKNOWN when none, TRUST_LIST_MISSING
    when no store is loaded)."""
    if store is None:
        raise _fail(Reason.TRUST_LIST_MISSING, "no DCC signer certificates are loaded")
    kid = sign1.kid
    if kid is None:
        raise _fail(Reason.KEY_UNKNOWN, "DCC names no signer key (kid missing or not a byte string)")
    signers = store.find(kid)
    if not signers:
        raise _fail(Reason.KEY_UNKNOWN, f"no signer certificate with kid {kid.hex()}")
    return signers


def verify_signature(sign1: cose.Sign1, store: dsc_store.DscStore | None) -> dsc_store.SignerCertificate:
    """The signer certificate whose key verifies the COSE signature.

    Every certificate with the kid is tried (kids are 8 bytes and do collide); the algorithm must
    be ES256 or PS256 and match the certificate's key. Refusals: TRUST_LIST_MISSING, KEY_UNKNOWN,
    ALGORITHM_UNSUPPORTED, SIGNATURE_INVALID.
    """
    alg = sign1.alg
    if alg not in ecdsa.SUPPORTED_ALGORITHMS:
        raise _fail(Reason.ALGORITHM_UNSUPPORTED, f"COSE algorithm {alg!r} is not ES256 or PS256")
    signers = find_signers(sign1, store)
    message = cose.sig_structure(sign1)
    for signer in signers:
        if signer.algorithm == alg and ecdsa.verify(signer.public_key, alg, message, sign1.signature):
            return signer
    raise _fail(Reason.SIGNATURE_INVALID,
                f"signature does not verify with any of {len(signers)} certificate(s) "
                f"for kid {signers[0].kid_hex}")


def check_validity(claims: Claims, signer: dsc_store.SignerCertificate, now: float,
                   skew: float = 0.0) -> None:
    """In date at ``now``, signed by a certificate valid at ``now``.

    NOT_YET_VALID when issued after ``now + skew``; EXPIRED when ``now`` is past the expiry;
    KEY_NOT_VALID when the signer certificate is not valid at ``now`` (X.509 validity at
    verification time). The DCC's own dates are not compared with the certificate's: issuers
    back-date ``iat`` (recovery certificates) and let ``exp`` outlive the certificate, and the EU
    suite expects those to pass.
    """
    if claims.issued_at > now + skew:
        raise _fail(Reason.NOT_YET_VALID, f"DCC issued at {claims.issued_at}, after the time now")
    if now > claims.expires:
        raise _fail(Reason.EXPIRED, f"DCC expired at {claims.expires}")
    if not signer.not_before - skew <= now <= signer.not_after:
        raise _fail(Reason.KEY_NOT_VALID,
                    f"signer certificate {signer.kid_hex} is not valid now "
                    f"(valid {signer.not_before}..{signer.not_after})")


def check_key_usage(claims: Claims, signer: dsc_store.SignerCertificate) -> None:
    """The signer certificate's extended key usage allows this certificate type (KEY_USAGE_INVALID)."""
    if not signer.allows(TYPES[claims.kind][1]):
        raise _fail(Reason.KEY_USAGE_INVALID,
                    f"signer certificate {signer.kid_hex} may not sign {claims.type} certificates")


# --- the chain ---------------------------------------------------------------------------------

@dataclass
class DccDecoded(Decoded):
    """What :func:`decode` produced: artefacts up to the first refusal, and that one reason."""

    base45: str | None = None
    compressed: bytes | None = None
    cose_bytes: bytes | None = None
    sign1: cose.Sign1 | None = None
    claims: Claims | None = None
    signer: dsc_store.SignerCertificate | None = None


def decode(text: str, ctx: VerifyContext) -> DccDecoded:
    """Run every stage on ``text`` at ``ctx.now`` with the signer store ``ctx.dsc``."""
    out = DccDecoded()
    with Steps(out) as step:
        step("unprefix")
        out.base45 = unprefix(text)
        step("base45")
        out.compressed = base45_decode(out.base45)
        step("decompress")
        out.cose_bytes = decompress(out.compressed)
        step("cose")
        out.sign1 = parse_cose(out.cose_bytes)
        step("signature")
        out.signer = verify_signature(out.sign1, ctx.dsc)
        step("claims")
        out.claims = parse_claims(out.sign1)
        step("validity")
        check_validity(out.claims, out.signer, ctx.now, ctx.skew)
        step("key_usage")
        check_key_usage(out.claims, out.signer)
    return out


def read(text: str, ctx: VerifyContext) -> Result:
    """Verify an ``HC1:`` text: PASS (genuine and in date) or DENY with the first refusal's reason."""
    decoded = decode(text, ctx)
    credential = _credential(decoded)
    if not decoded.ok:
        log.info("event=dcc_refused stage=%s reason=%s", decoded.stage, decoded.reason)
        return Result(decoded.decision, decoded.reason, NAME, credential, decoded.detail)
    return Result(Decision.PASS, Reason.OK, NAME, credential, "")


def _credential(decoded: DccDecoded) -> Credential | None:
    claims, signer = decoded.claims, decoded.signer
    if claims is None or signer is None:   # only a verified DCC yields a credential
        return None
    return Credential(
        format=NAME, type=claims.type, issuer=claims.issuer or "", key_id=signer.kid_hex,
        serial=claims.serial, issued_at=claims.issued_at, not_before=claims.issued_at,
        expires=claims.expires, masked_name=claims.masked_name)


# --- helpers -----------------------------------------------------------------------------------

def _numeric_date(claims: dict, key: int, what: str) -> int:
    value = claims.get(key)
    if isinstance(value, cbor.Tag) and value.tag == 1:   # epoch date-time tag
        value = value.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClaimsError(f"CWT {what} (claim {key}) missing or not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ClaimsError(f"CWT {what} (claim {key}) is not a finite number")
    return int(value)


def _drop_shadowed_headers(obj: Any) -> Any:
    """The same COSE structure with unprotected labels that the protected header also sets removed.

    Anything malformed is returned unchanged for :func:`cose.sign1_from_obj` to refuse precisely.
    """
    tags: list[int] = []
    inner = obj
    while isinstance(inner, cbor.Tag) and len(tags) < 2:
        tags.append(inner.tag)
        inner = inner.value
    if not (isinstance(inner, list) and len(inner) == 4
            and isinstance(inner[0], bytes) and inner[0] and isinstance(inner[1], dict)):
        return obj
    try:
        protected = cbor.loads(inner[0], allow_indefinite=True)
    except CredentialError:
        return obj
    if not isinstance(protected, dict) or not set(protected) & set(inner[1]):
        return obj
    unprotected = {k: v for k, v in inner[1].items() if k not in protected}
    rebuilt: Any = [inner[0], unprotected, inner[2], inner[3]]
    for tag in reversed(tags):
        rebuilt = cbor.Tag(tag, rebuilt)
    return rebuilt
