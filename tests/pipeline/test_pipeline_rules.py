"""The pipeline's own rules — dedupe, re-arm, anti-passback, stale frames, guarded stages.

The parts are the real ones: frames are rendered QR codes read by the zxing-cpp decoder, native
credentials (fixed test keys, ``tests.support.credentials``) are checked by the real verifier,
and decisions light gpiozero signals on mock pins. A :class:`~terminal.clock.FixedClock` gives
each frame an exact time. Only failures are injected: a verifier that raises on one text, closed
signals, an observer that raises.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from drivers.decoder import open_decoder
from hw_sim.pins import mock_signals
from hw_sim.render import CRISP, Look, blank, draw
from terminal.clock import FixedClock
from terminal.config import PipelineSection
from terminal.daemon.pipeline import Outcome, Pipeline, ReplayGuard
from terminal.formats import native
from terminal.interfaces import Frame
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit
from tests.support.observers import Recorder
from tests.support.pins import pulses


def serial(label: str) -> bytes:
    return label.encode().ljust(native.SERIAL_LENGTH, b"\0")


def green_code(label: str, *, issued: int = kit.NOW, ttl: int = 60) -> str:
    """A genuine green health code with the serial ``label`` (same label: same serial)."""
    return kit.credential(kit.claims(now=issued, ttl=ttl, changes={native.SERIAL: serial(label)}))


PASS_A, PASS_X, PASS_Z, PASS_L = (green_code(x) for x in "AXZL")
# three renderings of one credential: same serial, issued at different times
REPLAY_1 = green_code("S1")
REPLAY_2 = green_code("S1", issued=kit.NOW + 1)
REPLAY_3 = green_code("S1", issued=kit.NOW + 70, ttl=120)

_IMAGES: dict[tuple[str, ...], np.ndarray] = {}


def image_of(texts: tuple[str, ...]) -> np.ndarray:
    """A camera frame showing the QR codes of ``texts`` (none, one, or two side by side)."""
    if texts not in _IMAGES:
        if not texts:
            _IMAGES[texts] = blank(look=CRISP)
        elif len(texts) == 1:
            _IMAGES[texts] = draw(texts[0], look=CRISP)
        else:
            halves = [draw(t, look=Look(fill=0.4, noise=0, blur=0), width=320, height=480)
                      for t in texts]
            _IMAGES[texts] = np.hstack(halves)
    return _IMAGES[texts]


class FailsOn:
    """The real verifier, except that it raises on one text (a verifier bug, injected)."""

    def __init__(self, verifier: Verifier, text: str) -> None:
        self.verifier, self.text = verifier, text

    def verify(self, text, now):
        if text == self.text:
            raise RuntimeError("verifier bug")
        return self.verifier.verify(text, now)


class Broken:
    def on_decision(self, event):
        raise RuntimeError("printer on fire")

    def close(self):
        pass


class Rig:
    def __init__(self):
        self.clock = FixedClock(kit.NOW, 100.0)
        self.decoder = open_decoder("zxing")
        self.verifier = Verifier(kit.trust_list(), skew=30)
        self.signals, self.pins = mock_signals()
        self.recorder = Recorder()

    def make(self, verifier=None, signals=None, observers=None, **settings) -> Pipeline:
        return Pipeline(self.decoder, verifier or self.verifier, signals or self.signals,
                        clock=self.clock, settings=PipelineSection(**settings),
                        observers=[self.recorder] if observers is None else observers,
                        terminal_id="t1", site="gate")

    def feed(self, pipeline, texts, dt=0.033) -> Outcome:
        self.clock.advance(dt)
        return pipeline.process(Frame(image_of(tuple(texts)), self.clock.monotonic()))

    def decisions(self):
        return [(e.result.decision, e.result.reason) for e in self.recorder.events]

    def shown(self):
        """The decisions that reached the signals."""
        return [e.result.decision for e in self.recorder.events if e.signalled is not None]


@pytest.fixture()
def rig():
    r = Rig()
    yield r
    r.signals.close()


def test_code_held_in_view_gives_exactly_one_decision(rig):
    p = rig.make()
    outcomes = [rig.feed(p, [PASS_A]) for _ in range(100)]
    assert outcomes[0] is Outcome.DECIDED
    assert set(outcomes[1:]) == {Outcome.HELD}
    assert rig.decisions() == [(Decision.PASS, Reason.OK)]
    assert rig.shown() == [Decision.PASS] and rig.signals.last == "pass"
    assert len(pulses(rig.pins, "green")) == 1 and pulses(rig.pins, "red") == []


def test_brief_decoder_misses_do_not_count_as_leaving(rig):
    p = rig.make(leave_frames=3, leave_ms=300)
    rig.feed(p, ["deny-me"])
    for _ in range(10):     # flickering: every other frame misses the code
        rig.feed(p, [])
        rig.feed(p, ["deny-me"])
    assert rig.shown() == [Decision.DENY]


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
    assert rig.shown() == [Decision.DENY, Decision.DENY]
    assert {reason for _, reason in rig.decisions()} == {Reason.FORMAT_UNKNOWN}


def test_rearm_time_redecides_a_held_code(rig):
    p = rig.make(rearm_s=2.0)
    decided = [rig.feed(p, ["deny-me"], dt=0.125) for _ in range(40)]
    # decided first, then again each time 2 s (16 frames of 125 ms) have passed
    assert [i for i, o in enumerate(decided) if o is Outcome.DECIDED] == [0, 16, 32]


def test_replayed_serial_is_denied_within_window_only(rig):
    p = rig.make(anti_passback_s=60)
    rig.feed(p, [REPLAY_1])
    rig.feed(p, [], dt=1)
    rig.feed(p, [], dt=1)
    rig.feed(p, [], dt=1)
    # another rendering of the same credential (same serial, different text)
    assert rig.feed(p, [REPLAY_2]) is Outcome.DECIDED
    assert rig.decisions()[-1] == (Decision.DENY, Reason.REPLAYED)
    # after the window, the serial may pass again
    for _ in range(3):
        rig.feed(p, [], dt=25)
    rig.feed(p, [REPLAY_3])
    assert rig.decisions()[-1] == (Decision.PASS, Reason.OK)
    assert rig.shown() == [Decision.PASS, Decision.DENY, Decision.PASS]


def test_denied_codes_do_not_arm_anti_passback(rig):
    p = rig.make()
    assert len(p.replay) == 0
    rig.feed(p, ["deny-me"])
    assert rig.shown() == [Decision.DENY] and len(p.replay) == 0


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
    old = Frame(image_of((PASS_X,)), rig.clock.monotonic())
    rig.clock.advance(0.5)
    assert p.process(old) is Outcome.STALE
    assert p.stats.stale == 1 and p.stats.frames == 0 and rig.recorder.events == []
    assert rig.signals.last == "off"


def test_verifier_crash_answers_check_and_loop_continues(rig):
    p = rig.make(verifier=FailsOn(rig.verifier, "boom"))
    assert rig.feed(p, ["boom"]) is Outcome.DECIDED
    assert rig.decisions()[-1] == (Decision.CHECK, Reason.INTERNAL_ERROR)
    assert rig.feed(p, [PASS_Z]) is Outcome.DECIDED
    assert rig.decisions()[-1] == (Decision.PASS, Reason.OK)
    assert p.stats.verifier_errors == 1


def test_broken_observer_and_signals_never_stop_the_loop(rig):
    gone, _ = mock_signals()
    gone.close()                                  # its show() raises DeviceError: pins gone
    good = Recorder()
    p = rig.make(signals=gone, observers=[Broken(), good])
    for text in ("a", "b", "c"):
        rig.feed(p, [text], dt=0.03)
        for _ in range(4):
            rig.feed(p, [], dt=0.2)
    assert len(good.events) == 3
    assert p.stats.observer_errors == 3 and p.stats.signal_errors == 3
    assert all(e.latency is None and e.signalled is None for e in good.events)


def test_one_decision_per_frame_second_code_waits(rig):
    p = rig.make()
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.DECIDED
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.DECIDED
    assert rig.feed(p, ["deny-1", "deny-2"]) is Outcome.HELD
    assert len(rig.recorder.events) == 2


def test_latency_is_frame_arrival_to_signal_and_the_code_is_only_a_keyed_hash(rig):
    class Takes4ms:
        """The real verifier, taking 4 ms of the clock's time."""

        def verify(self, text, now):
            rig.clock.advance(0.004)
            return rig.verifier.verify(text, now)

    p = rig.make(verifier=Takes4ms(), leave_frames=1, leave_ms=0)
    rig.feed(p, [PASS_L])
    event = rig.recorder.events[-1]
    assert event.result.decision is Decision.PASS
    assert event.latency == pytest.approx(0.004)
    assert event.wall == rig.clock.time()
    # the event identifies the code by a keyed hash: not the text, not a plain digest of it
    assert PASS_L not in repr(event) and PASS_L[len(native.PREFIX):][:32] not in repr(event)
    assert re.fullmatch(r"[0-9a-f]{32}", event.code_hash)
    assert event.code_hash not in (hashlib.sha256(PASS_L.encode()).hexdigest()[:32],
                                   hashlib.md5(PASS_L.encode()).hexdigest())
    rig.feed(p, [])
    rig.feed(p, [PASS_L])                          # shown again: same hash under the same key
    assert rig.recorder.events[-1].code_hash == event.code_hash
    other = rig.make()                             # another process's key: another hash
    rig.feed(other, [PASS_L])
    assert rig.recorder.events[-1].code_hash != event.code_hash


def test_settings_are_checked():
    with pytest.raises(ValueError, match="leave_frames"):
        PipelineSection(leave_frames=0)
    with pytest.raises(ValueError, match="anti_passback_s"):
        PipelineSection(anti_passback_s=-1)
