"""Signal patterns on gpiozero's MockFactory pins: states, order, cutting, fault, configuration.

No test here measures speed. A pattern's first state is set in the caller's thread, so it is
checked the moment ``show()`` returns; gpiozero's blink threads carry it on, so their lengths are
checked as lower bounds (a thread waits *at least* its on-time) once every output is off, and
"cut" means the old output went off between the moments just before and just after the new
``show()`` call. Patterns that must be cut are made long, so only the cut can have ended them.
"""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.signals import (
    DEFAULT_PATTERNS,
    Blink,
    GpioSignals,
    Pattern,
    SignalPins,
    open_pin_factory,
    open_signals,
    patterns_from_mapping,
)
from hw_sim.pins import mock_signals
from terminal.errors import ConfigError, DeviceError
from terminal.interfaces import Signals
from terminal.reasons import Decision
from tests.support.pins import EPS, pulses, wait_all_off, wait_pulses

ALL_OFF = {"green": False, "red": False, "buzzer": False, "relay": False}


@pytest.fixture
def scaled():
    signals, recorder = mock_signals(scale=0.25)
    yield signals, recorder
    signals.close()


@pytest.fixture
def long_running():
    """Pass and check patterns far longer than any test waits (only a cut can end them); deny
    short, so waiting for it to finish is quick."""
    patterns = patterns_from_mapping({
        "pass": {"green": [60.0], "relay": [60.0], "buzzer": [0.05]},
        "check": {"amber": [1.0, 1.0, 30], "buzzer": [0.05]},
        "deny": {"red": [0.2], "buzzer": [0.1]},
    })
    signals, recorder = mock_signals(patterns=patterns)
    yield signals, recorder
    signals.close()


def states_sequence(recorder, output):
    return [on for _, on in recorder.history(output)]


def test_implements_the_signals_protocol(scaled):
    signals, _ = scaled
    assert isinstance(signals, Signals)


def test_default_pass_pattern_full_length():
    signals, rec = mock_signals()
    try:
        signals.show(Decision.PASS)
        assert signals.last == "pass" and signals.last_pattern is DEFAULT_PATTERNS["pass"]
        assert wait_all_off(rec)
        # one pulse each, at least as long as the pattern says: green 2 s, relay 0.5 s, beep 0.1 s
        for output, seconds in (("green", 2.0), ("relay", 0.5), ("buzzer", 0.1)):
            assert states_sequence(rec, output) == [False, True, False], output
            (pulse,) = pulses(rec, output)
            assert pulse.lasted_at_least(seconds), (output, pulse)
        assert len(rec.pin("green").states) == 3
        assert states_sequence(rec, "red") == [False]
        assert rec.states() == ALL_OFF
    finally:
        signals.close()


def test_deny_pattern(scaled):
    signals, rec = scaled
    signals.show("deny")
    assert rec.states() == {"green": False, "red": True, "buzzer": True, "relay": False}
    assert wait_all_off(rec)
    (red,) = pulses(rec, "red")
    (beep,) = pulses(rec, "buzzer")
    assert red.lasted_at_least(0.5) and beep.lasted_at_least(0.2)
    assert pulses(rec, "green") == [] and pulses(rec, "relay") == []


def test_check_pattern_blinks_red_and_green_together(scaled):
    signals, rec = scaled
    signals.show(Decision.CHECK)
    assert wait_pulses(rec, "green", 6) and wait_pulses(rec, "buzzer", 2) and wait_all_off(rec)
    green, red = pulses(rec, "green"), pulses(rec, "red")
    assert len(green) == len(red) == 6
    for g, r in zip(green, red):
        assert max(g.on, r.on) < min(g.off, r.off)      # lit together: amber
        assert g.lasted_at_least(0.0625) and r.lasted_at_least(0.0625)
    for earlier, later in zip(green, green[1:]):
        assert later.on - earlier.off >= 0.0625 - EPS   # dark in between: a blink, not steady
    assert len(pulses(rec, "buzzer")) == 2
    assert pulses(rec, "relay") == []
    assert rec.states() == ALL_OFF


