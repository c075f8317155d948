"""The native credential format (``SP1:``): SM2/SM3-signed CBOR claims, see docs/credential-format.md.

The chain, run in this order by :func:`decode` (see :mod:`terminal.formats.chain`)::

    unprefix → base45_decode → decompress → parse_cose → find_key → verify_signature
    → parse_claims → check_key_usage → check_time

Each stage refuses with :class:`~terminal.errors.CredentialError` and one reason. The signature is
checked before the claims are interpreted, so forged or altered claims are ``SIGNATURE_INVALID``
however they were altered. Refusal messages never hold the payload or a claim's value.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.errors import CredentialError
from terminal.formats import base45, cbor, cose, inflate, names
from terminal.formats.chain import MAX_TEXT_LENGTH, Decoded, Steps, VerifyContext
from terminal.lists.signedlist import ALG_SM2_SM3, KEY_ID_LENGTH
from terminal.lists.trust import IssuerKey, TrustList
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

NAME = names.NATIVE
PREFIX = "SP1:"
PREFIXES = ("SP",)
"""Everything starting ``SP`` is ours: ``SP1:`` is read, any other version is PREFIX_INVALID."""

MAX_INFLATED = 64 * 1024
MAX_DEPTH = 16
MAX_LIFETIME = 120
SERIAL_LENGTH = 16
HOLDER_HASH_LENGTH = 16
MAX_ISSUER = 64
MAX_TYPE = 32
MAX_NAME = 32
MAX_ID_TAIL = 4
STATUSES = ("green", "yellow", "red")

UNDERSTOOD_HEADERS = {cose.HEADER_ALG, cose.HEADER_KID}
ALLOWED_PROTECTED = {cose.HEADER_ALG, cose.HEADER_CRIT, cose.HEADER_KID}

# claim keys (docs/credential-format.md §3)
ISSUER, KID, IAT, NBF, EXP, SERIAL, TYPE, STATUS, NAME_CLAIM, HOLDER, ID_TAIL = range(1, 12)
REQUIRED_CLAIMS = {ISSUER, KID, IAT, NBF, EXP, SERIAL, TYPE, NAME_CLAIM, HOLDER}
KNOWN_CLAIMS = REQUIRED_CLAIMS | {STATUS, ID_TAIL}


class _Refused(CredentialError):
    """A stage refused the credential (carries the reason)."""


@dataclass
class NativeDecoded(Decoded):
    """What the native chain produced, up to its first refusal."""

    base45: str | None = None
    compressed: bytes | None = None
    cose_bytes: bytes | None = None
    sign1: cose.Sign1 | None = None
    key: IssuerKey | None = None
    credential: Credential | None = None   # only once the signature verified


# --- stages ------------------------------------------------------------------------------------

def unprefix(text: str) -> str:
    """The Base45 text after ``SP1:`` (PAYLOAD_TOO_LARGE beyond a QR code, PREFIX_INVALID)."""
    if not isinstance(text, str):
        raise _Refused("QR content is not text", Reason.FORMAT_UNKNOWN)
    if len(text) > MAX_TEXT_LENGTH:
        raise _Refused(f"QR text of {len(text)} characters is too long", Reason.PAYLOAD_TOO_LARGE)
    if not text.startswith(PREFIX):
        raise _Refused(f"prefix is not {PREFIX}", Reason.PREFIX_INVALID)
    return text[len(PREFIX):]


def base45_decode(text: str) -> bytes:
    """Base45 to bytes (BASE45_INVALID)."""
    return base45.decode(text)


def decompress(data: bytes) -> bytes:
    """Inflate to at most :data:`MAX_INFLATED` bytes (DECOMPRESSION_FAILED, PAYLOAD_TOO_LARGE)."""
    return inflate.inflate(data, MAX_INFLATED)


def parse_cose(data: bytes) -> cose.Sign1:
    """The COSE_Sign1 envelope with exactly the headers the spec allows: a protected integer
    ``alg`` that is SM2/SM3 and an 8-byte ``kid`` (CBOR_INVALID, COSE_INVALID,
    CRITICAL_HEADER_UNKNOWN, ALGORITHM_UNSUPPORTED)."""
    sign1 = cose.parse_sign1(data, max_depth=MAX_DEPTH)
    _, alg = _headers(sign1)
    if alg != ALG_SM2_SM3:
        raise _Refused(f"signature algorithm {alg} is not SM2/SM3 ({ALG_SM2_SM3})",
                       Reason.ALGORITHM_UNSUPPORTED)
    return sign1


def find_key(sign1: cose.Sign1, trust: TrustList | None) -> IssuerKey:
    """The trust-list entry for the message's kid (``check`` TRUST_LIST_MISSING while no list is
    loaded; KEY_UNKNOWN, ALGORITHM_UNSUPPORTED)."""
    kid, alg = _headers(sign1)
    if trust is None:
        raise _Refused("no trust list is loaded", Reason.TRUST_LIST_MISSING,
                       decision=Decision.CHECK)
    key = trust.key(kid)
    if key is None:
        raise _Refused(f"key {kid.hex()} is not in trust list version {trust.version}",
                       Reason.KEY_UNKNOWN)
    if key.alg != alg or not key.supported:
        raise _Refused(f"key {kid.hex()} is listed for algorithm {key.alg}, not SM2/SM3",
                       Reason.ALGORITHM_UNSUPPORTED)
    return key


def verify_signature(sign1: cose.Sign1, key: IssuerKey) -> None:
    """SM2/SM3 over the COSE Sig_structure with the listed key (SIGNATURE_INVALID)."""
    if not key.verify(cose.sig_structure(sign1), sign1.signature):
        raise _Refused(f"signature does not verify with key {key.kid.hex()}",
                       Reason.SIGNATURE_INVALID)


def parse_claims(sign1: cose.Sign1) -> Credential:
    """The signed claims as a :class:`Credential` (CBOR_INVALID, CLAIMS_INVALID)."""
    return claims(sign1.payload, _headers(sign1)[0])


def check_key_usage(credential: Credential, key: IssuerKey) -> None:
    """The key was valid when the credential was issued, may sign its type, and is its issuer's
    (KEY_NOT_VALID, KEY_USAGE_INVALID, CLAIMS_INVALID)."""
    kid = key.kid.hex()
    if not key.valid_at(credential.issued_at):
        raise _Refused(f"key {kid} is valid {key.valid_from}..{key.valid_to}, "
                       f"credential issued {credential.issued_at}", Reason.KEY_NOT_VALID)
    if credential.type not in key.types:
        raise _Refused(f"key {kid} may not sign type {credential.type!r}", Reason.KEY_USAGE_INVALID)
    if credential.issuer != key.issuer:
        raise _Refused(f"issuer claim does not match the issuer of key {kid}", Reason.CLAIMS_INVALID)


def check_time(credential: Credential, now: float, skew: float = 0.0) -> None:
    """In date at ``now`` within ``skew`` seconds (NOT_YET_VALID, EXPIRED).

    Written so that a comparison that is false for any reason refuses: a NaN time is never in date.
    """
    if not now + skew >= credential.not_before:
        raise _Refused(f"valid from {credential.not_before}, now {now:.0f}", Reason.NOT_YET_VALID)
    if not now - skew < credential.expires:
        raise _Refused(f"expired at {credential.expires}, now {now:.0f}", Reason.EXPIRED)


# --- the chain ---------------------------------------------------------------------------------

def decode(text: str, ctx: VerifyContext) -> NativeDecoded:
    """Run every stage on ``text``: the artefacts up to the first refusal, and that refusal."""
    d = NativeDecoded()
    with Steps(d) as step:
        step("unprefix")
        d.base45 = unprefix(text)
        step("base45")
        d.compressed = base45_decode(d.base45)
        step("decompress")
        d.cose_bytes = decompress(d.compressed)
        step("cose")
        d.sign1 = parse_cose(d.cose_bytes)
        step("key")
        d.key = find_key(d.sign1, ctx.trust)
        step("signature")
        verify_signature(d.sign1, d.key)
        step("claims")
        d.credential = parse_claims(d.sign1)
        step("key_usage")
        check_key_usage(d.credential, d.key)
        step("time")
        check_time(d.credential, float(ctx.now), float(ctx.skew))
    return d


def read(text: str, ctx: VerifyContext) -> Result:
    """Verify a native credential: ``pass`` when genuine and in date, else the first refusal.

    A refusal after the signature verified carries the credential (an expired code still shows
    whose it was); none before.
    """
    d = decode(text, ctx)
    if not d.ok:
        return Result(d.decision, d.reason, NAME, d.credential, d.detail)
    return Result(Decision.PASS, Reason.OK, NAME, d.credential)


def envelope(text: str) -> cose.Sign1:
    """Only the outer layers of ``text`` — prefix, Base45, capped inflate, COSE — for tools that
    need the signed envelope without judging it. Raises :class:`CredentialError`."""
    return parse_cose(decompress(base45_decode(unprefix(text))))


def _headers(sign1: cose.Sign1) -> tuple[bytes, int]:
    cose.check_critical(sign1, UNDERSTOOD_HEADERS)
    extra = set(sign1.protected) - ALLOWED_PROTECTED
    if extra:
        raise _Refused(f"protected header has label(s) {sorted(extra, key=str)} not allowed here",
                       Reason.COSE_INVALID)
    if sign1.unprotected:
        raise _Refused("unprotected header must be empty", Reason.COSE_INVALID)
    alg = sign1.protected.get(cose.HEADER_ALG)
    if type(alg) is not int:
        raise _Refused("protected header has no integer alg", Reason.COSE_INVALID)
    kid = sign1.protected.get(cose.HEADER_KID)
    if not isinstance(kid, bytes) or len(kid) != KEY_ID_LENGTH:
        raise _Refused(f"protected header kid must be {KEY_ID_LENGTH} bytes", Reason.COSE_INVALID)
    return kid, alg


def claims(payload: bytes, kid: bytes) -> Credential:
    """Parse and check the claims map (strict CBOR, then §3's table) into a Credential.

    Messages name the claim, never its value (they reach logs).
    """
    try:
        c = cbor.loads(payload, MAX_DEPTH)
    except CredentialError as exc:
        raise _Refused(f"claims: {exc}", Reason.CBOR_INVALID) from None
    if not isinstance(c, dict):
        raise _Refused("claims must be a CBOR map", Reason.CLAIMS_INVALID)
    unknown = set(c) - KNOWN_CLAIMS
    if unknown:
        raise _Refused(f"unknown claim key(s) {sorted(unknown, key=str)}", Reason.CLAIMS_INVALID)
    missing = REQUIRED_CLAIMS - set(c)
    if missing:
        raise _Refused(f"missing claim(s) {sorted(missing)}", Reason.CLAIMS_INVALID)
    issuer = _text(c, ISSUER, "issuer", MAX_ISSUER)
    if _bytes(c, KID, "kid", KEY_ID_LENGTH) != kid:
        raise _Refused("kid claim differs from the signed header kid", Reason.CLAIMS_INVALID)
    iat, nbf, exp = _time(c, IAT, "iat"), _time(c, NBF, "nbf"), _time(c, EXP, "exp")
    if not iat <= nbf < exp:
        raise _Refused("times must satisfy iat <= nbf < exp", Reason.CLAIMS_INVALID)
    if exp - iat > MAX_LIFETIME:
        raise _Refused(f"lifetime exp - iat of {exp - iat} s exceeds {MAX_LIFETIME} s",
                       Reason.CLAIMS_INVALID)
    serial = _bytes(c, SERIAL, "serial", SERIAL_LENGTH)
    ctype = _text(c, TYPE, "type", MAX_TYPE)
    status = None
    if ctype == "health":
        if STATUS not in c:
            raise _Refused("health credential has no status", Reason.CLAIMS_INVALID)
        status = c[STATUS]
        if status not in STATUSES:
            raise _Refused("status must be green, yellow or red", Reason.CLAIMS_INVALID)
    elif STATUS in c:
        raise _Refused(f"type {ctype!r} must not carry a status", Reason.CLAIMS_INVALID)
    name = _text(c, NAME_CLAIM, "name", MAX_NAME)
    if not names.is_masked(name, NAME):
        raise _Refused("name claim is not a masked name", Reason.CLAIMS_INVALID)
    holder = _bytes(c, HOLDER, "holder", HOLDER_HASH_LENGTH)
    id_tail = _text(c, ID_TAIL, "idtail", MAX_ID_TAIL) if ID_TAIL in c else None
    return Credential(format=NAME, type=ctype, issuer=issuer, key_id=kid.hex(), serial=serial,
                      issued_at=iat, not_before=nbf, expires=exp, status=status,
                      masked_name=name, holder_hash=holder.hex(), id_tail=id_tail)


def _text(c: dict, key: int, label: str, max_len: int) -> str:
    value = c[key]
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise _Refused(f"claim {label} must be text of 1-{max_len} characters", Reason.CLAIMS_INVALID)
    return value


def _bytes(c: dict, key: int, label: str, length: int) -> bytes:
    value = c[key]
    if not isinstance(value, bytes) or len(value) != length:
        raise _Refused(f"claim {label} must be {length} bytes", Reason.CLAIMS_INVALID)
    return value


def _time(c: dict, key: int, label: str) -> int:
    value = c[key]
    if type(value) is not int or not 0 <= value < 1 << 40:
        raise _Refused(f"claim {label} must be Unix seconds (unsigned integer)",
                       Reason.CLAIMS_INVALID)
    return value
