"""The daemon loop: camera backoff and recovery, status file, watchdog pings, clean SIGTERM stop.

The devices are the simulator's own (``open_devices`` with ``hardware = "sim"``): a scripted
camera behind ``hw_sim.faults.FaultyCamera``, whose switches unplug and stall it, the real
zxing-cpp decoder, and gpiozero signals on mock pins. Time is a ``hw_sim`` SimClock whose sleep
the loop calls (it advances instead of waiting), so each backoff step is exact; the systemd side
is a real AF_UNIX datagram
socket. The full daemon on the real clock runs in ``tests/e2e``.
"""

from __future__ import annotations

import os
import signal

import pytest

from hw_sim.clock import SimClock
from hw_sim.scenario import Nothing, Scenario, Show
from terminal.daemon.compose import build_verifier
from terminal.daemon.devices import open_devices
from terminal.daemon.pipeline import Pipeline
from terminal.daemon.sdnotify import Notifier
from terminal.daemon.service import Service, ServiceSettings, read_status
from tests.support.configs import load_config
from tests.support.observers import Recorder
from tests.support.pins import all_off

START = 50.0          # the sim clock's monotonic time at the start of each test
LONG_MS = 600_000     # scenes last far longer than any test runs


class Rig:
    """Simulated devices on a sim clock, and a Service over them made by :meth:`make`."""

    def __init__(self, state, scene):
        self.state = state
        self.clock = SimClock(wall=1_700_000_000.0, mono=START)
        # a small frame keeps the real decoder quick; no trust list: every code is denied
        self.config = load_config(state, '[camera]\nfps = 30\n')
        self.devices = open_devices(self.config, clock=self.clock,
                                    scenario=Scenario([scene], width=320, height=240))
        self.signals = self.devices.signals
        self.faults = self.devices.sim.faults          # hw_sim.faults.FaultyCamera switches
        self.seen = Recorder()

    def make(self, notifier=None, **settings):
        pipeline = Pipeline(self.devices.decoder, build_verifier(self.config), self.signals,
                            clock=self.clock, terminal_id="t1", observers=[self.seen])
        return Service(pipeline, self.devices.open_camera, self.signals, clock=self.clock,
                       settings=ServiceSettings(**settings), state_dir=self.state,
                       notifier=notifier)

    def run_for(self, service, seconds):
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            service.iterate()
            self.clock.advance(0.01)


@pytest.fixture()
def empty_scene(tmp_path):
    rig = Rig(tmp_path, Nothing(LONG_MS))
    yield rig
    rig.devices.close()


@pytest.fixture()
def code_scene(tmp_path):
    rig = Rig(tmp_path, Show("forged", LONG_MS))
    yield rig
    rig.devices.close()


def test_camera_missing_at_start_backs_off_exponentially_then_recovers(code_scene):
    rig = code_scene
    rig.faults.disappear()                       # unplugged before the daemon starts
    service = rig.make(retry_initial_s=0.5, retry_max_s=4.0)
    attempts = []
    original = service.open_camera

    def counting():
        attempts.append(round(rig.clock.monotonic() - START, 2))
        return original()

    service.open_camera = counting
    service.start()
    assert rig.signals.fault_active and rig.signals.last == "fault"
    assert service.camera_state == "backoff"
    status = read_status(rig.state)
    assert status["state"] == "camera-fault" and "camera not found" in status["camera"]["error"]
    assert "CameraMissing" in status["camera"]["error"]
    rig.run_for(service, 20)
    gaps = [round(b - a, 1) for a, b in zip(attempts, attempts[1:])]
    assert gaps[:4] == pytest.approx([0.5, 1.0, 2.0, 4.0], abs=0.07)   # on the sim clock
    assert max(gaps) <= 4.1               # capped at retry_max_s
    assert rig.seen.events == []
    rig.faults.heal()                     # plugged in: the code in view is scanned
    rig.run_for(service, 5)
    assert service.camera_state == "ok" and not rig.signals.fault_active
    assert rig.seen.decisions() == [("deny", "FORMAT_UNKNOWN")]   # scanning resumed
    assert rig.signals.last == "deny"
    service.write_status(force=True)
    assert read_status(rig.state)["state"] == "running"
    assert service.backoff.failures == 0


