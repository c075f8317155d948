"""The store of EU DCC document-signer certificates (DSCs), looked up by COSE key identifier.

A DCC names its signer by ``kid`` = the first 8 bytes of SHA-256 over the signer certificate's DER.
Eight bytes can collide (and countries have re-used keys), so :meth:`DscStore.find` returns every
certificate with that kid and the caller tries each. Certificates come from PEM or DER files, named
one by one or found in a directory (``*.pem``, ``*.crt``, ``*.cer``, ``*.der``), e.g. a site's DSC
list or ``scanpoint verify --dsc CERT.pem``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from terminal.config import DccSection
from terminal.crypto import ecdsa
from terminal.errors import CertificateError

log = logging.getLogger(__name__)

KID_LENGTH = 8
MAX_FILE_BYTES = 8 * 1024 * 1024
"""A DSC file larger than this is refused (the whole EU list as PEM is a few MiB)."""
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")

EKU_OID = "2.5.29.37"
# The DCC extended-key-usage OIDs per certificate type. The ".0.1847" forms were published in an
# early version of the specification and are in certificates that are still accepted.
EKU_TEST = frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"})
EKU_VACCINATION = frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"})
EKU_RECOVERY = frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"})

_PEM_BLOCK = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)


def kid_of(der: bytes) -> bytes:
    """The DCC key identifier of a certificate: SHA-256 of its DER encoding, first 8 bytes."""
    return hashlib.sha256(der).digest()[:KID_LENGTH]


@dataclass(frozen=True)
class SignerCertificate:
    """One document-signer certificate, reduced to what verification needs.

    ``extended_key_usage`` is None when the certificate has no EKU extension (it may sign every
    certificate type); otherwise the set of dotted OIDs it lists (possibly empty).
    """

    kid: bytes
    der: bytes = field(repr=False)
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey = field(repr=False)
    algorithm: int                       # COSE alg the key is used with (ES256 / PS256)
    not_before: int                      # Unix seconds
    not_after: int
    extended_key_usage: frozenset[str] | None
    subject: str

    def allows(self, allowed_oids: frozenset[str]) -> bool:
        """May this certificate sign a DCC of the type whose EKU OIDs are ``allowed_oids``?

        No EKU extension, or one that lists nothing, allows every type; otherwise one of the
        type's OIDs must be listed (a certificate listing only other usages may sign no DCC).
        """
        if not self.extended_key_usage:
            return True
        return bool(self.extended_key_usage & allowed_oids)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


class DscStore:
    """Signer certificates indexed by kid; several certificates may share one kid."""

    def __init__(self, certificates: Iterable[SignerCertificate] = ()) -> None:
        self._by_kid: dict[bytes, list[SignerCertificate]] = {}
        self._count = 0
        for cert in certificates:
            self.add(cert)

    def add(self, cert: SignerCertificate) -> None:
        """Add one certificate (the same DER twice is kept once)."""
        entries = self._by_kid.setdefault(cert.kid, [])
        if any(e.der == cert.der for e in entries):
            return
        entries.append(cert)
        self._count += 1

    def find(self, kid: bytes | None) -> tuple[SignerCertificate, ...]:
        """Every certificate whose kid is ``kid`` (empty when unknown or ``kid`` is None)."""
        if not kid:
            return ()
        return tuple(self._by_kid.get(bytes(kid), ()))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[SignerCertificate]:
        for entries in self._by_kid.values():
            yield from entries

    def __repr__(self) -> str:
        return f"<DscStore certificates={self._count} kids={len(self._by_kid)}>"

    @classmethod
    def from_der(cls, ders: Iterable[bytes]) -> DscStore:
        """A store of DER certificates; raises :class:`CertificateError` on one that is unusable."""
        return cls(signer_certificate(der) for der in ders)


def signer_certificate(der: bytes) -> SignerCertificate:
    """Parse one DER certificate into a :class:`SignerCertificate`.

    Raises :class:`CertificateError` if it is not a certificate or its key is neither P-256 nor RSA
    of at least 2048 bits (no DCC could be verified with it).
    """
    try:
        cert = x509.load_der_x509_certificate(bytes(der))
        public_key = cert.public_key()
        not_before = int(cert.not_valid_before_utc.timestamp())
        not_after = int(cert.not_valid_after_utc.timestamp())
        subject = cert.subject.rfc4514_string()
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not a valid X.509 certificate: {exc}") from exc
    algorithm = ecdsa.algorithm_for_key(public_key)
    if (algorithm is None or not isinstance(public_key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey))
            or (isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < 2048)):
        raise CertificateError(
            f"certificate {subject!r} has an unsupported key (need EC P-256 or RSA >= 2048 bits)")
    canonical = bytes(der)
    return SignerCertificate(
        kid=kid_of(canonical), der=canonical, public_key=public_key, algorithm=algorithm,
        not_before=not_before, not_after=not_after,
        extended_key_usage=_extended_key_usage(cert), subject=subject)


def certificate_from_base64(text: str) -> SignerCertificate:
    """A certificate given as bare base64 DER (as in DSC lists and the EU test data)."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:
        raise CertificateError(f"certificate is not valid base64: {exc}") from exc
    return signer_certificate(der)


