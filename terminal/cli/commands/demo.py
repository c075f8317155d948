"""``scanpoint demo [--site checkpoint|pharmacy] [--out DIR]``: the simulated terminal at work."""

from __future__ import annotations

import argparse

from terminal.cli import args as types


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint demo``."""
    parser = commands.add_parser(
        "demo", help="run the whole daemon against the simulator through a scripted scenario",
        description="Create a temporary issuer, then show the simulated camera a valid code, a "
                    "yellow one, an expired one, a forged one, a replayed one, one from an "
                    "untrusted issuer and a revoked one; print each decision, reason, LED/relay "
                    "use and latency. Exit 0 when every step got the expected decision, 4 "
                    "otherwise.")
    parser.add_argument("--site", choices=("checkpoint", "pharmacy"), default="checkpoint",
                        help="site policy to demonstrate (default: checkpoint)")
    parser.add_argument("--out", default=None, metavar="DIR", type=types.work_dir,
                        help="keep the demo's issuer, config and state in DIR (default: a "
                             "temporary folder, removed afterwards)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Play the scenario (see :mod:`terminal.cli.demo`)."""
    from terminal.cli import demo

    return demo.run(args.site, args.out)
