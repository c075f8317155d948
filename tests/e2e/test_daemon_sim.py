"""End to end through hw-sim: the real daemon (service loop, zxing-cpp decoder, SM2 verifier with a
signed trust list, pipeline, gpiozero signals on MockFactory pins) watching a scripted camera.

Each scenario step must give exactly one decision with the expected reason, and the mock pins
must show the expected LED/buzzer/relay pattern and timings. Signal patterns run at 0.2x speed
(green 2 s -> 0.4 s) so the suite stays quick; timings are asserted against those scaled values.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal import config as config_mod
from terminal.cli import demo
from terminal.daemon.compose import build_service
from terminal.daemon.devices import open_devices
from terminal.reasons import Decision, Reason
from terminal.daemon.service import read_status

REPO = Path(__file__).resolve().parents[2]
SCALE = 0.2
TOL = 0.06     # seconds of slack on pin timings (threads on a shared 2-core machine)


def on_periods(recorder, output, start, end):
    """[(on_at, duration)] of ``output`` for pulses starting in [start, end) (monotonic s)."""
    periods, on_at = [], None
    for t, on in recorder.history(output):
        at = recorder.start + t
        if on and on_at is None:
            on_at = at
        elif not on and on_at is not None:
            if start <= on_at < end:
                periods.append((on_at, at - on_at))
            on_at = None
    if on_at is not None and start <= on_at < end:
        periods.append((on_at, None))
    return periods


@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory):
    run = demo.play("checkpoint", tmp_path_factory.mktemp("demo"), scale=SCALE)
    yield run
    run.devices.close()


def test_each_step_gives_exactly_one_expected_decision(checkpoint_run):
    assert checkpoint_run.completed
    assert checkpoint_run.stray == []
    got = [[(e.result.decision, e.result.reason) for e in step.events]
           for step in checkpoint_run.steps]
    assert got == [
        [(Decision.PASS, Reason.OK)],
        [(Decision.CHECK, Reason.STATUS_YELLOW)],
        [(Decision.DENY, Reason.EXPIRED)],
        [(Decision.DENY, Reason.SIGNATURE_INVALID)],
        [(Decision.DENY, Reason.REPLAYED)],
        [(Decision.DENY, Reason.KEY_UNKNOWN)],
        [(Decision.DENY, Reason.REVOKED)],
    ]


def test_pass_lights_green_pulses_relay_and_beeps_short(checkpoint_run):
    step = checkpoint_run.steps[0]
    rec = checkpoint_run.recorder
    event = step.events[0]
    green = on_periods(rec, "green", step.start, step.end)
    relay = on_periods(rec, "relay", step.start, step.end)
    beep = on_periods(rec, "buzzer", step.start, step.end)
    assert len(green) == 1 and green[0][1] == pytest.approx(2.0 * SCALE, abs=TOL)
    assert len(relay) == 1 and relay[0][1] == pytest.approx(0.5 * SCALE, abs=TOL)
    assert len(beep) == 1 and beep[0][1] == pytest.approx(0.1 * SCALE, abs=TOL)
    assert on_periods(rec, "red", step.start, step.end) == []
    # the LED changed within a blink of the frame's arrival
    assert 0 <= green[0][0] - event.frame_arrived < 0.1


def test_deny_lights_red_with_long_beep_and_no_relay(checkpoint_run):
    for step in checkpoint_run.steps[2:]:
        rec = checkpoint_run.recorder
        red = on_periods(rec, "red", step.start, step.end)
        beep = on_periods(rec, "buzzer", step.start, step.end)
        assert len(red) == 1 and red[0][1] == pytest.approx(2.0 * SCALE, abs=TOL), step.label
        assert len(beep) == 1 and beep[0][1] == pytest.approx(0.8 * SCALE, abs=TOL), step.label
        assert on_periods(rec, "relay", step.start, step.end) == [], step.label
        assert on_periods(rec, "green", step.start, step.end) == [], step.label


def test_check_blinks_amber_and_never_opens_the_gate(checkpoint_run):
    step = checkpoint_run.steps[1]
    rec = checkpoint_run.recorder
    green = on_periods(rec, "green", step.start, step.end)
    red = on_periods(rec, "red", step.start, step.end)
    assert len(green) == len(red) == 6           # red and green together: amber
    for (g_at, _), (r_at, _) in zip(green, red):
        assert abs(g_at - r_at) < 0.02
    assert on_periods(rec, "relay", step.start, step.end) == []


def test_latency_and_outputs_off_after_stop(checkpoint_run):
    latencies = [e.latency for s in checkpoint_run.steps for e in s.events]
    assert all(lat is not None and lat < 0.1 for lat in latencies), latencies
    assert not any(checkpoint_run.recorder.states().values())
    status = read_status(checkpoint_run.config.terminal.state_dir)
    assert status["state"] == "stopped" and status["decisions"] == 7
    assert status["by_decision"] == {"pass": 1, "deny": 5, "check": 1}
    # nothing personal in the status file
    text = json.dumps(status)
    assert "NC1:" not in text and "王" not in text


def test_pharmacy_site_accepts_insurance_cards_only(tmp_path):
    run = demo.play("pharmacy", tmp_path, scale=SCALE)
    try:
        got = [[(e.result.decision, e.result.reason) for e in s.events] for s in run.steps]
        assert got[0] == [(Decision.PASS, Reason.OK)]
        assert got[1] == [(Decision.DENY, Reason.TYPE_NOT_ACCEPTED)]
        assert got[4] == [(Decision.DENY, Reason.REPLAYED)]
        # every decision printed a slip on the virtual printer (pharmacy's observer), none
        # with the full ID number
        slips = sorted((Path(run.config.terminal.state_dir) / "slips").glob("*.txt"))
        assert len(slips) == len(run.steps)
        assert all("110101199003071234" not in p.read_text(encoding="utf-8") for p in slips)
    finally:
        run.devices.close()


def _config(work: Path, site="checkpoint", extra="") -> config_mod.Config:
    from terminal.issuer import directory as issuer

    home = issuer.init(work / "issuer", site=site, now=int(time.time()) - 3600)
    return demo.terminal_for(work, home, site, extra), home


def _run(service, sim, until=None):
    def stop():
        if until is not None:
            until()
        return sim.finished()
    service.run(install_signal_handlers=False, until=stop)


class Events:
    def __init__(self):
        self.events = []

    def on_decision(self, event):
        self.events.append(event)

    def close(self):
        pass


def test_code_held_in_view_gives_one_decision_then_again_after_leaving(tmp_path):
    config, home = _config(tmp_path, extra="")
    code = home.issue("health", "王小明", "110101199003071234", status="yellow")
    devices = open_devices(config, scenario=[(code, 2.0), (None, 0.5), (code, 0.6), (None, 0.3)],
                           scale=SCALE)
    seen = Events()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    # 2 s in view (~60 frames) -> one decision; back after leaving -> a second one
    assert [(e.result.decision, e.result.reason) for e in seen.events] == \
        [(Decision.CHECK, Reason.STATUS_YELLOW)] * 2
    assert seen.events[1].frame_arrived - seen.events[0].frame_arrived > 2.0
    assert service.pipeline.stats.frames > 60


def test_camera_disappears_fault_pattern_then_scanning_resumes(tmp_path):
    config, home = _config(tmp_path, extra="")
    config.camera.retry_initial_s = 0.2
    config.camera.retry_max_s = 0.4
    first = home.issue("health", "王小明", "110101199003071234", status="green")
    second = home.issue("health", "李四", "110101198805051111", status="green")
    from hw_sim.scenario import Disappear, Nothing, Scenario, Show
    scenario = Scenario([Show(first, 500), Nothing(500), Disappear(1500), Nothing(400),
                         Show(second, 500), Nothing(400)])
    devices = open_devices(config, scenario=scenario, scale=SCALE)
    seen = Events()
    service = build_service(config, devices=devices, observers=[seen])
    samples = []

    def sample():
        samples.append((time.monotonic(), service.camera_state, service.health()[0]))
    try:
        _run(service, devices.sim, until=sample)
    finally:
        devices.close()
    assert [e.result.decision for e in seen.events] == [Decision.PASS, Decision.PASS]
    assert service.camera_failures >= 2          # the loss, then at least one refused re-open
    states = [s for _, s, _ in samples]
    assert "backoff" in states and states[-1] == "ok"
    assert all(healthy for _, _, healthy in samples)   # managed backoff counts as healthy
    # fault pattern: short red flashes while the camera was gone, none once it is back
    fault_start = next(t for t, s, _ in samples if s == "backoff")
    fault_end = next(t for t, s, _ in samples if t > fault_start and s == "ok")
    flashes = on_periods(devices.sim.recorder, "red", fault_start - 0.05, fault_end)
    assert len(flashes) >= 2
    assert all(d is not None and d < 0.1 for _, d in flashes)
    assert not any(devices.sim.recorder.states().values())


def test_garbage_frames_do_not_stop_the_loop(tmp_path):
    config, home = _config(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    from hw_sim.scenario import Garbage, Nothing, Scenario, Show
    scenario = Scenario([Garbage(300, "noise"), Garbage(300, "torn"), Garbage(300, "tiny"),
                         Show(code, 500), Nothing(300)])
    devices = open_devices(config, scenario=scenario, scale=SCALE)
    seen = Events()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    assert [(e.result.decision, e.result.reason) for e in seen.events] == [(Decision.PASS, Reason.OK)]


def test_scanpoint_run_under_a_notify_socket_then_sigterm(tmp_path):
    config, home = _config(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    scenario = tmp_path / "scene.json"
    scenario.write_text(json.dumps({"steps": [{"nothing": 300}, {"show": code, "ms": 800},
                                              {"nothing": 300}], "loop": True}))
    cfg = Path(config.source)
    cfg.write_text(cfg.read_text().replace('[camera]\n', f'[camera]\nsource = "{scenario}"\n'))
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="2000000",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "hw-sim")]))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--config", str(cfg)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        messages = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and messages.count("WATCHDOG=1") < 3:
            messages.append(sock.recv(4096).decode())
        assert messages[0].startswith("READY=1"), messages
        assert messages.count("WATCHDOG=1") >= 3
        status_deadline = time.monotonic() + 10
        while time.monotonic() < status_deadline:
            status = read_status(tmp_path / "state") or {}
            if status.get("decisions", 0) >= 1:
                break
            time.sleep(0.2)
        assert status["state"] == "running" and status["decisions"] >= 1
        assert status["last_decision"]["decision"] == "pass"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()
        tail = []
        sock.settimeout(2)
        try:
            while True:
                tail.append(sock.recv(4096).decode())
        except OSError:
            pass
        assert any(m.startswith("STOPPING=1") for m in tail)
        assert read_status(tmp_path / "state")["state"] == "stopped"
        result = subprocess.run([sys.executable, "-m", "terminal", "status", "--config", str(cfg)],
                                env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 4 and "daemon:     stopped" in result.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_a_new_decision_cuts_the_old_signal(tmp_path):
    config, home = _config(tmp_path)
    expired = home.issue("health", "赵六", "110101197001012222", status="green", ttl=60,
                         now=int(time.time()) - 600)
    good = home.issue("health", "王小明", "110101199003071234", status="green")
    devices = open_devices(config, scenario=[(expired, 0.3), (None, 0.4), (good, 0.3),
                                             (None, 0.2)], scale=1.0)   # red would last 2 s
    seen = Events()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
        rec = devices.sim.recorder
        deny, passed = seen.events
        assert (deny.result.reason, passed.result.reason) == (Reason.EXPIRED, Reason.OK)
        red = on_periods(rec, "red", deny.frame_arrived, passed.frame_arrived)
        green = on_periods(rec, "green", passed.frame_arrived, passed.frame_arrived + 1)
        assert len(red) == 1 and len(green) == 1
        red_on, red_for = red[0]
        # red was cut when green came on, long before its 2 s were up
        assert red_for is not None and red_for < 1.0
        assert abs((red_on + red_for) - green[0][0]) < 0.02
    finally:
        devices.close()


def test_busy_loop_drops_frames_and_takes_the_newest(tmp_path):
    """A slow verification (200 ms) must not leave a backlog: frames that arrived meanwhile are
    skipped and the loop goes on with the newest one."""
    config, home = _config(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    devices = open_devices(config, scenario=[(None, 0.3), (code, 0.6), (None, 0.6)], scale=SCALE)
    from terminal.daemon.compose import build_verifier
    real_verifier = build_verifier(config)

    class SlowVerifier:
        def verify(self, text, now):
            time.sleep(0.2)
            return real_verifier.verify(text, now)

    reads = []
    cameras = []
    open_camera = devices.open_camera

    class Watched:
        def __init__(self, camera):
            self.camera = camera
            cameras.append(camera)

        def read(self):
            frame = self.camera.read()
            if frame is not None:
                reads.append(time.monotonic() - frame.arrived)
            return frame

        def close(self):
            self.camera.close()

    devices.open_camera = lambda: Watched(open_camera())
    seen = Events()
    service = build_service(config, devices=devices, verifier=SlowVerifier(), observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    assert [e.result.reason for e in seen.events] == [Reason.OK]
    assert cameras and devices.sim.cameras[0].frames_skipped >= 4   # ~6 arrived in the 200 ms
    assert max(reads) < 0.08                          # every frame read was fresh: no backlog
    assert service.pipeline.stats.stale == 0
