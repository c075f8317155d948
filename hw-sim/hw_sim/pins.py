"""Signals on gpiozero's ``MockFactory`` pins, and a recorder of what the LEDs, buzzer and relay did.

The recorder reads each ``MockPin``'s own state history (``pin.states``: time since the previous
change, new state) and turns it into one time-ordered list of changes relative to the recorder's
start, in *logical* terms (True = LED lit, buzzer sounding, relay energised, also for active-low
wiring). ``assert_states_and_times`` hands over to gpiozero's own check with its tolerances.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drivers.signals import DEFAULT_PATTERNS, GpioSignals, Pattern, SignalPins

OUTPUT_NAMES = ("green", "red", "buzzer", "relay")


@dataclass(frozen=True)
class Change:
    """One output changing state, ``t`` seconds after the recorder started (or was cleared)."""

    t: float
    output: str
    on: bool


class PinRecorder:
    """Collects the state changes of the signal outputs' mock pins."""

    def __init__(self, factory: Any, pins: SignalPins) -> None:
        self.factory = factory
        self._pins: dict[str, Any] = {}
        self._active_high: dict[str, bool] = {}
        for name in OUTPUT_NAMES:
            number = getattr(pins, name)
            if number is None:
                continue
            self._pins[name] = factory.pin(number)
            self._active_high[name] = {"relay": pins.relay_active_high,
                                       "buzzer": pins.buzzer_active_high}.get(name, True)
        self.clear()

    def clear(self) -> None:
        """Forget the history; times now count from this moment."""
        self.start = time.monotonic()
        self._cleared: dict[str, float] = {}
        for name, pin in self._pins.items():
            pin.clear_states()
            # the instant the pin's own deltas count from: a reading of our own, even a few
            # microseconds off, could swap two outputs switched one after the other
            self._cleared[name] = pin._last_change

    def pin(self, output: str) -> Any:
        """The gpiozero ``MockPin`` behind ``output`` (``"green"``, ``"red"``, ...)."""
        return self._pins[output]

    def _logical(self, output: str, state: Any) -> bool:
        return bool(state) == self._active_high[output]

    def history(self, output: str) -> list[tuple[float, bool]]:
        """``(t, on)`` for each change of ``output``, the first entry being its state at ``clear``."""
        t = self._cleared[output] - self.start
        out = []
        for index, entry in enumerate(list(self._pins[output].states)):
            if index:
                t += entry.timestamp
            out.append((t, self._logical(output, entry.state)))
        return out

    def events(self) -> list[Change]:
        """Every change of every output since ``clear``, in time order (initial states left out)."""
        changes = [Change(t, name, on) for name in self._pins
                   for t, on in self.history(name)[1:]]
        return sorted(changes, key=lambda c: c.t)

    def states(self) -> dict[str, bool]:
        """What each output does right now."""
        return {name: self._logical(name, pin.state) for name, pin in self._pins.items()}

    def assert_states_and_times(self, output: str, expected: list[tuple[float, Any]]) -> None:
        """gpiozero's own check on ``output``'s raw pin: ``[(seconds since previous change, state)]``."""
        self._pins[output].assert_states_and_times(expected)

    def wait_for(self, predicate: Callable[[dict[str, bool]], bool], timeout: float = 5.0) -> bool:
        """Poll until ``predicate(states())`` holds (True) or ``timeout`` s pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.states()):
                return True
            time.sleep(0.002)
        return predicate(self.states())


DEFAULT_PINS = SignalPins()


def mock_signals(pins: SignalPins = DEFAULT_PINS, *,
                 patterns: Mapping[str, Pattern] = DEFAULT_PATTERNS,
                 scale: float = 1.0) -> tuple[GpioSignals, PinRecorder]:
    """A :class:`GpioSignals` on a fresh ``MockFactory`` and a recorder of its pins.

    ``scale`` shortens every pattern (0.1 makes a 2 s green light 0.2 s) for fast tests and demos.
    """
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    if scale != 1.0:
        patterns = {name: pattern.scaled(scale) for name, pattern in patterns.items()}
    signals = GpioSignals(pins, patterns=patterns, pin_factory=factory)
    return signals, PinRecorder(factory, pins)
