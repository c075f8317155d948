"""Printer unplugged, offline or jammed mid-slip: the real daemon decides every code, slips wait.

Nothing is timed here: ``benchmarks/bench_pharmacy.py`` prints frame-to-LED latency with the
printer offline. What is shown is causal: with the printer jammed for certain (the slip worker
blocked inside the driver from the first slip to the end of the scenario), every code shown is
still decided and signalled, and no slip is lost.
"""

from __future__ import annotations

import time

import pytest

from hw_sim.printer import VirtualPrinter
from terminal.counter import printqueue
from terminal.daemon.compose import build_service
from terminal.daemon.devices import open_devices
from tests.support.configs import demo_terminal
from tests.support.observers import Recorder


def run_daemon(tmp_path, printer_url: str, at_end=None):
    """Four insurance cards shown to the pharmacy daemon; ``at_end()`` runs once the scenario
    is over, before the daemon stops. Returns the decisions, slips still queued, and stats."""
    config, home = demo_terminal(tmp_path, "pharmacy", printer_url=printer_url)
    now = int(time.time())
    texts = [home.issue("insurance", f"测试{i}号", f"11010119900307{i:04d}", now=now)
             for i in range(4)]
    script = []
    for t in texts:
        script += [(t, 0.5), (None, 0.6)]
    devices = open_devices(config, scenario=script, scale=0.2)
    service = build_service(config, devices=devices)
    seen = Recorder()
    service.pipeline.add_observer(seen)

    def until() -> bool:
        if not devices.sim.finished():
            return False
        if at_end is not None:
            at_end(seen)
        return True

    try:
        service.run(install_signal_handlers=False, until=until)
    finally:
        devices.close()
    pending = printqueue.status_section(config)["pending"]   # kept on disk after stop
    return seen.events, pending, service.pipeline.stats


def check_every_code_decided(events, stats):
    assert [e.result.decision.value for e in events] == ["pass"] * 4
    assert all(e.signalled is not None and e.frame_arrived <= e.decided <= e.signalled
               for e in events)                  # each one lit the LEDs
    assert stats.observer_errors == 0


@pytest.mark.parametrize("how", ["unplugged", "offline"])
def test_no_printer_keeps_the_gate_deciding(tmp_path, how):
    if how == "unplugged":
        events, pending, stats = run_daemon(tmp_path, "/dev/ttyUSB-scanpoint-absent")
    else:
        with VirtualPrinter(tmp_path / "paper") as vp:
            vp.go_offline()
            events, pending, stats = run_daemon(tmp_path, vp.port)
            assert vp.slips == []
    check_every_code_decided(events, stats)
    assert pending == 4                       # every slip waits in the queue, none lost


def test_printer_jammed_mid_slip_keeps_the_gate_deciding(tmp_path):
    with VirtualPrinter(tmp_path / "paper") as vp:
        vp.hold()                             # jams at the first slip's cut
        at_end = []

        def record_and_release(seen):
            at_end.append((vp.wait_held(0), len(vp.slips), len(seen.events)))
            vp.release()

        events, pending, stats = run_daemon(tmp_path, vp.port, at_end=record_and_release)
        printed = len(vp.slips)
    # when the scenario ended, all four were decided while the printer was still jammed
    assert at_end == [(True, 0, 4)]
    check_every_code_decided(events, stats)
    assert printed + pending == 4             # released: printed or still queued, none lost
