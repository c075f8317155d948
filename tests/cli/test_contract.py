"""The command line's contract, for every command the real parser has.

Every expected failure is ONE line on stderr, ``scanpoint COMMAND: ...``, naming the argument and
the value or file, and the documented exit status (terminal/cli/exits.py) — the same in every
command. The cases are generated from ``build_parser()``: a new command, flag or path argument is
covered as soon as it is registered, and an argument nobody classified fails
:func:`test_every_argument_is_classified`.

Most cases run in-process through ``main(argv)``; the broken pipe, a non-UTF-8 ``argv`` and a
few others run as real ``python -m terminal`` processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.cli.main import build_parser, main, walk

REPO = Path(__file__).resolve().parents[2]
PARSER = build_parser()
PARSERS = dict(walk(PARSER))
COMMANDS = {prog: p for prog, p in PARSERS.items() if p.get_default("func") is not None}
NOBODY = 65534

#: arguments that take any text, and why that is right (anything else needs a checked type)
FREE_TEXT = {
    ("scanpoint issuer init", "--issuer"): "any issuer name",
    ("scanpoint issuer issue", "--name"): "any holder name (length checked: RUNTIME_VALUES)",
    ("scanpoint issuer issue", "--holder-id"): "any ID number, or - for standard input",
    ("scanpoint issuer revoke", "--text"): "a QR text; one without a serial: RUNTIME_VALUES",
    ("scanpoint verify", "--text"): "any QR text gets a decision, not an error",
    ("scanpoint printer status", "--url"): "a pyserial URL; checked when the port opens",
    ("scanpoint printer test", "--url"): "a pyserial URL; checked when the port opens",
    ("scanpoint decode", "--decoder"): "decoder names and aliases live in drivers.decoder: "
                                       "RUNTIME_VALUES",
}

#: values refused by the command rather than by the parser: (prog, option) -> (argv after the
#: command, needles the one error line must contain); exit status 2 like any bad value
RUNTIME_VALUES = {
    ("scanpoint decode", "--decoder"): (["--decoder", "quirc", "{png}"], ["--decoder", "quirc"]),
    ("scanpoint issuer revoke", "--text"): (["{issuer}", "--text", "SP1:NOT-A-CODE"],
                                            ["--text", "nothing revoked"]),
    ("scanpoint issuer issue", "--name"): (
        ["{issuer}", "--type", "health", "--status", "green", "--name", " ", "--holder-id", "1"],
        ["name must be"]),
}

#: what a command needs beyond its required arguments before it reaches its config
NEEDS = {"scanpoint verify": ["--text", "SP1:X"]}


def label(action: argparse.Action) -> str:
    """How argparse names the argument in its messages: ``--since`` or ``CODE``."""
    if action.option_strings:
        return max(action.option_strings, key=len)
    return action.metavar or action.dest


def shown_as(action: argparse.Action) -> str:
    """How argparse names the argument in an error: ``--output/-o`` or ``CODE``."""
    if action.option_strings:
        return "/".join(action.option_strings)
    return action.metavar or action.dest


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [a for a in parser._actions if not isinstance(a, skip)]


def needed(action: argparse.Action) -> bool:
    """Required on the command line (argparse marks a ``*`` positional required, met by none)."""
    return action.required and action.nargs not in ("*", "?")


def argv_for(prog: str) -> list[str]:
    return prog.split()[1:]


def given(action: argparse.Action, value: str) -> list[str]:
    return [label(action), value] if action.option_strings else [value]


def one_line(capsys, argv: list[str], status: int, *needles: str, prog: str | None = None) -> str:
    """Run ``scanpoint argv``; assert the status and exactly one stderr line with the needles."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == status, (argv, code, err)
    assert len(lines) == 1, (argv, err)
    line = lines[0]
    assert "Traceback" not in err
    if prog is not None:
        assert line.startswith(prog + ": "), (prog, line)
    for needle in needles:
        assert needle in line, (needle, line)
    return line


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Without root's override of file modes (in this process, for the call only)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


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


