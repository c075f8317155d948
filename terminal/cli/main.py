"""The ``scanpoint`` command line: the parser, and the one error policy of every command.

Each module in :mod:`terminal.cli.commands` adds its own subcommands through
``register(commands, issuer)``: ``commands`` is the top-level subparser set, ``issuer`` the one
under ``scanpoint issuer``. Handlers return an :class:`~terminal.cli.exits.Exit` and raise
exceptions for failures; :func:`main` turns every expected failure into one line on standard
error, ``scanpoint COMMAND: what went wrong``, and the exit status of :mod:`terminal.cli.exits`
— the same way in every command, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import pkgutil
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, NoReturn

from terminal import __version__
from terminal.cli import commands as commands_package
from terminal.cli.args import shown
from terminal.cli.exits import HELP as EXIT_HELP
from terminal.cli.exits import Exit
from terminal.cli.output import QuietStdout, reader_gone, to_devnull
from terminal.errors import ConfigError, DeviceError, IssuerError, ScanpointError, UsageError

log = logging.getLogger("scanpoint")

#: an ``OSError`` with one of these means the path given (on the command line or in the config)
#: cannot be used as it is: a usage or configuration error, not a failure of the work
PATH_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM,
                         errno.EEXIST, errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP})

_NUMBER = re.compile(r"-\d+(\.\d*)?|-\.\d+")


def command_names(argv: Sequence[str] | None = None) -> list[str]:
    """The command modules to import for ``argv``: only the one named like the command (each
    top-level command lives in the module of its name), so ``scanpoint verify`` does not import
    the daemon, the printer and the audit log; every module for ``issuer`` (two modules add its
    subcommands), help, ``--version``, or a command this cannot tell."""
    names = sorted(info.name for info in pkgutil.iter_modules(commands_package.__path__))
    args = iter(argv or ())
    for arg in args:
        if arg == "--log-level":
            next(args, None)
        elif not arg.startswith("-"):
            return [arg] if arg in names and arg != "issuer" else names
    return names


def command_modules(argv: Sequence[str] | None = None) -> list[ModuleType]:
    """The modules of :func:`command_names`, imported."""
    return [importlib.import_module(f"terminal.cli.commands.{name}") for name in command_names(argv)]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line that names the bad flag or value.

    argparse reports missing required arguments before unknown ones, so ``scanpoint --bogus``
    would say "arguments are required: COMMAND"; this parser names ``--bogus`` instead.
    """

    #: the parsers that took part in this parse, root first (shared by one parser tree)
    _chain: list[Parser]

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        chain = self.__dict__.setdefault("_chain", [])
        if not chain or chain[0] is self:
            chain.clear()
        chain.append(self)
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        chain = self.__dict__.get("_chain") or [self]
        prog = self.prog
        if message.startswith("the following arguments are required"):
            unknown = self._unknown_options()
            if unknown:
                message = f"unrecognized arguments: {' '.join(unknown)}"
        elif message.startswith("unrecognized arguments"):
            prog = chain[-1].prog       # the root reports them; they belong to the command
        self.exit(Exit.USAGE, f"{prog}: {one_line(message)} (see '{prog} --help')\n")

    def _unknown_options(self) -> list[str]:
        """Option-like words of this parse that no parser on the way knows."""
        chain = self.__dict__.get("_chain") or [self]
        known = {o for parser in chain for a in parser._actions for o in a.option_strings}
        argv = chain[0].__dict__.get("_argv", [])
        unknown = []
        for word in argv:
            if word == "--":
                break
            if not word.startswith("-") or word == "-" or _NUMBER.fullmatch(word):
                continue
            name = word.split("=", 1)[0]
            if name in known or (name.startswith("--") and any(o.startswith(name) for o in known)):
                continue
            unknown.append(word)
        return unknown


