"""A whole simulated terminal with its display, for the display's tests and benchmark.

The real parts really started: a temporary issuer with published and synced lists, the daemon
(``build_service``) on simulated devices in a thread of its own, the event publisher on a real
Unix socket, and ``DisplayServer`` (uvicorn on a loopback port) reading it with the simulator
view. Codes are presented through the simulator (``present``: the ``/sim`` buttons' path).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

from hw_sim.live import LiveScenario, SimView
from hw_sim.scenario import Nothing
from terminal.cli.demo import make_steps, sim_codes, terminal_for
from terminal.daemon.compose import build_service
from terminal.daemon.devices import open_devices
from terminal.display.publisher import Publisher
from terminal.display.server import DisplayServer


class LiveTerminal:
    """See the module docstring. ``close()`` stops everything it started."""

    def __init__(self, work: Path, *, site: str = "checkpoint", idle_s: float = 1.5,
                 show_s: float = 0.6, gap_s: float = 0.6, extra: str = "") -> None:
        self.work = work
        self.steps, self.home = make_steps(work, site)
        self.texts = {step.reason.value: step.text for step in self.steps}
        self.config = terminal_for(work, self.home, site,
                                   f"\n[display]\nidle_s = {idle_s}\n" + extra, publish=False)
        self.scenario = LiveScenario([Nothing(300.0)])
        self.devices = open_devices(self.config, scenario=self.scenario, scale=0.2)
        self.service = build_service(self.config, devices=self.devices)
        self.events: list[Any] = []
        self.service.pipeline.add_observer(_Recorder(self.events))
        assert self.devices.sim is not None
        self.view = SimView(self.devices.sim, self.scenario, sim_codes(self.steps, self.home, site),
                            show_s=show_s, gap_s=gap_s, fps=self.config.camera.fps)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.service.run, name="scanner",
                                       kwargs={"install_signal_handlers": False,
                                               "until": self._stop.is_set}, daemon=True)
        self.thread.start()
        self.server = DisplayServer(self.config, listen="127.0.0.1:0", sim=self.view).start()
        self.url = self.server.url

    @property
    def publisher(self) -> Publisher:
        return next(o for o in self.service.pipeline.observers if isinstance(o, Publisher))

    def present(self, action: str) -> dict[str, Any]:
        """Press a ``/sim`` button over HTTP, as the simulator page does."""
        request = urllib.request.Request(self.url + f"sim/present/{action}", method="POST",
                                         headers={"X-Scanpoint-Sim": "1"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
            return response.read()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(10)
        self.server.stop()
        self.devices.close()


class _Recorder:
    """Observer: the decisions the scanner took, to compare with what the screen shows."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def on_decision(self, event: Any) -> None:
        self.events.append(event)

    def close(self) -> None:
        """Nothing to release."""
