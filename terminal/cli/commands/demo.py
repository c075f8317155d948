"""``scanpoint demo [--site checkpoint|pharmacy] [--out DIR]``: the simulated terminal at work."""

from __future__ import annotations


def register(commands, issuer) -> None:
    parser = commands.add_parser(
        "demo", help="run the whole daemon against the simulator through a scripted scenario",
        description="Create a temporary issuer, then show the simulated camera a valid code, a "
                    "yellow one, an expired one, a forged one, a replayed one and one from an "
                    "untrusted issuer; print each decision, reason, LED/relay use and latency. "
                    "Exit 0 when every step got the expected decision.")
    parser.add_argument("--site", choices=("checkpoint", "pharmacy"), default="checkpoint",
                        help="site policy to demonstrate (default: checkpoint)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="keep the demo's issuer, config and state in DIR (default: a "
                             "temporary folder, removed afterwards)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    from terminal.cli import demo

    return demo.run(args.site, args.out)
