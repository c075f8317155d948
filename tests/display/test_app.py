"""The display over real HTTP on loopback: /metrics equals the decisions taken, /status.json
agrees with ``scanpoint status --json``, and the display has no way to command the gate."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from terminal.display.app import Guard
from terminal.display.server import DisplayServer

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "hw-sim")]))


def metrics(terminal) -> dict[str, list]:
    families = text_string_to_metric_families(terminal.get("/metrics").decode())
    return {family.name: family.samples for family in families}


def decisions_metric(terminal) -> collections.Counter:
    samples = metrics(terminal)["scanpoint_decisions"]
    return collections.Counter({(s.labels["decision"], s.labels["reason"], s.labels["format"]):
                                int(s.value) for s in samples if s.name.endswith("_total")})


def wait_for(predicate, terminal, timeout: float = 15.0):
    """Poll ``predicate()`` on the scanner's own clock until true (liveness, not speed)."""
    clock = terminal.service.clock
    deadline = clock.monotonic() + timeout
    while not predicate():
        assert clock.monotonic() < deadline, "timed out"
        clock.sleep(0.05)


def present_all(terminal, actions) -> None:
    for action in actions:
        before = len(terminal.events)
        terminal.present(action)
        wait_for(lambda b=before: len(terminal.events) > b, terminal)


def test_metrics_counters_equal_the_decisions_taken(terminal):
    present_all(terminal, ["valid", "expired", "forged", "valid", "revoked"])
    expected = collections.Counter((e.result.decision.value, e.result.reason.value,
                                    e.result.format or "none") for e in terminal.events)
    assert sum(expected.values()) == len(terminal.events) >= 5
    wait_for(lambda: decisions_metric(terminal) == expected, terminal)
    families = metrics(terminal)
    count = [s for s in families["scanpoint_decision_latency_seconds"] if s.name.endswith("_count")]
    assert count[0].value == sum(1 for e in terminal.events if e.latency is not None)
    for name in ("scanpoint_camera_up", "scanpoint_clock_trusted", "scanpoint_scanner_up"):
        assert families[name][0].value == 1.0, name
    versions = {s.labels["list"]: s.value for s in families["scanpoint_list_version"]}
    assert versions["revocation"] >= 1
    stale = {s.labels["list"]: s.value for s in families["scanpoint_list_stale"]}
    assert stale["revocation"] == 0.0
    assert families["scanpoint_last_sync_success_timestamp_seconds"][0].value > 0
    for name in ("scanpoint_list_age_seconds",):
        assert families[name]


