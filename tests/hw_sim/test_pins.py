"""The MockFactory pin recorder: merged, time-ordered, logical (active-low aware) state changes."""

from __future__ import annotations

import time

import pytest

from drivers.signals import SignalPins
from hw_sim.pins import Change, mock_signals
from terminal.reasons import Decision


def test_events_are_time_ordered_across_outputs():
    signals, rec = mock_signals(scale=0.25)
    try:
        signals.show(Decision.PASS)             # green 0.5 s, relay 0.125 s, buzzer 0.025 s
        time.sleep(0.6)
        events = rec.events()
        assert [(e.output, e.on) for e in events if e.on] == [
            ("green", True), ("buzzer", True), ("relay", True)]   # started in this order
        offs = [e.output for e in events if not e.on]
        assert offs == ["buzzer", "relay", "green"]               # ended by duration
        times = [e.t for e in events]
        assert times == sorted(times)
        green_off = next(e for e in events if e.output == "green" and not e.on)
        assert green_off.t == pytest.approx(0.5, abs=0.06)
        assert all(isinstance(e, Change) for e in events)
    finally:
        signals.close()


def test_clear_restarts_the_history():
    signals, rec = mock_signals(scale=0.1)
    try:
        signals.show(Decision.DENY)
        time.sleep(0.05)
        rec.clear()
        assert rec.events() == []
        assert rec.history("red") == [(pytest.approx(0.0, abs=0.01), True)]  # state at clear
        time.sleep(0.2)
        # deny scaled: buzzer 0.08 s, red 0.2 s from the show
        assert [(e.output, e.on) for e in rec.events()] == [("buzzer", False), ("red", False)]
    finally:
        signals.close()


def test_logical_states_for_active_low_outputs():
    signals, rec = mock_signals(SignalPins(relay_active_high=False, buzzer_active_high=False),
                                scale=0.1)
    try:
        assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}
        assert rec.pin("relay").state is True and rec.pin("buzzer").state is True
        signals.show(Decision.PASS)
        assert rec.wait_for(lambda s: s["relay"] and s["buzzer"], timeout=1.0)
        assert rec.pin("relay").state is False
        assert rec.wait_for(lambda s: not any(s.values()), timeout=1.0)
        assert not rec.wait_for(lambda s: s["red"], timeout=0.05)
    finally:
        signals.close()
