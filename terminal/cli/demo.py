"""``scanpoint demo``: the whole daemon against the simulator, through a scripted scenario.

It makes a throw-away issuer (and a second, untrusted one) with :mod:`terminal.issuer.directory`, writes an
embedded terminal config with ``hardware = "sim"``, then runs the real :class:`Service` — camera,
decoder, verifier, pipeline, signals on gpiozero mock pins — while the simulated camera shows one
code after another. Each decision is printed as it happens, then a table of what the LEDs, buzzer
and relay did. Nothing is needed but the installed package.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from terminal import config as config_mod
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM
from terminal.errors import SyncError
from terminal.interfaces import DecisionEvent
from terminal.reasons import Decision, Reason

SHOW_S = 0.5       # each code is held in front of the camera this long ...
GAP_S = 0.6        # ... then taken away this long (longer than the scaled patterns)
SCALE = 0.2        # signal patterns shortened 5x: a 2 s green light lasts 0.4 s in the demo
UI_SHOW_S, UI_GAP_S, UI_SCALE = 1.0, 2.0, 0.5   # with --ui: slow enough to watch each step
UI_IDLE_S = 2.5    # with --ui: the staff screen returns to "Show your code" between steps


@dataclass
class Step:
    """One presentation: the code shown, and the decision and reason expected for it."""

    label: str
    text: str
    decision: Decision
    reason: Reason
    events: list[DecisionEvent] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True)
class UiOptions:
    """``scanpoint demo --ui``: serve the display on ``listen`` (None: ``[display] listen``)
    while the scenario plays, then keep serving for ``hold`` seconds (None: until stopped)."""

    listen: str | None = None
    hold: float | None = None


def demo_config(work: Path, root_public_key: bytes, trust_list: Path, site: str) -> str:
    """The embedded demo config: simulated hardware, the temporary issuer's trust list."""
    return f"""# scanpoint demo terminal (written by 'scanpoint demo')
[terminal]
id = "demo-1"
site_name = "Demo {site}"
state_dir = "{(work / 'state').as_posix()}"
hardware = "sim"

[trust]
root_key = "{root_public_key.hex()}"
list = "{trust_list.as_posix()}"

[policy]
site = "{site}"

[sync]
source = "{(trust_list.parent / 'public').as_posix()}"

[camera]
fps = 30
stall_s = 2.0

[pipeline]
leave_frames = 3
leave_ms = 250
anti_passback_s = 300.0
""" + (PHARMACY_PRINTER if site == "pharmacy" else "")


#: a pharmacy counter prints a slip for every decision on the virtual printer (hw_sim.printer)
PHARMACY_PRINTER = """
[printer]
enabled = true
url = "sim"
print_on = ["pass", "deny", "check"]
"""


