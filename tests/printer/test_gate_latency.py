"""Printer unplugged or offline: the real daemon keeps deciding at gate speed, slips wait."""

from __future__ import annotations

import time

import pytest


from hw_sim.printer import VirtualPrinter  # noqa: E402
from terminal import config as config_mod  # noqa: E402
from terminal.counter import printqueue  # noqa: E402
from terminal.cli import demo
from terminal.issuer import directory as issuer
from terminal.daemon.compose import build_service  # noqa: E402
from terminal.daemon.devices import open_devices  # noqa: E402


class Timed:
    """Records each decision event (its frame-to-LED latency) as the pipeline delivers it."""

    def __init__(self):
        self.events = []

    def on_decision(self, event):
        self.events.append(event)

    def close(self):
        pass


def run_daemon(tmp_path, printer_url: str):
    now = int(time.time())
    home = issuer.init(tmp_path / "issuer", site="pharmacy", now=now - 3600)
    texts = [home.issue("insurance", f"测试{i}号", f"11010119900307{i:04d}", now=now)
             for i in range(4)]
    work = tmp_path  # the demo layout: work/issuer (published lists), work/state
    path = work / "terminal.toml"
    text = demo.demo_config(work, home.root_public_key(), home.trust_list_path, "pharmacy")
    path.write_text(text.replace('url = "sim"', f'url = "{printer_url}"\nreply_timeout_s = 0.5'),
                    encoding="utf-8")
    config = config_mod.load(path)
    demo.terminal_for(work, home, "pharmacy")  # publish and sync the lists, as the demo does
    script = []
    for t in texts:
        script += [(t, 0.5), (None, 0.6)]
    devices = open_devices(config, scenario=script, scale=0.2)
    service = build_service(config, devices=devices)
    timed = Timed()
    service.pipeline.add_observer(timed)
    service.run(install_signal_handlers=False, until=devices.sim.finished)
    devices.close()
    pending = printqueue.status_section(config)["pending"]   # kept on disk after stop
    return timed.events, pending, service.pipeline.stats


@pytest.mark.parametrize("how", ["unplugged", "offline"])
def test_no_printer_keeps_gate_latency(tmp_path, how):
    if how == "unplugged":
        events, pending, stats = run_daemon(tmp_path, "/dev/ttyUSB-scanpoint-absent")
    else:
        with VirtualPrinter(tmp_path / "paper") as vp:
            vp.go_offline()
            events, pending, stats = run_daemon(tmp_path, vp.port)
            assert vp.slips == []
    assert [e.result.decision.value for e in events] == ["pass"] * 4
    latencies = [e.latency for e in events]
    # loose bound, not a benchmark: the demo measures ~5 ms; a blocked printer would add seconds
    assert max(latencies) < 0.25, latencies
    assert stats.observer_errors == 0
    assert pending == 4                       # every slip waits in the queue, none lost
