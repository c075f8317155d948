"""A controllable clock for the simulator and tests (implements :class:`terminal.clock.Clock`).

Builds on :class:`terminal.clock.FixedClock`: time stands still until moved. ``sleep`` moves it
instead of waiting, so a simulated camera at 30 frames per second runs a minute-long scenario in
milliseconds, deterministically.
"""

from __future__ import annotations

import threading

from terminal.clock import FixedClock

#: 2026-01-01T00:00:00Z: a wall time inside any sensible credential's validity for the demo.
DEFAULT_WALL = 1767225600.0


class SimClock(FixedClock):
    """A clock that moves only when told: ``advance``/``sleep`` (both clocks), ``set`` (wall only)."""

    def __init__(self, wall: float = DEFAULT_WALL, mono: float = 1000.0) -> None:
        super().__init__(wall, mono)
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        """Move wall and monotonic time forward by ``seconds`` (never back)."""
        if seconds < 0:
            raise ValueError("a clock cannot advance by a negative time; use set() for the wall clock")
        with self._lock:
            super().advance(seconds)

    def sleep(self, seconds: float) -> None:
        """What ``time.sleep`` is to the system clock: here it just advances."""
        self.advance(max(0.0, seconds))

    def advance_to(self, mono: float) -> None:
        """Advance until the monotonic clock reads ``mono`` (no-op if already past)."""
        with self._lock:
            delta = mono - self._mono
        if delta > 0:
            self.advance(delta)
