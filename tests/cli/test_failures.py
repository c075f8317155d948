"""The command line's contract, part two: failures during the work, and output nobody reads.

The same rule as :mod:`tests.cli.test_contract`: one stderr line naming the problem, the
documented exit status. Here the parser has accepted the command and the work fails (a full
disk, an image that is no image, a bug, Ctrl-C), or the reader of standard output goes away;
some run as real ``python -m terminal`` processes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.cli.exits import Exit
from terminal.cli.main import main
from tests.support.cli import PARSERS, argv_for, one_line, run_cli
from tests.support.programs import REPO, python_env


# -- the same image, the same answer ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "not-an-image", "folder"])
def test_decode_and_verify_agree_on_an_unreadable_image(kind, site, tmp_path, capsys):
    image = tmp_path / "image.png"
    if kind == "not-an-image":
        image.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    elif kind == "folder":
        image.mkdir()
    decode = main(["decode", str(image)])
    decode_err = capsys.readouterr().err
    verify = main(["verify", "--config", site["config"], str(image)])
    verify_out = capsys.readouterr()
    assert decode == verify == (Exit.FAILURE if kind == "not-an-image" else Exit.USAGE)
    for err in (decode_err, verify_out.err):
        assert len(err.splitlines()) == 1 and str(image) in err, err


# -- OSError during the work ------------------------------------------------------------------
def test_issuer_init_where_no_folder_can_be_made(capsys):
    one_line(capsys, ["issuer", "init", "/proc/scanpoint-test"], Exit.USAGE,
             "/proc/scanpoint-test", prog="scanpoint issuer init")


def test_demo_out_where_no_folder_can_be_made(capsys):
    one_line(capsys, ["demo", "--out", "/proc/scanpoint-test"], Exit.USAGE,
             "/proc/scanpoint-test", prog="scanpoint demo")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_disk_full_while_writing_is_a_failure_not_usage(site, capsys):
    one_line(capsys, ["audit", "export", "--config", site["audit_config"], "--since", "7d",
                      "-o", "/dev/full"], Exit.FAILURE, "/dev/full", "No space left",
             prog="scanpoint audit export")
    code = main(["issuer", "issue", site["issuer"], "--type", "insurance", "--name", "x",
                 "--holder-id", "1", "--png", "/dev/full"])
    err = capsys.readouterr().err
    assert code == Exit.FAILURE and err.count("\n") == 1 and "No space left" in err, err


def test_no_audit_log_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[terminal]\nstate_dir = "{tmp_path}"\n', encoding="utf-8")
    for sub in (["export", "--since", "7d"], ["find", "AAAAAAAA"], ["purge"]):
        one_line(capsys, ["audit", *sub, "--config", str(cfg)], Exit.FAILURE, "no audit log",
                 str(tmp_path))


def test_internal_error_is_one_line_with_a_hint(monkeypatch, capsys):
    from terminal.cli.commands import status

    def broken(config):
        raise TypeError("a bug")

    monkeypatch.setattr(status, "collect", broken)
    one_line(capsys, ["status"], Exit.FAILURE, "internal error", "TypeError", "a bug",
             "--log-level DEBUG", prog="scanpoint status")


def test_interrupt_is_130(monkeypatch, capsys):
    from terminal.cli.commands import status

    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(status, "collect", interrupted)
    one_line(capsys, ["status"], Exit.INTERRUPTED, "interrupted", prog="scanpoint status")


# -- broken pipe ----------------------------------------------------------------------------
@contextlib.contextmanager
def reader_gone(monkeypatch) -> Iterator[None]:
    """Standard output is a real pipe whose reader has already closed it."""
    read, write = os.pipe()
    os.close(read)
    stream = open(write, "w", encoding="utf-8")  # noqa: SIM115 - closed by the test's finally
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        yield
    finally:
        monkeypatch.undo()
        with contextlib.suppress(OSError):
            stream.close()


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_help_into_a_closed_pipe_is_quiet(prog, monkeypatch, capsys):
    with reader_gone(monkeypatch):
        code = main(argv_for(prog) + ["--help"])
    assert code == Exit.OK
    assert capsys.readouterr().err == ""


def _outputs(site: dict[str, str]) -> list[tuple[list[str], int]]:
    return [
        (["status", "--json", "--config", site["config"]], Exit.FAILURE),   # daemon not running
        (["status", "--config", site["config"]], Exit.FAILURE),
        (["audit", "export", "--config", site["audit_config"], "--since", "7d"], Exit.OK),
        (["audit", "purge", "--config", site["audit_config"]], Exit.OK),
        (["decode", "--json", site["png"]], Exit.OK),
        (["verify", "--config", site["config"], "--at", site["at"], "--json", "--text",
          site["qr"]], Exit.OK),
        (["verify", "--config", site["config"], "--at", site["at"], site["png"]], Exit.OK),
        (["printer", "status", "--config", site["config"]], Exit.OK),
        (["issuer", "issue", site["issuer"], "--type", "insurance", "--name", "x",
          "--holder-id", "1"], Exit.OK),
        (["issuer", "revoke", site["issuer"], "--serial", "ab" * 16], Exit.OK),
        (["issuer", "publish", site["issuer"]], Exit.OK),
        (["sync", "--once", "--config", site["config"]], Exit.OK),
        (["--version"], Exit.OK),
    ]


def test_output_into_a_closed_pipe_is_quiet_and_keeps_the_status(site, monkeypatch, capsys):
    for argv, status in _outputs(site):
        with reader_gone(monkeypatch):
            code = main(argv)
        err = capsys.readouterr().err
        assert code == status, (argv, code, err)
        assert "Broken pipe" not in err and "Traceback" not in err, (argv, err)


def test_real_pipe_to_head(site):
    """The two cases from the issue, through a real shell pipe."""
    for command, status in ((f"audit export --config {site['audit_config']} --since 7d | head -1",
                             Exit.OK),
                            (f"status --json --config {site['config']} | head -c1",
                             Exit.FAILURE)):
        script = (f"{sys.executable} -m terminal {command}; "
                  "echo \"status=${PIPESTATUS[0]}\" >&2")
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                env=python_env(), cwd=REPO, timeout=120)
        assert result.stderr.splitlines()[-1] == f"status={int(status)}", result.stderr
        assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr, \
            result.stderr


def test_reader_closed_before_output_as_a_process(site):
    """The reader is gone before the first byte: every write fails with EPIPE."""
    env = python_env()
    for argv, status in ((["audit", "export", "--config", site["audit_config"], "--since", "7d"],
                          Exit.OK),
                         (["status", "--json", "--config", site["config"]], Exit.FAILURE)):
        proc = subprocess.Popen([sys.executable, "-m", "terminal", *argv], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == status, err
        assert err == "", err               # not even the export's summary: nobody read it


# -- as a process: argv bytes, exit statuses ----------------------------------------------------
@pytest.mark.parametrize("command", [["decode"], ["verify"], ["verify", "--dsc"],
                                     ["status", "--config"]])
def test_non_utf8_file_name_from_argv_is_refused_without_a_crash(command, tmp_path):
    name = os.fsencode(tmp_path) + b"/\xff.png"
    with open(name, "wb") as fh:
        fh.write(b"x")
    result = run_cli(*command, name)
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == Exit.USAGE, (result.returncode, err)    # not -11 (SIGSEGV)
    assert len(err.splitlines()) == 1 and "not valid UTF-8" in err and "\\xff.png" in err, err


def test_bad_flag_as_a_process():
    result = run_cli("--bogus", text=True)
    assert result.returncode == Exit.USAGE
    assert result.stderr.splitlines() == [
        "scanpoint: unrecognized arguments: --bogus (see 'scanpoint --help')"]


def test_issuer_init_proc_as_a_process():
    result = run_cli("issuer", "init", "/proc/scanpoint-test", text=True)
    assert result.returncode == Exit.USAGE
    assert len(result.stderr.splitlines()) == 1 and "/proc/scanpoint-test" in result.stderr


def test_load_gray_refuses_a_non_utf8_name_itself(tmp_path):
    """The daemon's replay paths do not pass the parser: drivers.images checks too."""
    from drivers.images import ImageUnreadable, load_gray

    with pytest.raises(ImageUnreadable, match="not valid UTF-8"):
        load_gray(str(tmp_path) + "/\udcff.png")


def test_exit_table_is_what_main_documents():
    """The numbers sites' scripts use; changing one breaks them."""
    assert {e.name: int(e) for e in Exit} == {"OK": 0, "DENY": 1, "USAGE": 2, "CHECK": 3,
                                              "FAILURE": 4, "STALE_SOURCE": 5, "NOT_SET_UP": 6,
                                              "INTERRUPTED": 130}
