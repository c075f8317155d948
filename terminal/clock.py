"""Time sources: the one place scanpoint reads or waits on the operating system's clocks.

Every part that needs the time is handed a :class:`Clock` — wall time for credential validity and
list freshness, monotonic time for latency and timers, ``sleep`` for waiting — so tests and the
simulator can stand time still, move it, or set the wall clock back as a tampered device would.
No module in :mod:`terminal` calls :func:`time.time`, :func:`time.monotonic` or :func:`time.sleep`
itself (a test walks the source to keep it so).
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Wall time, monotonic time, and a way to wait."""

    def time(self) -> float:
        """Seconds since the Unix epoch, as the terminal believes it."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a simulated clock advances instead of waiting)."""


class SystemClock:
    """The operating system's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


SYSTEM = SystemClock()
"""The shared system clock: the default wherever no clock is injected."""


class FixedClock:
    """A clock that stands still until moved: for tests, ``scanpoint verify --at`` and the simulator.

    ``sleep`` advances both clocks instead of waiting, so code that waits runs instantly and
    deterministically.
    """

    def __init__(self, wall: float, mono: float = 0.0) -> None:
        self._wall = finite_time(wall, "wall clock")
        self._mono = finite_time(mono, "monotonic clock")

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move both clocks forward (by a finite number of seconds: no clock may hold NaN)."""
        seconds = finite_time(seconds, "clock advance")
        self._wall += seconds
        self._mono += seconds

    def set(self, wall: float) -> None:
        """Set the wall clock (it may go back, as a tampered device clock would); monotonic stays."""
        self._wall = finite_time(wall, "wall clock")


def finite_time(value: float, what: str = "time") -> float:
    """``value`` as a float, or :class:`ValueError` if it is NaN or infinite.

    Every comparison with NaN is false, so a NaN "now" would make an expired credential look
    current: no clock may ever hold one.
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds, not {value!r}")
    return value
