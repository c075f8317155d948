"""``scanpoint demo [--site checkpoint|pharmacy] [--out DIR] [--ui [--listen HOST:PORT]
[--hold SECONDS]]``: the simulated terminal at work, optionally with its staff screen."""

from __future__ import annotations

import argparse
from typing import Any

from terminal.config import LISTEN_DEFAULT, check_listen


def register(commands: Any, issuer: Any) -> None:
    parser = commands.add_parser(
        "demo", help="run the whole daemon against the simulator through a scripted scenario",
        description="Create a temporary issuer, then show the simulated camera a valid code, a "
                    "yellow one, an expired one, a forged one, a replayed one and one from an "
                    "untrusted issuer; print each decision, reason, LED/relay use and latency. "
                    "Exit 0 when every step got the expected decision. With --ui, also serve the "
                    "staff screen and the live simulator view while it runs, and keep serving "
                    "until Ctrl-C (or --hold ends).")
    parser.add_argument("--site", choices=("checkpoint", "pharmacy"), default="checkpoint",
                        help="site policy to demonstrate (default: checkpoint)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="keep the demo's issuer, config and state in DIR (default: a "
                             "temporary folder, removed afterwards)")
    parser.add_argument("--ui", action="store_true",
                        help="serve the staff screen (/), the simulator view (/sim), /status and "
                             "/metrics while the demo runs; open the printed URL in a browser")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help=f"with --ui: address to serve on (default {LISTEN_DEFAULT})")
    parser.add_argument("--hold", type=float, default=None, metavar="SECONDS",
                        help="with --ui: stop this many seconds after the scenario (default: "
                             "serve until Ctrl-C)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from terminal.cli import demo
    from terminal.errors import ConfigError

    if not args.ui and (args.listen is not None or args.hold is not None):
        raise ConfigError("--listen and --hold go with --ui")
    if args.hold is not None and args.hold < 0:
        raise ConfigError("--hold must be 0 or more seconds")
    if args.listen is not None:
        check_listen(args.listen, [], "--listen")   # the demo serves loopback only
    ui = demo.UiOptions(listen=args.listen, hold=args.hold) if args.ui else None
    return demo.run(args.site, args.out, ui=ui)