def make_steps(work: Path, site: str) -> tuple[list[Step], Any]:
    """Issue the scenario's credentials; returns the steps and the home issuer (an ``IssuerDir``)
    whose lists the terminal trusts."""
    from terminal.formats import cose
    from terminal.issuer import credentials
    from terminal.issuer import directory as issuer
    from terminal.lists.signedlist import ALG_SM2_SM3

    now = int(SYSTEM.time())
    # keys made an hour ago, so the expired code below was issued while its key was valid
    home = issuer.init(work / "issuer", site=site, now=now - 3600)
    stranger = issuer.init(work / "other-issuer", issuer="Unlisted Issuer", site=site,
                           now=now - 3600)
    key = home.issuer_key()
    forged_signer = stranger.issuer_key().private_key
    if site == "pharmacy":
        good = home.issue("insurance", "王小明", "110101199003071234", now=now)
        second = home.issue("health", "李四", "110101198805051111", status="green", now=now)
        second_step = ("health code at a pharmacy", Decision.DENY, Reason.TYPE_NOT_ACCEPTED)
        expired = home.issue("insurance", "赵六", "110101197001012222", ttl=60, now=now - 600)
        other = stranger.issue("insurance", "钱七", "110101196606063333", now=now)
        forged_type, forged_status = "insurance", None
    else:
        good = home.issue("health", "王小明", "110101199003071234", status="green", now=now)
        second = home.issue("health", "李四", "110101198805051111", status="yellow", now=now)
        second_step = ("yellow health code", Decision.CHECK, Reason.STATUS_YELLOW)
        expired = home.issue("health", "赵六", "110101197001012222", status="green", ttl=60,
                             now=now - 600)
        other = stranger.issue("health", "钱七", "110101196606063333", status="green", now=now)
        forged_type, forged_status = "health", "green"
    # forged: claims naming the trusted issuer and key id, signed with someone else's key
    claims = credentials.credential_claims(issuer=key.issuer, kid=key.kid, type=forged_type,
                                      name="孙八", holder_id="110101195505054444",
                                      holder_key=key.holder_key, now=now, ttl=60,
                                      status=forged_status)
    protected = {cose.HEADER_ALG: ALG_SM2_SM3, cose.HEADER_KID: key.kid}
    forged = credentials.encode_credential(claims, forged_signer, protected=protected)
    # revoked: a genuine, current code whose serial the issuer has revoked and published
    serial = os.urandom(16)
    revoked_claims = credentials.credential_claims(
        issuer=key.issuer, kid=key.kid, type=forged_type, name="周九",
        holder_id="110101198808086666", holder_key=key.holder_key, now=now, ttl=120,
        status=forged_status, serial=serial)
    revoked = credentials.encode_credential(revoked_claims, key.private_key)
    _publish_revocation(home, serial, now)
    valid_label = "valid insurance card" if site == "pharmacy" else "valid green health code"
    steps = [
        Step(valid_label, good, Decision.PASS, Reason.OK),
        Step(second_step[0], second, second_step[1], second_step[2]),
        Step("expired code", expired, Decision.DENY, Reason.EXPIRED),
        Step("forged signature", forged, Decision.DENY, Reason.SIGNATURE_INVALID),
        Step("same valid code again (replay)", good, Decision.DENY, Reason.REPLAYED),
        Step("code of an untrusted issuer", other, Decision.DENY, Reason.KEY_UNKNOWN),
        Step("revoked code", revoked, Decision.DENY, Reason.REVOKED),
    ]
    return steps, home


def _publish_revocation(home: Any, serial: bytes | None, now: int) -> None:
    """Revoke ``serial`` (if given) and publish the issuer's signed lists as files, as
    ``scanpoint issuer revoke`` and ``issuer publish`` do."""
    from terminal.lists.publish import Publisher

    with Publisher(home.path) as publisher:
        if serial is not None:
            publisher.revoke_serial(serial)
        publisher.publish(home.root_private_key(), now=now - 60, min_revocation_version=1,
                          min_trust_version=1)


def terminal_for(work: Path, home: Any, site: str = "checkpoint", extra: str = "",
                 *, publish: bool = True) -> Any:
    """Write the demo config for issuer ``home`` (plus ``extra`` TOML), publish its lists if
    asked, sync them into the terminal's store once, and return the loaded config."""
    if publish:
        _publish_revocation(home, None, int(SYSTEM.time()))
    path = work / "demo.toml"
    path.write_text(demo_config(work, home.root_public_key(), home.trust_list_path, site) + extra,
                    encoding="utf-8")
    config = config_mod.load(path)
    sync_lists(config)
    return config


def sync_lists(config: Any) -> str:
    """Fetch and apply the published lists once, as ``scanpoint sync --once`` does."""
    from terminal.lists.sync import SyncClient, SyncSettings

    result = SyncClient(SyncSettings.for_terminal(config)).run_once()
    if not result.ok:
        raise SyncError(f"demo list sync failed: {result.line()}")
    return result.line()


