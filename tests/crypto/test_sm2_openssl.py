"""Cross-check with a second, independent implementation: the system OpenSSL 3 command line.

OpenSSL's SM2 defaults to an *empty* signer ID, so every call passes distid explicitly. Skipped
when no ``openssl`` binary with SM2 is installed.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from terminal.crypto import sm2

SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
DISTID = "distid:1234567812345678"


def _openssl_has_sm2() -> bool:
    exe = shutil.which("openssl")
    if exe is None:
        return False
    out = subprocess.run([exe, "list", "-public-key-algorithms"], capture_output=True, text=True)
    return "SM2" in out.stdout


pytestmark = pytest.mark.skipif(not _openssl_has_sm2(), reason="no openssl binary with SM2")


def _der_to_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)  # strict DER: raises on anything else
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _raw_to_der(sig: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


def _openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, timeout=30)


def test_openssl_signatures_verify_with_ours(tmp_path: Path):
    key = tmp_path / "key.pem"
    assert _openssl("genpkey", "-algorithm", "SM2", "-out", str(key)).returncode == 0
    spki = _openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER").stdout
    assert spki.startswith(SPKI_PREFIX) and len(spki) == len(SPKI_PREFIX) + 65
    pub = spki[len(SPKI_PREFIX):]
    rng = random.Random(7)
    for i in range(8):
        msg = rng.randbytes(1 + 17 * i)
        (tmp_path / "msg").write_bytes(msg)
        done = _openssl("pkeyutl", "-sign", "-inkey", str(key), "-rawin",
                        "-in", str(tmp_path / "msg"), "-digest", "sm3", "-pkeyopt", DISTID)
        assert done.returncode == 0, done.stderr
        sig = _der_to_raw(done.stdout)
        assert sm2.verify(pub, msg, sig) is True
        assert sm2.verify(pub, msg + b"x", sig) is False
        assert sm2.verify(pub, msg, done.stdout) is False  # DER is never accepted


def test_our_signatures_verify_with_openssl(tmp_path: Path):
    rng = random.Random(8)
    for i in range(8):
        d = rng.randrange(1, sm2.N - 1)
        pub = sm2.public_key_of(d)
        (tmp_path / "pub.der").write_bytes(SPKI_PREFIX + b"\x04" + pub)
        msg = rng.randbytes(1 + 13 * i)
        sig = sm2.sign(d, msg, deterministic=bool(i % 2))
        (tmp_path / "sig.der").write_bytes(_raw_to_der(sig))
        for data, ok in ((msg, True), (msg + b"x", False)):
            (tmp_path / "msg").write_bytes(data)
            done = _openssl("pkeyutl", "-verify", "-pubin", "-keyform", "DER",
                            "-inkey", str(tmp_path / "pub.der"), "-rawin",
                            "-in", str(tmp_path / "msg"), "-digest", "sm3", "-pkeyopt", DISTID,
                            "-sigfile", str(tmp_path / "sig.der"))
            assert (done.returncode == 0) is ok, done.stdout + done.stderr
