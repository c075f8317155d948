"""The command-line test kit: the real parser walked, the one-line error check, running the
command as a process, and dropping root's file-mode override for a call."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from terminal.cli.main import build_parser, main, walk
from tests.support.programs import REPO, python_env

PARSERS = dict(walk(build_parser()))
COMMANDS = {prog: p for prog, p in PARSERS.items() if p.get_default("func") is not None}
NOBODY = 65534


def label(action: argparse.Action) -> str:
    """The argument's name in these tests (and how to give it): its longest option, such as
    ``--output``, or a positional's metavar, such as ``CODE``."""
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


def run_cli(*argv: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "terminal", *argv], capture_output=True,
                          env=python_env(), cwd=REPO, timeout=120, **kwargs)