def parse_certificates(data: bytes, source: str = "data") -> list[SignerCertificate]:
    """Every certificate in ``data``: one or more PEM blocks, or a single DER certificate."""
    blocks = _PEM_BLOCK.findall(data)
    if blocks:
        ders = []
        for i, block in enumerate(blocks, 1):
            try:
                ders.append(base64.b64decode(b"".join(block.split()), validate=True))
            except ValueError as exc:
                raise CertificateError(f"{source}: PEM block {i} is not valid base64") from exc
    elif data.lstrip().startswith(b"-----BEGIN"):
        raise CertificateError(f"{source}: PEM file holds no CERTIFICATE block")
    else:
        ders = [data]
    certs = []
    for der in ders:
        try:
            certs.append(signer_certificate(der))
        except CertificateError as exc:
            raise CertificateError(f"{source}: {exc}") from exc
    return certs


def load_certificates(paths: Iterable[str | PathLike[str]]) -> DscStore:
    """Load signer certificates from files and directories into one :class:`DscStore`.

    A file may hold several PEM certificates or one DER certificate; a directory contributes its
    ``*.pem``, ``*.crt``, ``*.cer`` and ``*.der`` files (not recursively). A missing path, an
    unreadable or oversized file, or a file that is not a usable certificate raises
    :class:`CertificateError` naming the file, so a site never runs with half a list unknowingly.
    """
    store = DscStore()
    resolved = [Path(p) for p in paths]
    for path in resolved:
        if path.is_dir():
            files = sorted(f for f in path.iterdir()
                           if f.is_file() and f.suffix.lower() in CERTIFICATE_SUFFIXES)
        elif path.is_file():
            files = [path]
        else:
            raise CertificateError(f"signer certificate path not found: {path}")
        for file in files:
            for cert in parse_certificates(_read_bounded(file), str(file)):
                store.add(cert)
    log.info("dsc store loaded certificates=%d paths=%d", len(store), len(resolved))
    return store


def store_from_config(section: DccSection) -> DscStore | None:
    """The store named by a ``[dcc]`` config section, or None when ``dsc_dir`` is empty."""
    return load_certificates([section.dsc_dir]) if section.dsc_dir else None


def _read_bounded(file: Path) -> bytes:
    """The file's bytes, refusing more than ``MAX_FILE_BYTES``.

    The bound is enforced on the read itself (at most one byte past the cap), not on a size
    from ``stat``: a file can grow between the two, and some files (procfs, pipes) report 0.
    """
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CertificateError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise CertificateError(f"{file}: is more than a certificate file may hold "
                               f"({MAX_FILE_BYTES} bytes)")
    return data


def _extended_key_usage(cert: x509.Certificate) -> frozenset[str] | None:
    """The certificate's EKU OIDs, None without an EKU extension.

    ``cryptography`` refuses the whole extension list when the EKU is an empty SEQUENCE (RFC 5280
    says SIZE(1..MAX), but issued DSCs contain it); then the EKU is read from the DER directly.
    """
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        return frozenset(oid.dotted_string for oid in eku)
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        return _eku_from_tbs(cert.tbs_certificate_bytes)


# --- a minimal strict DER reader, only for the EKU fallback above ---------------------------------

def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at ``pos``; CertificateError if malformed."""
    if pos + 2 > len(data):
        raise CertificateError("certificate extensions are truncated")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise CertificateError("certificate extensions have a bad length")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise CertificateError("certificate extensions are truncated")
    return tag, pos, pos + length


def _der_children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        tag, cstart, cend = _der_item(data, pos)
        if cend > end:
            raise CertificateError("certificate extensions are truncated")
        yield tag, cstart, cend
        pos = cend


def _oid_text(raw: bytes) -> str:
    if not raw or raw[-1] & 0x80:
        raise CertificateError("certificate holds a malformed OID")
    parts: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in head + parts[1:])


def _eku_from_tbs(tbs: bytes) -> frozenset[str] | None:
    _, start, end = _der_item(tbs, 0)
    for tag, cstart, _cend in _der_children(tbs, start, end):
        if tag != 0xA3:                                  # [3] extensions
            continue
        _, lstart, lend = _der_item(tbs, cstart)         # SEQUENCE OF Extension
        for _, estart, eend in _der_children(tbs, lstart, lend):
            fields = list(_der_children(tbs, estart, eend))
            if not fields or fields[0][0] != 0x06 or fields[-1][0] != 0x04:
                raise CertificateError("certificate holds a malformed extension")
            if _oid_text(tbs[fields[0][1]:fields[0][2]]) != EKU_OID:
                continue
            value = tbs[fields[-1][1]:fields[-1][2]]
            vtag, vstart, vend = _der_item(value, 0)
            if vtag != 0x30 or vend != len(value):
                raise CertificateError("certificate holds a malformed extended key usage")
            oids = set()
            for otag, ostart, oend in _der_children(value, vstart, vend):
                if otag != 0x06:
                    raise CertificateError("certificate holds a malformed extended key usage")
                oids.add(_oid_text(value[ostart:oend]))
            return frozenset(oids)
    return None
