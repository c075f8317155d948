"""``scanpoint sync [--once] --config FILE``: fetch and apply signed lists (its own process/unit)."""

from __future__ import annotations

import argparse
import logging
import sys

from terminal.cli import args as types
from terminal.cli.exits import Exit

log = logging.getLogger("scanpoint.sync")


def run(args: argparse.Namespace) -> int:
    """Sync once (``--once``) or every ``[sync] interval`` until stopped."""
    from terminal.lists.sync import STALE_SOURCE, Progress, SyncClient, SyncSettings, run_forever

    cfg = types.read_config(args.config)
    client = SyncClient(SyncSettings.for_terminal(cfg), progress=Progress(sys.stderr))
    if args.once:
        result = client.run_once()
        print(result.line(), file=sys.stdout if result.ok else sys.stderr)
        if result.ok:
            return Exit.OK
        return Exit.STALE_SOURCE if result.code == STALE_SOURCE else Exit.FAILURE
    run_forever(client, cfg.sync.interval)
    return Exit.OK


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint sync``."""
    p = commands.add_parser(
        "sync", help="fetch and apply signed trust and revocation lists",
        description="Fetch the signed lists from [sync] source (a URL or a folder), verify them "
                    "with the pinned [trust] root_key and apply them. Without --once it runs "
                    "every [sync] interval until stopped (scanpoint-sync.service uses --once "
                    "from a timer).")
    p.add_argument("--config", required=True, type=types.config_file, metavar="FILE",
                   help="terminal config file (TOML)")
    p.add_argument("--once", action="store_true",
                   help="sync once and exit: 0 if applied or current, 4 if refused or failed, "
                        "5 if applied but the source's lists are past their valid-until")
    p.set_defaults(func=run)
