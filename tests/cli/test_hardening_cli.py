"""One line, never a traceback, for what a careless operator does to files and values.

Key files that are folders or unreadable, list validities that are not numbers, a config that
is not UTF-8 arriving through a pipe, output cut short by ``head``, and a relative ``--out``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from terminal.cli.exits import Exit
from terminal.cli.main import main
from tests.support.cli import REPO, as_nobody, one_line


@pytest.fixture
def issuer(shared_tmp) -> Path:
    folder = shared_tmp / "issuer"
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        assert main(["issuer", "init", str(folder)]) == 0
    return folder


ISSUE = ["issuer", "issue", "--type", "health", "--status", "green", "--name", "张三",
         "--holder-id", "110101"]


def issue_argv(folder: Path) -> list[str]:
    return [*ISSUE[:2], str(folder), *ISSUE[2:]]


@pytest.mark.parametrize("mode", [0o700, 0o755])
def test_an_issuer_key_that_is_a_folder_is_one_line(issuer, capsys, mode):
    key = issuer / "issuer.key"
    key.unlink()
    key.mkdir(mode=mode)
    key.chmod(mode)
    line = one_line(capsys, issue_argv(issuer), Exit.USAGE, "issuer.key", "folder",
                    prog="scanpoint issuer issue")
    assert "readable by others" not in line


def test_an_unreadable_issuer_key_is_one_line(issuer, capsys):
    issuer.chmod(0o755)
    (issuer / "issuer.key").chmod(0o600)
    with as_nobody():
        line = one_line(capsys, issue_argv(issuer), Exit.USAGE, "issuer.key",
                        prog="scanpoint issuer issue")
    assert "permission" in line.lower()


def test_a_root_key_that_is_not_text_is_one_line(issuer, capsys):
    (issuer / "root.key").write_bytes(b"\xff\xfe\x00")
    one_line(capsys, ["issuer", "publish", str(issuer)], Exit.USAGE, "root.key",
             prog="scanpoint issuer publish")


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "0"])
@pytest.mark.parametrize("flag", ["--validity", "--trust-validity"])
def test_publish_validity_that_is_not_a_positive_number_is_one_line(issuer, capsys, flag, value):
    one_line(capsys, ["issuer", "publish", str(issuer), f"{flag}={value}"], Exit.USAGE, flag,
             repr(value), prog="scanpoint issuer publish")


def test_a_config_from_a_pipe_that_is_not_utf8_is_one_line(tmp_path):
    script = (f"{sys.executable} -m terminal status --config <(printf '[terminal]\\nid = \"\\xff\"\\n'); "
              "echo \"status=$?\" >&2")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'hw-sim'}"}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)
    lines = proc.stderr.splitlines()
    assert lines[-1] == f"status={int(Exit.USAGE)}", proc.stderr
    assert len(lines) == 2 and "not UTF-8" in lines[0] and "line 2" in lines[0], proc.stderr


def test_status_text_into_head_is_quiet(issuer):
    script = (f"{sys.executable} -m terminal status --config {issuer / 'terminal.toml'} | head -5; "
              "echo \"status=${PIPESTATUS[0]}\" >&2")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'hw-sim'}"}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=120)
    assert proc.stderr.splitlines()[-1] == f"status={int(Exit.FAILURE)}", proc.stderr
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr


def test_demo_out_relative_to_the_working_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["demo", "--out", "rel"])
    out = capsys.readouterr()
    assert code == Exit.OK, out.err[-2000:]
    assert (tmp_path / "rel" / "demo.toml").exists()
    assert not (tmp_path / "rel" / "rel").exists()
