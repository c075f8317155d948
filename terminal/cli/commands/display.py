"""``scanpoint display --config FILE [--listen HOST:PORT]``: the staff screen, status and metrics.

What ``scanpoint-display.service`` starts. It reads the scanner's event socket and the state
files (never writes them), and serves the kiosk page ``/``, ``/status``, ``/status.json``,
``/metrics`` and ``/events`` on loopback unless ``[display] allow`` opens it to the LAN.
"""

from __future__ import annotations

import argparse
from typing import Any

from terminal import config as config_mod
from terminal.config import LISTEN_DEFAULT


def register(commands: Any, issuer: Any) -> None:
    parser = commands.add_parser(
        "display", help="serve the staff screen, /status and /metrics from the scanner's events",
        description="Serve the kiosk screen (/), the status page (/status, /status.json), "
                    "Prometheus metrics (/metrics) and live events (/events) for the scanner "
                    "that uses the same config, until SIGTERM or Ctrl-C. It cannot command the "
                    "gate: it only reads the scanner's event socket and state files.")
    parser.add_argument("--config", required=True, help="terminal config file (TOML)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help=f"address to serve on (default: [display] listen, {LISTEN_DEFAULT}); "
                             "an address beyond loopback needs [display] allow")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from terminal.display.server import DisplayServer

    config = config_mod.load(args.config)
    server = DisplayServer(config, listen=args.listen)
    print(f"scanpoint display: {server.url} (status {server.url}status, metrics "
          f"{server.url}metrics), scanner socket {server.feed.path}", flush=True)
    server.serve()
    return 0
