"""The staff screen in real headless Chromium: codes presented through the simulator show the
right word, colour and reason; the screen goes idle after the timeout; nothing overflows at
800x480 or 1920x1080; the page and the event stream never hold a full name, an ID or a payload.

Screenshots of each state go to $SCANPOINT_SCREENS (docs/screens for the README) or a temporary
folder.
"""

from __future__ import annotations

import re
import threading
import urllib.request

import pytest

from hw_sim.scenario import Nothing, Show
from terminal.interfaces import DecisionEvent
from terminal.reasons import REASON_ZH, Decision, Reason
from terminal.result import Result

SIZES = {"800x480": (800, 480), "1920x1080": (1920, 1080)}
FULL_NAMES = ("王小明", "李四", "赵六", "钱七", "孙八", "周九")
ID_PREFIX = "110101"

STATE_JS = "return document.getElementById('screen').dataset.state"
SHOWN_JS = """
const q = (id) => document.getElementById(id).textContent;
const s = getComputedStyle(document.getElementById('screen'));
return {state: document.getElementById('screen').dataset.state, word_zh: q('word-zh'),
        word_en: q('word-en'), reason_zh: q('reason-zh'), reason_en: q('reason-en'),
        name: q('name'), kind: q('kind'), meta: q('meta'), background: s.backgroundColor};
"""
# every piece of text lies inside the viewport and inside its own box; the page never scrolls
OVERFLOW_JS = """
const W = innerWidth, H = innerHeight, bad = [];
const d = document.documentElement;
if (d.scrollWidth > W || d.scrollHeight > H) bad.push('page ' + d.scrollWidth + 'x' + d.scrollHeight);
for (const el of document.querySelectorAll('#screen *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5)
    bad.push((el.id || el.tagName) + ' at ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
  if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible')
    bad.push((el.id || el.tagName) + ' clipped');
}
return bad;
"""