def fill(parser: argparse.ArgumentParser, site: dict[str, str], tmp: Path,
         skip: argparse.Action | None = None) -> list[str]:
    """Good values for the required arguments of ``parser`` (except ``skip``)."""
    required = [a for a in arguments(parser) if needed(a)]
    for group in parser._mutually_exclusive_groups:
        if group.required and not any(a is skip for a in group._group_actions):
            required.append(group._group_actions[0])
    argv: list[str] = []
    for action in required:
        if action is skip:
            continue
        if action.type is types.config_file:
            value = site["config"]
        elif action.type is types.image_file:
            value = site["png"]
        elif action.type is types.issuer_dir:
            value = site["issuer"]
        elif isinstance(action.type, types.PathType):
            value = str(tmp / f"new-{action.dest}")
        elif action.choices:
            value = next(iter(action.choices))
        elif hasattr(action.type, "good_example"):
            value = action.type.good_example
        else:
            value = "x"
        argv += given(action, value)
    return argv


# -- the parser is fully classified ---------------------------------------------------------
def test_every_argument_is_classified():
    """Each argument is a flag, a choice, a checked type, or free text with a reason."""
    unclassified = []
    for prog, parser in PARSERS.items():
        for action in arguments(parser):
            if action.nargs == 0 or action.choices is not None:
                continue
            if isinstance(action.type, types.PathType) or hasattr(action.type, "bad_examples"):
                continue
            if (prog, label(action)) in FREE_TEXT:
                continue
            unclassified.append((prog, label(action)))
    assert not unclassified, ("give these a type from terminal/cli/args.py or list them in "
                              f"FREE_TEXT with a reason: {unclassified}")


def test_every_path_argument_has_a_path_type():
    """Anything that looks like a file or folder is checked as one."""
    words = {"FILE", "DIR", "IMAGE", "PATH"}
    dests = {"config", "output", "png", "out", "dir", "images", "dsc"}
    loose = [(prog, label(a)) for prog, parser in PARSERS.items() for a in arguments(parser)
             if (a.metavar in words or a.dest in dests) and not isinstance(a.type, types.PathType)]
    assert not loose, loose


def test_free_text_and_runtime_tables_name_real_arguments():
    real = {(prog, label(a)) for prog, parser in PARSERS.items() for a in arguments(parser)}
    assert set(FREE_TEXT) <= real and set(RUNTIME_VALUES) <= real
    assert set(NEEDS) <= set(COMMANDS)


# -- bad flags ------------------------------------------------------------------------------
@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_bad_flag_is_named(prog, capsys):
    one_line(capsys, argv_for(prog) + ["--bogus"], Exit.USAGE, "--bogus", "unrecognized",
             prog=prog)


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_bad_flag_is_named_even_with_required_arguments_missing(prog, capsys):
    """argparse says "the following arguments are required" first; the flag is the news."""
    one_line(capsys, argv_for(prog) + ["--bogus=1"], Exit.USAGE, "--bogus=1", prog=prog)


def test_a_line_break_in_a_bad_word_stays_one_line(capsys):
    one_line(capsys, ["sync", "--x\ny"], Exit.USAGE, "--x y", prog="scanpoint sync")
    one_line(capsys, ["audit", "export", "--since", "a\nb"], Exit.USAGE, "'a\\nb'")


def test_missing_command_is_one_line(capsys):
    one_line(capsys, [], Exit.USAGE, "COMMAND", prog="scanpoint")
    one_line(capsys, ["issuer"], Exit.USAGE, "ISSUER_COMMAND", prog="scanpoint issuer")


@pytest.mark.parametrize("prog", sorted(c for c in COMMANDS if any(
    needed(a) for a in arguments(COMMANDS[c]))))
def test_missing_required_argument_is_named(prog, capsys):
    missing = [label(a) for a in arguments(COMMANDS[prog]) if needed(a)]
    one_line(capsys, argv_for(prog), Exit.USAGE, "required", missing[0], prog=prog)


# -- bad values -----------------------------------------------------------------------------
CHOICES = [(prog, label(a)) for prog, parser in PARSERS.items() for a in arguments(parser)
           if a.choices is not None]
VALUES = [(prog, label(a), bad) for prog, parser in PARSERS.items() for a in arguments(parser)
          for bad in getattr(a.type, "bad_examples", ())]


