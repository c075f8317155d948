"""The one place that picks real or simulated devices: the composition root of the hardware.

Like gpiozero choosing a pin factory, ``[terminal] hardware`` decides: ``"pi"`` builds the
``drivers`` (picamera2/OpenCV camera, zxing-cpp decoder, gpiozero signals on real pins), ``"sim"``
builds ``hw_sim`` (scripted or replayed camera with fault injection, gpiozero ``MockFactory``
pins with a recorder) — the only place the simulated device set is put together.
Both are imported lazily, by module name, so ``terminal`` itself never imports a hardware library
and a Pi without OpenCV, or a laptop without picamera2, loads only what it uses.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from terminal.clock import Clock, SystemClock
from terminal.errors import CameraMissing, ConfigError, DeviceError
from terminal.interfaces import Camera, Decoder, Signals

log = logging.getLogger("scanpoint.devices")


@dataclass
class Devices:
    """Everything the daemon needs from hardware. ``open_camera`` is called again after failures."""

    open_camera: Callable[[], Camera]
    decoder: Decoder
    signals: Signals
    clock: Clock = field(default_factory=SystemClock)
    sleep: Callable[[float], None] = time.sleep
    sim: Any = None            # the simulator's handle (pins recorder, scenario) when simulated

    def close(self) -> None:
        try:
            self.signals.close()
        except Exception as exc:
            log.warning("signals close failed error=%r", exc)


def _module(name: str, what: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise DeviceError(f"{what} is not available: cannot import {name} ({exc}); "
                          "install scanpoint with its dependencies (see README)") from exc


def open_decoder(config: Any) -> Decoder:
    """The configured QR decoder (``[decoder]``), from ``drivers.decoder``: one code per frame,
    retries within ``budget_ms`` per frame."""
    d = config.decoder
    return _module("drivers.decoder", "the QR decoder").open_decoder(
        d.backend, single=True, budget_ms=d.budget_ms, average_frames=d.average_frames)


def signal_pins(config: Any) -> Any:
    """``drivers.signals.SignalPins`` from the ``[signals]`` section."""
    signals = _module("drivers.signals", "the signal outputs")
    s = config.signals
    return signals.SignalPins(green=s.green_pin, red=s.red_pin, buzzer=s.buzzer_pin,
                              relay=s.relay_pin, relay_active_high=s.relay_active_high,
                              buzzer_active_high=s.buzzer_active_high)


def signal_patterns(config: Any) -> dict[str, Any]:
    """The decision patterns: defaults with ``[signals] patterns`` overrides (checked here)."""
    signals = _module("drivers.signals", "the signal outputs")
    return signals.patterns_from_mapping(config.signals.patterns)


def open_devices(config: Any, **sim_options: Any) -> Devices:
    """Real or simulated devices for ``config`` (``[terminal] hardware``).

    ``sim_options`` go to the simulator (e.g. a scenario object or a clock); they are an error on
    real hardware.
    """
    hardware = config.terminal.hardware
    if hardware == "pi":
        if sim_options:
            raise ConfigError(f"simulator options {sorted(sim_options)} given for hardware 'pi'")
        return _open_pi(config)
    if hardware == "sim":
        return _open_sim(config, **sim_options)
    raise ConfigError(f"[terminal] hardware must be 'sim' or 'pi', not {hardware!r}")


def _open_pi(config: Any) -> Devices:
    camera_mod = _module("drivers.camera", "the camera driver")
    signals_mod = _module("drivers.signals", "the signal outputs")
    cam = config.camera
    if cam.source not in camera_mod.CAMERA_KINDS:       # a config error now, not on every retry
        raise ConfigError(f"[camera] source must be 'auto', 'picamera2' or 'opencv' on real "
                          f"hardware, not {cam.source!r}")
    decoder = open_decoder(config)
    signals = signals_mod.open_signals(signal_pins(config),
                                       pin_factory=config.signals.pin_factory or None,
                                       patterns=signal_patterns(config))

    def open_camera() -> Camera:
        # drivers.camera makes the "auto" choice and drops settings the chosen kind ignores
        return camera_mod.open_camera(cam.source, width=cam.width, height=cam.height,
                                      fps=cam.fps, device=cam.device)

    return Devices(open_camera=open_camera, decoder=decoder, signals=signals)


@dataclass
class SimHandle:
    """What the simulator exposes beyond the device interfaces: the pin recorder (LED, buzzer and
    relay history on gpiozero mock pins), the frame source, the cameras opened so far and the
    fault switches (``faults``: a ``hw_sim.faults.FaultyCamera`` around the current camera)."""

    recorder: Any
    source: Any
    faults: Any = None
    cameras: list[Any] = field(default_factory=list)
    cameras_opened: int = 0

    def elapsed(self) -> float | None:
        """Seconds since the simulated camera's first frame (None before it was first opened)."""
        return self.cameras[0].elapsed() if self.cameras else None

    def step_index(self) -> int | None:
        """Index of the scenario step on camera now (len(steps) once over; None before start)."""
        elapsed = self.elapsed()
        if elapsed is None or not hasattr(self.source, "step_at"):
            return None
        return self.source.step_at(elapsed)[0]

    def finished(self) -> bool:
        """True once the scenario or replay has nothing more to show."""
        elapsed = self.elapsed()
        finished = getattr(self.source, "finished", None)
        return elapsed is not None and finished is not None and bool(finished(elapsed))


def _open_sim(config: Any, *, scenario: Any = None, scale: float = 1.0,
              clock: Clock | None = None, faults: list[Any] | None = None) -> Devices:
    """Simulated devices: scripted/replay camera, real decoder, gpiozero signals on mock pins.

    ``scenario`` replaces ``[camera] source``: a ``hw_sim`` scenario, a spec ``source_for``
    accepts, or a script of ``(text or None, seconds)`` pairs (``Scenario.from_script``).
    ``scale`` shortens signal patterns; ``faults`` schedules ``hw_sim.faults.Fault``s on the
    camera (``devices.sim.faults`` also switches them by hand).
    """
    camera_mod = _module("hw_sim.camera", "the hardware simulator (hw-sim)")
    faults_mod = _module("hw_sim.faults", "the hardware simulator (hw-sim)")
    pins_mod = _module("hw_sim.pins", "the hardware simulator (hw-sim)")
    scenario_mod = _module("hw_sim.scenario", "the hardware simulator (hw-sim)")
    clock = clock or SystemClock()
    spec = scenario if scenario is not None else config.camera.source
    if isinstance(spec, list) and spec and isinstance(spec[0], tuple):
        spec = scenario_mod.Scenario.from_script(spec)
    elif spec == "auto":
        spec = scenario_mod.Scenario([scenario_mod.Nothing(1000.0)], loop=True)
    source = camera_mod.source_for(spec)
    decoder = open_decoder(config)
    signals, recorder = pins_mod.mock_signals(signal_pins(config),
                                              patterns=signal_patterns(config), scale=scale)
    faulty = faults_mod.FaultyCamera(None, clock, faults)
    handle = SimHandle(recorder=recorder, source=source, faults=faulty)
    fps = config.camera.fps

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
        return faulty

    sleep = getattr(clock, "sleep", None) or time.sleep
    return Devices(open_camera=open_camera, decoder=decoder, signals=signals, clock=clock,
                   sleep=sleep, sim=handle)
