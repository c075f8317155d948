"""The reader in the daemon loop, on a fixed clock so every backoff step is exact: one decision per
presentation, camera and reader sharing it, reopen with backoff, the fault pattern, health and the
status document. Readers here are protocol-level stand-ins; the real drivers run in the other
reader tests and end to end in ``test_reader_e2e``."""

from __future__ import annotations

import itertools

import pytest

from terminal.clock import FixedClock
from terminal.daemon.pipeline import Outcome, Pipeline
from terminal.daemon.readers import ReaderSupervisor
from terminal.daemon.service import Service, read_status
from terminal.errors import ReaderMissing
from terminal.interfaces import Frame, ScannedCode
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result
from tests.support.observers import Recorder


class PassOnce:
    """Passes every code (serial = the text), so anti-passback applies as to real credentials."""

    def verify(self, text, now):
        credential = Credential(format="native", type="health", issuer="i", key_id="00",
                                serial=text.encode(), issued_at=0, not_before=0, expires=2**40)
        return Result(Decision.PASS, Reason.OK, "native", credential)


class Signals:
    def __init__(self):
        self.shown, self.faults, self.fault_on = [], [], False

    def show(self, decision):
        self.shown.append(decision)

    def fault(self, active):
        self.faults.append(active)
        self.fault_on = active

    def off(self):
        self.fault_on = False

    def close(self):
        pass




class Line:
    """The reader's cable: codes queued on it, plugged or not; shared by every reader opened."""

    def __init__(self, clock):
        self.clock, self.queue, self.plugged, self.opened = clock, [], True, 0


class LineReader:
    def __init__(self, line):
        if not line.plugged:
            raise ReaderMissing("no reader at /dev/ttyACM0")
        line.opened += 1
        self.line = line

    def read(self, timeout):
        if not self.line.plugged:
            raise ReaderMissing("reader unplugged")
        codes, self.line.queue = self.line.queue, []
        if not codes:
            self.line.clock.sleep(timeout)
        return [ScannedCode(text, self.line.clock.monotonic()) for text in codes]

    def drops(self):
        return {"garbage": 0, "oversize": 0, "partial": 0}

    def close(self):
        pass


@pytest.fixture()
def rig(tmp_path):
    clock = FixedClock(1_700_000_000.0, 100.0)
    signals, events, line = Signals(), Recorder(), Line(clock)
    pipeline = Pipeline(TextsDecoder(), PassOnce(), signals, clock=clock, observers=[events])
    supervisor = ReaderSupervisor(lambda: LineReader(line), pipeline, clock=clock,
                                  name="/dev/ttyACM0", kind="serial", debounce_s=1.0,
                                  retry_initial_s=0.5, retry_max_s=4.0)
    service = Service(pipeline, None, signals, clock=clock, state_dir=tmp_path, reader=supervisor)
    return clock, line, signals, events, service


class TextsDecoder:
    def decode(self, image):
        return list(image)


def run_for(service, clock, seconds):
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        service.iterate()
        clock.advance(0.001)


def test_resends_within_the_debounce_window_are_one_presentation(rig):
    clock, line, _signals, events, service = rig
    service.start()
    for _ in range(20):                          # continuous mode: every 100 ms for 2 s
        line.queue.append("SP1:A")
        run_for(service, clock, 0.1)
    assert [(e.result.decision, e.source) for e in events.events] == [(Decision.PASS, "reader")]
    run_for(service, clock, 1.5)                 # taken away
    line.queue.append("SP1:A")
    run_for(service, clock, 0.1)
    assert [e.result.reason for e in events.events] == [Reason.OK, Reason.REPLAYED]
    assert service.pipeline.stats.texts == 21
    assert events.events[0].code_hash == service.pipeline._code_key("SP1:A").hex()


