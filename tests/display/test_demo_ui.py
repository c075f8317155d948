"""``scanpoint demo --ui``: the scenario plays with the staff screen and simulator view served,
the report comes as soon as the scripted steps are over, and ``--hold`` ends the serving."""

from __future__ import annotations

import io
import re
import threading
import urllib.request

from terminal.cli import demo
from terminal.cli.main import main


class Watch(io.StringIO):
    """Demo output that fetches the pages once the URL is printed (the demo is still running)."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, bytes] = {}
        self.thread: threading.Thread | None = None

    def write(self, text: str) -> int:
        match = re.search(r"staff screen: (http://\S+)", text)
        if match and self.thread is None:
            self.thread = threading.Thread(target=self._fetch, args=(match.group(1),))
            self.thread.start()
        return super().write(text)

    def _fetch(self, url: str) -> None:
        for path in ("", "sim", "sim/actions.json", "status.json"):
            with urllib.request.urlopen(url + path, timeout=20) as response:
                self.pages[path] = response.read()


def test_demo_ui_serves_while_the_scenario_plays_and_stops_after_hold():
    out = Watch()
    code = demo.run("checkpoint", out=out, show_s=0.5, gap_s=0.6, scale=0.2,
                    ui=demo.UiOptions(listen="127.0.0.1:0", hold=0.5))
    assert out.thread is not None
    out.thread.join(30)
    text = out.getvalue()
    assert code == 0, text
    assert "demo passed" in text and "still serving" in text
    assert b'id="screen"' in out.pages[""] and b"/static/sim.js" in out.pages["sim"]
    assert b'"forged"' in out.pages["sim/actions.json"]
    assert b'"state"' in out.pages["status.json"]


def test_demo_hold_and_listen_need_ui(capsys):
    assert main(["demo", "--hold", "3"]) == 2
    assert "--listen/--hold: only with --ui" in capsys.readouterr().err
    assert main(["demo", "--ui", "--listen", "0.0.0.0:8080"]) == 2
