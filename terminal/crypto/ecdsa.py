"""COSE signature verification for foreign formats: ES256 (raw r‖s) and PS256, via ``cryptography``.

One function, :func:`verify`, is what the EU DCC chain calls and what the Wycheproof edge-case test
exercises, so the strictness proven by the test is the strictness the gate uses. It fails closed:
anything malformed (wrong length, r or s out of range, a key of the wrong type or curve, an
algorithm it does not know) is a refusal, never an exception.
"""

from __future__ import annotations

import logging

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

log = logging.getLogger(__name__)

ES256 = -7
"""COSE algorithm identifier: ECDSA over P-256 with SHA-256 (RFC 9053), signature raw r‖s."""
PS256 = -37
"""COSE algorithm identifier: RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt (RFC 8230)."""

SUPPORTED_ALGORITHMS = frozenset({ES256, PS256})

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_ES256_SIGNATURE_LENGTH = 64
_MIN_RSA_BITS = 2048

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def verify_es256(public_key: ec.EllipticCurvePublicKey, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` (exactly 64 bytes, r‖s big-endian) is a valid ES256 signature.

    Shorter or longer encodings are refused (IEEE P1363 fixes the size; lenient parsers are how
    signature-size confusion starts), as are r or s outside [1, n−1] and keys not on P-256.
    """
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return False
    if not isinstance(public_key.curve, ec.SECP256R1):
        return False
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != _ES256_SIGNATURE_LENGTH:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < P256_ORDER and 1 <= s < P256_ORDER):
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), bytes(message), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def verify_ps256(public_key: rsa.RSAPublicKey, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is a valid PS256 signature (PSS, SHA-256, MGF1-SHA-256, salt 32 bytes).

    RFC 8230 fixes the salt length to the hash length; keys under 2048 bits are refused.
    """
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    if public_key.key_size < _MIN_RSA_BITS:
        return False
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != (public_key.key_size + 7) // 8:
        return False
    try:
        public_key.verify(
            bytes(signature), bytes(message),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size),
            hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify(public_key: PublicKey, alg: int | None, message: bytes, signature: bytes) -> bool:
    """Verify a COSE signature of algorithm ``alg`` (ES256 or PS256); False for anything else.

    The key must match the algorithm (an RSA key never verifies an ES256 signature and vice
    versa), so a certificate cannot be used under an algorithm it was not issued for.
    """
    if alg == ES256:
        return verify_es256(public_key, message, signature)  # type: ignore[arg-type]
    if alg == PS256:
        return verify_ps256(public_key, message, signature)  # type: ignore[arg-type]
    log.debug("signature refused reason=algorithm_unsupported alg=%r", alg)
    return False


def algorithm_for_key(public_key: object) -> int | None:
    """The COSE algorithm a signer key is used with (ES256 for P-256, PS256 for RSA), else None."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return ES256
    if isinstance(public_key, rsa.RSAPublicKey):
        return PS256
    return None
