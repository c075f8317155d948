"""``scanpoint run --config FILE``: the scanning daemon (what ``scanpoint.service`` starts)."""

from __future__ import annotations

import argparse
import logging
import os
import signal

from terminal import config as config_mod
from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM, Clock
from terminal.daemon.sdnotify import Notifier
from terminal.errors import ConfigError

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


def needs_setup(config: config_mod.Config) -> bool:
    """True when nothing could pass here: no root key pinned and no DCC signer certificates."""
    return not config.trust.root_key and not config.dcc.dsc_dir


def wait_for_setup(path: str, notifier: Notifier, *, poll_s: float = 1.0,
                   clock: Clock = SYSTEM) -> config_mod.Config | None:
    """Wait until the config at ``path`` pins a root key (``scanpoint setup`` writes it), then
    return it loaded; None if SIGTERM/SIGINT came first.

    Meanwhile the unit is READY with one STATUS line saying what to run, and the watchdog is fed:
    a freshly installed terminal waits instead of crash-looping, and starts once set up.
    """
    stop: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: stop.append(signum))
                for s in (signal.SIGTERM, signal.SIGINT)}
    seen = None
    status = ""
    try:
        while not stop:
            try:
                st = os.stat(path)
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                stamp = None
            if stamp != seen:
                seen = stamp
                try:
                    config = config_mod.load(path)
                    if not needs_setup(config):
                        log.info("event=setup_found config=%s", path)
                        return config
                    text = (f"waiting for setup: no [trust] root_key in {path}; run: "
                            "sudo scanpoint setup --source URL --root-key HEX")
                except ConfigError as exc:
                    text = f"waiting for a valid config: {exc}"
                if text != status:
                    status = text
                    log.warning("event=waiting_for_setup status=%r", text)
                    notifier.ready(text)
            notifier.watchdog()
            clock.sleep(poll_s)
        return None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def handle(args: argparse.Namespace) -> int:
    """Build the service from the config and run it; its exit status is the daemon's. A terminal
    not set up yet waits for ``scanpoint setup`` first."""
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices

    config = types.read_config(args.config)
    if needs_setup(config):
        with Notifier() as notifier:
            waited = wait_for_setup(args.config, notifier)
        if waited is None:
            return Exit.OK
        config = waited
    with open_devices(config) as devices:
        service = build_service(config, devices=devices)
        log.info("starting terminal=%s hardware=%s", config.terminal.id, config.terminal.hardware)
        return service.run()
