"""The one place that picks real or simulated devices: the composition root of the hardware.

Like gpiozero choosing a pin factory, ``[terminal] hardware`` decides: ``"pi"`` builds the
``drivers`` (picamera2/OpenCV camera, zxing-cpp decoder, gpiozero signals on real pins, the ESC/POS
printer, a serial or keyboard-wedge code reader), ``"sim"`` builds ``hw_sim`` (scripted or
replayed camera with fault injection, gpiozero ``MockFactory`` pins with a recorder, the virtual
printer and the virtual code reader on ptys) — the only place the simulated device set is put
together. Both are imported here, inside the functions that need them, so
``terminal`` itself never imports a hardware library and a Pi without OpenCV, or a laptop without
picamera2, loads only what it uses.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.config import Config
from terminal.errors import CameraMissing, ConfigError, DeviceError
from terminal.interfaces import Camera, Decoder, Printer, Reader, Signals

log = logging.getLogger("scanpoint.devices")

SLIP_FOLDER = "slips"
"""Where the virtual printer writes the slips it printed (text and PNG), under STATE_DIR."""
READER_LINK = "reader.tty"
"""The virtual reader's stable path under STATE_DIR (a symlink to its current pty)."""


@dataclass
class SimHandle:
    """What the simulator exposes beyond the device interfaces: the pin recorder (LED, buzzer and
    relay history on gpiozero mock pins), the frame source, the cameras opened so far, the fault
    switches (``faults``: a ``hw_sim.faults.FaultyCamera`` around the current camera), the
    virtual printer (``printer``, when ``[printer] url = "sim"``) and the virtual code reader
    (``reader``, when ``[reader] url = "sim"``) with the feeder playing the scenario's scans."""

    recorder: Any
    source: Any
    faults: Any
    cameras: list[Any] = field(default_factory=list)
    cameras_opened: int = 0
    printer: Any = None
    reader: Any = None
    feeder: Any = None
    readers_opened: int = 0

    def elapsed(self) -> float | None:
        """Seconds since the simulated camera's first frame, or for a terminal without a camera
        since the reader was first opened (None before either)."""
        if self.cameras:
            elapsed: float | None = self.cameras[0].elapsed()
            return elapsed
        return self.feeder.elapsed() if self.feeder is not None else None

    def started_at(self) -> float | None:
        """The monotonic time of the simulated camera's first frame (or the reader feeder's
        start, for a terminal without a camera); None before either."""
        if self.cameras:
            start: float = self.cameras[0].start
            return start
        return self.feeder.start if self.feeder is not None else None

    def step_at(self, t: float) -> int | None:
        """Index of the scenario step that was on camera at monotonic time ``t`` (a frame's
        arrival): what a decision on that frame belongs to, however late it was made."""
        start = self.started_at()
        return None if start is None or t < start else self.source.position(t - start)

    def step_index(self) -> int | None:
        """Index of the scenario step (or replayed image) on camera now; None before the camera
        was opened and once the scenario is over."""
        elapsed = self.elapsed()
        return None if elapsed is None else self.source.position(elapsed)

    def finished(self) -> bool:
        """True once the scenario or replay has nothing more to show."""
        elapsed = self.elapsed()
        return elapsed is not None and bool(self.source.finished(elapsed))

    def close(self) -> None:
        if self.feeder is not None:
            self.feeder.close()
        if self.reader is not None:
            self.reader.close()
        if self.printer is not None:
            self.printer.close()