def test_new_decision_cuts_the_running_one(long_running):
    signals, rec = long_running
    signals.show(Decision.PASS)
    before = time.monotonic()
    signals.show(Decision.DENY)
    after = time.monotonic()
    assert rec.states() == {"green": False, "red": True, "buzzer": True, "relay": False}
    (green,) = pulses(rec, "green")
    (relay,) = pulses(rec, "relay")
    assert before - EPS <= green.off <= after + EPS     # green cut by the new decision ...
    assert before - EPS <= relay.off <= after + EPS     # ... and the gate relay released with it
    assert wait_all_off(rec)                            # the short deny pattern ran its course
    assert len(pulses(rec, "green")) == 1 and len(pulses(rec, "relay")) == 1   # never came back


def test_check_then_pass_stops_the_amber_blink(long_running):
    signals, rec = long_running
    signals.show(Decision.CHECK)
    before = time.monotonic()
    signals.show(Decision.PASS)
    after = time.monotonic()
    assert rec.states()["green"] is True and rec.states()["red"] is False
    (red,) = pulses(rec, "red")
    assert before - EPS <= red.off <= after + EPS       # the amber blink was cut, not finished
    signals.off()
    assert pulses(rec, "red", start=before) == []      # and red never blinked again
    assert rec.states() == ALL_OFF


def test_repeated_same_decision_restarts_the_pattern(scaled):
    signals, rec = scaled
    signals.show(Decision.DENY)
    time.sleep(0.25)                                    # part-way through the 0.5 s red
    again = time.monotonic()
    signals.show(Decision.DENY)
    assert wait_all_off(rec)
    (red,) = pulses(rec, "red")                        # one unbroken red light ...
    assert red.off >= again + 0.5 - EPS                # ... lasting a full 0.5 s from the repeat


def test_fault_pattern_is_distinct_and_clears(scaled):
    signals, rec = scaled
    signals.fault(True)
    signals.fault(True)                     # idempotent: does not restart the pattern
    assert wait_pulses(rec, "red", 3)
    flashes = [p for p in pulses(rec, "red") if p.off is not None]
    assert all(p.lasted_at_least(0.025) for p in flashes)
    for earlier, later in zip(flashes, flashes[1:]):
        assert later.on - earlier.off >= 0.225 - EPS    # short flashes, long dark: not a deny
    assert pulses(rec, "green") == [] and pulses(rec, "buzzer") == []
    assert signals.last == "fault" and signals.fault_active
    signals.fault(False)
    assert signals.last == "off" and rec.states()["red"] is False
    count = len(rec.history("red"))
    time.sleep(0.3)                          # longer than a whole fault period
    assert len(rec.history("red")) == count  # the blinking really stopped


def test_decision_during_fault_cuts_it(scaled):
    signals, rec = scaled
    signals.fault(True)
    signals.show(Decision.PASS)
    assert signals.last == "pass" and not signals.fault_active
    assert rec.states()["green"] is True and rec.states()["red"] is False


def test_off_and_close(scaled):
    signals, rec = scaled
    signals.show(Decision.PASS)
    signals.off()
    assert rec.states() == ALL_OFF
    assert signals.last == "off" and signals.last_pattern is None
    signals.close()
    signals.close()
    with pytest.raises(DeviceError, match="closed"):
        signals.show(Decision.PASS)


def test_shown_at_and_last(scaled):
    signals, _ = scaled
    assert signals.last == "off" and signals.shown_at is None
    before = time.monotonic()
    signals.show(Decision.CHECK)
    assert signals.last == "check" and before <= signals.shown_at <= time.monotonic()


def test_active_low_relay_and_missing_outputs():
    pins = SignalPins(relay=5, relay_active_high=False, buzzer=None)
    signals, rec = mock_signals(pins, scale=0.25)
    try:
        assert rec.pin("relay").state is True          # active-low: released relay = high pin
        assert rec.states()["relay"] is False
        assert "buzzer" not in rec.states()
        signals.show(Decision.PASS)
        assert rec.pin("relay").state is False and rec.states()["relay"] is True
        assert rec.wait_for(lambda s: not s["relay"], timeout=20)
        assert rec.pin("relay").state is True
        (relay,) = pulses(rec, "relay")
        assert relay.lasted_at_least(0.125)
    finally:
        signals.close()


