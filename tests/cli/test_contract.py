"""The command line's contract, for every command the real parser has.

Every expected failure is ONE line on stderr, ``scanpoint COMMAND: ...``, naming the argument and
the value or file, and the documented exit status (terminal/cli/exits.py) — the same in every
command. The cases are generated from ``build_parser()``: a new command, flag or path argument is
covered as soon as it is registered, and an argument nobody classified fails
:func:`test_every_argument_is_classified`.

These run in-process through ``main(argv)``; failures during the work, a reader that leaves
and real ``python -m terminal`` processes are in :mod:`tests.cli.test_failures`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path

import pytest

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.cli.main import main
from tests.support.cli import (
    COMMANDS,
    PARSERS,
    arguments,
    argv_for,
    as_nobody,
    given,
    label,
    needed,
    one_line,
    shown_as,
)

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
        # read if present, written later (setup --config): writing an existing file is checked
        # only when the command writes
        "update-file": ["folder", "unreadable", "no-parent", "parent-is-file", "unwritable",
                        "bad-name"],
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
