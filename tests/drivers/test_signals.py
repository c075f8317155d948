"""Signal patterns on gpiozero's MockFactory pins: states, timings, cutting, fault, configuration."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.signals import (DEFAULT_PATTERNS, Blink, GpioSignals, Pattern, SignalPins,
                             open_pin_factory, open_signals, patterns_from_mapping)
from hw_sim.pins import mock_signals
from terminal.errors import ConfigError, DeviceError
from terminal.interfaces import Signals
from terminal.reasons import Decision

TOL = 0.06  # thread timing on a loaded 2-core machine
LATE = 0.25  # how late a busy or emulated scheduler may switch an output off


def near(a: float, b: float, tol: float = TOL) -> bool:
    return abs(a - b) <= tol


def on_spans(history):
    """[(start, end)] of each 'on' period from a recorder history."""
    spans, start = [], None
    for t, on in history:
        if on and start is None:
            start = t
        elif not on and start is not None:
            spans.append((start, t))
            start = None
    if start is not None:
        spans.append((start, None))
    return spans


@pytest.fixture
def scaled():
    signals, recorder = mock_signals(scale=0.25)
    yield signals, recorder
    signals.close()


def test_implements_the_signals_protocol(scaled):
    signals, _ = scaled
    assert isinstance(signals, Signals)


def test_default_pass_pattern_full_length():
    signals, rec = mock_signals()
    try:
        signals.show(Decision.PASS)
        assert signals.last == "pass" and signals.last_pattern is DEFAULT_PATTERNS["pass"]
        time.sleep(2.15)
        # gpiozero's own check: (seconds since previous change, state)
        rec.assert_states_and_times("green", [(0.0, False), (0.0, True), (2.0, False)])
        rec.assert_states_and_times("relay", [(0.0, False), (0.0, True), (0.5, False)])
        rec.assert_states_and_times("buzzer", [(0.0, False), (0.0, True), (0.1, False)])
        assert len(rec.pin("green").states) == 3
        assert rec.history("red") == [(rec.history("red")[0][0], False)]
        assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}
    finally:
        signals.close()


def wait_off(rec, *names: str, limit: float = 5.0) -> None:
    """Wait until the named outputs are off: an emulated or loaded machine switches them late."""
    deadline = time.monotonic() + limit
    while any(rec.states()[n] for n in names) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_deny_pattern(scaled):
    signals, rec = scaled
    signals.show("deny")
    time.sleep(0.65)
    wait_off(rec, "red", "buzzer")
    # never cut short; late by thread scheduling only (0.09 s seen under arm64 emulation)
    (start, end), = on_spans(rec.history("red"))
    assert 0.5 - TOL <= end - start <= 0.5 + LATE
    (start, end), = on_spans(rec.history("buzzer"))
    assert 0.2 - TOL <= end - start <= 0.2 + LATE
    assert on_spans(rec.history("green")) == [] and on_spans(rec.history("relay")) == []


def test_check_pattern_blinks_red_and_green_together(scaled):
    signals, rec = scaled
    signals.show(Decision.CHECK)
    time.sleep(0.9)
    green, red = on_spans(rec.history("green")), on_spans(rec.history("red"))
    assert len(green) == len(red) == 6
    for (g0, g1), (r0, r1) in zip(green, red):
        assert abs(g0 - r0) < 0.005 and abs(g1 - r1) < 0.005  # one thread drives both
        assert near(g1 - g0, 0.0625, 0.04)
    assert len(on_spans(rec.history("buzzer"))) == 2
    assert on_spans(rec.history("relay")) == []
    assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}


def test_new_decision_cuts_the_running_one(scaled):
    signals, rec = scaled
    signals.show(Decision.PASS)
    time.sleep(0.1)
    cut = time.monotonic() - rec.start
    signals.show(Decision.DENY)
    time.sleep(0.05)
    assert rec.states() == {"green": False, "red": True, "buzzer": True, "relay": False}
    (g0, g1), = on_spans(rec.history("green"))
    assert near(g1, cut, 0.02)              # green cut at the new decision, not after 0.5 s
    (r0, r1), = on_spans(rec.history("relay"))
    assert near(r1, cut, 0.02)              # gate relay released too
    time.sleep(0.6)
    assert rec.states()["red"] is False
    assert len(on_spans(rec.history("green"))) == 1   # the old pattern never came back


def test_check_then_pass_stops_the_amber_blink(scaled):
    signals, rec = scaled
    signals.show(Decision.CHECK)
    time.sleep(0.1)
    signals.show(Decision.PASS)
    time.sleep(0.05)
    assert rec.states()["green"] is True and rec.states()["red"] is False
    time.sleep(0.6)
    red_after = [s for s in on_spans(rec.history("red")) if s[0] > 0.12]
    assert red_after == []
    assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}


def test_repeated_same_decision_restarts_the_pattern(scaled):
    signals, rec = scaled
    signals.show(Decision.DENY)
    time.sleep(0.3)
    signals.show(Decision.DENY)
    time.sleep(0.3)
    assert rec.states()["red"] is True      # 0.6 s after the first, 0.3 s into the second
    time.sleep(0.3)
    assert rec.states()["red"] is False


def test_fault_pattern_is_distinct_and_clears(scaled):
    signals, rec = scaled
    signals.fault(True)
    signals.fault(True)                     # idempotent: does not restart the pattern
    time.sleep(0.8)
    flashes = on_spans(rec.history("red"))
    assert len(flashes) >= 3
    assert all(end is None or near(end - start, 0.025, 0.03) for start, end in flashes)
    assert on_spans(rec.history("green")) == [] and on_spans(rec.history("buzzer")) == []
    assert signals.last == "fault" and signals.fault_active
    signals.fault(False)
    assert signals.last == "off"
    time.sleep(0.3)
    assert rec.states()["red"] is False
    count = len(rec.history("red"))
    time.sleep(0.3)
    assert len(rec.history("red")) == count  # the blinking really stopped


def test_decision_during_fault_cuts_it(scaled):
    signals, rec = scaled
    signals.fault(True)
    signals.show(Decision.PASS)
    assert signals.last == "pass" and not signals.fault_active
    time.sleep(0.05)
    assert rec.states()["green"] is True and rec.states()["red"] is False


def test_off_and_close(scaled):
    signals, rec = scaled
    signals.show(Decision.PASS)
    time.sleep(0.02)
    signals.off()
    assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}
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
        time.sleep(0.02)
        assert rec.pin("relay").state is False and rec.states()["relay"] is True
        time.sleep(0.2)
        assert rec.states()["relay"] is False
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
        time.sleep(0.02)
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
