"""``scanpoint issuer init|issue`` and ``scanpoint verify`` through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from terminal.cli.main import main
from tests.support.programs import python_env


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# "now" for issuing and verifying: set when a terminal is made (its issuer key is valid from
# then), not at import, which may be minutes earlier in a long test run
AT_TS = int(time.time())
AT = iso(AT_TS)


def make_terminal(d: Path) -> Path:
    """init, publish and sync: the issuer folder's terminal holds its trust and revocation lists."""
    global AT_TS, AT
    AT_TS = int(time.time())
    AT = iso(AT_TS)
    assert main(["issuer", "init", str(d)]) == 0
    assert main(["issuer", "publish", str(d)]) == 0
    assert main(["sync", "--config", str(d / "terminal.toml"), "--once"]) == 0
    return d


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_terminal(tmp_path_factory.mktemp("cli") / "issuer")


def issue(demo, capsys, *extra, at=None):
    capsys.readouterr()
    argv = ["issuer", "issue", str(demo), "--at", at or AT, *extra]
    assert main(argv) == 0
    return capsys.readouterr().out.strip().splitlines()[0]


def verify(demo, capsys, *extra):
    capsys.readouterr()
    status = main(["verify", "--config", str(demo / "terminal.toml"), *extra])
    return status, capsys.readouterr()


