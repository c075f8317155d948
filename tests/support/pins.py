"""Pulses of the signal outputs, read from the hw-sim pin recorder (gpiozero ``MockPin`` history).

Times are ``time.monotonic()`` seconds, the clock the mock pins, the pipeline's events and the
simulated devices share, so a test can order them: the LED came on after the frame arrived and
before ``show()`` returned. Durations are only ever checked as lower bounds (a blink thread waits
*at least* its on-time, however loaded the machine); an upper bound would be a speed test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: slack for the recorder's arithmetic (it sums pin deltas rounded to microseconds); not a timing
EPS = 1e-3


@dataclass(frozen=True)
class Pulse:
    """One output on from ``on`` until ``off`` (None: still on when the history was read)."""

    on: float
    off: float | None

    @property
    def length(self) -> float | None:
        return None if self.off is None else self.off - self.on

    def lasted_at_least(self, seconds: float) -> bool:
        """Ended, and was on for at least ``seconds`` (minus the recorder's rounding)."""
        return self.off is not None and self.off - self.on >= seconds - EPS


def pulses(recorder: Any, output: str, start: float = -math.inf,
           end: float = math.inf) -> list[Pulse]:
    """The pulses of ``output`` that came on in ``[start, end)`` (monotonic seconds)."""
    found, on_at = [], None
    for t, on in recorder.history(output):
        at = recorder.start + t
        if on and on_at is None:
            on_at = at
        elif not on and on_at is not None:
            if start <= on_at < end:
                found.append(Pulse(on_at, at))
            on_at = None
    if on_at is not None and start <= on_at < end:
        found.append(Pulse(on_at, None))
    return found


def all_off(recorder: Any) -> bool:
    """True when every output is off right now."""
    return not any(recorder.states().values())


def wait_all_off(recorder: Any, timeout: float = 20.0) -> bool:
    """Wait until every output is off: the end of a pattern of single pulses (a blinking one is
    also all off between blinks: use :func:`wait_pulses`). A deadline for a hung test only."""
    return recorder.wait_for(lambda states: not any(states.values()), timeout=timeout)


def wait_pulses(recorder: Any, output: str, count: int, start: float = -math.inf,
                timeout: float = 20.0) -> bool:
    """Wait until ``output`` has ``count`` finished pulses that came on at or after ``start``."""
    def done(_: Any) -> bool:
        return sum(p.off is not None for p in pulses(recorder, output, start)) >= count
    return bool(recorder.wait_for(done, timeout=timeout))
