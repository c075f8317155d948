"""The terminal's outputs: green and red LEDs, a buzzer and a gate relay, driven through gpiozero.

Devices never touch hardware themselves; they ask a gpiozero pin factory, so the same class runs on
a Pi (the lgpio factory on a Pi 5, where pip's gpiozero 2.0.1 auto-detection has regressed) and on
gpiozero's ``MockFactory`` in tests and in hw-sim. Each decision has a configurable
:class:`Pattern`; patterns run in gpiozero's own background blink threads, and a new pattern cuts
the running one (every output is either restarted or switched off).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from terminal.errors import ConfigError, DeviceError
from terminal.reasons import Decision

log = logging.getLogger("scanpoint.signals")

OUTPUTS = ("green", "red", "amber", "buzzer", "relay")
MAX_BLINK_S = 60.0
"""Longest on or off time of one blink (a finite number: never an endless relay pulse)."""


@dataclass(frozen=True)
class Blink:
    """Switch an output on for ``on_time`` s and off for ``off_time`` s, ``n`` times (None: forever)."""

    on_time: float
    off_time: float = 0.0
    n: int | None = 1

    def __post_init__(self) -> None:
        # written to fail closed: NaN compares false, and an endless relay pulse holds the gate
        if not (0 < self.on_time <= MAX_BLINK_S and 0 <= self.off_time <= MAX_BLINK_S):
            raise ConfigError(f"blink times must be on > 0 s and off >= 0 s, finite and at "
                              f"most {MAX_BLINK_S:g} s each, got {self}")
        if self.n is not None and self.n < 1:
            raise ConfigError(f"blink count n must be >= 1 or None (forever), got {self.n}")

    @property
    def duration(self) -> float | None:
        """Seconds until the output is off again (None when it blinks forever)."""
        return None if self.n is None else self.n * (self.on_time + self.off_time)


@dataclass(frozen=True)
class Pattern:
    """What each output does for one decision. ``amber`` blinks red and green together, in step.

    An output left as None is switched off when the pattern starts. Only the ``pass`` pattern may
    drive the relay: a deny, check or fault must never open the gate, however it was configured.
    """

    name: str
    green: Blink | None = None
    red: Blink | None = None
    amber: Blink | None = None
    buzzer: Blink | None = None
    relay: Blink | None = None

    def __post_init__(self) -> None:
        if self.relay is not None and self.name != "pass":
            raise ConfigError(f"signal pattern {self.name!r} may not drive the relay: only "
                              f"'pass' opens the gate; remove relay from {self.name!r}")

    def scaled(self, factor: float) -> Pattern:
        """The same pattern with every time multiplied by ``factor`` (fast tests, demos)."""
        changes = {}
        for name in OUTPUTS:
            blink = getattr(self, name)
            if blink is not None:
                changes[name] = replace(blink, on_time=blink.on_time * factor,
                                        off_time=blink.off_time * factor)
        return replace(self, **changes)


#: The default patterns (issue 3): pass = green 2 s + relay pulse 0.5 s + short beep; deny = red 2 s
#: + long beep; check = amber (red+green) blink with two short beeps; fault = a short red flash
#: every second until cleared — distinct from the steady red of a deny.
DEFAULT_PATTERNS: dict[str, Pattern] = {
    "pass": Pattern("pass", green=Blink(2.0), relay=Blink(0.5), buzzer=Blink(0.1)),
    "deny": Pattern("deny", red=Blink(2.0), buzzer=Blink(0.8)),
    "check": Pattern("check", amber=Blink(0.25, 0.25, 6), buzzer=Blink(0.1, 0.1, 2)),
    "fault": Pattern("fault", red=Blink(0.1, 0.9, None)),
}


def patterns_from_mapping(mapping: Mapping[str, Any] | None,
                          base: Mapping[str, Pattern] = DEFAULT_PATTERNS) -> dict[str, Pattern]:
    """Patterns from a config mapping such as ``{"pass": {"green": [2.0, 0, 1], "relay": [0.5]}}``.

    Each listed decision's pattern is replaced as a whole (outputs not named stay off); decisions not
    listed keep ``base``. A blink is ``[on_time, off_time, n]`` (off_time and n optional; n = 0
    means forever) or a table with those keys. Unknown names are a :class:`ConfigError`, and so is
    a ``relay`` in any pattern but ``pass``: only a pass may open the gate.
    """
    patterns = dict(base)
    for decision, outputs in (mapping or {}).items():
        if decision not in DEFAULT_PATTERNS:
            raise ConfigError(f"unknown signal pattern {decision!r}: choose from "
                              f"{', '.join(DEFAULT_PATTERNS)}")
        if not isinstance(outputs, Mapping):
            raise ConfigError(f"signal pattern {decision!r} must be a table of outputs")
        blinks: dict[str, Blink] = {}
        for output, spec in outputs.items():
            if output not in OUTPUTS:
                raise ConfigError(f"unknown output {output!r} in pattern {decision!r}: choose from "
                                  f"{', '.join(OUTPUTS)}")
            blinks[output] = _blink_from(spec, f"{decision}.{output}")
        patterns[decision] = Pattern(decision, **blinks)
    return patterns


def _blink_from(spec: Any, where: str) -> Blink:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"on_time", "off_time", "n"}
        if unknown:
            raise ConfigError(f"unknown key(s) {sorted(unknown)} in signal pattern {where}")
        values = [spec.get("on_time"), spec.get("off_time", 0.0), spec.get("n", 1)]
    elif isinstance(spec, (list, tuple)) and 1 <= len(spec) <= 3:
        values = list(spec) + [0.0, 1][len(spec) - 1:]
    else:
        raise ConfigError(f"signal pattern {where} must be [on_time, off_time, n], got {spec!r}")
    on_time, off_time, n = values
    try:
        return Blink(float(on_time), float(off_time), None if n in (0, None) else int(n))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"signal pattern {where}: {exc}") from exc


@dataclass(frozen=True)
class SignalPins:
    """GPIO pins (BCM numbers or gpiozero names such as ``"GPIO17"``); None leaves an output out.

    Relay boards are often active-low: set ``relay_active_high = False`` for those.
    """

    green: int | str | None = 17
    red: int | str | None = 27
    buzzer: int | str | None = 22
    relay: int | str | None = 23
    relay_active_high: bool = True
    buzzer_active_high: bool = True


def open_pin_factory(name: str | None) -> Any:
    """A gpiozero pin factory by name: ``"mock"``, ``"lgpio"`` (Pi 5), ``"rpigpio"``, ``"native"``,
    or None / ``"auto"`` for gpiozero's own choice (``$GPIOZERO_PIN_FACTORY``)."""
    if name in (None, "", "auto"):
        return None
    try:
        if name == "mock":
            from gpiozero.pins.mock import MockFactory
            return MockFactory()
        if name == "lgpio":
            from gpiozero.pins.lgpio import LGPIOFactory
            return LGPIOFactory()
        if name == "rpigpio":
            from gpiozero.pins.rpigpio import RPiGPIOFactory
            return RPiGPIOFactory()
        if name == "native":
            from gpiozero.pins.native import NativeFactory
            return NativeFactory()
    except Exception as exc:  # ImportError, or the library failing to find a GPIO chip
        raise DeviceError(f"GPIO pin factory {name!r} is not usable here: {exc}") from exc
    raise ConfigError(f"unknown pin factory {name!r}: choose mock, lgpio, rpigpio, native or auto")


