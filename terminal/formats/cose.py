"""COSE_Sign1 (RFC 9052) envelopes: parse, check critical headers, build the signed bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from terminal.errors import CredentialError
from terminal.formats import cbor
from terminal.reasons import Reason

TAG_SIGN1 = 18
TAG_CWT = 61
HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_KID = 4


class COSEError(CredentialError):
    """The COSE_Sign1 structure is malformed."""

    reason = Reason.COSE_INVALID


class CriticalHeaderUnknown(CredentialError):
    """The signer marked a header critical that this terminal does not understand."""

    reason = Reason.CRITICAL_HEADER_UNKNOWN


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1: headers, the exact protected bytes (they are signed), payload, signature."""

    protected: dict
    protected_bytes: bytes
    unprotected: dict
    payload: bytes
    signature: bytes

    @property
    def kid(self) -> bytes | None:
        """Key id from the protected header, else the unprotected one."""
        kid = self.protected.get(HEADER_KID, self.unprotected.get(HEADER_KID))
        return kid if isinstance(kid, bytes) else None

    @property
    def alg(self) -> int | None:
        """Algorithm from the protected header, else the unprotected one."""
        alg = self.protected.get(HEADER_ALG, self.unprotected.get(HEADER_ALG))
        return alg if isinstance(alg, int) and not isinstance(alg, bool) else None


def parse_sign1(data: bytes, *, max_depth: int = cbor.MAX_DEPTH,
                allow_indefinite: bool = False) -> Sign1:
    """Parse a COSE_Sign1, tagged (18, optionally inside CWT tag 61) or untagged."""
    obj = cbor.loads(data, max_depth, allow_indefinite=allow_indefinite)
    return sign1_from_obj(obj, max_depth=max_depth, allow_indefinite=allow_indefinite)


def sign1_from_obj(obj: Any, *, max_depth: int = cbor.MAX_DEPTH,
                   allow_indefinite: bool = False) -> Sign1:
    """Build a :class:`Sign1` from an already decoded CBOR value."""
    if isinstance(obj, cbor.Tag) and obj.tag == TAG_CWT:
        obj = obj.value
    if isinstance(obj, cbor.Tag):
        if obj.tag != TAG_SIGN1:
            raise COSEError(f"CBOR tag {obj.tag} is not COSE_Sign1 (18)")
        obj = obj.value
    if not isinstance(obj, list) or len(obj) != 4:
        raise COSEError("COSE_Sign1 must be an array of 4 items")
    protected_bytes, unprotected, payload, signature = obj
    if not isinstance(protected_bytes, bytes):
        raise COSEError("COSE protected header must be a byte string")
    if not isinstance(unprotected, dict):
        raise COSEError("COSE unprotected header must be a map")
    if not isinstance(payload, bytes):
        raise COSEError("COSE payload must be a byte string (detached payloads are not accepted)")
    if not isinstance(signature, bytes):
        raise COSEError("COSE signature must be a byte string")
    if protected_bytes:
        protected = cbor.loads(protected_bytes, max_depth, allow_indefinite=allow_indefinite)
        if not isinstance(protected, dict):
            raise COSEError("COSE protected header must encode a map")
    else:
        protected = {}
    overlap = set(protected) & set(unprotected)
    if overlap:
        raise COSEError(f"COSE header label(s) {sorted(overlap, key=str)} in both buckets")
    return Sign1(protected, protected_bytes, unprotected, payload, signature)


def check_critical(sign1: Sign1, understood: set) -> None:
    """Refuse a ``crit`` header naming a label this terminal does not process (RFC 9052 §3.1)."""
    if HEADER_CRIT in sign1.unprotected:
        raise COSEError("COSE 'crit' header must be protected")
    if HEADER_CRIT not in sign1.protected:
        return
    crit = sign1.protected[HEADER_CRIT]
    if not isinstance(crit, list) or not crit:
        raise COSEError("COSE 'crit' header must be a non-empty array")
    for label in crit:
        if label not in sign1.protected:
            raise COSEError(f"COSE 'crit' names label {label!r} that is not in the protected header")
        if label not in understood:
            raise CriticalHeaderUnknown(f"critical COSE header {label!r} is not supported")


def sig_structure(sign1: Sign1, external_aad: bytes = b"") -> bytes:
    """The bytes a COSE_Sign1 signature covers: Sig_structure ["Signature1", prot, aad, payload]."""
    return cbor.dumps(["Signature1", sign1.protected_bytes, external_aad, sign1.payload])


def to_be_signed(protected: dict, payload: bytes, external_aad: bytes = b"") -> bytes:
    """For signers: the Sig_structure over a protected header map and payload."""
    return cbor.dumps(["Signature1", cbor.dumps(protected) if protected else b"",
                       external_aad, payload])


def encode_sign1(protected: dict, unprotected: dict, payload: bytes, signature: bytes) -> bytes:
    """A tagged COSE_Sign1 (the protected map encoded the same way as :func:`to_be_signed`)."""
    return cbor.dumps(cbor.Tag(TAG_SIGN1, [cbor.dumps(protected) if protected else b"",
                                           unprotected, payload, signature]))