def _action(prog: str, name: str) -> argparse.Action:
    return next(a for a in arguments(PARSERS[prog]) if label(a) == name)


@pytest.mark.parametrize("prog,name", CHOICES)
def test_bad_choice_is_named(prog, name, capsys):
    action = _action(prog, name)
    one_line(capsys, argv_for(prog) + given(action, "no-such-choice"), Exit.USAGE,
             f"argument {shown_as(action)}:", "no-such-choice", prog=prog)


@pytest.mark.parametrize("prog,name,bad", VALUES)
def test_bad_value_is_named(prog, name, bad, capsys):
    action = _action(prog, name)
    line = one_line(capsys, argv_for(prog) + given(action, bad), Exit.USAGE,
                    f"argument {shown_as(action)}:", prog=prog)
    assert bad.strip() in line or repr(bad)[1:-1] in line, (bad, line)


@pytest.mark.parametrize("prog,name", sorted(RUNTIME_VALUES))
def test_bad_value_checked_by_the_command_is_named(prog, name, site, capsys):
    after, needles = RUNTIME_VALUES[(prog, name)]
    argv = argv_for(prog) + [word.format(**site) for word in after]
    one_line(capsys, argv, Exit.USAGE, *needles, prog=prog)


def test_since_yesterday_is_a_bad_value_not_a_configuration_error(site, capsys):
    line = one_line(capsys, ["audit", "export", "--config", site["audit_config"], "--since",
                             "yesterday"], Exit.USAGE, "--since", "'yesterday'")
    assert "configuration" not in line


@pytest.mark.parametrize("prog", sorted(c for c in COMMANDS if any(
    a.type is types.config_file for a in arguments(COMMANDS[c]))))
def test_bad_config_content_is_a_configuration_error_naming_the_key(prog, site, tmp_path,
                                                                    capsys):
    parser = COMMANDS[prog]
    config = next(a for a in arguments(parser) if a.type is types.config_file)
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline]\nleave_frame = 3\n", encoding="utf-8")
    argv = (argv_for(prog) + fill(parser, site, tmp_path, skip=config)
            + NEEDS.get(prog, []) + given(config, str(bad)))
    one_line(capsys, argv, Exit.USAGE, "configuration error", "leave_frame", prog=prog)


# -- files and folders ----------------------------------------------------------------------
def _path_cases() -> list[tuple[str, str, str]]:
    kinds = {
        "input-file": ["missing", "folder", "unreadable", "bad-name"],
        "input-path": ["missing", "unreadable", "bad-name"],
        "input-dir": ["missing", "file", "unreadable", "bad-name"],
        "output-file": ["folder", "no-parent", "parent-is-file", "unwritable", "bad-name"],
        "output-dir": ["file", "no-parent", "parent-is-file", "unwritable", "bad-name"],
    }
    cases = []
    for prog, parser in PARSERS.items():
        for action in arguments(parser):
            if isinstance(action.type, types.PathType):
                for case in kinds[action.type.kind]:
                    cases.append((prog, label(action), case))
                if getattr(action.type, "text", False):
                    cases.append((prog, label(action), "not-utf8"))
    return cases


PATH_CASES = _path_cases()


def _make(case: str, folder: Path) -> tuple[str, str]:
    """The path for ``case`` (created as needed) and what the error line must say about it."""
    if case == "missing":
        return str(folder / "missing.txt"), "not found"
    if case == "folder":
        (folder / "a-folder").mkdir()
        return str(folder / "a-folder"), "is a folder"
    if case == "file":
        (folder / "a-file").write_text("x")
        return str(folder / "a-file"), "is a file"
    if case == "unreadable":
        (folder / "locked").mkdir()
        (folder / "locked" / "f").write_text("x")
        (folder / "secret").write_text("[terminal]\n")
        (folder / "secret").chmod(0)
        (folder / "locked").chmod(0)
        return str(folder / "secret"), "ermission denied"
    if case == "unwritable":
        (folder / "ro").mkdir()
        (folder / "ro").chmod(0o555)
        return str(folder / "ro" / "new"), "not writable"
    if case == "no-parent":
        return str(folder / "no" / "such" / "new"), "does not exist"
    if case == "parent-is-file":
        (folder / "plain").write_text("x")
        return str(folder / "plain" / "new"), "is a file, not a folder"
    if case == "not-utf8":
        (folder / "latin1.toml").write_bytes("[terminal]\nid = \"café\"\n".encode("latin-1"))
        return str(folder / "latin1.toml"), "not UTF-8"
    if case == "bad-name":
        return str(folder) + "/\udcff.png", "not valid UTF-8"
    raise AssertionError(case)


