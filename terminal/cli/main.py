"""The ``scanpoint`` command line.

Each module in :mod:`terminal.cli.commands` adds its own subcommands through
``register(commands, issuer)``: ``commands`` is the top-level subparser set, ``issuer`` the one under
``scanpoint issuer``. Handlers return the process exit status.

Exit status: 0 success / pass, 1 deny, 3 check, 2 usage or configuration error, 4 other failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import terminal.cli.commands
from terminal import __version__
from terminal.errors import ConfigError, ScanpointError

EXIT_OK = 0
EXIT_DENY = 1
EXIT_USAGE = 2
EXIT_CHECK = 3
EXIT_FAILURE = 4

log = logging.getLogger("scanpoint")


def _command_modules(argv: list[str] | None) -> list[str]:
    """The command modules to import for ``argv``: only the one named like the command (each
    top-level command lives in the module of its name), so ``scanpoint verify`` does not import
    the daemon, the printer and the audit log; every module for ``issuer`` (two modules add its
    subcommands), help, ``--version``, or a command this cannot tell."""
    names = sorted(info.name for info in pkgutil.iter_modules(terminal.cli.commands.__path__))
    args = iter(argv or ())
    for arg in args:
        if arg == "--log-level":
            next(args, None)
        elif not arg.startswith("-"):
            return [arg] if arg in names and arg != "issuer" else names
    return names


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command module registered, or with ``argv`` only the module of
    the command it names (see :func:`_command_modules`)."""
    parser = argparse.ArgumentParser(
        prog="scanpoint",
        description="Offline QR-credential scanning terminal.")
    parser.add_argument("--version", action="version", version=f"scanpoint {__version__}")
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging threshold on stderr (default: WARNING)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    issuer_parser = commands.add_parser(
        "issuer", help="issuer tools: keys, trust lists, credentials, revocations")
    issuer = issuer_parser.add_subparsers(dest="issuer_command", metavar="ISSUER_COMMAND")
    issuer.required = True
    for name in _command_modules(argv):
        module = importlib.import_module(f"terminal.cli.commands.{name}")
        module.register(commands, issuer)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; never lets an exception through as a traceback for expected errors."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"scanpoint: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScanpointError as exc:
        print(f"scanpoint: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
