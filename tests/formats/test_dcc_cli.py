"""``scanpoint verify --dsc CERT.pem --text 'HC1:...'`` on cases of the EU DCC test suite."""

from __future__ import annotations

import base64
import json

import pytest

from terminal.cli import main as cli

PEM = "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n"


def suite_case(testdata, name):
    path = testdata / "dcc" / name
    if not path.is_file():
        pytest.skip(f"shared test data lacks dcc/{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def write_cert(tmp_path, case, name="dsc.pem"):
    body = case["TESTCTX"]["CERTIFICATE"]
    base64.b64decode(body, validate=True)
    path = tmp_path / name
    path.write_text(PEM.format("\n".join(body[i:i + 64] for i in range(0, len(body), 64))))
    return path


def run(capsys, *argv):
    status = cli.main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return status, [json.loads(line) for line in out]


def site_config(tmp_path):
    """A site that accepts the three DCC types (the policy decides which formats a site takes)."""
    path = tmp_path / "site.toml"
    path.write_text('[policy]\naccept = ["dcc-vaccination", "dcc-test", "dcc-recovery"]\n',
                    encoding="utf-8")
    return str(path)


def test_verify_with_a_site_config_passes_a_suite_dcc(tmp_path, testdata, capsys):
    case = suite_case(testdata, "DE/2DCode/raw/3.json")
    cert = write_cert(tmp_path, case)
    status, (record,) = run(capsys, "verify", "--config", site_config(tmp_path),
                            "--at", "2021-06-01T00:00:00Z", "--dsc", str(cert),
                            "--text", case["PREFIX"], "--json")
    assert (status, record["decision"], record["type"]) == (0, "pass", "dcc-recovery"), record


def test_verify_passes_a_suite_dcc_at_its_time(tmp_path, testdata, capsys):
    """The issue's own command line (no --config): German test case 1 (vaccination), June 2021.

    Needs ``scanpoint verify`` to run without ``--config`` and its default policy to take DCCs.
    """
    case = suite_case(testdata, "DE/2DCode/raw/1.json")
    cert = write_cert(tmp_path, case)
    status, (record,) = run(capsys, "verify", "--at", "2021-06-01T00:00:00Z", "--dsc", str(cert),
                            "--text", case["PREFIX"], "--json")
    assert status == 0, record
    assert (record["decision"], record["reason"], record["format"]) == ("pass", "OK", "dcc")
    assert record["type"] == "dcc-vaccination"
    assert record["masked_name"] == "E*** M***"
    assert "Mustermann" not in json.dumps(record)


def test_verify_denies_with_the_reason(tmp_path, testdata, capsys):
    case = suite_case(testdata, "DE/2DCode/raw/1.json")
    cert = write_cert(tmp_path, case)
    config = site_config(tmp_path)
    status, (record,) = run(capsys, "verify", "--config", config, "--at", "2031-06-01T00:00:00Z", "--dsc", str(cert),
                            "--text", case["PREFIX"], "--json")
    assert (status, record["decision"], record["reason"]) == (1, "deny", "EXPIRED")
    other = write_cert(tmp_path, suite_case(testdata, "AT/2DCode/raw/1.json"), "at.pem")
    status, (record,) = run(capsys, "verify", "--config", config, "--at", "2021-06-01T00:00:00Z", "--dsc", str(other),
                            "--text", case["PREFIX"], "--json")
    assert (status, record["decision"], record["reason"]) == (1, "deny", "KEY_UNKNOWN")


def test_verify_with_a_bad_certificate_file_is_a_usage_error(tmp_path, testdata, capsys):
    case = suite_case(testdata, "DE/2DCode/raw/1.json")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    status = cli.main(["verify", "--config", site_config(tmp_path), "--at", "2021-06-01T00:00:00Z", "--dsc", str(bad),
                       "--text", case["PREFIX"], "--json"])
    assert status == 2
    assert "bad.pem" in capsys.readouterr().err
