"""End to end through hw-sim: the real daemon (service loop, zxing-cpp decoder, SM2 verifier with a
signed trust list, pipeline, gpiozero signals on MockFactory pins) watching a scripted camera.

Each scenario step must give exactly one decision with the expected reason, and the mock pins
must show the expected LED/buzzer/relay pattern. Signal patterns run at 0.2x speed (green 2 s ->
0.4 s) so the suite stays quick.

Nothing here is a speed test (``benchmarks/bench_pipeline.py`` measures frame-to-LED latency).
Pins, frames and decision events share ``time.monotonic()``, so the tests assert order: the LED
changed after the frame arrived and before ``show()`` returned; a pattern lasted at least its
time unless the next decision cut it; a slow verification is followed by a frame that arrived
after it began (no backlog).
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal.cli import demo
from terminal.daemon.compose import build_service, build_verifier
from terminal.daemon.devices import open_devices
from terminal.daemon.service import read_status
from terminal.formats import native
from terminal.reasons import Decision, Reason
from tests.support.configs import demo_terminal
from tests.support.observers import Recorder
from tests.support.pins import EPS, all_off, pulses
from tests.support.programs import python_env
from tests.support.waiting import wait_until

SCALE = 0.2


@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory):
    run = demo.play("checkpoint", tmp_path_factory.mktemp("demo"), scale=SCALE)
    yield run
    run.devices.close()


def decision_windows(run):
    """(event, start, end) for every decision: from its own decision to the next one's (or the
    end), the span in which its pattern runs unless the next decision cuts it."""
    events = [e for step in run.steps for e in step.events]
    ends = [e.decided for e in events[1:]] + [math.inf]
    return [(e, e.decided - EPS, end) for e, end in zip(events, ends)]


def ran_or_was_cut(found, count, on_time, cut_at):
    """``found`` pulses are the pattern's ``count`` pulses of at least ``on_time`` s each — or
    the pattern was cut by the next decision at ``cut_at``: then the pulses before the cut are
    whole and the last one ended at the cut."""
    if found and found[-1].off is not None and found[-1].off >= cut_at - EPS:
        assert 1 <= len(found) <= count, found
        return all(p.lasted_at_least(on_time) for p in found[:-1])
    return len(found) == count and all(p.lasted_at_least(on_time) for p in found)


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
    rec = checkpoint_run.recorder
    event, start, end = decision_windows(checkpoint_run)[0]
    assert event.result.decision is Decision.PASS
    green = pulses(rec, "green", start, end)
    for output, on_time in (("green", 2.0), ("relay", 0.5), ("buzzer", 0.1)):
        found = pulses(rec, output, start, end)
        assert ran_or_was_cut(found, 1, on_time * SCALE, end), (output, found)
    assert pulses(rec, "red", start, end) == []
    # the LED changed after the frame arrived, inside the decision's show() call
    assert event.frame_arrived <= event.decided <= green[0].on + EPS
    assert green[0].on <= event.signalled + EPS


def test_deny_lights_red_with_long_beep_and_no_relay(checkpoint_run):
    rec = checkpoint_run.recorder
    denies = [w for w in decision_windows(checkpoint_run)
              if w[0].result.decision is Decision.DENY]
    assert len(denies) == 5
    for event, start, end in denies:
        label = event.result.reason.value
        assert ran_or_was_cut(pulses(rec, "red", start, end), 1, 2.0 * SCALE, end), label
        assert ran_or_was_cut(pulses(rec, "buzzer", start, end), 1, 0.8 * SCALE, end), label
        assert pulses(rec, "relay", start, end) == [], label
        assert pulses(rec, "green", start, end) == [], label
        assert pulses(rec, "red", start, end)[0].on <= event.signalled + EPS, label


def test_check_blinks_amber_and_never_opens_the_gate(checkpoint_run):
    rec = checkpoint_run.recorder
    event, start, end = decision_windows(checkpoint_run)[1]
    assert event.result.decision is Decision.CHECK
    green, red = pulses(rec, "green", start, end), pulses(rec, "red", start, end)
    assert len(green) == len(red)                 # red and green together: amber
    assert ran_or_was_cut(green, 6, 0.25 * SCALE, end)
    for g, r in zip(green, red):
        assert max(g.on, r.on) < min(g.off if g.off else math.inf, r.off if r.off else math.inf)
    assert pulses(rec, "relay", start, end) == []


def test_latency_and_outputs_off_after_stop(checkpoint_run):
    events = [e for s in checkpoint_run.steps for e in s.events]
    for e in events:                   # latency is frame arrival to the return of show()
        assert e.signalled is not None and e.frame_arrived <= e.decided <= e.signalled
        assert e.latency == pytest.approx(e.signalled - e.frame_arrived)
    assert all_off(checkpoint_run.recorder)
    status = read_status(checkpoint_run.config.terminal.state_dir)
    assert status["state"] == "stopped" and status["decisions"] == 7
    assert status["by_decision"] == {"pass": 1, "deny": 5, "check": 1}
    # nothing personal in the status file: no QR text (not even its prefix), name or ID number
    text = json.dumps(status, ensure_ascii=False)
    assert native.PREFIX not in text
    for step in checkpoint_run.steps:
        assert step.text[len(native.PREFIX):][:24] not in text, step.label
    assert "王" not in text and "110101" not in text


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


def _run(service, sim, until=None):
    def stop():
        if until is not None:
            until()
        return sim.finished()
    service.run(install_signal_handlers=False, until=stop)


class ReadSpy:
    """The real camera, with each frame it hands out noted as (read at, frame arrived)."""

    def __init__(self, camera, reads):
        self.camera, self.reads = camera, reads

    def read(self):
        frame = self.camera.read()
        if frame is not None:
            self.reads.append((time.monotonic(), frame.arrived))
        return frame

    def close(self):
        self.camera.close()


def test_code_held_in_view_gives_one_decision_then_again_after_leaving(tmp_path):
    config, home = demo_terminal(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="yellow")
    devices = open_devices(config, scenario=[(code, 2.0), (None, 0.5), (code, 0.6), (None, 0.3)],
                           scale=SCALE)
    reads = []
    open_camera = devices.open_camera
    devices.open_camera = lambda: ReadSpy(open_camera(), reads)
    seen = Recorder()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    assert [(e.result.decision, e.result.reason) for e in seen.events] == \
        [(Decision.CHECK, Reason.STATUS_YELLOW)] * 2
    # on the scenario's own timeline: decided while first shown, again only after it came back
    start = devices.sim.cameras[0].start
    first, second = (e.frame_arrived - start for e in seen.events)
    assert first < 2.0 and second >= 2.5 - EPS
    held = [arrived for _, arrived in reads if seen.events[0].frame_arrived < arrived < start + 2.0]
    assert len(held) >= 2                        # seen again and again in view, decided once


def test_camera_disappears_fault_pattern_then_scanning_resumes(tmp_path):
    config, home = demo_terminal(tmp_path)
    config.camera.retry_initial_s = 0.2
    config.camera.retry_max_s = 0.4
    first = home.issue("health", "王小明", "110101199003071234", status="green")
    second = home.issue("health", "李四", "110101198805051111", status="green")
    from hw_sim.scenario import Disappear, Nothing, Scenario, Show
    scenario = Scenario([Show(first, 500), Nothing(500), Disappear(1500), Nothing(400),
                         Show(second, 500), Nothing(400)])
    devices = open_devices(config, scenario=scenario, scale=SCALE)
    seen = Recorder()
    service = build_service(config, devices=devices, observers=[seen])
    samples = []

    def sample():
        samples.append((service.camera_state, service.health()[0]))
    try:
        _run(service, devices.sim, until=sample)
    finally:
        devices.close()
    assert [e.result.decision for e in seen.events] == [Decision.PASS, Decision.PASS]
    assert service.camera_failures >= 2          # the loss, then at least one refused re-open
    states = [s for s, _ in samples]
    assert "backoff" in states and states[-1] == "ok"
    assert all(healthy for _, healthy in samples)   # managed backoff counts as healthy
    # between the two passes (which light no red) only the fault pattern lights red: short
    # flashes with dark between them, distinct from a deny's steady red; none after recovery
    rec = devices.sim.recorder
    flashes = pulses(rec, "red", seen.events[0].signalled, seen.events[1].decided)
    assert len(flashes) >= 2
    assert all(p.lasted_at_least(0.1 * SCALE) for p in flashes)
    for earlier, later in zip(flashes, flashes[1:]):
        assert later.on - earlier.off >= 0.9 * SCALE - EPS
    assert pulses(rec, "red", seen.events[1].decided) == []
    assert all_off(rec)


def test_garbage_frames_do_not_stop_the_loop(tmp_path):
    config, home = demo_terminal(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    from hw_sim.scenario import Garbage, Nothing, Scenario, Show
    scenario = Scenario([Garbage(300, "noise"), Garbage(300, "torn"), Garbage(300, "tiny"),
                         Show(code, 500), Nothing(300)])
    devices = open_devices(config, scenario=scenario, scale=SCALE)
    seen = Recorder()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    assert [(e.result.decision, e.result.reason) for e in seen.events] == [(Decision.PASS, Reason.OK)]


def test_scanpoint_run_under_a_notify_socket_then_sigterm(tmp_path, notify_socket):
    config, home = demo_terminal(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    scenario = tmp_path / "scene.json"
    scenario.write_text(json.dumps({"steps": [{"nothing": 300}, {"show": code, "ms": 800},
                                              {"nothing": 300}], "loop": True}))
    cfg = Path(config.source)
    cfg.write_text(cfg.read_text().replace('[camera]\n', f'[camera]\nsource = "{scenario}"\n'))
    env = python_env(NOTIFY_SOCKET=notify_socket.path, WATCHDOG_USEC="2000000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--config", str(cfg)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        messages = [notify_socket.receive(timeout=30)]
        while messages.count("WATCHDOG=1") < 3:        # each wait is a deadline, not a speed
            messages.append(notify_socket.receive(timeout=30))
        assert messages[0].startswith("READY=1"), messages
        state = tmp_path / "state"
        assert wait_until(lambda: (read_status(state) or {}).get("decisions", 0) >= 1, 60)
        status = read_status(state)
        assert status["state"] == "running" and status["decisions"] >= 1
        assert status["last_decision"]["decision"] == "pass"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        tail = notify_socket.drain()                    # sent before the process exited
        assert any(m.startswith("STOPPING=1") for m in tail), tail
        assert read_status(state)["state"] == "stopped"
        result = subprocess.run([sys.executable, "-m", "terminal", "status", "--config", str(cfg)],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 4 and "daemon:     stopped" in result.stdout
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_new_decision_cuts_the_old_signal(tmp_path):
    config, home = demo_terminal(tmp_path)
    expired = home.issue("health", "赵六", "110101197001012222", status="green", ttl=60,
                         now=int(time.time()) - 600)
    good = home.issue("health", "王小明", "110101199003071234", status="green")
    # patterns 10x their real length (red 20 s): only the next decision can end the red light
    devices = open_devices(config, scenario=[(expired, 0.3), (None, 0.4), (good, 0.3),
                                             (None, 0.2)], scale=10.0)
    seen = Recorder()
    service = build_service(config, devices=devices, observers=[seen])
    try:
        _run(service, devices.sim)
        rec = devices.sim.recorder
        deny, passed = seen.events
        assert (deny.result.reason, passed.result.reason) == (Reason.EXPIRED, Reason.OK)
        (red,) = pulses(rec, "red", deny.decided - EPS, passed.decided)
        (green,) = pulses(rec, "green", passed.decided - EPS)
        # red went off inside the pass's show(), right after green came on
        assert red.off is not None
        assert passed.decided - EPS <= green.on <= red.off <= passed.signalled + EPS
    finally:
        devices.close()


def test_busy_loop_drops_frames_and_takes_the_newest(tmp_path):
    """A slow verification must not leave a backlog: frames that arrived meanwhile are skipped and
    the loop goes on with the newest one. The verifier is held until the camera has moved on six
    frames, so the slowness is certain, whatever the machine's speed."""
    config, home = demo_terminal(tmp_path)
    code = home.issue("health", "王小明", "110101199003071234", status="green")
    devices = open_devices(config, scenario=[(None, 0.3), (code, 0.6), (None, 0.6)], scale=SCALE)
    real_verifier = build_verifier(config)
    reads, held = [], []

    class HeldVerifier:
        """The real verifier, held on the first credential until six new frames have arrived."""

        def verify(self, text, now):
            if text.startswith(native.PREFIX) and not held:
                camera = devices.sim.cameras[-1]          # the simulated camera under the faults
                began = time.monotonic()
                target = camera.elapsed() + 6 / camera.fps
                assert wait_until(lambda: camera.elapsed() >= target, 30)
                held.append((began, time.monotonic()))
            return real_verifier.verify(text, now)

    open_camera = devices.open_camera
    devices.open_camera = lambda: ReadSpy(open_camera(), reads)
    seen = Recorder()
    service = build_service(config, devices=devices, verifier=HeldVerifier(), observers=[seen])
    try:
        _run(service, devices.sim)
    finally:
        devices.close()
    assert [e.result.reason for e in seen.events] == [Reason.OK]
    ((began, done),) = held
    assert devices.sim.cameras[0].frames_skipped >= 5   # six arrived while held; one is read
    after = [arrived for read_at, arrived in reads if read_at >= done]
    assert after and after[0] >= began               # the next frame taken arrived meanwhile


def test_a_late_decision_is_filed_under_the_step_its_frame_came_from(checkpoint_run):
    """On a loaded machine (emulated arm64) a frame of step 2 may be decided after step 3's scene
    began: the decision still belongs to step 2, not to whatever is on camera by then."""
    sim = checkpoint_run.devices.sim
    steps = [dataclasses.replace(step, events=[]) for step in checkpoint_run.steps]
    collector = demo.StepCollector(steps, None, sim)
    collector.current = steps[3]                       # the camera has moved on to step 3
    decided = checkpoint_run.steps[2].events[0]
    late = dataclasses.replace(decided, decided=steps[3].start + 0.01)
    assert sim.step_at(late.frame_arrived) == 4        # scene 4: step 2's code (5 is its gap)
    collector.on_decision(late)
    assert steps[2].events == [late] and steps[3].events == [] and collector.stray == []

    collector.current = None                           # after the script: not a step's decision
    collector.on_decision(late)
    assert collector.stray == [late] and steps[2].events == [late]
