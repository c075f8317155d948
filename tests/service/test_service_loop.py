"""The daemon loop: camera backoff and recovery, status file, watchdog pings, clean SIGTERM stop.

Devices are protocol-level stand-ins driven by a fixed clock so each backoff step is exact; the
systemd side is a real AF_UNIX datagram socket. The full device stack runs in ``tests/e2e``.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest

from terminal.clock import FixedClock
from terminal.errors import CameraMissing
from terminal.interfaces import Frame
from terminal.daemon.pipeline import Pipeline
from terminal.reasons import Decision, Reason
from terminal.result import Result
from terminal.daemon.sdnotify import Notifier
from terminal.daemon.service import Service, ServiceSettings, read_status


class Scene:
    """What the camera sees and whether it is plugged in; shared by every camera it opens."""

    def __init__(self, clock):
        self.clock, self.texts, self.plugged, self.stalled, self.opened = clock, (), True, False, 0
        self.on_read = None


class SceneCamera:
    def __init__(self, scene):
        if not scene.plugged:
            raise CameraMissing("no camera at /dev/video0")
        scene.opened += 1
        self.scene = scene

    def read(self):
        if self.scene.on_read:
            self.scene.on_read()
        if not self.scene.plugged:
            raise CameraMissing("camera unplugged")
        if self.scene.stalled:
            return None
        return Frame(self.scene.texts, self.scene.clock.monotonic())

    def close(self):
        pass


class TextsDecoder:
    def decode(self, image):
        return list(image)


class DenyAll:
    def verify(self, text, now):
        return Result(Decision.DENY, Reason.SIGNATURE_INVALID, "native")


class StateSignals:
    def __init__(self):
        self.shown, self.faults, self.offs, self.fault_on = [], [], 0, False

    def show(self, decision):
        self.shown.append(decision)

    def fault(self, active):
        self.faults.append(active)
        self.fault_on = active

    def off(self):
        self.offs += 1
        self.fault_on = False

    def close(self):
        pass


@pytest.fixture()
def rig(tmp_path):
    clock = FixedClock(1_700_000_000.0, 50.0)
    scene, signals = Scene(clock), StateSignals()

    def make(notifier=None, **settings):
        pipeline = Pipeline(TextsDecoder(), DenyAll(), signals, clock=clock, terminal_id="t1")
        return Service(pipeline, lambda: SceneCamera(scene), signals, clock=clock,
                       settings=ServiceSettings(**settings), state_dir=tmp_path,
                       notifier=notifier)

    return clock, scene, signals, make, tmp_path


def run_for(service, clock, seconds):
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        service.iterate()
        clock.advance(0.01)


def test_camera_missing_at_start_backs_off_exponentially_then_recovers(rig):
    clock, scene, signals, make, state = rig
    scene.plugged = False
    service = make(retry_initial_s=0.5, retry_max_s=4.0)
    attempts = []
    original = service.open_camera

    def counting():
        attempts.append(round(clock.monotonic() - 50.0, 2))
        return original()

    service.open_camera = counting
    service.start()
    assert signals.fault_on and service.camera_state == "backoff"
    status = read_status(state)
    assert status["state"] == "camera-fault" and "unplugged" not in status["camera"]["error"]
    assert "CameraMissing" in status["camera"]["error"]
    run_for(service, clock, 20)
    gaps = [round(b - a, 1) for a, b in zip(attempts, attempts[1:])]
    assert gaps[:4] == pytest.approx([0.5, 1.0, 2.0, 4.0], abs=0.07)
    assert max(gaps) <= 4.1               # capped at retry_max_s
    scene.plugged = True
    scene.texts = ("forged",)
    run_for(service, clock, 5)
    assert service.camera_state == "ok" and not signals.fault_on
    assert signals.shown == [Decision.DENY]          # scanning resumed
    service.write_status(force=True)
    assert read_status(state)["state"] == "running"
    assert service.backoff.failures == 0


def test_unplugged_then_back_shows_fault_and_resumes(rig):
    clock, scene, signals, make, state = rig
    service = make(retry_initial_s=0.5)
    service.start()
    run_for(service, clock, 1)
    assert service.camera_state == "ok"
    scene.plugged = False
    run_for(service, clock, 2)
    assert signals.faults == [True] and service.camera_failures >= 2
    scene.plugged = True
    run_for(service, clock, 3)
    assert signals.faults == [True, False]
    assert service.camera_state == "ok" and scene.opened >= 2


def test_stalled_camera_counts_as_failure_and_is_reopened(rig):
    clock, scene, signals, make, state = rig
    service = make(stall_s=1.0, retry_initial_s=0.5)
    service.start()
    run_for(service, clock, 0.5)
    scene.stalled = True
    run_for(service, clock, 1.3)
    assert service.camera_state == "backoff" and "stalled" in service.camera_error
    scene.stalled = False
    run_for(service, clock, 1.0)
    assert service.camera_state == "ok" and scene.opened == 2


@pytest.fixture()
def listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    yield path, sock
    sock.close()


def drain(sock):
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def test_ready_then_watchdog_pings_from_a_healthy_loop_only(rig, listener):
    clock, scene, signals, make, state = rig
    path, sock = listener
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    service = make(notifier=notifier)
    service.start()
    run_for(service, clock, 6)
    messages = drain(sock)
    assert messages[0].startswith("READY=1")
    pings = messages.count("WATCHDOG=1")
    assert 5 <= pings <= 7            # every interval/3 = 1 s over 6 s
    # the loop stalls for 2 s (> half the 3 s watchdog): the next turn must not ping
    service.iterate()
    drain(sock)
    clock.advance(2.0)
    service.iterate()
    assert "WATCHDOG=1" not in drain(sock)
    assert service.health_reason.startswith("loop stalled")
    notifier.close()


def test_watchdog_keeps_pinging_during_managed_backoff(rig, listener):
    clock, scene, signals, make, state = rig
    path, sock = listener
    scene.plugged = False
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "3000000"})
    service = make(notifier=notifier, retry_max_s=8.0)
    service.start()
    run_for(service, clock, 6)
    messages = drain(sock)
    assert messages.count("WATCHDOG=1") >= 5
    assert any("camera fault" in m for m in messages)
    notifier.close()


def test_sigterm_stops_cleanly_with_outputs_off(rig):
    clock, scene, signals, make, state = rig
    service = make()
    reads = []

    def on_read():
        reads.append(1)
        if len(reads) == 20:
            os.kill(os.getpid(), signal.SIGTERM)

    scene.on_read = on_read
    scene.texts = ("forged",)
    before = signal.getsignal(signal.SIGTERM)
    assert service.run() == 0
    assert signal.getsignal(signal.SIGTERM) is before      # handler restored
    assert 20 <= len(reads) <= 22
    assert signals.offs == 1
    assert read_status(state)["state"] == "stopped"
