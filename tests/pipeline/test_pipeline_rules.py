"""The pipeline's own rules — dedupe, re-arm, anti-passback, stale frames, guarded stages.

The collaborators here are protocol-level stand-ins that let each rule be driven frame by frame
with exact times: frames carry the texts a decoder would find, the verifier answers from the text.
The real decoder, signals and verifier are exercised end to end in ``tests/e2e``.
"""

from __future__ import annotations

import pytest

from terminal.clock import FixedClock
from terminal.interfaces import Frame
from terminal.config import PipelineSection
from terminal.daemon.pipeline import DecisionEvent, Outcome, Pipeline, ReplayGuard
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result


class TextsDecoder:
    """Frames whose image is the list of texts in view."""

    def decode(self, image):
        return list(image)


class TextVerifier:
    """'pass:SERIAL' passes with that serial, 'deny' denies, 'boom' raises."""

    def __init__(self):
        self.calls = []

    def verify(self, text, now):
        self.calls.append((text, now))
        if text == "boom":
            raise RuntimeError("verifier bug")
        if text.startswith("pass:"):
            serial = text.split(":", 1)[1].split("#")[0].encode()
            cred = Credential("native", "health", "test", "00", serial, 0, 0, 2**31, "green")
            return Result(Decision.PASS, Reason.OK, "native", cred)
        return Result(Decision.DENY, Reason.SIGNATURE_INVALID, "native")


class ShownSignals:
    def __init__(self, fail=False):
        self.shown, self.fail = [], fail

    def show(self, decision):
        if self.fail:
            raise OSError("gpio gone")
        self.shown.append(decision)

    def fault(self, active):
        pass

    def off(self):
        pass

    def close(self):
        pass


class Recorder:
    def __init__(self):
        self.events: list[DecisionEvent] = []

    def on_decision(self, event):
        self.events.append(event)

    def close(self):
        pass


class Broken:
    def on_decision(self, event):
        raise RuntimeError("printer on fire")

    def close(self):
        pass


@pytest.fixture()
def rig():
    clock = FixedClock(1_700_000_000.0, 100.0)
    verifier, signals, recorder = TextVerifier(), ShownSignals(), Recorder()

    def make(**settings):
        pipeline = Pipeline(TextsDecoder(), verifier, signals, clock=clock,
                            settings=PipelineSection(**settings), observers=[recorder],
                            terminal_id="t1", site="gate")
        return pipeline

    class Rig:
        pass

    r = Rig()
    r.clock, r.verifier, r.signals, r.recorder, r.make = clock, verifier, signals, recorder, make

    def feed(pipeline, texts, dt=0.033):
        clock.advance(dt)
        return pipeline.process(Frame(tuple(texts), clock.monotonic()))

    r.feed = feed
    return r


def test_code_held_in_view_gives_exactly_one_decision(rig):
    p = rig.make()
    outcomes = [rig.feed(p, ["pass:A"]) for _ in range(100)]
    assert outcomes[0] is Outcome.DECIDED
    assert set(outcomes[1:]) == {Outcome.HELD}
    assert rig.signals.shown == [Decision.PASS]
    assert len(rig.recorder.events) == 1


def test_brief_decoder_misses_do_not_count_as_leaving(rig):
    p = rig.make(leave_frames=3, leave_ms=300)
    rig.feed(p, ["deny-me"])
    for _ in range(10):     # flickering: every other frame misses the code
        rig.feed(p, [])
        rig.feed(p, ["deny-me"])
    assert len(rig.signals.shown) == 1


def test_same_code_decided_again_after_leaving_the_view(rig):
    p = rig.make(leave_frames=3, leave_ms=300)
    rig.feed(p, ["deny-me"])
    for _ in range(2):
        rig.feed(p, [], dt=0.2)     # 2 frames, 400 ms: not enough frames yet
    assert rig.feed(p, ["deny-me"]) is Outcome.HELD
    for _ in range(3):
        rig.feed(p, [], dt=0.05)    # 3 frames but only 150 ms
    assert rig.feed(p, ["deny-me"]) is Outcome.HELD
    for _ in range(3):
        rig.feed(p, [], dt=0.11)    # 3 frames and 330 ms: it left
    assert rig.feed(p, ["deny-me"]) is Outcome.DECIDED
    assert rig.signals.shown == [Decision.DENY, Decision.DENY]