@pytest.mark.parametrize("prog,name,case", PATH_CASES)
def test_path_problem_is_one_line_naming_argument_and_path(prog, name, case, shared_tmp,
                                                           capsys):
    action = _action(prog, name)
    path, says = _make(case, shared_tmp)
    if case == "unreadable" and action.type.kind == "input-dir":
        path = str(shared_tmp / "locked")
    argv = argv_for(prog) + given(action, path)
    with as_nobody() if case in ("unreadable", "unwritable") else contextlib.nullcontext():
        line = one_line(capsys, argv, Exit.USAGE, f"argument {shown_as(action)}:", says,
                        prog=prog)
    assert types.shown(path) in line


def test_config_from_a_pipe_is_not_read_ahead(tmp_path, capsys):
    """``--config <(...)``: the check must not consume what the command then reads."""
    from terminal.counter.audit import AuditLog
    from terminal.reasons import Decision, Reason
    from terminal.result import Result

    with AuditLog(tmp_path) as audit:
        for _ in range(2):
            audit.record(Result(Decision.DENY, Reason.FORMAT_UNKNOWN, None, None, "test"))
    read, write = os.pipe()
    os.write(write, f'[terminal]\nstate_dir = "{tmp_path}"\n'.encode())
    os.close(write)
    try:
        code = main(["status", "--json", "--config", f"/dev/fd/{read}"])
    finally:
        os.close(read)
    assert code == Exit.FAILURE                       # the daemon is not running
    assert json.loads(capsys.readouterr().out)["audit"]["events"] == 2


@pytest.mark.parametrize("prog", sorted(c for c in COMMANDS if any(
    a.type is types.config_file for a in arguments(COMMANDS[c]))))
def test_config_from_a_pipe_that_is_not_utf8_names_the_file(prog, site, tmp_path, capsys):
    parser = COMMANDS[prog]
    config = next(a for a in arguments(parser) if a.type is types.config_file)
    read, write = os.pipe()
    os.write(write, "[terminal]\nid = \"café\"\n".encode("latin-1"))
    os.close(write)
    path = f"/dev/fd/{read}"
    argv = (argv_for(prog) + fill(parser, site, tmp_path, skip=config)
            + NEEDS.get(prog, []) + given(config, path))
    try:
        one_line(capsys, argv, Exit.USAGE, "configuration error", path, "not UTF-8", prog=prog)
    finally:
        os.close(read)


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
    stream = open(write, "w", encoding="utf-8")
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


def run_cli(*argv: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'hw-sim'}"}
    return subprocess.run([sys.executable, "-m", "terminal", *argv], capture_output=True,
                          env=env, cwd=REPO, timeout=120, **kwargs)


def test_real_pipe_to_head(site):
    """The two cases from the issue, through a real shell pipe."""
    for command, status in ((f"audit export --config {site['audit_config']} --since 7d | head -1",
                             Exit.OK),
                            (f"status --json --config {site['config']} | head -c1",
                             Exit.FAILURE)):
        script = (f"{sys.executable} -m terminal {command}; "
                  "echo \"status=${PIPESTATUS[0]}\" >&2")
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'hw-sim'}"}
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                                env=env, cwd=REPO, timeout=120)
        assert result.stderr.splitlines()[-1] == f"status={int(status)}", result.stderr
        assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr, \
            result.stderr


def test_reader_closed_before_output_as_a_process(site):
    """The reader is gone before the first byte: every write fails with EPIPE."""
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'hw-sim'}"}
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
                                              "FAILURE": 4, "INTERRUPTED": 130}