def test_pins_in_use_are_a_device_error():
    factory = MockFactory()
    first = GpioSignals(pin_factory=factory)
    try:
        with pytest.raises(DeviceError, match="cannot open signal outputs"):
            GpioSignals(SignalPins(green=27, red=5, buzzer=6, relay=13), pin_factory=factory)
    finally:
        first.close()


def test_patterns_from_mapping():
    patterns = patterns_from_mapping({
        "pass": {"green": [3.0], "relay": {"on_time": 1.0}},
        "check": {"amber": [0.5, 0.5, 0]},
    })
    assert patterns["pass"] == Pattern("pass", green=Blink(3.0), relay=Blink(1.0))
    assert patterns["check"].amber == Blink(0.5, 0.5, None)
    assert patterns["deny"] == DEFAULT_PATTERNS["deny"]
    signals, rec = mock_signals(patterns=patterns, scale=0.1)
    try:
        signals.show(Decision.PASS)
        assert rec.states() == {"green": True, "red": False, "buzzer": False, "relay": True}
    finally:
        signals.close()


@pytest.mark.parametrize("mapping,message", [
    ({"maybe": {}}, "unknown signal pattern 'maybe'"),
    ({"pass": {"blue": [1]}}, "unknown output 'blue'"),
    ({"pass": {"green": "long"}}, "must be \\[on_time, off_time, n\\]"),
    ({"pass": {"green": [0]}}, "on > 0"),
    ({"pass": {"green": [1, 0, -2]}}, "n must be"),
    ({"pass": {"green": {"on": 1}}}, "unknown key"),
    ({"pass": []}, "must be a table"),
    ({"deny": {"red": [2.0], "relay": [0.5]}}, "pattern 'deny' may not drive the relay"),
    ({"check": {"relay": {"on_time": 0.5}}}, "pattern 'check' may not drive the relay"),
    ({"fault": {"relay": [0.1, 0.9, 0]}}, "pattern 'fault' may not drive the relay"),
])
def test_pattern_config_errors(mapping, message):
    with pytest.raises(ConfigError, match=message):
        patterns_from_mapping(mapping)


def test_pin_factories():
    assert isinstance(open_pin_factory("mock"), MockFactory)
    assert open_pin_factory("auto") is None
    with pytest.raises(ConfigError, match="unknown pin factory 'gpio9'"):
        open_pin_factory("gpio9")
    signals = open_signals(pin_factory="mock")
    try:
        signals.show(Decision.DENY)
        assert signals.last == "deny"
    finally:
        signals.close()


def test_lgpio_factory_off_a_pi_is_a_clear_device_error():
    try:
        factory = open_pin_factory("lgpio")
    except DeviceError as exc:
        assert "not usable here" in str(exc)
    else:  # pragma: no cover - only on a Raspberry Pi with lgpio
        factory.close()
        pytest.skip("running on a Pi with lgpio: nothing to refuse")


def test_outputs_change_before_show_returns(scaled):
    """The light changes in the caller's thread (latency), the pattern goes on in gpiozero's."""
    signals, rec = scaled
    signals.show(Decision.PASS)
    assert rec.states() == {"green": True, "red": False, "buzzer": True, "relay": True}
    signals.show(Decision.DENY)
    assert rec.states() == {"green": False, "red": True, "buzzer": True, "relay": False}
    signals.show(Decision.CHECK)
    assert rec.states() == {"green": True, "red": True, "buzzer": True, "relay": False}
    signals.fault(True)
    assert rec.states() == {"green": False, "red": True, "buzzer": False, "relay": False}


def test_only_the_pass_pattern_can_hold_the_relay_however_built():
    """The rule sits on Pattern itself, so code that builds patterns can't bypass it either."""
    assert Pattern("pass", relay=Blink(0.5)).relay == Blink(0.5)
    for name in ("deny", "check", "fault"):
        with pytest.raises(ConfigError, match=f"pattern '{name}' may not drive the relay"):
            Pattern(name, relay=Blink(0.5))