def rgb(text: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", text)[:3])
    return r, g, b


def colour(text: str) -> str:
    """The colour a person would name: green, red, amber or dark."""
    r, g, b = rgb(text)
    if g > r + 60 and g > b + 40:
        return "green"
    if r > g + 80 and r > b + 80:
        return "red"
    if r > 200 and 120 < g < 220 and b < 90:
        return "amber"
    if max(r, g, b) < 90:
        return "dark"
    return f"unnamed {text}"


def open_screen(terminal, browser, size="800x480"):
    browser.resize(*SIZES[size])
    browser.driver.get(terminal.url)
    browser.wait(lambda d: d.execute_script("return window.__scanpoint && window.__scanpoint.idle"))
    browser.wait(lambda d: terminal.config.terminal.id in d.execute_script(
        "return document.getElementById('meta').textContent"))


def wait_decision(terminal, browser, before: int):
    """Wait for the scanner's next decision after ``before`` and for the screen to show it."""
    browser.wait(lambda d: len(terminal.events) > before, timeout=15)
    event = terminal.events[before]
    browser.wait(lambda d: f"#{event.sequence} " in d.execute_script(
        "return document.getElementById('meta').textContent"), timeout=10)
    return event, browser.js(SHOWN_JS)


def assert_shows(shown, decision: Decision, reason: Reason):
    words = {"pass": ("通过", "PASS", "green"), "deny": ("拒绝", "DENY", "red"),
             "check": ("人工核验", "CHECK", "amber")}[decision.value]
    assert shown["state"] == decision.value
    assert (shown["word_zh"], shown["word_en"]) == words[:2]
    assert colour(shown["background"]) == words[2], shown["background"]
    assert shown["reason_en"] == reason.text
    assert shown["reason_zh"] == REASON_ZH[reason]


def assert_fits(browser, what: str):
    bad = browser.js(OVERFLOW_JS)
    assert not bad, f"{what}: {bad}"


@pytest.mark.parametrize("action, decision, reason", [
    ("valid", Decision.PASS, Reason.OK),
    ("expired", Decision.DENY, Reason.EXPIRED),
    ("forged", Decision.DENY, Reason.SIGNATURE_INVALID),
    ("revoked", Decision.DENY, Reason.REVOKED),
])
def test_presented_code_shows_word_colour_and_reason(terminal, browser, screens, action,
                                                     decision, reason):
    open_screen(terminal, browser)
    before = len(terminal.events)
    terminal.present(action)
    event, shown = wait_decision(terminal, browser, before)
    assert (event.result.decision, event.result.reason) == (decision, reason)
    assert_shows(shown, decision, reason)
    credential = event.result.credential
    if credential is not None and credential.masked_name:
        assert shown["name"] == credential.masked_name and "*" in shown["name"]
        assert "健康码" in shown["kind"]
    assert_fits(browser, f"{action} at 800x480")
    browser.driver.save_screenshot(str(screens / f"screen-{decision.value}-{action}-800x480.png"))
    browser.resize(1920, 1080)
    assert_fits(browser, f"{action} at 1920x1080")
    if action in ("valid", "forged"):
        browser.driver.save_screenshot(str(screens / f"screen-{decision.value}-1920x1080.png"))


def test_check_with_the_longest_reason_fits_both_sizes(terminal, browser, screens):
    """A yellow code is presented through the simulated camera; then the longest staff sentence
    of all reasons goes through the real publisher and must still fit."""
    open_screen(terminal, browser)
    before = len(terminal.events)
    at = terminal.devices.sim.elapsed()
    terminal.scenario.present([Show(terminal.texts["STATUS_YELLOW"], 600.0), Nothing(600.0)], at)
    _, shown = wait_decision(terminal, browser, before)
    assert_shows(shown, Decision.CHECK, Reason.STATUS_YELLOW)
    browser.driver.save_screenshot(str(screens / "screen-check-800x480.png"))
    longest = max(Reason, key=lambda r: len(r.text) + 2 * len(REASON_ZH[r]))
    for size in SIZES:
        browser.resize(*SIZES[size])
        sequence = 10_000 + len(size)
        terminal.publisher.on_decision(DecisionEvent(
            sequence=sequence, result=Result(Decision.CHECK, longest), terminal_id="t",
            site="s", wall=terminal.service.clock.time(), frame_arrived=0.0, decided=0.0,
            signalled=0.0, latency=0.004, code_hash="00"))
        browser.wait(lambda d, s=sequence: f"#{s} " in d.execute_script(
            "return document.getElementById('meta').textContent"))
        assert_shows(browser.js(SHOWN_JS), Decision.CHECK, longest)
        assert_fits(browser, f"{longest.value} at {size}")
        browser.driver.save_screenshot(str(screens / f"screen-check-long-{size}.png"))


def test_screen_returns_to_idle_after_the_timeout(terminal, browser, screens):
    for size in SIZES:
        open_screen(terminal, browser, size)
        assert colour(browser.js(SHOWN_JS)["background"]) == "dark"
        assert_fits(browser, f"idle at {size}")
        browser.driver.save_screenshot(str(screens / f"screen-idle-{size}.png"))
    before = len(terminal.events)
    terminal.present("valid")
    _, shown = wait_decision(terminal, browser, before)
    assert shown["state"] == "pass"
    idle_before = browser.js("return window.__scanpoint.idle")
    browser.wait(lambda d: d.execute_script(STATE_JS) == "idle",
                 timeout=terminal.config.display.idle_s + 10)
    shown = browser.js(SHOWN_JS)
    assert (shown["word_zh"], shown["word_en"]) == ("请出示二维码", "Show your code")
    assert shown["reason_en"] == shown["name"] == ""
    assert browser.js("return window.__scanpoint.idle") == idle_before + 1


def _read_stream(url: str, into: list[bytes], stop: threading.Event) -> None:
    with urllib.request.urlopen(url + "events", timeout=30) as response:
        while not stop.is_set():
            line = response.readline()
            if not line:
                return
            into.append(line)


def test_page_and_event_stream_hold_no_name_id_or_payload(terminal, browser):
    chunks: list[bytes] = []
    stop = threading.Event()
    reader = threading.Thread(target=_read_stream, args=(terminal.url, chunks, stop), daemon=True)
    reader.start()
    open_screen(terminal, browser)
    sources = []
    for action in ("valid", "expired", "revoked"):
        before = len(terminal.events)
        terminal.present(action)
        wait_decision(terminal, browser, before)
        sources.append(browser.driver.page_source)
    stop.set()
    stream = b"".join(chunks).decode()
    assert stream.count("event: decision") >= 3
    secrets = [*FULL_NAMES, ID_PREFIX, "SP1:", "1234"]
    for event in terminal.events:
        secrets.append(event.code_hash)
        if event.result.credential is not None:
            secrets += [event.result.credential.serial.hex(), event.result.credential.holder_hash or "-"]
    for text, where in [(stream, "event stream"), *((s, "page source") for s in sources)]:
        leaked = [s for s in secrets if s and s in text]
        assert not leaked, f"{where} holds {leaked}"
    assert "王*明" in stream and "王*明" in sources[0]       # the masked name is what shows


def test_simulator_view_buttons_frame_pins_and_decision(terminal, browser, screens):
    browser.resize(1280, 800)
    browser.driver.get(terminal.url + "sim")
    browser.wait(lambda d: d.execute_script("return document.querySelectorAll('#buttons button').length"))
    labels = browser.js("return [...document.querySelectorAll('#buttons button')].map(b => b.id)")
    assert {"act-valid", "act-expired", "act-forged", "act-revoked", "act-glare",
            "act-unplug"} <= set(labels)
    before = len(terminal.events)
    browser.driver.find_element("id", "act-forged").click()
    browser.wait(lambda d: len(terminal.events) > before, timeout=15)
    frames = browser.js("return window.__sim.frames")
    try:       # two fresh frames: the screenshot shows the code in view, outlined
        browser.wait(lambda d: d.execute_script("return window.__sim.frames") >= frames + 2,
                     timeout=30)
    except Exception as exc:
        raise AssertionError(f"the camera frame stopped refreshing: "
                             f"{browser.js('return window.__sim')}") from exc
    assert terminal.events[before].result.reason is Reason.SIGNATURE_INVALID
    browser.wait(lambda d: d.execute_script("return document.getElementById('last').className")
                 == "deny")
    browser.wait(lambda d: " red on" in d.execute_script(
        "return document.getElementById('log').textContent"))
    browser.wait(lambda d: d.execute_script(
        "const f = document.getElementById('frame'); return f.complete && f.naturalWidth"))
    assert "SIGNATURE_INVALID" in browser.js("return document.getElementById('last').textContent")
    browser.driver.save_screenshot(str(screens / "sim-1280x800.png"))


def test_status_page_renders_the_status(terminal, browser, screens):
    browser.resize(1280, 800)
    browser.driver.get(terminal.url + "status")
    browser.wait(lambda d: d.execute_script(
        "return document.getElementById('lists').textContent").startswith("index")
        or "revocation" in d.execute_script("return document.getElementById('lists').textContent"))
    text = browser.js("return document.body.textContent")
    assert "revocation" in text and "running" in text and "trusted" in text
    browser.driver.save_screenshot(str(screens / "status-1280x800.png"))
