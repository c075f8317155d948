"""``scanpoint demo [--site checkpoint|pharmacy] [--out DIR] [--ui [--listen HOST:PORT]
[--hold SECONDS]]``: the simulated terminal at work, optionally with its staff screen."""

from __future__ import annotations

import argparse

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.config import LISTEN_DEFAULT


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint demo``."""
    parser = commands.add_parser(
        "demo", help="run the whole daemon against the simulator through a scripted scenario",
        description="Create a temporary issuer, then show the simulated camera a valid code, a "
                    "yellow one, an expired one, a forged one, a replayed one, one from an "
                    "untrusted issuer and a revoked one; print each decision, reason, LED/relay "
                    "use and latency. Exit 0 when every step got the expected decision, 4 "
                    "otherwise. With --ui, also serve the staff screen and the live simulator "
                    "view while it runs, and keep serving until Ctrl-C (or --hold ends).")
    parser.add_argument("--site", choices=("checkpoint", "pharmacy"), default="checkpoint",
                        help="site policy to demonstrate (default: checkpoint)")
    parser.add_argument("--out", default=None, metavar="DIR", type=types.work_dir,
                        help="keep the demo's issuer, config and state in DIR (default: a "
                             "temporary folder, removed afterwards)")
    parser.add_argument("--ui", action="store_true",
                        help="serve the staff screen (/), the simulator view (/sim), /status and "
                             "/metrics while the demo runs; open the printed URL in a browser")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT", type=types.listen_address,
                        help=f"with --ui: address to serve on, loopback only (default "
                             f"{LISTEN_DEFAULT})")
    parser.add_argument("--hold", type=types.seconds(86400), default=None, metavar="SECONDS",
                        help="with --ui: stop this many seconds after the scenario (default: "
                             "serve until Ctrl-C)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Play the scenario (see :mod:`terminal.cli.demo`), with the screens when asked."""
    from terminal.cli import demo
    from terminal.config import check_listen
    from terminal.errors import UsageError

    if not args.ui and (args.listen is not None or args.hold is not None):
        raise UsageError("argument --listen/--hold: only with --ui")
    if args.listen is not None:
        try:
            check_listen(args.listen, [], "argument --listen:")   # the demo serves loopback only
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    ui = demo.UiOptions(listen=args.listen, hold=args.hold) if args.ui else None
    return Exit(demo.run(args.site, args.out, ui=ui))