class StepCollector:
    """Observer: prints each decision as it happens and files it under the current step."""

    def __init__(self, steps: list[Step], out: TextIO | None, sim: Any) -> None:
        self.steps, self.out, self.sim = steps, out, sim
        self.current: Step | None = None
        self.stray: list[DecisionEvent] = []
        self.lock = threading.Lock()

    def step_of(self, event: DecisionEvent) -> Step | None:
        """The step whose code was on camera when the decided frame arrived (a loaded machine may
        decide it after the scene moved on); None outside the scripted steps."""
        if self.current is None:
            return None
        position = self.sim.step_at(event.frame_arrived)
        if position is None or position // 2 >= len(self.steps):
            return self.current
        return self.steps[position // 2]

    def on_decision(self, event: DecisionEvent) -> None:
        with self.lock:
            step = self.step_of(event)
            (step.events if step else self.stray).append(event)
        if self.out is None:
            return
        r = event.result
        latency = "-" if event.latency is None else f"{event.latency * 1000:5.1f} ms"
        label = step.label if step else "?"
        print(f"  {_mark(r.decision)} {r.decision.value:<5} {r.reason.value:<18} {latency}   "
              f"{label} — {r.reason.text}", file=self.out, flush=True)

    def close(self) -> None:
        """Nothing to release: the collector only prints and keeps the events."""


def _mark(decision: Decision) -> str:
    return {Decision.PASS: "[GREEN]", Decision.DENY: "[ RED ]", Decision.CHECK: "[AMBER]"}[decision]


def _outputs_during(recorder: Any, start: float, end: float) -> str:
    """What each output did between two monotonic times: 'green 0.40s, relay 0.10s, beep 0.02s'."""
    parts = []
    for output, word in (("green", "green"), ("red", "red"), ("buzzer", "beep"), ("relay", "relay")):
        try:
            history = recorder.history(output)
        except KeyError:
            continue
        on_at, total, pulses = None, 0.0, 0
        for t, on in history:
            at = recorder.start + t
            if on and on_at is None:
                on_at = at
            elif not on and on_at is not None:
                if start <= on_at < end:
                    total += at - on_at
                    pulses += 1
                on_at = None
        if on_at is not None and start <= on_at < end:
            total += end - on_at
            pulses += 1
        if pulses == 1:
            parts.append(f"{word} {total:.2f}s")
        elif pulses:
            parts.append(f"{word} blinks x{pulses}")
    if "green blinks" in " ".join(parts) and "red blinks" in " ".join(parts):
        parts = [p.replace("green blinks", "amber blinks") for p in parts
                 if not p.startswith("red blinks")]
    return ", ".join(parts) or "all off"


@dataclass
class DemoRun:
    """What :func:`play` leaves for printing or asserting: steps with their decisions, the pin
    recorder, the stopped service, decisions outside any step, and whether every step played."""

    steps: list[Step]
    recorder: Any
    service: Any
    devices: Any
    stray: list[DecisionEvent]
    completed: bool
    config: Any


def play(site: str, work: Path, *, out: TextIO | None = None, show_s: float = SHOW_S,
         gap_s: float = GAP_S, scale: float = SCALE, ui: UiOptions | None = None,
         on_scripted_end: Callable[[DemoRun], None] | None = None) -> DemoRun:
    """Issue the scenario's codes in ``work`` and run the real daemon on simulated devices through
    them; decisions are printed to ``out`` as they happen (if given). The caller closes
    ``run.devices``.

    With ``ui`` the display serves the kiosk screen and the simulator view meanwhile (its URL is
    printed to ``out``), and the daemon keeps running after the scenario — its buttons present
    more scenes — until stopped or ``ui.hold`` ends; ``on_scripted_end`` gets the run as soon as
    the scripted steps are over."""
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices

    steps, home = make_steps(work, site)
    extra = f"\n[display]\nidle_s = {UI_IDLE_S}\n" if ui is not None else ""
    config = terminal_for(work, home, site, extra, publish=False)
    script: list[tuple[str | None, float]] = []
    for step in steps:
        script += [(step.text, show_s), (None, gap_s)]
    live = importlib.import_module("hw_sim.live") if ui is not None else None
    scenario: Any = live.LiveScenario.from_script(script) if live is not None else script
    devices = open_devices(config, scenario=scenario, scale=scale)
    sim = devices.sim
    assert sim is not None, "hardware = 'sim' always has a simulator handle"
    collector = StepCollector(steps, out, sim)
    service = build_service(config, devices=devices)
    service.pipeline.add_observer(collector)
    run = DemoRun(steps, sim.recorder, service, devices, collector.stray, False, config)
    if ui is None or live is None:
        run.completed = _play(service, sim, steps, collector)
        return run
    view = live.SimView(sim, scenario, sim_codes(steps, home, site), fps=config.camera.fps)
    from terminal.display.server import DisplayServer

    server = DisplayServer(config, listen=ui.listen, sim=view).start()
    if out is not None:
        print(f"  staff screen: {server.url}   simulator: {server.url}sim   status: "
              f"{server.url}status   metrics: {server.url}metrics", file=out, flush=True)
    try:

        def ended(completed: bool) -> None:
            run.completed = completed
            if on_scripted_end is not None:
                on_scripted_end(run)

        _play(service, sim, steps, collector,
              after=_hold(service, ui.hold, out, server.url), on_end=ended)
    finally:
        server.stop()
    return run


def sim_codes(steps: list[Step], home: Any, site: str) -> dict[str, Callable[[], str]]:
    """What the simulator view's code buttons show: a freshly issued valid code (each press, so
    anti-passback does not deny it), and the scenario's expired, forged and revoked codes."""
    by_reason = {step.reason: step.text for step in steps}
    ctype, status = ("insurance", None) if site == "pharmacy" else ("health", "green")

    def valid() -> str:
        return str(home.issue(ctype, "王小明", "110101199003071234", status=status,
                              now=int(SYSTEM.time())))

    codes: dict[str, Callable[[], str]] = {"valid": valid, "glare": valid}
    for action, reason in (("expired", Reason.EXPIRED), ("forged", Reason.SIGNATURE_INVALID),
                           ("revoked", Reason.REVOKED)):
        codes[action] = _constant(by_reason[reason])
    return codes


def _constant(text: str) -> Callable[[], str]:
    return lambda: text


def _hold(service: Any, hold: float | None, out: TextIO | None, url: str) -> Callable[[], bool]:
    """``after`` for :func:`_play`: true once ``hold`` seconds passed after the scenario (never
    without ``hold``: SIGINT/SIGTERM stop the daemon)."""
    state: dict[str, float] = {}

    def after() -> bool:
        now = service.clock.monotonic()
        if "start" not in state:
            state["start"] = now
            if out is not None:
                left = "until Ctrl-C" if hold is None else f"for {hold:g} s"
                print(f"  still serving {url} {left}: present more codes at {url}sim",
                      file=out, flush=True)
        return hold is not None and now - state["start"] >= hold

    return after


def run(site: str = "checkpoint", out_dir: str | None = None, *, out: TextIO = sys.stdout,
        show_s: float | None = None, gap_s: float | None = None, scale: float | None = None,
        ui: UiOptions | None = None) -> int:
    """Run the demo and print it; 0 when every step got its expected decision, 4 otherwise.

    With ``ui`` (``--ui``) the steps play slower, the staff screen and simulator view are served
    meanwhile, and the report is printed as soon as the scripted steps are over.
    """
    slow = ui is not None
    show_s = show_s if show_s is not None else UI_SHOW_S if slow else SHOW_S
    gap_s = gap_s if gap_s is not None else UI_GAP_S if slow else GAP_S
    scale = scale if scale is not None else UI_SCALE if slow else SCALE
    # absolute: the demo config names its files and is read from inside ``work``
    work = Path(out_dir).resolve() if out_dir else Path(tempfile.mkdtemp(prefix="scanpoint-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    keep = work if out_dir else None
    failures: list[int] = []
    try:
        print(f"scanpoint demo — site {site}, simulated camera and GPIO, files in "
              f"{work if out_dir else 'a temporary folder'}", file=out)
        print(f"  {'signal':<7} {'decision':<5} {'reason':<18} {'latency':>8}   step", file=out)
        result = play(site, work, out=out, show_s=show_s, gap_s=gap_s, scale=scale, ui=ui,
                      on_scripted_end=lambda r: failures.append(report(r, site, out, keep)))
        try:
            if ui is None:
                failures.append(report(result, site, out, keep))
            elif not failures:        # stopped before the scripted steps were over
                failures.append(len(result.steps))
        finally:
            result.devices.close()     # mock GPIO released even if printing the run fails
        return Exit.OK if sum(failures) == 0 else Exit.FAILURE
    finally:
        if not out_dir:
            shutil.rmtree(work, ignore_errors=True)


def report(result: DemoRun, site: str, out: TextIO, keep: Path | None) -> int:
    """Print the table of steps (expected and got, what the outputs did), the latency and, at a
    pharmacy, the slips; returns the number of failures."""
    recorder = result.recorder
    print("", file=out)
    print(f"  {'step':<34} {'expected':<24} {'got':<24} outputs", file=out)
    failures = 0
    for step in result.steps:
        got = [f"{e.result.decision.value} {e.result.reason.value}" for e in step.events]
        expected = f"{step.decision.value} {step.reason.value}"
        good = got == [expected]
        failures += not good
        print(f"  {'ok ' if good else 'BAD'} {step.label:<30} {expected:<24} "
              f"{', '.join(got) or 'nothing':<24} "
              f"{_outputs_during(recorder, step.start, step.end)}", file=out)
    latencies = sorted(e.latency for s in result.steps for e in s.events
                       if e.latency is not None)
    if latencies:
        median = latencies[len(latencies) // 2]
        print(f"\n  latency frame->LED: median {median * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms; outputs off after stop: "
              f"{not any(recorder.states().values())}", file=out)
    failures += len(result.stray) + (not result.completed)
    if site == "pharmacy":
        failures += not show_slips(result, out, keep=keep)
    print("demo passed" if failures == 0 else f"demo FAILED: {failures} step(s) wrong",
          file=out, flush=True)
    return failures


def show_slips(result: DemoRun, out: TextIO, keep: Path | None) -> bool:
    """Print the slips the virtual printer cut, as text, and say where their PNGs are.

    Without ``--out`` the PNGs are copied to a fresh folder that outlives the demo. Returns
    whether every decision printed a slip.
    """
    printer = result.devices.sim.printer if result.devices.sim is not None else None
    if printer is None:
        print("\n  no slip printer configured", file=out)
        return False
    decided = sum(len(step.events) for step in result.steps) + len(result.stray)
    printer.wait_for(decided, timeout=5.0)     # with --ui the scanner is still printing
    slips = printer.slips
    print(f"\n  slips printed on the virtual printer: {len(slips)} of {decided} decisions", file=out)
    for slip in slips:
        print("", file=out)
        print("\n".join(("    " + line).rstrip() for line in slip.text.splitlines()), file=out)
    pngs = [slip.png_path for slip in slips if slip.png_path is not None]
    if pngs:
        folder = keep / "state" / "slips" if keep else Path(tempfile.mkdtemp(prefix="scanpoint-slips-"))
        if not keep:
            for png in pngs:
                shutil.copy(png, folder / png.name)
        print(f"\n  slip images: {folder} ({len(pngs)} PNG files)", file=out)
    note = printer.png_note
    if note:
        print(f"  note: {note}", file=out)
    return len(slips) == decided


def _play(service: Any, sim: Any, steps: list[Step], collector: StepCollector, *,
          after: Callable[[], bool] | None = None,
          on_end: Callable[[bool], None] | None = None) -> bool:
    """Run the service until the scenario ends, tracking which step is on camera; then, if
    ``after`` is given, on until ``after()`` is true (``on_end`` runs, in a thread of its own,
    when the scripted steps are over, told whether every step played).

    Scenario entries alternate: step i's code is entry 2*i, the empty scene after it 2*i+1.
    """
    state = {"i": -1, "done": False}

    def until() -> bool:
        if state["done"]:
            return after is not None and after()
        if sim.finished():
            if after is None:
                return True
            state["done"] = True
            if 0 <= state["i"] < len(steps):
                steps[state["i"]].end = service.clock.monotonic()
            collector.current = None       # later decisions (the view's buttons) are not steps
            if on_end is not None:
                threading.Thread(target=on_end, args=(state["i"] >= len(steps) - 1,),
                                 name="demo-report", daemon=True).start()
            return after()
        position = sim.step_index()
        if position is None:
            return False
        step_index = position // 2
        if step_index != state["i"]:
            now = service.clock.monotonic()
            if 0 <= state["i"] < len(steps):
                steps[state["i"]].end = now
            state["i"] = step_index
            if step_index < len(steps):
                steps[step_index].start = now
                collector.current = steps[step_index]
        return False

    service.run(install_signal_handlers=True, until=until)
    if 0 <= state["i"] < len(steps) and not state["done"]:
        steps[state["i"]].end = service.clock.monotonic()
    return state["i"] >= len(steps) - 1