def test_init_prints_no_private_key(tmp_path, capsys):
    assert main(["issuer", "init", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    secrets = [(tmp_path / "d" / "root.key").read_text().strip(),
               json.loads((tmp_path / "d" / "issuer.key").read_text())["d"]]
    for secret in secrets:
        assert len(secret) == 64 and secret not in out
    assert "terminal config" in out and "terminal.toml syncs from" in out


def test_init_refuses_existing_keys(demo, capsys):
    assert main(["issuer", "init", str(demo)]) == 2
    assert "--force" in capsys.readouterr().err


def test_issue_then_verify_pass_json(demo, capsys):
    qr = issue(demo, capsys, "--type", "health", "--status", "green", "--name", "张三丰",
               "--holder-id", "110101199001011234")
    assert qr.startswith("SP1:")
    status, out = verify(demo, capsys, "--at", iso(AT_TS + 10), "--json", "--text", qr)
    assert status == 0
    record = json.loads(out.out)
    assert record == {**record, "decision": "pass", "reason": "OK", "format": "native",
                      "type": "health", "masked_name": "张*丰",
                      "expires": iso(AT_TS + 60)}
    assert "110101" not in out.out and "张三丰" not in out.out


def test_verify_exit_codes_deny_and_check(demo, capsys):
    red = issue(demo, capsys, "--type", "health", "--status", "red", "--name", "李四",
                "--holder-id", "A1")
    yellow = issue(demo, capsys, "--type", "health", "--status", "yellow", "--name", "李四",
                   "--holder-id", "A1")
    status, out = verify(demo, capsys, "--at", AT, "--text", red)
    assert status == 1 and "DENY  STATUS_RED" in out.out
    status, out = verify(demo, capsys, "--at", AT, "--text", yellow)
    assert status == 3 and "CHECK STATUS_YELLOW" in out.out
    status, out = verify(demo, capsys, "--at", iso(AT_TS + 3600)[:-1], "--text", yellow)
    assert status == 1 and "EXPIRED" in out.out
    status, out = verify(demo, capsys, "--at", AT, "--text", "SP1:garbage")
    assert status == 1 and "BASE45_INVALID" in out.out


def test_verify_usage_errors(demo, capsys, tmp_path):
    assert verify(demo, capsys)[0] == 2  # neither --text nor an image
    assert verify(demo, capsys, "--text", "x", "img.png")[0] == 2
    status, out = verify(demo, capsys, "--at", "yesterday", "--text", "x")
    assert status == 2 and "ISO-8601" in out.err
    assert main(["verify", "--config", str(tmp_path / "none.toml"), "--text", "x"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[trust]\nroot = 1\n")
    assert main(["verify", "--config", str(bad), "--text", "x"]) == 2
    assert "unknown key" in capsys.readouterr().err


def test_verify_png_image(demo, capsys, tmp_path):
    png = tmp_path / "code.png"
    issue(demo, capsys, "--type", "health", "--status", "green", "--name", "王五",
          "--holder-id", "B2", "--png", str(png))
    assert png.stat().st_size > 0
    status, out = verify(demo, capsys, "--at", AT, "--json", str(png))
    assert status == 0, out
    assert json.loads(out.out)["masked_name"] == "王*"


def test_verify_image_without_code(demo, capsys, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    status, out = verify(demo, capsys, "--at", AT, str(blank))
    assert status == 4 and "no QR code found" in out.out


def test_trust_list_refused_warns_and_checks(tmp_path, capsys):
    d = make_terminal(tmp_path / "iss")
    qr = issue(d, capsys, "--type", "health", "--status", "green", "--name", "赵六",
               "--holder-id", "C3")
    data = bytearray((d / "trust-list.cose").read_bytes())
    data[-1] ^= 1  # break the signature
    (d / "trust-list.cose").write_bytes(bytes(data))
    status, out = verify(d, capsys, "--at", AT, "--text", qr)
    assert status == 3 and "TRUST_LIST_MISSING" in out.out
    assert "trust list refused" in out.err


def test_holder_id_from_stdin(demo, capsys, monkeypatch):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("D4444\n"))
    qr = issue(demo, capsys, "--type", "insurance", "--name", "钱七", "--holder-id", "-")
    text = qr
    capsys.readouterr()
    cfg = demo / "terminal.toml"
    assert main(["verify", "--config", str(cfg), "--at", AT, "--json", "--text", text]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["reason"] == "TYPE_NOT_ACCEPTED" and record["type"] == "insurance"


def test_issue_refuses_bad_type_for_status(demo, capsys):
    assert main(["issuer", "issue", str(demo), "--type", "insurance", "--status", "green",
                 "--name", "x", "--holder-id", "1"]) == 2
    assert "other types take none" in capsys.readouterr().err


def test_python_dash_m_terminal_end_to_end(tmp_path):
    env = python_env(hw_sim=False)

    def run(*a):
        return subprocess.run([sys.executable, "-m", "terminal", *a], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=60)

    assert run("issuer", "init", "demo").returncode == 0
    assert run("issuer", "publish", "demo").returncode == 0
    synced = run("sync", "--config", "demo/terminal.toml", "--once")
    assert synced.returncode == 0, synced.stderr
    made = run("issuer", "issue", "demo", "--type", "health", "--status", "green",
               "--name", "张三丰", "--holder-id", "110101199001011234")
    assert made.returncode == 0, made.stderr
    qr = made.stdout.strip()
    ok = run("verify", "--config", "demo/terminal.toml", "--json", "--text", qr)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["decision"] == "pass"
    late = run("verify", "--config", "demo/terminal.toml", "--at", "2099-01-01", "--text", qr)
    assert late.returncode == 1 and "EXPIRED" in late.stdout


def test_verify_png_with_pyzbar_and_missing_image(demo, capsys, tmp_path):
    png = tmp_path / "code.png"
    issue(demo, capsys, "--type", "health", "--status", "yellow", "--name", "孙八",
          "--holder-id", "E5", "--png", str(png))
    status, out = verify(demo, capsys, "--at", AT, "--decoder", "pyzbar", str(png))
    assert status == 3 and "STATUS_YELLOW" in out.out
    status, out = verify(demo, capsys, "--at", AT, str(tmp_path / "missing.png"))
    assert status == 2 and "not found" in out.err


def test_without_revocation_state_no_pass(tmp_path, capsys):
    d = tmp_path / "fresh"
    assert main(["issuer", "init", str(d)]) == 0
    (d / "state" / "revocation.db").unlink()  # as on a terminal that never synced
    qr = issue(d, capsys, "--type", "health", "--status", "green", "--name", "周九",
               "--holder-id", "F6")
    status, out = verify(d, capsys, "--at", AT, "--text", qr)
    assert status == 3 and "LIST_STALE" in out.out


def test_revoked_credential_is_denied_after_publish_and_sync(tmp_path, capsys):
    d = make_terminal(tmp_path / "rev")
    qr = issue(d, capsys, "--type", "health", "--status", "green", "--name", "吴十",
               "--holder-id", "G7", at=iso(int(time.time())))
    assert verify(d, capsys, "--text", qr)[0] == 0
    serial = _serial(qr)
    assert main(["issuer", "revoke", str(d), "--serial", serial.hex()]) == 0
    assert main(["issuer", "publish", str(d)]) == 0
    assert main(["sync", "--config", str(d / "terminal.toml"), "--once"]) == 0
    status, out = verify(d, capsys, "--json", "--text", qr)
    assert status == 1 and json.loads(out.out)["reason"] == "REVOKED"


def _serial(qr: str) -> bytes:
    from terminal.formats import cbor, native

    return cbor.loads(native.envelope(qr).payload)[native.SERIAL]
