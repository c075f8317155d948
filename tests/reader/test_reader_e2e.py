"""End to end through a real pty: the daemon (service loop, reader supervisor, serial driver, SM2
verifier with a signed trust list and synced revocation store, pipeline, audit log, gpiozero
signals on MockFactory pins) reading codes from the virtual serial reader of hw-sim — and from the
virtual keyboard wedge through the evdev driver. No time limits are asserted: waits are generous
deadlines for things that must happen, and "no decision" is shown by a later code's decision
arriving alone (the reader's bytes are ordered).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from terminal.cli import demo
from terminal.counter.audit import AuditLog
from terminal.daemon.compose import build_service
from terminal.daemon.devices import open_devices
from terminal.daemon.service import read_status
from terminal.reasons import Decision, Reason

REPO = Path(__file__).resolve().parents[2]
SCALE = 0.05          # signal patterns 20x shorter: a 2 s green light lasts 0.1 s
WAIT = 20.0           # deadline for anything that must happen


def wait_until(predicate, timeout=WAIT, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Events:
    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def on_decision(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, count, timeout=WAIT):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.events) >= count, timeout)

    def close(self):
        pass


class Terminal:
    """A running daemon on simulated hardware (its loop in a thread) and its parts."""

    def __init__(self, work: Path, reader_toml: str, *, camera: str = "none", scenario=None,
                 home=None, site: str = "checkpoint"):
        self.home = home or make_issuer(work, site)
        extra = f'\n[reader]\n{reader_toml}\n'
        self.config = demo.terminal_for(work, self.home, site, extra)
        self.config.camera.source = camera
        self.devices = open_devices(self.config, scale=SCALE, scenario=scenario)
        self.seen = Events()
        self.service = build_service(self.config, devices=self.devices)
        self.service.pipeline.add_observer(self.seen)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.service.run, daemon=True,
                                       kwargs={"install_signal_handlers": False,
                                               "until": self._stop.is_set})
        self.thread.start()
        assert wait_until(lambda: self.supervisor.state == "ok"), self.supervisor.error

    @property
    def supervisor(self):
        return self.service.reader

    @property
    def virtual(self):
        return self.devices.sim.reader

    def issue(self, name="王小明", holder="110101199003071234"):
        return self.home.issue("health", name, holder, status="green")

    def decisions(self):
        return [(e.result.decision, e.result.reason) for e in self.seen.events]

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=30)
        self.devices.close()


def make_issuer(work: Path, site: str = "checkpoint"):
    from terminal.issuer import directory as issuer

    return issuer.init(work / "issuer", site=site, now=int(time.time()) - 3600)


@pytest.fixture()
def terminal(tmp_path):
    term = Terminal(tmp_path, 'url = "sim"\ndebounce_ms = 1000\ngap_ms = 100')
    yield term
    term.stop()


def test_valid_code_from_the_reader_passes_and_lights_green(terminal):
    code = terminal.issue()
    recorder = terminal.devices.sim.recorder
    recorder.clear()
    terminal.virtual.scan(code)
    assert terminal.seen.wait_for(1)
    event = terminal.seen.events[0]
    assert (event.result.decision, event.result.reason, event.source) == \
        (Decision.PASS, Reason.OK, "reader")
    assert event.code_hash == terminal.service.pipeline._code_key(code).hex()
    assert wait_until(lambda: any(c.output == "green" and c.on for c in recorder.events()))
    assert any(c.output == "relay" and c.on for c in recorder.events())
    # the same observers as camera codes: the audit log has the decision, not the payload
    (audit,) = [o for o in terminal.service.pipeline.observers if isinstance(o, AuditLog)]
    rows = list(audit.rows())
    assert [(r["decision"], r["reason"]) for r in rows] == [("pass", "OK")]
    assert code not in json.dumps(rows, default=str)


def test_code_resent_20_times_in_2_s_is_one_decision_then_replayed_after_a_pause(terminal):
    code = terminal.issue()
    for _ in range(20):                        # a reader in continuous mode, code held under it
        terminal.virtual.scan(code)
        time.sleep(0.1)
    assert terminal.seen.wait_for(1)
    assert wait_until(lambda: terminal.supervisor.codes == 20)
    assert terminal.decisions() == [(Decision.PASS, Reason.OK)]
    time.sleep(1.6)                            # taken away, longer than debounce_ms
    terminal.virtual.scan(code)
    assert terminal.seen.wait_for(2)
    assert terminal.decisions() == [(Decision.PASS, Reason.OK), (Decision.DENY, Reason.REPLAYED)]
    assert terminal.seen.events[1].source == "reader"


def test_binary_garbage_gives_no_decision(terminal):
    terminal.virtual.send(b"\x00\x01\x02\xff\xfe\xfd\r")          # control bytes, not UTF-8
    terminal.virtual.send(b"SP1:\xc3\x28\xa0\xa1\r")               # invalid UTF-8 in a code
    noise = bytes(b for b in range(256) if b not in b"\r\n")
    terminal.virtual.send(noise * 20)                              # 5 KiB of noise, no end
    terminal.virtual.send(b"\r")
    follow = terminal.issue("李四", "110101198805051111")
    terminal.virtual.scan(follow)
    assert terminal.seen.wait_for(1)
    time.sleep(0.2)
    assert terminal.decisions() == [(Decision.PASS, Reason.OK)]
    assert terminal.seen.events[0].code_hash == terminal.service.pipeline._code_key(follow).hex()
    dropped = terminal.supervisor.dropped()
    assert dropped["garbage"] >= 2 and dropped["oversize"] >= 1
    assert terminal.service.pipeline.stats.texts == 1


def test_half_sent_code_gives_no_decision_and_does_not_stick_to_the_next(terminal):
    first = terminal.issue()
    terminal.virtual.send(b"]Q1" + first[:40].encode())           # cut off, then silence
    assert wait_until(lambda: terminal.supervisor.dropped()["partial"] == 1)
    second = terminal.issue("李四", "110101198805051111")
    terminal.virtual.scan(second)
    assert terminal.seen.wait_for(1)
    time.sleep(0.2)
    assert terminal.decisions() == [(Decision.PASS, Reason.OK)]
    # decided on exactly the second code's text: nothing of the first in front of it
    assert terminal.seen.events[0].code_hash == terminal.service.pipeline._code_key(second).hex()


def test_reader_unplugged_and_back_shows_fault_then_recovers(terminal):
    recorder = terminal.devices.sim.recorder
    terminal.virtual.unplug()
    assert wait_until(lambda: terminal.supervisor.state == "backoff")
    assert wait_until(lambda: (read_status(terminal.config.terminal.state_dir) or {})
                      .get("state") == "reader-fault")
    assert terminal.service.health()[0]                            # managed backoff is healthy
    fault_start = time.monotonic()
    # the fault pattern: short red flashes while the reader is gone
    assert wait_until(lambda: sum(1 for c in recorder.events() if c.output == "red" and c.on
                                  and recorder.start + c.t >= fault_start) >= 2)
    # the loss, then reopening refused while it is away (backoff 0.5 s, then 1 s, ...)
    assert wait_until(lambda: terminal.supervisor.failures >= 2)
    assert terminal.supervisor.state == "backoff"
    terminal.virtual.plug()
    assert wait_until(lambda: terminal.supervisor.state == "ok")
    assert wait_until(lambda: not any(recorder.states().values()))   # fault pattern off
    code = terminal.issue()
    terminal.virtual.scan(code)
    assert terminal.seen.wait_for(1)
    assert terminal.decisions() == [(Decision.PASS, Reason.OK)]
    terminal.service.write_status(force=True)
    assert read_status(terminal.config.terminal.state_dir)["state"] == "running"


def test_status_json_names_the_reader_and_its_state(terminal):
    terminal.service.write_status(force=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "hw-sim")]))
    result = subprocess.run([sys.executable, "-m", "terminal", "status", "--json", "--config",
                             str(terminal.config.source)], env=env, capture_output=True,
                            text=True, timeout=60)
    report = json.loads(result.stdout)
    assert report["daemon"]["reader"]["url"] == terminal.virtual.port
    assert report["daemon"]["reader"]["state"] == "ok"
    assert report["daemon"]["camera"]["state"] == "none"
    assert report["reader"]["url"] == "sim" and report["reader"]["state"] == "ok"
    assert report["reader"]["kind"] == "serial"
    text = subprocess.run([sys.executable, "-m", "terminal", "status", "--config",
                           str(terminal.config.source)], env=env, capture_output=True,
                          text=True, timeout=60).stdout
    assert f"reader:     ok — serial {terminal.virtual.port}" in text


def test_scenario_scan_steps_drive_the_virtual_reader(tmp_path):
    from hw_sim.scenario import Nothing, Scan, Scenario

    home = make_issuer(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    other = home.issue("health", "李四", "110101198805051111", status="green")
    scenario = Scenario([Nothing(200), Scan(code, 1000, repeat=8, every_ms=100), Nothing(1000),
                         Scan(code, 300), Scan(other, 300)])
    term = Terminal(tmp_path, 'url = "sim"\ndebounce_ms = 600', scenario=scenario, home=home)
    try:
        # no camera: the scenario's timeline starts when the reader is first opened
        assert wait_until(term.devices.sim.finished)
        assert term.seen.wait_for(3)
    finally:
        term.stop()
    # the continuous-mode burst is one decision; the code scanned again later is a replay
    assert term.decisions() == [(Decision.PASS, Reason.OK), (Decision.DENY, Reason.REPLAYED),
                                (Decision.PASS, Reason.OK)]
    assert term.devices.sim.feeder.sent == 10


def test_camera_and_reader_together_decide_a_code_once(tmp_path):
    from hw_sim.scenario import Nothing, Scenario, Show

    home = make_issuer(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    scenario = Scenario([Nothing(300), Show(code, 1500), Nothing(500)])
    term = Terminal(tmp_path, 'url = "sim"\ndebounce_ms = 800', camera="auto",
                    scenario=scenario, home=home)
    try:
        # the holder shows the phone to the camera and to the reader at once
        assert wait_until(lambda: (term.devices.sim.elapsed() or 0) > 0.6)
        for _ in range(5):
            term.virtual.scan(code)
            time.sleep(0.1)
        assert wait_until(term.devices.sim.finished)
        assert wait_until(lambda: term.supervisor.codes == 5)
    finally:
        term.stop()
    assert term.decisions() == [(Decision.PASS, Reason.OK)]
    assert term.service.pipeline.stats.frames > 20


def test_pharmacy_counter_scanner_gun_prints_a_slip(tmp_path):
    term = Terminal(tmp_path, 'url = "sim"', site="pharmacy")
    try:
        card = term.home.issue("insurance", "王小明", "110101199003071234")
        term.virtual.scan(card)
        assert term.seen.wait_for(1)
        assert term.decisions() == [(Decision.PASS, Reason.OK)]
        printer = term.devices.sim.printer
        assert printer.wait_for(1, timeout=WAIT)
        slip = printer.slips[0].text
        assert "110101199003071234" not in slip and "王小明" not in slip
    finally:
        term.stop()


def test_keyboard_wedge_reader_through_input_events(tmp_path):
    from hw_sim.wedge import VirtualWedge

    fifo = tmp_path / "usb-Scanner-event-kbd"
    wedge = VirtualWedge(fifo)
    term = Terminal(tmp_path / "t", f'url = "evdev:{fifo}"\ndebounce_ms = 600')
    try:
        assert wedge.connect()
        code = term.issue()
        wedge.type("]Q1" + code)                   # AIM id and all, key by key, shifted letters
        assert term.seen.wait_for(1)
        assert term.decisions() == [(Decision.PASS, Reason.OK)]
        assert term.seen.events[0].source == "reader"
        assert term.supervisor.kind == "keyboard"
        wedge.type("SP1:HALF", enter=False)        # half-typed, then silence
        assert wait_until(lambda: term.supervisor.dropped()["partial"] == 1)
        wedge.unplug()                              # the device goes away
        assert wait_until(lambda: term.supervisor.state == "backoff")
        wedge.plug()
        assert wait_until(lambda: term.supervisor.state == "ok")
        assert wedge.connect()
        second = term.issue("李四", "110101198805051111")
        wedge.type(second)
        assert term.seen.wait_for(2)
        assert term.decisions()[1] == (Decision.PASS, Reason.OK)
        assert term.seen.events[1].code_hash == term.service.pipeline._code_key(second).hex()
    finally:
        term.stop()
        wedge.close()
