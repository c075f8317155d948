"""End to end through the command line, with the issuer folder served by a real HTTP server.

issuer init --url -> issue -> verify (pass) -> issuer revoke --text -> issuer publish ->
sync --once -> verify (deny REVOKED); then the server goes away and ``sync --once`` exits 4 with
one line saying why, while the terminal keeps denying the revoked credential.
"""

from __future__ import annotations

import json

import pytest

from terminal.cli.exits import Exit
from terminal.cli.main import main
from terminal.lists import listfiles
from tests.support.listserver import ListServer


@pytest.fixture
def served(tmp_path):
    d = tmp_path / "issuer"
    d.mkdir()
    server = ListServer(listfiles.public_root(d))
    yield d, server
    server.close()


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_revoke_publish_sync_denies(served, capsys):
    d, server = served
    code, out, _ = run(capsys, "issuer", "init", str(d), "--url", server.url)
    assert code == 0 and f'source = "{server.url}"' in (d / "terminal.toml").read_text()
    toml = d / "terminal.toml"
    toml.write_text(toml.read_text() + "retries = 1\nbackoff = 0.05\n")   # keep the test quick
    cfg = str(toml)
    code, qr, _ = run(capsys, "issuer", "issue", str(d), "--type", "health", "--status", "green",
                      "--name", "张三丰", "--holder-id", "110101199003070000", "--ttl", "120")
    qr = qr.strip()
    assert code == 0
    code, out, _ = run(capsys, "verify", "--config", cfg, "--text", qr, "--json")
    assert code == 0 and json.loads(out)["decision"] == "pass", out

    assert run(capsys, "issuer", "revoke", str(d), "--text", qr)[0] == 0
    assert run(capsys, "issuer", "publish", str(d))[0] == 0
    code, out, err = run(capsys, "sync", "--once", "--config", cfg)
    assert code == 0 and out.startswith("sync ok: updated"), (out, err)
    assert any(p.startswith("/lists/") for p, _ in server.requests)     # it really used HTTP

    code, out, _ = run(capsys, "verify", "--config", cfg, "--text", qr, "--json")
    res = json.loads(out)
    assert code == 1 and (res["decision"], res["reason"]) == ("deny", "REVOKED"), out

    server.close()
    code, out, err = run(capsys, "sync", "--once", "--config", cfg)
    assert code == 4
    lines = [x for x in err.splitlines() if x.startswith("sync failed")]
    assert len(lines) == 1 and "unreachable" in lines[0], err
    code, out, _ = run(capsys, "verify", "--config", cfg, "--text", qr, "--json")
    assert code == 1 and json.loads(out)["reason"] == "REVOKED"


def test_revoke_by_serial_and_refusals(served, capsys):
    d, _ = served
    assert run(capsys, "issuer", "init", str(d))[0] == 0          # folder source by default
    assert 'source = "public"' in (d / "terminal.toml").read_text()
    code, _, err = run(capsys, "issuer", "revoke", str(d), "--serial", "zz")
    assert code == 2 and "hex" in err
    for typo in ("00" * 15, "00" * 17, "0" * 31):        # hex, but not a 16-byte serial
        code, out, err = run(capsys, "issuer", "revoke", str(d), "--serial", typo)
        assert code == 2 and "32 hex digits" in err and "revoked" not in out, (typo, out, err)
    code, out, err = run(capsys, "issuer", "revoke", str(d), "--text", "NT1:NOT-A-CODE")
    assert code == Exit.USAGE and "revoked" not in out        # a bad --text value
    assert "no serial could be read" in err and "FORMAT_UNKNOWN" in err and "Traceback" not in err
    assert run(capsys, "issuer", "revoke", str(d), "--serial", "00" * 16)[0] == 0
    assert run(capsys, "issuer", "publish", str(d))[0] == 0
    code, out, err = run(capsys, "sync", "--once", "--config", str(d / "terminal.toml"))
    assert code == 0 and "revocation" in out, (out, err)


def test_sync_without_root_key_is_a_config_error(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[sync]\nsource = "http://127.0.0.1:9/"\n')
    code, _, err = run(capsys, "sync", "--once", "--config", str(cfg))
    assert code == 2 and "root_key" in err


def test_served_folder_holds_no_private_key(served, capsys):
    """A static server pointed at DIR/public (what terminals sync from) can't hand out a key."""
    d, server = served
    assert run(capsys, "issuer", "init", str(d), "--url", server.url)[0] == 0
    issuer_key = json.loads((d / "issuer.key").read_text())
    secrets = [(d / "root.key").read_text().strip(), issuer_key["d"], issuer_key["holder_key"]]
    secrets = [s.encode() for s in secrets] + [bytes.fromhex(s) for s in secrets]
    served_files = [p for p in listfiles.public_root(d).rglob("*") if p.is_file()]
    assert served_files and not any(p.suffix == ".key" for p in served_files)
    for path in served_files:
        data = path.read_bytes()
        assert not any(s in data for s in secrets), path
    import urllib.error
    import urllib.request
    for name in ("root.key", "issuer.key", "../root.key"):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(server.url + name, timeout=5)