@dataclass
class Devices:
    """Everything the daemon needs from hardware. ``open_camera`` (None: no camera) and
    ``open_reader`` (None: no code reader; ``reader_name`` is its port) are called again after
    failures.

    A context manager: leaving it turns the outputs off and closes every device.
    """

    open_camera: Callable[[], Camera] | None
    decoder: Decoder
    signals: Signals
    clock: Clock = SYSTEM
    printer: Printer | None = None
    sim: SimHandle | None = None
    open_reader: Callable[[], Reader] | None = None
    reader_name: str = ""

    def close(self) -> None:
        """Close every device; one that fails to close is logged and the others still close."""
        closers: list[tuple[str, Callable[[], None]]] = [("signals", self.signals.close)]
        if self.printer is not None:
            closers.append(("printer", self.printer.close))
        if self.sim is not None:
            closers.append(("simulator", self.sim.close))
        for name, close in closers:
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - closing one device must not stop the others closing
                log.warning("event=device_close_failed device=%s error=%r", name, exc)

    def __enter__(self) -> Devices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _module(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise DeviceError(f"{what} is not available: cannot import {name} ({exc}); "
                          "install scanpoint with its dependencies (see README)") from exc


def open_decoder(config: Config) -> Decoder:
    """The configured QR decoder (``[decoder]``), from ``drivers.decoder``: one code per frame,
    retries within ``budget_ms`` per frame."""
    d = config.decoder
    decoder: Decoder = _module("drivers.decoder", "the QR decoder").open_decoder(
        d.backend, single=True, budget_ms=d.budget_ms, average_frames=d.average_frames)
    return decoder


def signal_pins(config: Config) -> Any:
    """``drivers.signals.SignalPins`` from the ``[signals]`` section."""
    signals = _module("drivers.signals", "the signal outputs")
    s = config.signals
    return signals.SignalPins(green=s.green_pin, red=s.red_pin, buzzer=s.buzzer_pin,
                              relay=s.relay_pin, relay_active_high=s.relay_active_high,
                              buzzer_active_high=s.buzzer_active_high)


def signal_patterns(config: Config) -> dict[str, Any]:
    """The decision patterns: defaults with ``[signals] patterns`` overrides (checked here)."""
    signals = _module("drivers.signals", "the signal outputs")
    patterns: dict[str, Any] = signals.patterns_from_mapping(config.signals.patterns)
    return patterns


def open_printer(config: Config, url: str | None = None) -> Printer:
    """The ESC/POS printer at ``url`` (default ``[printer] url``), with the ``[printer]`` settings.

    The virtual printer (``url = "sim"``) is part of the simulated device set: see
    :func:`open_devices`.
    """
    section = config.printer
    url = url or section.url
    if not url or url == "sim":
        raise ConfigError("no printer URL: set [printer] url (e.g. /dev/ttyUSB0) or pass --url")
    driver = _module("drivers.printer", "the receipt printer driver")
    escpos = driver.EscPos(code_page=section.code_page, chinese=section.chinese)
    printer: Printer = driver.EscPosPrinter.from_url(
        url, baudrate=section.baudrate, escpos=escpos, reply_timeout=section.reply_timeout_s,
        print_timeout=section.print_timeout_s)
    return printer


def reader_opener(config: Config, url: str | None = None, *, clock: Clock = SYSTEM,
                  allow_recorded: bool = False) -> Callable[[], Reader]:
    """A function that opens the ``[reader]`` (at ``url``, default ``[reader] url``) with its
    framing, from ``drivers.reader``; the daemon calls it again after every failure."""
    reader_mod = _module("drivers.reader", "the code reader driver")
    framing_mod = _module("drivers.readerframing", "the code reader driver")
    section = config.reader
    target = url or section.url
    framing = framing_mod.Framing(section.terminator, section.gap_ms / 1000.0, section.prefix,
                                  section.strip_aim)

    def open_reader() -> Reader:
        reader: Reader = reader_mod.open_reader(target, baudrate=section.baudrate,
                                                framing=framing, layout=section.layout,
                                                clock=clock, allow_recorded=allow_recorded)
        return reader

    return open_reader


def _check_sources(config: Config) -> None:
    """At least one code source, and the virtual reader only on simulated hardware."""
    reader = config.reader.url
    if config.camera.source == "none" and not reader:
        raise ConfigError("[camera] source = 'none' needs a code reader: set [reader] url "
                          "(e.g. /dev/ttyACM0 or evdev:/dev/input/by-id/...-event-kbd)")
    if reader == "sim" and config.terminal.hardware != "sim":
        raise ConfigError("[reader] url = 'sim' needs [terminal] hardware = 'sim'")


def open_devices(config: Config, **sim_options: Any) -> Devices:
    """Real or simulated devices for ``config`` (``[terminal] hardware``).

    ``sim_options`` go to the simulator (e.g. a scenario object or a clock); they are an error on
    real hardware.
    """
    hardware = config.terminal.hardware
    _check_sources(config)
    if hardware == "pi":
        if sim_options:
            raise ConfigError(f"simulator options {sorted(sim_options)} given for hardware 'pi'")
        return _open_pi(config)
    if hardware == "sim":
        return _open_sim(config, **sim_options)
    raise ConfigError(f"[terminal] hardware must be 'sim' or 'pi', not {hardware!r}")


def _wanted_printer(config: Config) -> bool:
    section = config.printer
    if not section.enabled:
        return False
    if not section.url:
        raise ConfigError("[printer] enabled = true needs url (e.g. /dev/ttyUSB0, or 'sim')")
    if section.url == "sim" and config.terminal.hardware != "sim":
        raise ConfigError("[printer] url = 'sim' needs [terminal] hardware = 'sim'")
    return True


def _open_pi(config: Config) -> Devices:
    camera_mod = _module("drivers.camera", "the camera driver")
    signals_mod = _module("drivers.signals", "the signal outputs")
    cam = config.camera
    if cam.source != "none" and cam.source not in camera_mod.CAMERA_KINDS:   # now, not per retry
        raise ConfigError(f"[camera] source must be 'auto', 'picamera2', 'opencv' or 'none' on "
                          f"real hardware, not {cam.source!r}")
    open_reader = reader_opener(config) if config.reader.url else None
    printer = open_printer(config) if _wanted_printer(config) else None
    decoder = open_decoder(config)
    signals = signals_mod.open_signals(signal_pins(config),
                                       pin_factory=config.signals.pin_factory or None,
                                       patterns=signal_patterns(config))

    def open_camera() -> Camera:
        # drivers.camera makes the "auto" choice and drops settings the chosen kind ignores
        camera: Camera = camera_mod.open_camera(cam.source, width=cam.width, height=cam.height,
                                                fps=cam.fps, device=cam.device)
        return camera

    return Devices(open_camera=open_camera if cam.source != "none" else None, decoder=decoder,
                   signals=signals, printer=printer, open_reader=open_reader,
                   reader_name=config.reader.url)


def _open_sim(config: Config, *, scenario: Any = None, scale: float = 1.0,
              clock: Clock | None = None, faults: list[Any] | None = None) -> Devices:
    """Simulated devices: scripted/replay camera, real decoder, gpiozero signals on mock pins,
    and the virtual printer when ``[printer] url = "sim"``.

    ``scenario`` replaces ``[camera] source``: a ``hw_sim`` scenario, a spec ``source_for``
    accepts, or a script of ``(text or None, seconds)`` pairs (``Scenario.from_script``); its
    ``scan`` steps are read by the virtual reader (``[reader] url = "sim"``). With ``[camera]
    source = "none"`` there is no camera and the scenario only drives the reader.
    ``scale`` shortens signal patterns; ``faults`` schedules ``hw_sim.faults.Fault``s on the
    camera (``devices.sim.faults`` also switches them by hand).
    """
    what = "the hardware simulator (hw-sim)"
    camera_mod = _module("hw_sim.camera", what)
    faults_mod = _module("hw_sim.faults", what)
    pins_mod = _module("hw_sim.pins", what)
    scenario_mod = _module("hw_sim.scenario", what)
    clock = clock or SYSTEM
    spec = scenario if scenario is not None else config.camera.source
    if isinstance(spec, list) and spec and isinstance(spec[0], tuple):
        spec = scenario_mod.Scenario.from_script(spec)
    elif spec in ("auto", "none"):
        spec = scenario_mod.Scenario([scenario_mod.Nothing(1000.0)], loop=True)
    source = camera_mod.source_for(spec, max_pixels=config.camera.max_image_pixels)
    decoder = open_decoder(config)
    faulty = faults_mod.FaultyCamera(None, clock, faults)
    handle = SimHandle(recorder=None, source=source, faults=faulty)
    printer = None
    if _wanted_printer(config):
        if config.printer.url == "sim":
            printer_mod = _module("hw_sim.printer", what)
            handle.printer = printer_mod.VirtualPrinter(
                Path(config.terminal.state_dir) / SLIP_FOLDER, width=config.printer.width)
            printer = open_printer(config, handle.printer.port)
        else:
            printer = open_printer(config)
    signals, handle.recorder = pins_mod.mock_signals(signal_pins(config),
                                                     patterns=signal_patterns(config), scale=scale)
    fps = config.camera.fps
    open_reader, reader_name = _sim_reader(config, handle, source, clock)

    def open_camera() -> Camera:
        fault = faulty.active_fault()
        if fault is not None and fault.kind == "disappear":
            raise CameraMissing("camera not found (simulated fault: unplugged)")
        if handle.cameras:
            camera = handle.cameras[0].reopen()
        else:
            camera = camera_mod.SimCamera(source, clock=clock, fps=fps)
        handle.cameras.append(camera)
        del handle.cameras[1:-1]       # keep the first (timeline) and the newest
        handle.cameras_opened += 1
        faulty.camera = camera
        opened: Camera = faulty
        return opened

    return Devices(open_camera=open_camera if config.camera.source != "none" else None,
                   decoder=decoder, signals=signals, clock=clock, printer=printer, sim=handle,
                   open_reader=open_reader, reader_name=reader_name)


def _sim_reader(config: Config, handle: SimHandle, source: Any,
                clock: Clock) -> tuple[Callable[[], Reader] | None, str]:
    """The reader on simulated hardware: the virtual reader on a pty (``url = "sim"``), fed the
    scenario's scans from its first opening on, or a real one (any other URL; an ``evdev:``
    FIFO of recorded input events is accepted here)."""
    url = config.reader.url
    if not url:
        return None, ""
    if url != "sim":
        return reader_opener(config, clock=clock, allow_recorded=True), url
    reader_mod = _module("hw_sim.reader", "the hardware simulator (hw-sim)")
    state = Path(config.terminal.state_dir)
    handle.reader = reader_mod.VirtualReader(state / READER_LINK)
    scans = source.scan_times()
    handle.feeder = reader_mod.ScanFeeder(handle.reader, scans, clock=clock)
    opener = reader_opener(config, handle.reader.port, clock=clock)

    def open_reader() -> Reader:
        reader = opener()
        handle.readers_opened += 1
        handle.feeder.begin()
        return reader

    return open_reader, handle.reader.port
