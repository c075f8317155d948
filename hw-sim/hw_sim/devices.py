"""The simulated device set for ``[terminal] hardware = "sim"``: camera, decoder, signals, clock.

:func:`open_parts` builds it. The camera replays what
``[camera] source`` names (a scenario file, image, folder or video; ``"auto"``: an empty scene) or
a scenario given by the caller; the decoder is the real one; the signals run on gpiozero
``MockFactory`` pins with a :class:`~hw_sim.pins.PinRecorder`. The returned handle
(``devices.sim``) gives tests and ``scanpoint demo`` the recorder, the scenario's position and the
fault switches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from hw_sim.camera import SimCamera, open_sim_camera
from hw_sim.clock import SimClock
from hw_sim.faults import Fault, FaultyCamera
from hw_sim.pins import PinRecorder, mock_signals
from hw_sim.scenario import Nothing, Scenario
from terminal.clock import Clock, SystemClock
from terminal.errors import CameraMissing


class Playback:
    """Where the simulated camera is in its scenario: ``position()`` is the index of the step in
    view (0 before the camera opens), None once the scenario has ended."""

    def __init__(self, source: Any, clock: Clock) -> None:
        self.source = source
        self.clock = clock
        self.start: float | None = None

    def elapsed(self) -> float:
        return 0.0 if self.start is None else self.clock.monotonic() - self.start

    def position(self) -> int | None:
        position = getattr(self.source, "position", None)
        if position is None:  # replays and videos: one long "step" until they finish
            return None if self.finished() else 0
        return position(self.elapsed())

    def finished(self) -> bool:
        finished = getattr(self.source, "finished", None)
        return bool(finished(self.elapsed())) if finished is not None else False


@dataclass
class SimHandle:
    """The simulator's side door: pins recorder, playback position, fault switches, clock."""

    recorder: PinRecorder
    scenario: Playback
    faults: FaultyCamera
    clock: Clock
    cameras_opened: int = 0


@dataclass
class SimParts:
    """Everything a ``terminal.devices.Devices`` holds, for the simulator."""

    open_camera: Callable[[], Any]
    decoder: Any
    signals: Any
    clock: Clock
    sleep: Callable[[float], None]
    sim: SimHandle


def open_parts(config: Any, *, scenario: Any = None, scale: float = 1.0,
               clock: Clock | None = None, faults: list[Fault] | None = None,
               fps: float | None = None) -> SimParts:
    """Build the simulated devices from ``config`` (sections camera, decoder, signals).

    ``scenario``: a :class:`Scenario`, a list of ``(text or None, seconds)`` pairs, or anything
    :func:`hw_sim.camera.source_for` accepts; default: ``[camera] source``. ``scale`` shortens
    the signal patterns; ``clock`` defaults to the system clock (a :class:`SimClock` makes the
    whole run instant and deterministic); ``faults`` are scheduled camera faults.
    """
    from drivers.decoder import open_decoder
    from drivers.signals import SignalPins, patterns_from_mapping

    clock = clock or SystemClock()
    spec = scenario
    if isinstance(spec, list) and all(isinstance(i, tuple) for i in spec):
        spec = Scenario.from_script(spec, seed=0)
    if spec is None:
        source = config.camera.source
        spec = (Scenario([Nothing(1000.0)], loop=True) if source in ("", "auto") else source)
    fps = float(fps or config.camera.fps)

    s = config.signals
    pins = SignalPins(green=s.green_pin, red=s.red_pin, buzzer=s.buzzer_pin, relay=s.relay_pin,
                      relay_active_high=s.relay_active_high,
                      buzzer_active_high=s.buzzer_active_high)
    signals, recorder = mock_signals(pins, patterns=patterns_from_mapping(s.patterns), scale=scale)

    first = open_sim_camera(spec, clock=clock, fps=fps)
    playback = Playback(first.source, clock)
    faulty = FaultyCamera(first, clock, faults)
    state: dict[str, SimCamera | None] = {"camera": None}
    handle = SimHandle(recorder=recorder, scenario=playback, faults=faulty, clock=clock)

    def open_camera() -> FaultyCamera:
        fault = faulty.active_fault()
        if fault is not None and fault.kind == "disappear":
            raise CameraMissing("camera not found (simulated fault: unplugged)")
        current = state["camera"]
        if current is None:  # first open: the timeline starts now
            camera = SimCamera(first.source, clock=clock, fps=fps)
            playback.start = camera.start
        else:
            camera = current.reopen()
        state["camera"] = camera
        faulty.camera = camera
        handle.cameras_opened += 1
        return faulty

    sleep = clock.sleep if isinstance(clock, SimClock) else time.sleep
    return SimParts(open_camera=open_camera, decoder=open_decoder(config.decoder.backend),
                    signals=signals, clock=clock, sleep=sleep, sim=handle)
