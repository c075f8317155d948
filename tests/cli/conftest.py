"""Fixtures for the command-line tests: a working site, and a folder other users can enter."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.cli.main import main
from tests.support.programs import REPO


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can enter (pytest's tmp_path is 0700 under root's own folder)."""
    folder = Path(tempfile.mkdtemp(prefix="scanpoint-contract-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            with contextlib.suppress(OSError):
                path.chmod(0o700)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, str]:
    """A working issuer folder, its terminal config, a valid QR code as text and PNG, and an
    audit log with a row — what the commands need to get past their own arguments."""
    root = tmp_path_factory.mktemp("site")
    issuer = root / "issuer"
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        assert main(["issuer", "init", str(issuer)]) == 0
    png = root / "code.png"
    at = str(int(time.time()))        # verified at the time it was issued: the code lives 60 s
    out = subprocess.run([sys.executable, "-m", "terminal", "issuer", "issue", str(issuer),
                          "--type", "health", "--status", "green", "--name", "测试",
                          "--holder-id", "1", "--png", str(png), "--at", at],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    state = root / "state"
    state.mkdir()
    from terminal.counter.audit import AuditLog
    from terminal.reasons import Decision, Reason
    from terminal.result import Result
    with AuditLog(state) as audit:
        for _ in range(3):
            audit.record(Result(Decision.DENY, Reason.FORMAT_UNKNOWN, None, None, "test"))
    audit_cfg = root / "audit.toml"
    audit_cfg.write_text(f'[terminal]\nstate_dir = "{state}"\n', encoding="utf-8")
    return {"issuer": str(issuer), "config": str(issuer / "terminal.toml"), "png": str(png),
            "qr": out.stdout.strip(), "audit_config": str(audit_cfg), "root": str(root),
            "at": at}