def test_rearm_time_redecides_a_held_code(rig):
    p = rig.make(rearm_s=2.0)
    decided = [rig.feed(p, ["deny-me"], dt=0.125) for _ in range(40)]
    # decided first, then again each time 2 s (16 frames of 125 ms) have passed
    assert [i for i, o in enumerate(decided) if o is Outcome.DECIDED] == [0, 16, 32]


def test_replayed_serial_is_denied_within_window_only(rig):
    p = rig.make(anti_passback_s=60)
    rig.feed(p, ["pass:S1#a"])
    rig.feed(p, [], dt=1)
    rig.feed(p, [], dt=1)
    rig.feed(p, [], dt=1)
    # another rendering of the same credential (same serial, different text)
    assert rig.feed(p, ["pass:S1#b"]) is Outcome.DECIDED
    assert rig.recorder.events[-1].result.decision is Decision.DENY
    assert rig.recorder.events[-1].result.reason is Reason.REPLAYED
    # after the window, the serial may pass again
    for _ in range(3):
        rig.feed(p, [], dt=25)
    rig.feed(p, ["pass:S1#c"])
    assert rig.recorder.events[-1].result.decision is Decision.PASS
    assert rig.signals.shown == [Decision.PASS, Decision.DENY, Decision.PASS]


def test_denied_codes_do_not_arm_anti_passback(rig):
    p = rig.make()
    assert len(p.replay) == 0
    rig.feed(p, ["deny-me"])
    assert len(p.replay) == 0


def test_replay_guard_is_bounded_and_keeps_hashes_only():
    guard = ReplayGuard(window=100, capacity=3)
    for i in range(5):
        assert not guard.check_and_remember(f"serial-{i}".encode(), now=float(i))
    assert len(guard) == 3
    assert not guard.check_and_remember(b"serial-0", 5.0)
    assert guard.check_and_remember(b"serial-4", 5.0)
    assert all(b"serial" not in k for k in guard._seen)   # only keyed digests are held


def test_stale_frames_are_dropped_unread(rig):
    p = rig.make(max_frame_age_ms=200)
    old = Frame(("pass:X",), rig.clock.monotonic())
    rig.clock.advance(0.5)
    assert p.process(old) is Outcome.STALE
    assert p.stats.stale == 1 and rig.verifier.calls == []


def test_verifier_crash_answers_check_and_loop_continues(rig):
    p = rig.make()
    assert rig.feed(p, ["boom"]) is Outcome.DECIDED
    event = rig.recorder.events[-1]
    assert (event.result.decision, event.result.reason) == (Decision.CHECK, Reason.INTERNAL_ERROR)
    assert rig.feed(p, ["pass:Z"]) is Outcome.DECIDED
    assert p.stats.verifier_errors == 1


def test_broken_observer_and_signals_never_stop_the_loop(rig):
    clock = rig.clock
    signals = ShownSignals(fail=True)
    good = Recorder()
    p = Pipeline(TextsDecoder(), TextVerifier(), signals, clock=clock, observers=[Broken(), good])
    for text in ("a", "b", "c"):
        clock.advance(0.03)
        p.process(Frame((text,), clock.monotonic()))
        for _ in range(4):
            clock.advance(0.2)
            p.process(Frame((), clock.monotonic()))
    assert len(good.events) == 3
    assert p.stats.observer_errors == 3 and p.stats.signal_errors == 3
    assert good.events[0].latency is None


def test_one_decision_per_frame_second_code_waits(rig):
    p = rig.make()
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.DECIDED
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.DECIDED
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.HELD
    assert len(rig.recorder.events) == 2


def test_latency_is_frame_arrival_to_signal(rig):
    p = rig.make()

    class SlowVerifier(TextVerifier):
        def verify(self, text, now):
            rig.clock.advance(0.004)   # 4 ms of verification
            return super().verify(text, now)

    p.verifier = SlowVerifier()
    rig.feed(p, ["pass:L"])
    event = rig.recorder.events[-1]
    assert event.latency == pytest.approx(0.004)
    assert event.wall == rig.clock.time()
    assert "pass:L" not in repr(event.code_hash)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="leave_frames"):
        PipelineSection(leave_frames=0)
    with pytest.raises(ValueError, match="anti_passback_s"):
        PipelineSection(anti_passback_s=-1)
