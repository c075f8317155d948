"""The live simulator behind ``scanpoint demo --ui``: scenes presented while it runs, and its view.

:class:`LiveScenario` is a :class:`~hw_sim.scenario.Scenario` that takes more steps while it
plays: :meth:`LiveScenario.present` puts a step in front of the camera now (or after the steps
still to come). :class:`SimView` is what the display's ``/sim`` page shows and does: the frame
the simulated camera sees with the decoded code outlined, the LED/buzzer/relay pins as they
change, the slips the virtual printer cut, and buttons that present a scene (a valid, expired,
forged or revoked code, glare, an unplugged camera) or run the printer out of paper.

A button only changes what the simulated *camera sees* or the virtual *printer's paper*: the
relay is driven by the pipeline's decision, as on a real terminal.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hw_sim.scenario import VARIANTS, Disappear, Glare, Nothing, Scenario, Show, Step
from terminal.errors import CameraMissing


@dataclass
class LiveScenario(Scenario):
    """A scenario that grows while it plays; safe to extend from another thread."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._steps_lock = threading.Lock()      # the step list (the base's _lock: its frames)
        self._present_lock = threading.Lock()

    def step_at(self, t: float) -> tuple[int, Step | None, float]:
        with self._steps_lock:
            return super().step_at(t)

    def present(self, steps: list[Step], at: float) -> float:
        """Show ``steps`` from ``at`` seconds on the camera's timeline (or, if earlier steps are
        still to play, right after them); returns when the first one starts. Frames are drawn
        here, before the steps go live, so the scanner's loop never waits for drawing."""
        with self._present_lock:
            start = max(at, self.duration)
            gap = [Nothing((start - self.duration) * 1000.0)] if start > self.duration + 1e-6 else []
            first = len(self.steps) + len(gap)
            for offset, step in enumerate(steps):
                if isinstance(step, (Show, Glare)):
                    for variant in range(VARIANTS):
                        self._frame(step, first + offset, variant)
            new_steps = [*self.steps, *gap, *steps]
            starts = np.cumsum([0.0] + [s.ms / 1000.0 for s in new_steps])
            with self._steps_lock:
                self.steps = new_steps
                self._starts = starts
            return float(start)


ACTIONS: tuple[tuple[str, str], ...] = (
    ("valid", "有效码 · Valid code"),
    ("expired", "过期码 · Expired code"),
    ("forged", "伪造码 · Forged code"),
    ("revoked", "已撤销码 · Revoked code"),
    ("glare", "反光 · Code under glare"),
    ("unplug", "拔出摄像头 · Camera unplugged"),
    ("paper", "打印机缺纸 · Printer out of paper"),
    ("refill", "装纸 · Refill the printer"),
)
CODE_ACTIONS = ("valid", "expired", "forged", "revoked", "glare")


