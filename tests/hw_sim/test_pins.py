"""The MockFactory pin recorder: merged, time-ordered, logical (active-low aware) state changes."""

from __future__ import annotations

import time

from drivers.signals import SignalPins, patterns_from_mapping
from hw_sim.pins import Change, mock_signals
from terminal.reasons import Decision
from tests.support.pins import pulses, wait_pulses

#: green and relay stay on until cut (so the test decides when they end), the beep ends by itself
LONG = patterns_from_mapping({"pass": {"green": [60.0], "relay": [60.0], "buzzer": [0.05]},
                              "deny": {"red": [60.0]}})


def test_events_are_time_ordered_across_outputs():
    signals, rec = mock_signals(patterns=LONG)
    try:
        signals.show(Decision.PASS)
        assert wait_pulses(rec, "buzzer", 1)         # the beep ended in its own blink thread
        signals.off()                                # green, then relay, off in this thread
        events = rec.events()
        assert all(isinstance(e, Change) for e in events)
        assert [(e.output, e.on) for e in events if e.on] == [
            ("green", True), ("buzzer", True), ("relay", True)]   # started in this order
        assert [e.output for e in events if not e.on] == ["buzzer", "green", "relay"]
        times = [e.t for e in events]
        assert times == sorted(times)
        (beep,) = pulses(rec, "buzzer")
        assert beep.lasted_at_least(0.05)
    finally:
        signals.close()


def test_clear_restarts_the_history():
    signals, rec = mock_signals(patterns=LONG)
    try:
        signals.show(Decision.DENY)
        rec.clear()
        cleared = time.monotonic() - rec.start
        assert rec.events() == []
        ((t, on),) = rec.history("red")                   # only the state at clear: on
        assert on is True and 0.0 <= t <= cleared
        signals.off()
        (change,) = rec.events()
        assert (change.output, change.on) == ("red", False)
        assert cleared <= change.t + 1e-3 and change.t <= time.monotonic() - rec.start
    finally:
        signals.close()


def test_logical_states_for_active_low_outputs():
    signals, rec = mock_signals(SignalPins(relay_active_high=False, buzzer_active_high=False),
                                scale=0.1)
    try:
        assert rec.states() == {"green": False, "red": False, "buzzer": False, "relay": False}
        assert rec.pin("relay").state is True and rec.pin("buzzer").state is True
        signals.show(Decision.PASS)
        assert rec.states()["relay"] and rec.states()["buzzer"]        # before show() returned
        assert rec.pin("relay").state is False
        assert rec.wait_for(lambda s: not any(s.values()), timeout=20)
        assert not rec.wait_for(lambda s: s["red"], timeout=0.05)
    finally:
        signals.close()
