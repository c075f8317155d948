"""The native credential format (``SP1:``): SM2/SM3-signed CBOR claims, see docs/credential-format.md.

:func:`read` runs the chain prefix → Base45 → inflate → COSE → key lookup → signature → claims →
key validity and usage → time window, and returns one :class:`~terminal.result.Result`. It never
raises: each stage raises :class:`~terminal.errors.CredentialError` with its reason, and anything
unexpected becomes ``deny`` / ``INTERNAL_ERROR``, logged without the payload. The signature is
checked before the claims are interpreted, so forged or altered claims are ``SIGNATURE_INVALID``
however they were altered.
"""

from __future__ import annotations

import logging

from terminal.errors import CredentialError
from terminal.formats import MAX_TEXT_LENGTH, base45, cbor, cose, inflate
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result, check, deny
from terminal.lists.signedlist import ALG_SM2_SM3, KEY_ID_LENGTH

log = logging.getLogger(__name__)

NAME = "native"
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


def read(text: str, ctx) -> Result:
    """Read and verify a native credential; genuine and in date → ``pass``. Never raises."""
    try:
        return _read(text, ctx)
    except CredentialError as exc:
        return deny(exc.reason, str(exc), NAME)
    except Exception as exc:  # never let bad input crash the gate; never log the payload
        log.error("event=internal_error format=native error=%s", type(exc).__name__)
        return deny(Reason.INTERNAL_ERROR, "internal error while reading the code", NAME)


def _read(text: str, ctx) -> Result:
    sign1 = decode(text)
    kid, alg = _headers(sign1)
    if alg != ALG_SM2_SM3:
        raise _Refused(f"signature algorithm {alg} is not SM2/SM3 ({ALG_SM2_SM3})",
                       Reason.ALGORITHM_UNSUPPORTED)
    trust = ctx.trust
    if trust is None:
        return check(Reason.TRUST_LIST_MISSING, "no trust list is loaded", NAME)
    key = trust.key(kid)
    if key is None:
        raise _Refused(f"key {kid.hex()} is not in trust list version {trust.version}",
                       Reason.KEY_UNKNOWN)
    if key.alg != alg or not key.supported:
        raise _Refused(f"key {kid.hex()} is listed for algorithm {key.alg}, not SM2/SM3",
                       Reason.ALGORITHM_UNSUPPORTED)
    if not key.verify(cose.sig_structure(sign1), sign1.signature):
        raise _Refused(f"signature does not verify with key {kid.hex()}", Reason.SIGNATURE_INVALID)
    credential = claims(sign1.payload, kid)
    if not key.valid_at(credential.issued_at):
        raise _Refused(f"key {kid.hex()} is valid {key.valid_from}..{key.valid_to}, "
                       f"credential issued {credential.issued_at}", Reason.KEY_NOT_VALID)
    if credential.type not in key.types:
        raise _Refused(f"key {kid.hex()} may not sign type {credential.type!r}",
                       Reason.KEY_USAGE_INVALID)
    if credential.issuer != key.issuer:
        raise _Refused(f"issuer claim does not match the issuer of key {kid.hex()}",
                       Reason.CLAIMS_INVALID)
    now, skew = float(ctx.now), float(ctx.skew)
    if now + skew < credential.not_before:
        return deny(Reason.NOT_YET_VALID,
                    f"valid from {credential.not_before}, now {int(now)}", NAME, credential)
    if now - skew >= credential.expires:
        return deny(Reason.EXPIRED, f"expired at {credential.expires}, now {int(now)}",
                    NAME, credential)
    return Result(Decision.PASS, Reason.OK, NAME, credential)


def decode(text: str) -> cose.Sign1:
    """The outer layers: prefix, length, Base45, capped inflate, COSE_Sign1 structure."""
    if not isinstance(text, str):
        raise _Refused("QR content is not text", Reason.FORMAT_UNKNOWN)
    if len(text) > MAX_TEXT_LENGTH:
        raise _Refused(f"QR text of {len(text)} characters is too long", Reason.PAYLOAD_TOO_LARGE)
    if not text.startswith(PREFIX):
        raise _Refused(f"prefix is not {PREFIX}", Reason.PREFIX_INVALID)
    compressed = base45.decode(text[len(PREFIX):])
    data = inflate.inflate(compressed, MAX_INFLATED)
    return cose.parse_sign1(data, max_depth=MAX_DEPTH)


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
    if not is_masked(name):
        raise _Refused("name claim is not a masked name", Reason.CLAIMS_INVALID)
    holder = _bytes(c, HOLDER, "holder", HOLDER_HASH_LENGTH)
    id_tail = _text(c, ID_TAIL, "idtail", MAX_ID_TAIL) if ID_TAIL in c else None
    return Credential(format=NAME, type=ctype, issuer=issuer, key_id=kid.hex(), serial=serial,
                      issued_at=iat, not_before=nbf, expires=exp, status=status,
                      masked_name=name, holder_hash=holder.hex(), id_tail=id_tail)


def mask_name(name: str) -> str:
    """Mask a display name: keep the first and last character (2 characters: the first only)."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def is_masked(name: str) -> bool:
    """True if ``name`` has the shape :func:`mask_name` produces."""
    if len(name) == 1:
        return name == "*"
    if len(name) == 2:
        return name[1] == "*"
    return set(name[1:-1]) == {"*"}


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