class SimView:
    """The simulator as the display's ``/sim`` page sees it (``terminal.display.app.SimView``).

    ``handle`` is the :class:`terminal.daemon.devices.SimHandle` of the running simulator,
    ``scenario`` the :class:`LiveScenario` its camera plays, and ``codes`` the QR text to show for
    each code action (called at each press: a "valid" code is freshly issued every time).
    """

    def __init__(self, handle: Any, scenario: LiveScenario, codes: Mapping[str, Callable[[], str]],
                 *, show_s: float = 1.0, gap_s: float = 1.0, unplug_s: float = 3.0,
                 fps: float = 30.0) -> None:
        self.handle = handle
        self.scenario = scenario
        self.codes = dict(codes)
        self.show_s, self.gap_s, self.unplug_s, self.fps = show_s, gap_s, unplug_s, fps

    # -- buttons -------------------------------------------------------------------------------
    def actions(self) -> list[dict[str, str]]:
        """The buttons this run offers (printer ones only with the virtual printer)."""
        printer = self.handle.printer is not None
        return [{"name": name, "label": label} for name, label in ACTIONS
                if (name in self.codes if name in CODE_ACTIONS
                    else printer if name in ("paper", "refill") else True)]

    def present(self, action: str) -> str:
        """Do one button's action; :class:`KeyError` for an action this run does not offer."""
        if action not in {a["name"] for a in self.actions()}:
            raise KeyError(action)
        at = self.handle.elapsed() or 0.0
        if action in CODE_ACTIONS:
            text = self.codes[action]()
            shown: Step = (Glare(text, self.show_s * 1000.0, strength=0.8) if action == "glare"
                           else Show(text, self.show_s * 1000.0))
            start = self.scenario.present([shown, Nothing(self.gap_s * 1000.0)], at)
            return f"{action} code in view at t={start:.1f} s for {self.show_s:g} s"
        if action == "unplug":
            start = self.scenario.present([Disappear(self.unplug_s * 1000.0)], at)
            return f"camera unplugged at t={start:.1f} s for {self.unplug_s:g} s"
        if action == "paper":
            self.handle.printer.run_out_of_paper()
            return "the printer ran out of paper: slips wait in the queue"
        self.handle.printer.refill()
        return "new paper roll loaded: waiting slips print"

    # -- what the page polls -------------------------------------------------------------------
    def scene(self) -> str:
        """What the camera faces now, in a few words."""
        elapsed = self.handle.elapsed()
        if elapsed is None:
            return "camera not opened yet"
        _, step, _ = self.scenario.step_at(elapsed)
        if isinstance(step, Show):
            return "a code in view"
        if isinstance(step, Glare):
            return "a code under glare"
        if isinstance(step, Disappear):
            return "camera unplugged"
        return "nothing in view"

    def state(self, since: float) -> dict[str, Any]:
        """Pins now, their changes after ``since`` (seconds on the recorder's clock), the scene
        and the number of slips printed."""
        recorder = self.handle.recorder
        changes, last = [], dict.fromkeys(recorder.states(), False)
        for change in recorder.events():       # a pin set to the state it has is no change
            if change.on != last.get(change.output):
                last[change.output] = change.on
                t = round(change.t, 4)          # the page sends back the rounded time
                if t > since:
                    changes.append({"t": t, "output": change.output, "on": change.on})
        printer = self.handle.printer
        return {"now": round(time.monotonic() - recorder.start, 4), "pins": recorder.states(),
                "changes": changes[-100:], "scene": self.scene(),
                "slips": len(printer.slips) if printer is not None else 0,
                "paper": None if printer is None else not printer.out_of_paper}

    def frame_jpeg(self) -> bytes:
        """The frame the camera sees now as a JPEG, each decodable code outlined."""
        from PIL import Image, ImageDraw

        elapsed = self.handle.elapsed()
        image: np.ndarray | None = None
        label = ""
        if elapsed is None:
            label = "camera not opened yet"
        else:
            index = math.floor(elapsed * self.fps + 1e-9)
            try:
                image = self.handle.source.frame_at(index / self.fps, index)
            except CameraMissing:
                label = "camera unplugged"
            if image is None and not label:
                label = "no frame (stalled)"
        if image is None or image.ndim != 2 or min(image.shape) < 16:
            picture = Image.new("RGB", (640, 480), (20, 20, 20))
            ImageDraw.Draw(picture).text((24, 220), label or "no picture", fill=(240, 240, 240))
        else:
            picture = Image.fromarray(image).convert("RGB")
            draw = ImageDraw.Draw(picture)
            for corners in locate(image):
                draw.line([*corners, corners[0]], fill=(0, 200, 255), width=4)
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=80)
        return out.getvalue()

    def slip_png(self, number: int) -> bytes | None:
        """The PNG of the ``number``-th slip printed (0 first), or None."""
        printer = self.handle.printer
        if printer is None or not 0 <= number < len(printer.slips):
            return None
        path = printer.slips[number].png_path
        return path.read_bytes() if path is not None and path.exists() else None


def locate(image: np.ndarray) -> list[list[tuple[float, float]]]:
    """The corner points of each QR code zxing-cpp reads in ``image`` (for outlining)."""
    import zxingcpp

    found = []
    for barcode in zxingcpp.read_barcodes(image):
        p = barcode.position
        found.append([(float(q.x), float(q.y)) for q in (p.top_left, p.top_right,
                                                         p.bottom_right, p.bottom_left)])
    return found