class GpioSignals:
    """LEDs, buzzer and relay showing decisions (implements :class:`terminal.interfaces.Signals`).

    ``last`` names the pattern shown most recently (``"pass"``, ``"deny"``, ``"check"``,
    ``"fault"`` or ``"off"``), ``last_pattern`` is that :class:`Pattern` and ``shown_at`` the
    ``time.monotonic()`` at which it started (the clock gpiozero's mock pins record with).
    """

    def __init__(self, pins: SignalPins = SignalPins(), *,
                 patterns: Mapping[str, Pattern] = DEFAULT_PATTERNS,
                 pin_factory: Any = None) -> None:
        from gpiozero import Buzzer, DigitalOutputDevice, LEDBoard

        missing = set(DEFAULT_PATTERNS) - set(patterns)
        if missing:
            raise ConfigError(f"signal patterns missing for: {', '.join(sorted(missing))}")
        self.patterns = dict(patterns)
        self.pins = pins
        self._lock = threading.RLock()
        self._devices: list[Any] = []
        try:
            leds = {name: pin for name, pin in (("green", pins.green), ("red", pins.red))
                    if pin is not None}
            self.board = LEDBoard(**leds, pin_factory=pin_factory) if leds else None
            self.green = getattr(self.board, "green", None)
            self.red = getattr(self.board, "red", None)
            self.buzzer = (Buzzer(pins.buzzer, active_high=pins.buzzer_active_high,
                                  pin_factory=pin_factory) if pins.buzzer is not None else None)
            self.relay = (DigitalOutputDevice(pins.relay, active_high=pins.relay_active_high,
                                              initial_value=False, pin_factory=pin_factory)
                          if pins.relay is not None else None)
        except Exception as exc:
            self.close()
            if isinstance(exc, DeviceError):
                raise
            raise DeviceError(f"cannot open signal outputs on pins {pins}: {exc}") from exc
        self._devices = [d for d in (self.board, self.buzzer, self.relay) if d is not None]
        self.last = "off"
        self.last_pattern: Pattern | None = None
        self.shown_at: float | None = None
        self.fault_active = False

    # --- the Signals interface -------------------------------------------------------------
    def show(self, decision: Decision | str) -> None:
        """Start the pattern of ``decision`` (pass/deny/check), cutting whatever was running."""
        name = Decision(decision).value if not isinstance(decision, Decision) else decision.value
        self._start(self.patterns[name])

    def fault(self, active: bool) -> None:
        """Show (or clear) the fault pattern: the terminal cannot scan (camera gone, error)."""
        with self._lock:
            if active and not self.fault_active:
                self.fault_active = True
                self._start(self.patterns["fault"])
            elif not active and self.fault_active:
                self.fault_active = False
                if self.last == "fault":
                    self.off()

    def off(self) -> None:
        """Every output off now, any running pattern stopped."""
        with self._lock:
            for device in self._outputs():
                device.off()
            self.last = "off"
            self.last_pattern = None
            self.shown_at = time.monotonic()

    def close(self) -> None:
        """Switch everything off and release the pins. Safe to call twice."""
        with self._lock:
            for device in self._devices:
                try:
                    device.off()
                except Exception:  # noqa: BLE001 - closing must not fail half-way
                    pass
            for device in self._devices:
                device.close()
            self._devices = []

    def __enter__(self) -> GpioSignals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------
    def _outputs(self) -> list[Any]:
        return [d for d in (self.green, self.red, self.buzzer, self.relay) if d is not None]

    def _start(self, pattern: Pattern) -> None:
        with self._lock:
            if not self._devices:
                raise DeviceError("signal outputs are closed")
            previous = self.last_pattern
            if self.board is not None and (
                    pattern.amber is not None or (previous is not None and previous.amber is not None)):
                # stops the board's shared blink thread and each LED's own before switching over
                self.board.off()
            # Phase 1, here and now: every output takes the pattern's first state, the decision's
            # LED first, so the light changes before show() returns (no wait for a thread start).
            amber = pattern.amber is not None and self.board is not None
            def ordered(pairs: list[tuple[Any, Blink | None]]) -> list[tuple[Any, Blink | None]]:
                present = [(device, blink) for device, blink in pairs if device is not None]
                return sorted(present, key=lambda item: item[1] is None)   # "on" before "off"

            leds = [] if amber else ordered([(self.green, pattern.green), (self.red, pattern.red)])
            plan = leds + ordered([(self.buzzer, pattern.buzzer), (self.relay, pattern.relay)])
            if amber and self.board is not None:
                self.board.on()
            for device, blink in plan:
                device.on() if blink is not None else device.off()
            # Phase 2: gpiozero's background blink threads carry the pattern on from there
            # (amber: one LEDBoard thread for both LEDs, so red and green change together).
            if amber and self.board is not None and pattern.amber is not None:
                self.board.blink(pattern.amber.on_time, pattern.amber.off_time,
                                 n=pattern.amber.n, background=True)
            for device, blink in plan:
                if blink is not None:
                    device.blink(blink.on_time, blink.off_time, n=blink.n, background=True)
            self.last = pattern.name
            self.last_pattern = pattern
            self.shown_at = time.monotonic()
            if pattern.name != "fault":
                self.fault_active = False
        log.info("signals pattern=%s", pattern.name)


def open_signals(pins: SignalPins = SignalPins(), *, pin_factory: str | Any = None,
                 patterns: Mapping[str, Pattern] = DEFAULT_PATTERNS) -> GpioSignals:
    """Signals on real or mock pins; ``pin_factory`` is a factory object or a name for
    :func:`open_pin_factory`."""
    factory = open_pin_factory(pin_factory) if isinstance(pin_factory, (str, type(None))) else pin_factory
    return GpioSignals(pins, patterns=patterns, pin_factory=factory)
