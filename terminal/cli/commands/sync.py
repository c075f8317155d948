"""``scanpoint sync [--once] --config FILE``: fetch and apply signed lists (its own process/unit)."""

from __future__ import annotations

import argparse
import logging
import sys

from terminal import config as config_mod
from terminal.errors import ConfigError

log = logging.getLogger("scanpoint.sync")


def root_public_key(cfg) -> bytes:
    """The pinned root public key ([trust] root_key): every signed list must verify with it."""
    key = cfg.trust.root_public_key
    if not key:
        raise ConfigError("[trust] root_key is empty: cannot verify any list, so sync refuses to run")
    return key


def settings_from(cfg):
    from terminal.lists.sync import SyncSettings
    if not cfg.sync.source:
        raise ConfigError("[sync] source is empty: set the URL or folder lists are published at")
    from terminal.lists.trust import list_path
    # the file the scanner follows (trust.list_path); the sync replaces it atomically
    return SyncSettings.from_config(cfg, root_public_key(cfg), list_path(cfg))


def run(args: argparse.Namespace) -> int:
    from terminal.lists.sync import Progress, SyncClient, run_forever
    cfg = config_mod.load(args.config)
    client = SyncClient(settings_from(cfg), progress=Progress(sys.stderr))
    if args.once:
        result = client.run_once()
        print(result.line(), file=sys.stdout if result.ok else sys.stderr)
        return 0 if result.ok else 4
    run_forever(client, cfg.sync.interval)
    return 0


def register(commands, issuer) -> None:
    p = commands.add_parser("sync", help="fetch and apply signed trust and revocation lists")
    p.add_argument("--config", required=True, help="terminal config file (TOML)")
    p.add_argument("--once", action="store_true",
                   help="sync once and exit: 0 if applied or current, 4 if refused or failed")
    p.set_defaults(func=run)
