"""The one place that picks real or simulated devices: the composition root of the hardware.

Like gpiozero choosing a pin factory, ``[terminal] hardware`` decides: ``"pi"`` builds the
``drivers`` (picamera2/OpenCV camera, zxing-cpp decoder, gpiozero signals on real pins), ``"sim"``
builds ``hw_sim`` (scripted or replayed camera, gpiozero ``MockFactory`` pins with a recorder).
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
from terminal.errors import ConfigError, DeviceError
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
    """The configured QR decoder (``[decoder] backend``), from ``drivers.decoder``."""
    return _module("drivers.decoder", "the QR decoder").open_decoder(config.decoder.backend)


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
    decoder = open_decoder(config)
    signals = signals_mod.open_signals(signal_pins(config),
                                       pin_factory=config.signals.pin_factory or None,
                                       patterns=signal_patterns(config))

    def open_camera() -> Camera:
        return camera_mod.open_camera(cam.source, device=cam.device, width=cam.width,
                                      height=cam.height, fps=cam.fps)

    return Devices(open_camera=open_camera, decoder=decoder, signals=signals)


def _open_sim(config: Any, **options: Any) -> Devices:
    hw_sim = _module("hw_sim", "the hardware simulator (hw-sim)")
    return hw_sim.open_devices(config, **options)
