"""``scanpoint run --config FILE``: the scanning daemon (what ``scanpoint.service`` starts)."""

from __future__ import annotations

import logging

from terminal import config as config_mod

log = logging.getLogger("scanpoint.run")


def register(commands, issuer) -> None:
    parser = commands.add_parser(
        "run", help="run the scanner daemon (camera -> decision -> LEDs/relay) until stopped",
        description="Run the scanning daemon in the foreground until SIGTERM or Ctrl-C. Under "
                    "systemd (Type=notify) it reports READY, STATUS and watchdog pings.")
    parser.add_argument("--config", required=True, help="terminal config file (TOML)")
    parser.set_defaults(func=handle)


def handle(args) -> int:
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices

    config = config_mod.load(args.config)
    with open_devices(config) as devices:
        service = build_service(config, devices=devices)
        log.info("starting terminal=%s hardware=%s", config.terminal.id, config.terminal.hardware)
        return service.run()
