"""``scanpoint display --config FILE [--listen HOST:PORT]``: the staff screen, status and metrics.

What ``scanpoint-display.service`` starts. It reads the scanner's event socket and the state
files (never writes them), and serves the kiosk page ``/``, ``/status``, ``/status.json``,
``/metrics`` and ``/events`` on loopback unless ``[display] allow`` opens it to the LAN.
"""

from __future__ import annotations

import argparse

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.config import LISTEN_DEFAULT


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint display``."""
    parser = commands.add_parser(
        "display", help="serve the staff screen, /status and /metrics from the scanner's events",
        description="Serve the kiosk screen (/), the status page (/status, /status.json), "
                    "Prometheus metrics (/metrics) and live events (/events) for the scanner "
                    "that uses the same config, until SIGTERM or Ctrl-C. It cannot command the "
                    "gate: it only reads the scanner's event socket and state files.")
    parser.add_argument("--config", required=True, type=types.config_file, metavar="FILE",
                        help="terminal config file (TOML)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT", type=types.listen_address,
                        help=f"address to serve on (default: [display] listen, {LISTEN_DEFAULT}); "
                             "an address beyond loopback needs [display] allow")
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Serve until stopped."""
    from terminal.display.server import DisplayServer

    config = types.read_config(args.config)
    server = DisplayServer(config, listen=args.listen)
    print(f"scanpoint display: {server.url} (status {server.url}status, metrics "
          f"{server.url}metrics), scanner socket {server.feed.path}", flush=True)
    server.serve()
    return Exit.OK
