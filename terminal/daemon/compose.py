"""The composition root: one function builds the scanning daemon from a config.

- devices: :func:`terminal.daemon.devices.open_devices` (real or simulated, the printer included);
- the verifier: :meth:`terminal.verify.verifier.Verifier.from_config` with the revocation hook
  :meth:`terminal.lists.revocation.RevocationCheck.from_config` — a store that is missing or cannot
  be opened answers ``LIST_STALE`` (check, or deny where ``[lists] stale = "deny"``), never an
  unchecked pass;
- observers: the audit log (``[audit]``), the slip printer's queue (``[printer]``) and the
  screen's event publisher (``[display]``, which also gets every status document). One that fails
  to start is logged and left out — the gate keeps working and ``scanpoint status`` shows the
  part's own section;
- the code reader's supervisor (``[reader]``), feeding the same pipeline as the camera.

Log redaction is installed here too, before any part can log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from terminal.clock import SYSTEM, Clock
from terminal.config import Config
from terminal.counter.audit import AuditLog
from terminal.counter.printqueue import QUEUE_FILE, PrintQueue, SlipObserver
from terminal.counter.secret import load_or_create_secret
from terminal.daemon.devices import Devices, open_devices
from terminal.daemon.pipeline import Pipeline
from terminal.daemon.readers import ReaderSupervisor
from terminal.daemon.redaction import install_redaction
from terminal.daemon.sdnotify import Notifier
from terminal.daemon.service import Service, ServiceSettings
from terminal.display.publisher import Publisher, printer_status
from terminal.interfaces import Observer, Printer, TextVerifier
from terminal.lists.revocation import RevocationCheck
from terminal.verify.verifier import Verifier

log = logging.getLogger("scanpoint.daemon")


def service_settings(config: Config) -> ServiceSettings:
    """Camera supervision timings from ``[camera]``."""
    c = config.camera
    return ServiceSettings(stall_s=c.stall_s, retry_initial_s=c.retry_initial_s,
                           retry_max_s=c.retry_max_s)


def build_verifier(config: Config, *, clock: Clock = SYSTEM) -> Verifier:
    """The verifier for ``config``: followed trust list, policy, revocation store, DCC signers."""
    return Verifier.from_config(config, revocation=RevocationCheck.from_config(config, clock=clock),
                                clock=clock)


def audit_observer(config: Config, *, clock: Clock = SYSTEM) -> AuditLog | None:
    """The audit log for ``[audit]`` (None when disabled), purging in the background."""
    section = config.audit
    if not section.enabled:
        return None
    return AuditLog(config.terminal.state_dir, retention_days=section.retention_days,
                    purge_interval=section.purge_interval_s, clock=clock).start()


def slip_observer(config: Config, printer: Printer | None, *,
                  clock: Clock = SYSTEM) -> SlipObserver | None:
    """The slip printer's queue for ``[printer]`` (None when disabled), printing to ``printer``."""
    section = config.printer
    if not section.enabled:
        return None
    state = Path(config.terminal.state_dir)
    queue = PrintQueue(state / QUEUE_FILE, printer, retry_interval=section.retry_s,
                       max_pending=section.max_pending, max_attempts=section.max_attempts,
                       clock=clock).start()
    return SlipObserver(queue, secret=load_or_create_secret(state), width=section.width,
                        print_on=section.print_on, site=config.terminal.site_name,
                        terminal_id=config.terminal.id,
                        tz=ZoneInfo(section.timezone) if section.timezone else None,
                        qr=section.qr)


def screen_publisher(config: Config, *, clock: Clock = SYSTEM,
                     slips: SlipObserver | None = None) -> Publisher | None:
    """The event publisher for ``[display]`` (None when ``publish = false``); with a slip
    printer, its status carries the printer's last answer."""
    section = config.display
    if not section.publish:
        return None
    extra = printer_status(slips.queue) if slips is not None else None
    return Publisher(section.socket_path(config.terminal.state_dir), clock=clock,
                     extra_status=extra).start()


def build_observers(config: Config, devices: Devices) -> list[Observer]:
    """The decision observers the config enables (audit log, slip printer, screen publisher).
    One that cannot start is logged and left out: the gate keeps working without it."""
    observers: list[Observer] = []

    def publisher() -> Publisher | None:
        slips = next((o for o in observers if isinstance(o, SlipObserver)), None)
        return screen_publisher(config, clock=devices.clock, slips=slips)

    for name, build in (("audit", lambda: audit_observer(config, clock=devices.clock)),
                        ("printer", lambda: slip_observer(config, devices.printer,
                                                          clock=devices.clock)),
                        ("display", publisher)):
        try:
            observer = build()
        except Exception as exc:  # noqa: BLE001 - a part that cannot start is left out; the gate goes on
            log.error("event=observer_unavailable part=%s error=%r", name, exc)
            continue
        if observer is not None:
            observers.append(observer)
    return observers


def build_service(config: Config, *, devices: Devices | None = None,
                  verifier: TextVerifier | None = None, observers: list[Observer] | None = None,
                  notifier: Notifier | None = None,
                  state_dir: str | Path | None = None) -> Service:
    """A ready-to-run :class:`Service` for ``config``; arguments given replace the built parts.

    The caller owns ``devices`` (and closes them; :func:`open_devices` when not given).
    """
    install_redaction()
    devices = devices if devices is not None else open_devices(config)
    verifier = verifier if verifier is not None else build_verifier(config, clock=devices.clock)
    observers = observers if observers is not None else build_observers(config, devices)
    pipeline = Pipeline(devices.decoder, verifier, devices.signals, clock=devices.clock,
                        settings=config.pipeline, observers=observers,
                        terminal_id=config.terminal.id, site=config.terminal.site_name)
    reader = None
    if devices.open_reader is not None:
        reader = ReaderSupervisor.from_config(config.reader, devices.open_reader, pipeline,
                                              clock=devices.clock)
        reader.name = devices.reader_name or reader.name
    return Service(pipeline, devices.open_camera, devices.signals, clock=devices.clock,
                   settings=service_settings(config),
                   state_dir=config.terminal.state_dir if state_dir is None else state_dir,
                   notifier=notifier if notifier is not None else Notifier(), reader=reader,
                   status_listeners=[o.publish_status for o in observers
                                     if isinstance(o, Publisher)])