def test_camera_and_reader_seeing_the_same_code_give_one_decision(rig):
    clock, _line, _signals, events, service = rig
    pipeline = service.pipeline
    assert pipeline.process(Frame(("SP1:B",), clock.monotonic())) is Outcome.DECIDED
    assert pipeline.process_text("SP1:B", clock.monotonic(), hold_s=1.0) is Outcome.HELD
    clock.advance(0.5)
    assert pipeline.process_text("SP1:C", clock.monotonic(), hold_s=1.0) is Outcome.DECIDED
    for _ in range(5):                           # the reader's code still in the camera's view
        clock.advance(0.1)
        assert pipeline.process(Frame(("SP1:C",), clock.monotonic())) is Outcome.HELD
    # the camera's frames without it do not end the reader's debounce window early
    for _ in range(5):
        clock.advance(0.05)
        pipeline.process(Frame((), clock.monotonic()))
    assert pipeline.process_text("SP1:C", clock.monotonic(), hold_s=1.0) is Outcome.HELD
    assert [e.source for e in events.events] == ["camera", "reader"]


def test_stale_and_empty_texts_are_not_decided(rig):
    clock, _line, _signals, events, service = rig
    pipeline = service.pipeline
    assert pipeline.process_text("SP1:D", clock.monotonic() - 5.0) is Outcome.STALE
    assert pipeline.process_text("", clock.monotonic()) is Outcome.EMPTY
    assert events.events == []


def test_rearm_re_decides_a_code_held_under_the_reader(rig):
    clock, line, _signals, events, service = rig
    service.pipeline.settings.rearm_s = 1.0
    service.start()
    for _ in range(15):
        line.queue.append("SP1:E")
        run_for(service, clock, 0.1)
    assert [e.result.reason for e in events.events] == [Reason.OK, Reason.REPLAYED]


def test_unplugged_reader_shows_the_fault_and_is_reopened_with_backoff(rig):
    clock, line, signals, events, service = rig
    service.start()
    run_for(service, clock, 0.5)
    assert service.reader.state == "ok" and not signals.fault_on
    assert read_status(service.state_dir)["camera"]["state"] == "none"
    line.plugged = False
    attempts = []
    original = service.reader.open_reader

    def counting():
        attempts.append(clock.monotonic())
        return original()

    service.reader.open_reader = counting
    run_for(service, clock, 8)
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(attempts)]
    assert gaps[:3] == pytest.approx([1.0, 2.0, 4.0], abs=0.05)      # 0.5 before the first
    assert max(gaps) <= 4.05
    assert signals.faults == [True] and signals.fault_on
    assert service.health() == (True, "reader in backoff")
    status = read_status(service.state_dir)
    assert status["state"] == "reader-fault"
    assert status["reader"]["state"] == "backoff" and "ReaderMissing" in status["reader"]["error"]
    line.plugged = True
    run_for(service, clock, 4.5)
    assert service.reader.state == "ok" and signals.faults == [True, False]
    line.queue.append("SP1:F")
    run_for(service, clock, 0.1)
    assert [e.result.decision for e in events.events] == [Decision.PASS]
    service.write_status(force=True)
    document = read_status(service.state_dir)
    assert document["state"] == "running"
    assert document["reader"] == {"url": "/dev/ttyACM0", "kind": "serial", "state": "ok",
                                  "error": None, "failures": service.reader.failures,
                                  "retry_in_s": None, "codes": 1,
                                  "dropped": {"garbage": 0, "oversize": 0, "partial": 0}}
    service.shutdown()
    assert read_status(service.state_dir)["reader"]["state"] == "closed"


def test_a_reader_that_cannot_open_at_start_only_schedules_a_retry(rig):
    clock, line, signals, _events, service = rig
    line.plugged = False
    service.start()
    assert service.reader.state == "backoff" and signals.fault_on
    assert read_status(service.state_dir)["state"] == "reader-fault"
    line.plugged = True
    run_for(service, clock, 1.0)
    assert service.reader.state == "ok" and not signals.fault_on
