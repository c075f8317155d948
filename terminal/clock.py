"""Time sources. The pipeline asks a :class:`Clock`; tests and the simulator inject their own."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Wall time (for credential validity) and monotonic time (for latency and timers)."""

    def time(self) -> float:
        """Seconds since the Unix epoch, as the terminal believes it."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back."""


class SystemClock:
    """The operating system's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that stands still until moved: for tests, ``scanpoint verify --at`` and the simulator."""

    def __init__(self, wall: float, mono: float = 0.0) -> None:
        self._wall = float(wall)
        self._mono = float(mono)

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._wall += seconds
        self._mono += seconds

    def set(self, wall: float) -> None:
        """Set the wall clock (it may go back, as a tampered device clock would); monotonic stays."""
        self._wall = float(wall)
