"""The DCC signer-certificate store: loading PEM/DER files and directories, lookup by kid."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from terminal.crypto import ecdsa
from terminal.errors import CertificateError, ConfigError
from terminal.formats import dsc
from tools import dcc_sample as sample


def pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


@pytest.fixture(scope="module")
def certs():
    return [sample.make_signer("ec", eku=[sample.EKU["v"]])[1], sample.make_signer("ec")[1],
            sample.make_signer("rsa")[1]]


def test_kid_is_first_8_bytes_of_sha256_of_der(certs):
    for der in certs:
        assert dsc.kid_of(der) == hashlib.sha256(der).digest()[:8]
        assert dsc.signer_certificate(der).kid == dsc.kid_of(der)


def test_load_files_directory_pem_bundle_and_der(tmp_path, certs):
    ec_v, ec_plain, rsa_ = certs
    folder = tmp_path / "dsc"
    folder.mkdir()
    (folder / "bundle.pem").write_bytes(pem(ec_v) + b"\n" + pem(ec_plain))
    (folder / "one.der").write_bytes(rsa_)
    (folder / "README.txt").write_text("not a certificate, and ignored by suffix")
    store = dsc.load_certificates([folder])
    assert len(store) == 3
    for der in certs:
        (found,) = store.find(dsc.kid_of(der))
        assert found.der == der
    assert store.find(dsc.kid_of(rsa_))[0].algorithm == ecdsa.PS256
    assert store.find(dsc.kid_of(ec_v))[0].algorithm == ecdsa.ES256
    assert store.find(dsc.kid_of(ec_v))[0].extended_key_usage == {sample.EKU["v"]}
    assert store.find(dsc.kid_of(ec_plain))[0].extended_key_usage is None
    # a single file, given as str; the same certificate twice is kept once
    (tmp_path / "single.pem").write_bytes(pem(ec_v))
    store = dsc.load_certificates([str(tmp_path / "single.pem"), folder / "bundle.pem"])
    assert len(store) == 2


def test_lookup_misses(certs):
    store = dsc.DscStore.from_der(certs[:1])
    assert store.find(b"\0" * 8) == () and store.find(None) == () and store.find(b"") == ()
    assert "certificates=1" in repr(store) and "BEGIN" not in repr(store)


@pytest.mark.parametrize("content, message", [
    (b"hello", "not a valid X.509 certificate"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "no CERTIFICATE block"),
    (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not valid base64"),
])
def test_bad_files_are_errors_naming_the_file(tmp_path, content, message):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    with pytest.raises(CertificateError, match=message) as info:
        dsc.load_certificates([bad])
    assert "bad.pem" in str(info.value)
    assert isinstance(info.value, ConfigError)   # the CLI turns it into exit status 2


def test_missing_path_and_oversized_file(tmp_path, monkeypatch):
    with pytest.raises(CertificateError, match="not found"):
        dsc.load_certificates([tmp_path / "nope.pem"])
    big = tmp_path / "big.pem"
    big.write_bytes(b"x" * 100)
    monkeypatch.setattr(dsc, "MAX_FILE_BYTES", 99)
    with pytest.raises(CertificateError, match="more than a certificate file may hold"):
        dsc.load_certificates([big])


def test_size_cap_holds_for_a_file_whose_stat_size_is_wrong(monkeypatch):
    """The cap is enforced while reading: procfs files report size 0 yet hold more bytes."""
    from pathlib import Path
    lying = Path("/proc/self/status")
    if not lying.is_file() or lying.stat().st_size != 0:
        pytest.skip("needs Linux procfs (a regular file whose stat size is 0)")
    monkeypatch.setattr(dsc, "MAX_FILE_BYTES", 99)
    with pytest.raises(CertificateError, match="more than a certificate file may hold"):
        dsc.load_certificates([lying])


def test_unsupported_key_is_refused(tmp_path):
    import datetime as dt

    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "p384")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA384()))
    with pytest.raises(CertificateError, match="unsupported key"):
        dsc.signer_certificate(cert.public_bytes(Encoding.DER))


def test_allows():
    cert = dsc.signer_certificate(sample.make_signer("ec", eku=[sample.EKU["t"]])[1])
    assert cert.allows(dsc.EKU_TEST) and not cert.allows(dsc.EKU_VACCINATION)


def test_empty_eku_sequence_is_read_although_cryptography_refuses_it(testdata):
    """EU suite case CO15: a DSC whose EKU is an empty SEQUENCE (invalid per RFC 5280, issued
    anyway). It lists no usage, so it may sign every type; the fallback DER reader finds that."""
    case = testdata / "dcc/common/2DCode/raw/CO15.json"
    if not case.is_file():
        pytest.skip("shared test data lacks dcc/common/2DCode/raw/CO15.json")
    der = base64.b64decode(json.loads(case.read_text())["TESTCTX"]["CERTIFICATE"])
    with pytest.raises(ValueError):
        _ = x509.load_der_x509_certificate(der).extensions  # the library's own refusal
    cert = dsc.signer_certificate(der)
    assert cert.extended_key_usage == frozenset()
    assert cert.allows(dsc.EKU_RECOVERY)


def test_fallback_der_reader_agrees_with_cryptography():
    for eku in ([sample.EKU["v"]], ["1.3.6.1.4.1.0.1847.2021.1.1", "2.23.136.1.1.14.2"], None):
        der = sample.make_signer("ec", eku=eku)[1]
        tbs = x509.load_der_x509_certificate(der).tbs_certificate_bytes
        assert dsc._eku_from_tbs(tbs) == (None if eku is None else frozenset(eku))


def test_certificate_from_base64():
    der = sample.make_signer("ec")[1]
    text = base64.b64encode(der).decode()
    assert dsc.certificate_from_base64(text[:40] + "\n" + text[40:]).der == der
    with pytest.raises(CertificateError, match="base64"):
        dsc.certificate_from_base64("***")


def test_config_section_loads_the_store_relative_to_the_config_file(tmp_path, certs):
    from terminal import config
    (tmp_path / "dsc").mkdir()
    (tmp_path / "dsc" / "a.pem").write_bytes(pem(certs[0]))
    path = tmp_path / "terminal.toml"
    path.write_text('[dcc]\ndsc_dir = "dsc"\n', encoding="utf-8")
    cfg = config.load(path)
    assert cfg.dcc.dsc_dir == str(tmp_path / "dsc")
    store = dsc.store_from_config(cfg.dcc)
    assert len(store) == 1 and store.find(dsc.kid_of(certs[0]))
    assert dsc.store_from_config(config.Config().dcc) is None
    with pytest.raises(ConfigError, match="unknown key"):
        config.loads('[dcc]\ndsc_folder = "x"\n')
    path.write_text('[dcc]\ndsc_dir = "missing"\n', encoding="utf-8")
    with pytest.raises(CertificateError, match="not found"):
        dsc.store_from_config(config.load(path).dcc)


def test_the_daemon_verifier_reads_dccs_with_the_configured_signers(tmp_path, caplog):
    """The composition root loads [dcc] dsc_dir (it once did not, and every DCC was denied);
    a folder that cannot be read leaves DCCs denied, logged, and the terminal running."""
    from terminal import config
    from terminal.daemon.compose import build_verifier
    from terminal.reasons import Decision, Reason

    key, der = sample.make_signer("ec")
    (tmp_path / "dsc").mkdir()
    (tmp_path / "dsc" / "signer.pem").write_bytes(pem(der))
    text = sample.make_dcc(key, der)
    path = tmp_path / "terminal.toml"
    path.write_text('[dcc]\ndsc_dir = "dsc"\n', encoding="utf-8")
    result = build_verifier(config.load(path)).verify(text, time.time())
    assert (result.decision, result.reason) == (Decision.PASS, Reason.OK)
    (tmp_path / "dsc" / "signer.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nbroken\n")
    result = build_verifier(config.load(path)).verify(text, time.time())
    assert (result.decision, result.reason) == (Decision.DENY, Reason.TRUST_LIST_MISSING)
    assert "dsc_store_refused" in caplog.text
