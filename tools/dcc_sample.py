"""Make throwaway EU DCC signer certificates and signed ``HC1:`` codes, for tests and demos.

Nothing here is used by the terminal: it issues sample codes with a freshly generated key so the
DCC verifier can be exercised without real health data. The holder is always the fictitious
"Erika Mustermann".

Usage: ``python -m tools.dcc_sample OUT_DIR`` writes ``dsc.pem`` and prints an ``HC1:`` code
valid for 30 days from now; then
``scanpoint verify --dsc OUT_DIR/dsc.pem --text 'HC1:...' --json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from terminal.crypto import ecdsa
from terminal.formats import base45, cose, dsc

SAMPLE_NAME = {"fn": "Mustermann", "fnt": "MUSTERMANN", "gn": "Erika", "gnt": "ERIKA"}
SAMPLE_ENTRIES: dict[str, dict[str, Any]] = {
    "v": {"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
          "dn": 2, "sd": 2, "dt": "2021-05-01", "co": "DE", "is": "Robert Koch-Institut",
          "ci": "URN:UVCI:01:DE:SAMPLE0000000001#S"},
    "t": {"tg": "840539006", "tt": "LP6464-4", "sc": "2021-05-30T10:00:00Z", "tr": "260415000",
          "tc": "Testzentrum", "co": "DE", "is": "Robert Koch-Institut",
          "ci": "URN:UVCI:01:DE:SAMPLE0000000002#T"},
    "r": {"tg": "840539006", "fr": "2021-03-01", "df": "2021-03-15", "du": "2021-09-01",
          "co": "DE", "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:SAMPLE0000000003#U"},
}
EKU = {"t": "1.3.6.1.4.1.1847.2021.1.1", "v": "1.3.6.1.4.1.1847.2021.1.2",
       "r": "1.3.6.1.4.1.1847.2021.1.3"}


def make_signer(kind: str = "ec", *, eku: list[str] | None = None,
                not_before: float | None = None, not_after: float | None = None,
                country: str = "DE") -> tuple[Any, bytes]:
    """(private key, DER certificate) of a self-signed document signer.

    ``kind`` is ``"ec"`` (P-256, ES256) or ``"rsa"`` (2048-bit, PS256); ``eku`` a list of OIDs for
    an extended-key-usage extension (None: no extension). Validity defaults to a year around now.
    """
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = time.time()
    start = dt.datetime.fromtimestamp(not_before if not_before is not None else now - 86400 * 180,
                                      dt.UTC)
    end = dt.datetime.fromtimestamp(not_after if not_after is not None else now + 86400 * 180,
                                    dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.COMMON_NAME, "scanpoint sample DSC")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end))
    if eku is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return key, cert.public_bytes(Encoding.DER)


def sign_cose(key: Any, protected: dict, unprotected: dict, payload: bytes) -> bytes:
    """A tagged COSE_Sign1 over ``payload``, ES256 for an EC key, PS256 for RSA."""
    tbs = cose.to_be_signed(protected, payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = key.sign(tbs, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                             hashes.SHA256())
    return cose.encode_sign1(protected, unprotected, payload, signature)


def claims(kind: str = "v", *, iat: float | None = None, exp: float | None = None,
           issuer: str = "DE", name: dict | None = None, entry: dict | None = None) -> dict:
    """CWT claims of a sample DCC of ``kind`` ("v", "t" or "r")."""
    now = int(time.time())
    return {1: issuer, 6: int(iat if iat is not None else now - 3600),
            4: int(exp if exp is not None else now + 86400 * 30),
            -260: {1: {"ver": "1.3.0", "nam": name or SAMPLE_NAME, "dob": "1964-08-12",
                       kind: [entry or SAMPLE_ENTRIES[kind]]}}}


def encode_hc1(cose_bytes: bytes, *, compress: bool = True) -> str:
    """``HC1:`` + Base45 of the zlib-compressed COSE message."""
    return "HC1:" + base45.encode(zlib.compress(cose_bytes, 9) if compress else cose_bytes)


def make_dcc(key: Any, cert_der: bytes, kind: str = "v", *, kid: bytes | None = None,
             kid_unprotected: bool = False, **claim_args: Any) -> str:
    """A complete signed ``HC1:`` code; the kid defaults to the certificate's."""
    from terminal.formats import cbor
    alg = ecdsa.ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else ecdsa.PS256
    kid = dsc.kid_of(cert_der) if kid is None else kid
    protected: dict = {1: alg} if kid_unprotected else {1: alg, 4: kid}
    unprotected: dict = {4: kid} if kid_unprotected else {}
    payload = cbor.dumps(claims(kind, **claim_args))
    return encode_hc1(sign_cose(key, protected, unprotected, payload))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write a sample DSC and print a signed HC1 code")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--kind", choices=["v", "t", "r"], default="v")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    key, der = make_signer(eku=[EKU[args.kind]])
    cert = x509.load_der_x509_certificate(der)
    (args.out_dir / "dsc.pem").write_bytes(cert.public_bytes(Encoding.PEM))
    print(make_dcc(key, der, args.kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
