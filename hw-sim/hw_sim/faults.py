"""Fault injection for cameras: stalls (no frames), disappearing (unplugged), garbage frames.

:class:`FaultyCamera` wraps any :class:`terminal.interfaces.Camera`. Faults are switched on by hand
(``stall()``, ``disappear()``, ``garbage()``, ``heal()``) or scheduled on the injected clock
(:class:`Fault` windows), so a test can say "the camera vanishes from t=2 s to t=5 s" and replay it
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from terminal.clock import Clock
from terminal.errors import CameraMissing
from terminal.interfaces import Frame

FAULT_KINDS = ("stall", "disappear", "garbage")
GARBAGE_KINDS = ("noise", "black", "white", "torn", "stripes", "tiny")


def garbage_frame(kind: str, shape: tuple[int, int] = (480, 640),
                  rng: np.random.Generator | None = None, base: np.ndarray | None = None) -> np.ndarray:
    """A frame a broken camera might deliver: ``noise``, all ``black``/``white``, ``torn`` (the
    lower half of ``base`` replaced by noise), ``stripes`` (line-sync loss) or ``tiny`` (1×1)."""
    rng = rng or np.random.default_rng(0)
    h, w = shape
    if kind == "noise":
        return rng.integers(0, 256, size=shape, dtype=np.uint8)
    if kind == "black":
        return np.zeros(shape, np.uint8)
    if kind == "white":
        return np.full(shape, 255, np.uint8)
    if kind == "torn":
        frame = (base.copy() if base is not None and base.shape == shape
                 else np.full(shape, 128, np.uint8))
        frame[h // 2:] = rng.integers(0, 256, size=(h - h // 2, w), dtype=np.uint8)
        return frame
    if kind == "stripes":
        rows = rng.integers(0, 256, size=(h, 1), dtype=np.uint8)
        return np.ascontiguousarray(np.repeat(rows, w, axis=1))
    if kind == "tiny":
        return np.zeros((1, 1), np.uint8)
    raise ValueError(f"unknown garbage kind {kind!r}: choose from {', '.join(GARBAGE_KINDS)}")


@dataclass(frozen=True)
class Fault:
    """A fault window on the clock's monotonic time: ``kind`` from ``start`` for ``duration`` s
    (None: until healed by hand). ``garbage`` takes a ``garbage_kind``."""

    kind: str
    start: float
    duration: float | None = None
    garbage_kind: str = "noise"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}: choose from {', '.join(FAULT_KINDS)}")

    def active(self, now: float) -> bool:
        return now >= self.start and (self.duration is None or now < self.start + self.duration)


class FaultyCamera:
    """A camera with faults injected: behaves like ``camera`` except inside a fault.

    - stall: :meth:`read` returns None (no frames arrive), as a hung driver does;
    - disappear: :meth:`read` raises :class:`CameraMissing`, as an unplugged camera does;
    - garbage: frames arrive on time but hold noise, black, torn images, or a 1×1 image.
    """

    def __init__(self, camera: Any, clock: Clock, schedule: list[Fault] | None = None,
                 seed: int = 0) -> None:
        self.camera = camera
        self.clock = clock
        self.schedule = list(schedule or [])
        self._manual: Fault | None = None
        self._rng = np.random.default_rng(seed)
        self.injected: dict[str, int] = {kind: 0 for kind in FAULT_KINDS}

    # manual switches
    def stall(self) -> None:
        """From now on deliver no frames until :meth:`heal`."""
        self._manual = Fault("stall", self.clock.monotonic())

    def disappear(self) -> None:
        """From now on behave as an unplugged camera until :meth:`heal`."""
        self._manual = Fault("disappear", self.clock.monotonic())

    def garbage(self, kind: str = "noise") -> None:
        """From now on deliver garbage frames of ``kind`` until :meth:`heal`."""
        garbage_frame(kind, (2, 2))  # validates the kind now, not at the next read
        self._manual = Fault("garbage", self.clock.monotonic(), garbage_kind=kind)

    def heal(self) -> None:
        """End a manually injected fault (scheduled ones end on their own)."""
        self._manual = None

    def active_fault(self) -> Fault | None:
        """The fault in force now, if any (a manual one first)."""
        now = self.clock.monotonic()
        if self._manual is not None:
            return self._manual
        for fault in self.schedule:
            if fault.active(now):
                return fault
        return None

    def read(self) -> Frame | None:
        fault = self.active_fault()
        if fault is None:
            return self.camera.read()
        self.injected[fault.kind] += 1
        if fault.kind == "disappear":
            raise CameraMissing("camera disconnected (simulated fault): check the cable")
        frame = self.camera.read()  # the camera's own timing continues underneath
        if fault.kind == "stall" or frame is None:
            return None
        shape = frame.image.shape if frame.image.ndim == 2 else (480, 640)
        return Frame(garbage_frame(fault.garbage_kind, shape, self._rng, frame.image), frame.arrived)

    def close(self) -> None:
        self.camera.close()

    @property
    def finished(self) -> bool:
        """The wrapped simulated camera's :attr:`~hw_sim.camera.SimCamera.finished`."""
        return bool(self.camera.finished)
