"""Assembles the scanning daemon from a config: devices, verifier, observers, pipeline, service.

- the verifier: ``terminal.verify.verifier.Verifier.from_config(config, revocation=...)``;
- revocation: ``terminal.lists.revocation.RevocationCheck.from_config(config)``; a store that is
  missing or cannot be opened answers ``LIST_STALE`` (check, or deny where ``[lists] stale =
  "deny"``), never an unchecked pass;
- observers: each module in :data:`OBSERVER_MODULES` defines
  ``observer_from_config(config) -> Observer | None`` (audit log, slip printer).

An observer that fails to start is logged and left out — the gate keeps working and
``scanpoint status`` shows the part's own section.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from terminal.daemon.devices import Devices, open_devices
from terminal.daemon.pipeline import Observer, Pipeline, Verifier
from terminal.daemon.sdnotify import Notifier
from terminal.daemon.service import Service, ServiceSettings

log = logging.getLogger("scanpoint.daemon")

OBSERVER_MODULES = ("terminal.counter.audit", "terminal.counter.printqueue")


def service_settings(config: Any) -> ServiceSettings:
    c = config.camera
    return ServiceSettings(stall_s=c.stall_s, retry_initial_s=c.retry_initial_s,
                           retry_max_s=c.retry_max_s)


def revocation_check(config: Any) -> Any:
    """The verifier's revocation hook. Building it cannot fail (the store is opened at the first
    check, and a missing or unreadable one answers ``LIST_STALE`` with the site's deny_reasons)."""
    from terminal.lists.revocation import RevocationCheck

    return RevocationCheck.from_config(config)


def build_verifier(config: Any, *, revocation: Any = None) -> Verifier:
    """The verifier for ``config`` (trust list, policy, revocation)."""
    from terminal.verify.verifier import Verifier as RealVerifier

    if revocation is None:
        revocation = revocation_check(config)
    return RealVerifier.from_config(config, revocation=revocation)


def build_observers(config: Any) -> list[Observer]:
    """The decision observers the config enables (audit log, slip printer). One that cannot
    start is logged and left out: the gate keeps working without it."""
    observers: list[Observer] = []
    for name in OBSERVER_MODULES:
        module = importlib.import_module(name)
        try:
            observer = module.observer_from_config(config)
        except Exception as exc:
            log.error("observer unavailable module=%s error=%r", name, exc)
            continue
        if observer is not None:
            observers.append(observer)
    return observers


def build_service(config: Any, *, devices: Devices | None = None, verifier: Verifier | None = None,
                  observers: list[Observer] | None = None, notifier: Notifier | None = None,
                  state_dir: Any = None) -> Service:
    """A ready-to-run :class:`Service` for ``config``; arguments given replace the built parts."""
    devices = devices if devices is not None else open_devices(config)
    verifier = verifier if verifier is not None else build_verifier(config)
    observers = observers if observers is not None else build_observers(config)
    pipeline = Pipeline(devices.decoder, verifier, devices.signals, clock=devices.clock,
                        settings=config.pipeline, observers=observers,
                        terminal_id=config.terminal.id, site=config.terminal.site_name)
    return Service(pipeline, devices.open_camera, devices.signals, clock=devices.clock,
                   settings=service_settings(config),
                   state_dir=config.terminal.state_dir if state_dir is None else state_dir,
                   notifier=notifier if notifier is not None else Notifier(),
                   sleep=devices.sleep)
