"""``scanpoint run --config FILE``: the scanning daemon (what ``scanpoint.service`` starts)."""

from __future__ import annotations

import argparse
import logging

from terminal.cli import args as types

log = logging.getLogger("scanpoint.run")


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint run``."""
    parser = commands.add_parser(
        "run", help="run the scanner daemon (camera -> decision -> LEDs/relay) until stopped",
        description="Run the scanning daemon in the foreground until SIGTERM or Ctrl-C. Under "
                    "systemd (Type=notify) it reports READY, STATUS and watchdog pings.")
    parser.add_argument("--config", required=True, type=types.config_file, metavar="FILE",
                        help="terminal config file (TOML)")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Build the service from the config and run it; its exit status is the daemon's."""
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices

    config = types.read_config(args.config)
    with open_devices(config) as devices:
        service = build_service(config, devices=devices)
        log.info("starting terminal=%s hardware=%s", config.terminal.id, config.terminal.hardware)
        return service.run()