def test_status_json_agrees_with_scanpoint_status_json(terminal):
    present_all(terminal, ["valid"])
    wait_for(lambda: json.loads(terminal.get("/status.json"))["daemon"].get("decisions")
             == len(terminal.events), terminal)
    ours = json.loads(terminal.get("/status.json"))
    cli = subprocess.run([sys.executable, "-m", "terminal", "status", "--json", "--config",
                          str(terminal.config.source)], env=ENV, capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 0, cli.stderr
    theirs = json.loads(cli.stdout)
    assert set(theirs) <= set(ours)
    assert ours["state"] == theirs["state"] == "running"
    for key in ("terminal_id", "site", "pid", "decisions", "by_decision", "started"):
        assert ours["daemon"][key] == theirs["daemon"][key], key
    assert ours["audit"] == theirs["audit"]
    assert ours["printer"] == theirs["printer"]
    for key in ("lists", "clock", "last_sync", "last_success"):
        a, b = ours["sync"][key], theirs["sync"][key]
        if key == "lists":           # ages move with the clock between the two reads
            a = {k: {f: v for f, v in m.items() if f != "age_s"} for k, m in a.items()}
            b = {k: {f: v for f, v in m.items() if f != "age_s"} for k, m in b.items()}
        assert a == b, key
    today = ours["today"]
    assert today["events"] == theirs["audit"]["events"] == len(terminal.events)
    assert sum(today["by_decision"].values()) == today["events"]
    assert ours["display"]["connected"] is True


def request(url: str, method: str = "GET", headers: dict | None = None) -> int:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_the_simulator_nothing_but_get_is_served(terminal):
    """``scanpoint display`` (no simulator in its process): every route is GET, no /sim, and
    nothing accepts a POST — there is no path from the display to the relay."""
    with DisplayServer(terminal.config, listen="127.0.0.1:0") as server:
        app = server.app.app
        for route in app.routes:
            assert set(route.methods) <= {"GET", "HEAD"}, route.path
        assert not any(route.path.startswith("/sim") for route in app.routes)
        for path in ("sim", "sim/present/valid", "", "events", "status.json", "metrics"):
            code = request(server.url + path, "POST", {"X-Scanpoint-Sim": "1"})
            assert code in (404, 405), (path, code)
        assert request(server.url + "sim") == 404
    # and with the simulator, a button needs the header a cross-site form cannot send
    assert request(terminal.url + "sim/present/valid", "POST") == 403
    assert request(terminal.url + "sim/present/open-the-gate", "POST", {"X-Scanpoint-Sim": "1"}) == 404


def test_guard_refuses_foreign_clients_and_host_names(terminal):
    guard = Guard(lambda *a: None, ["192.168.10.0/24"])
    assert guard.client_allowed("127.0.0.1") and guard.client_allowed("::1")
    assert guard.client_allowed("192.168.10.7") and guard.client_allowed("::ffff:192.168.10.7")
    assert not guard.client_allowed("192.168.11.7") and not guard.client_allowed(None)
    assert not Guard(lambda *a: None, []).client_allowed("192.168.10.7")
    assert request(terminal.url + "status.json", headers={"Host": "rebind.example:8080"}) == 403
    assert request(terminal.url + "status.json", headers={"Host": "localhost:8080"}) == 200
    headers = urllib.request.urlopen(terminal.url, timeout=10).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_simulator_frame_outlines_the_code_in_view(terminal):
    from hw_sim.live import locate
    from hw_sim.scenario import Nothing, Show

    at = terminal.devices.sim.elapsed()
    start = terminal.scenario.present([Show(terminal.texts["OK"], 1500.0), Nothing(300.0)], at)
    wait_for(lambda: terminal.devices.sim.elapsed() > start + 0.1, terminal)
    image = terminal.devices.sim.source.frame_at(start + 0.2, 0)
    assert len(locate(image)) == 1
    jpeg = terminal.get("/sim/frame.jpg")
    assert jpeg[:3] == b"\xff\xd8\xff"
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(jpeg)).convert("RGB")
    pixels = picture.tobytes()
    cyan = sum(1 for i in range(0, len(pixels), 3)
               if pixels[i + 2] > 200 and pixels[i + 1] > 150 and pixels[i] < 90)
    assert cyan > 200, "no outline drawn around the code"


def test_display_process_imports_no_device_code(tmp_path):
    code = ("import sys, terminal.cli.commands.display, terminal.display.server, "
            "terminal.display.app; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'drivers', 'hw_sim', 'gpiozero', 'serial', 'cv2', 'zxingcpp', 'picamera2'}))")
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_scanpoint_display_command_serves_and_stops(terminal):
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "display", "--config",
                             str(terminal.config.source), "--listen", "127.0.0.1:0"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split()[2]
        assert url.startswith("http://127.0.0.1:")
        wait_for(lambda: json.loads(urllib.request.urlopen(url + "status.json", timeout=10)
                                    .read())["display"]["connected"], terminal)
        proc.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then re-raises the signal: systemd counts SIGTERM as clean
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_scanpoint_display_refuses_an_open_lan_address(terminal):
    out = subprocess.run([sys.executable, "-m", "terminal", "display", "--config",
                          str(terminal.config.source), "--listen", "0.0.0.0:8080"], env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "listening on the LAN is opt-in" in out.stderr



def test_alert_rules_and_scrape_config_name_only_metrics_the_display_exposes(terminal):
    """Every ``scanpoint_*`` name in the shipped alert rules is one /metrics serves (the printer
    ones through a feed that has heard from a printer)."""
    from terminal.display.feed import Feed
    from terminal.display.metrics import exposition

    rules = (ROOT / "docs" / "prometheus" / "scanpoint-alerts.yml").read_text()
    used = {re.sub(r"_(bucket|total|count|sum)$", "", name)
            for name in re.findall(r"\bscanpoint_[a-z_]+", rules)}
    feed = Feed("/nonexistent")
    feed.printer = {"known": True, "online": True, "paper": False}
    printer_text = exposition(feed, {"printer": {"enabled": True, "pending": 3, "failed": 0}})
    served = {family.name for family in text_string_to_metric_families(printer_text.decode())}
    served |= set(metrics(terminal))
    assert used - served == set()
    assert "scanpoint_printer_paper" in served and "scanpoint_print_queue_depth" in served
    assert 'job_name: scanpoint' in (ROOT / "docs" / "prometheus" / "prometheus.yml").read_text()