def test_unplugged_then_back_shows_fault_and_resumes(empty_scene):
    rig = empty_scene
    service = rig.make(retry_initial_s=0.5)
    service.start()
    rig.run_for(service, 1)
    assert service.camera_state == "ok" and not rig.signals.fault_active
    rig.faults.disappear()
    rig.run_for(service, 2)
    assert rig.signals.fault_active and rig.signals.last == "fault"
    assert service.camera_failures >= 2
    shown_at = rig.signals.shown_at
    rig.run_for(service, 1)               # failed re-opens keep the one fault pattern running
    assert rig.signals.shown_at == shown_at and rig.signals.last == "fault"
    rig.faults.heal()
    rig.run_for(service, 3)
    assert not rig.signals.fault_active and rig.signals.last == "off" and all_off(
        rig.devices.sim.recorder)
    assert service.camera_state == "ok" and rig.devices.sim.cameras_opened >= 2


def test_stalled_camera_counts_as_failure_and_is_reopened(empty_scene):
    rig = empty_scene
    service = rig.make(stall_s=1.0, retry_initial_s=0.5)
    service.start()
    rig.run_for(service, 0.5)
    rig.faults.stall()
    rig.run_for(service, 1.3)
    assert service.camera_state == "backoff" and "stalled" in service.camera_error
    rig.faults.heal()
    rig.run_for(service, 1.0)
    assert service.camera_state == "ok" and rig.devices.sim.cameras_opened == 2


def test_ready_then_watchdog_pings_from_a_healthy_loop_only(empty_scene, notify_socket):
    rig = empty_scene
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "3000000"})
    service = rig.make(notifier=notifier)
    service.start()
    rig.run_for(service, 6)
    messages = notify_socket.drain()
    assert messages[0].startswith("READY=1")
    pings = messages.count("WATCHDOG=1")
    assert 5 <= pings <= 7            # every interval/3 = 1 s of sim time over 6 s
    # the loop stalls for 2 s (> half the 3 s watchdog): the next turn must not ping
    service.iterate()
    notify_socket.drain()
    rig.clock.advance(2.0)
    service.iterate()
    assert "WATCHDOG=1" not in notify_socket.drain()
    assert service.health_reason.startswith("loop stalled")
    notifier.close()


def test_watchdog_keeps_pinging_during_managed_backoff(empty_scene, notify_socket):
    rig = empty_scene
    rig.faults.disappear()
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "3000000"})
    service = rig.make(notifier=notifier, retry_max_s=8.0)
    service.start()
    rig.run_for(service, 6)
    messages = notify_socket.drain()
    assert messages.count("WATCHDOG=1") >= 5
    assert any("camera fault" in m for m in messages)
    notifier.close()


class SigtermOnRead:
    """The real camera, sending this process SIGTERM from inside its 20th read."""

    def __init__(self, camera, reads):
        self.camera, self.reads = camera, reads

    def read(self):
        self.reads.append(1)
        if len(self.reads) == 20:
            os.kill(os.getpid(), signal.SIGTERM)
        return self.camera.read()

    def close(self):
        self.camera.close()


def test_sigterm_stops_cleanly_with_outputs_off(code_scene):
    rig = code_scene
    reads = []
    open_camera = rig.devices.open_camera
    rig.devices.open_camera = lambda: SigtermOnRead(open_camera(), reads)
    service = rig.make()
    before = signal.getsignal(signal.SIGTERM)
    assert service.run() == 0
    assert signal.getsignal(signal.SIGTERM) is before      # handler restored
    assert 20 <= len(reads) <= 22                          # stopped after the current frame
    assert rig.seen.decisions() == [("deny", "FORMAT_UNKNOWN")]
    assert rig.signals.last == "off" and all_off(rig.devices.sim.recorder)
    assert read_status(rig.state)["state"] == "stopped"