def build_parser(argv: Sequence[str] | None = None) -> Parser:
    """The argument parser: every command module registered, or with ``argv`` only the module of
    the command it names (see :func:`command_names`)."""
    parser = Parser(
        prog="scanpoint",
        description="Offline QR-credential scanning terminal: verify credentials, run the\n"
                    "scanner daemon, sync signed lists, read the audit log, act as a demo issuer.",
        epilog=EXIT_HELP + "\n\nRun 'scanpoint COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"scanpoint {__version__}")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging threshold on stderr (default: WARNING)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    commands.required = True
    issuer_parser = commands.add_parser(
        "issuer", help="issuer tools: keys, trust lists, credentials, revocations",
        description="A demo issuer for native credentials: a folder with the root and issuer "
                    "keys, signed lists and a terminal config. Serve DIR/public, never DIR.")
    issuer = issuer_parser.add_subparsers(dest="issuer_command", metavar="ISSUER_COMMAND",
                                          title="issuer commands")
    issuer.required = True
    for module in command_modules(argv):
        module.register(commands, issuer)
    commands._choices_actions.sort(key=lambda choice: choice.dest)     # help lists A-Z
    chain: list[Parser] = []
    for prog, sub in walk(parser):
        if isinstance(sub, Parser):
            sub._chain = chain
        if sub.get_default("func") is not None:
            sub.set_defaults(command_prog=prog)
    return parser


def walk(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(prog, parser)`` for ``parser`` and every subcommand parser below it, depth first."""
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):   # aliases map to one parser
                yield from walk(sub)


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status; every expected failure is one line on
    stderr (see :mod:`terminal.cli.exits`)."""
    real = sys.stdout
    sys.stdout = quiet = QuietStdout(real)
    try:
        return _run(argv)
    finally:
        quiet.flush()
        sys.stdout = real


def _run(argv: list[str] | None) -> int:
    parser = build_parser(argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:          # --help, --version, or a usage error said in one line
        return _code(done.code)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    prog = getattr(args, "command_prog", parser.prog)
    try:
        return int(args.func(args))
    except BrokenPipeError as exc:
        if reader_gone(sys.stdout):    # written around QuietStdout (e.g. to .buffer)
            to_devnull(sys.stdout)
            return Exit.OK
        return _report(prog, exc)
    except KeyboardInterrupt:
        _say(prog, "interrupted")
        return Exit.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - an unexpected error is one line, never a traceback
        return _report(prog, exc)


def _code(code: Any) -> int:
    if code is None:
        return Exit.OK
    return code if isinstance(code, int) else Exit.USAGE


def _report(prog: str, exc: BaseException) -> int:
    """Say what went wrong in one line; return the exit status the failure documents."""
    status, message = classify(exc)
    if status is Exit.FAILURE and message.startswith("internal error"):
        log.debug("internal error", exc_info=exc)
    _say(prog, message)
    return status


def classify(exc: BaseException) -> tuple[Exit, str]:
    """The exit status and the one-line message for a failure (the error policy as a table)."""
    if isinstance(exc, UsageError):
        return Exit.USAGE, str(exc)
    if isinstance(exc, ConfigError):
        return Exit.USAGE, f"configuration error: {exc}"
    if isinstance(exc, IssuerError):
        return Exit.USAGE, str(exc)
    if isinstance(exc, DeviceError):
        return Exit.FAILURE, str(exc)
    if isinstance(exc, ScanpointError):
        return Exit.FAILURE, str(exc)
    if isinstance(exc, OSError):
        status = Exit.USAGE if exc.errno in PATH_ERRNOS else Exit.FAILURE
        return status, _os_message(exc)
    if isinstance(exc, UnicodeDecodeError):
        return Exit.USAGE, f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, sqlite3.Error):
        return Exit.FAILURE, f"database error: {exc}"
    return Exit.FAILURE, (f"internal error: {type(exc).__name__}: {exc} (run with "
                          "--log-level DEBUG to see where)")


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    where = shown(os.fsdecode(exc.filename))
    if exc.filename2 is not None:
        where += f" -> {shown(os.fsdecode(exc.filename2))}"
    return f"{where}: {reason}"


def one_line(message: str) -> str:
    """``message`` on one line: line breaks (also inside a quoted value) become spaces."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _say(prog: str, message: str) -> None:
    """One line on stderr, whatever the message held."""
    try:
        print(f"{prog}: {one_line(message)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):       # stderr gone too: nothing left to tell
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
