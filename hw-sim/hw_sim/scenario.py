"""Scripted camera scenarios: a list of steps such as "show this QR text for 1500 ms, then nothing".

Steps: :class:`Show` (a code in view), :class:`Nothing` (empty scene), :class:`Glare` (a code under
a reflection), :class:`Stall` (the camera delivers no frames), :class:`Disappear` (the camera is
unplugged), :class:`Garbage` (broken frames), :class:`Picture` (an image file) and :class:`Scan`
(a code read by the 2D reader: the virtual reader sends it, the camera sees nothing). A scenario is a
frame source for :class:`hw_sim.camera.SimCamera`: it answers "what does the camera see ``t``
seconds in?", and :meth:`Scenario.scan_times` tells :class:`hw_sim.reader.ScanFeeder` when to
scan. Frames of a step are rendered in a few variants (small hand shake, fresh sensor noise) and
reused, so replay is cheap and deterministic.

Rendering is lazy, with a bounded cache: a step's frames are drawn when its time comes (the next
:data:`LOOKAHEAD` steps ahead of it in a background thread, so a frame is ready when it is due)
and at most :data:`CACHE_FRAMES` drawn frames are kept, least recently shown dropped first. Memory
stays flat however long the scenario is: an hour-long soak costs what a minute does.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hw_sim.faults import GARBAGE_KINDS, garbage_frame
from hw_sim.render import HEIGHT, WIDTH, Look, blank, draw, glare
from terminal.errors import CameraMissing, ConfigError

VARIANTS = 4  # renderings per step, cycled frame by frame
CACHE_FRAMES = 48
"""Drawn frames kept (~15 MB at 640×480): the steps in view and ahead, with room for garbage."""
LOOKAHEAD = 2
"""Steps drawn ahead of the one in view, in the background."""


@dataclass(frozen=True)
class Show:
    """The QR code of ``text`` in view for ``ms`` milliseconds, held by a slightly shaking hand."""

    text: str
    ms: float
    look: Look = Look()
    shake: float = 1.5  # degrees of rotation jitter between frames


@dataclass(frozen=True)
class Nothing:
    """An empty scene for ``ms`` milliseconds."""

    ms: float


@dataclass(frozen=True)
class Glare:
    """The code of ``text`` (or nothing) with a bright reflection across it, ``strength`` 0..1."""

    text: str | None
    ms: float
    strength: float = 0.9
    look: Look = Look()


@dataclass(frozen=True)
class Stall:
    """The camera delivers no frames for ``ms`` milliseconds (a hung driver or cable glitch)."""

    ms: float


@dataclass(frozen=True)
class Disappear:
    """The camera is gone (unplugged) for ``ms`` milliseconds: reads and re-opens fail."""

    ms: float


@dataclass(frozen=True)
class Garbage:
    """Broken frames (``kind`` from :data:`hw_sim.faults.GARBAGE_KINDS`) for ``ms`` milliseconds."""

    ms: float
    kind: str = "noise"


@dataclass(frozen=True)
class Picture:
    """An image file (a photo of a code) in view for ``ms`` milliseconds."""

    path: str
    ms: float


@dataclass(frozen=True)
class Scan:
    """The 2D reader reads ``text`` at the step's start — ``repeat`` times, ``every_ms`` apart,
    as a reader in continuous mode resends a code held under it; the camera sees nothing."""

    text: str
    ms: float
    repeat: int = 1
    every_ms: float = 100.0


Step = Show | Nothing | Glare | Stall | Disappear | Garbage | Picture | Scan


@dataclass
class Scenario:
    """An ordered list of steps. After the last step the scene is empty (or it starts over with
    ``loop``). ``seed`` fixes every random choice."""

    steps: list[Step]
    loop: bool = False
    seed: int = 0
    width: int = WIDTH
    height: int = HEIGHT
    _cache: OrderedDict[tuple[int, int], np.ndarray] = field(default_factory=OrderedDict,
                                                             repr=False)
    _blank: list[np.ndarray] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for step in self.steps:
            if not (math.isfinite(step.ms) and step.ms > 0):
                raise ConfigError(f"scenario step {step} must last a finite time of more than "
                                  "0 ms")
            if isinstance(step, Scan) and (step.repeat < 1 or not math.isfinite(step.every_ms)
                                           or step.every_ms <= 0):
                raise ConfigError(f"scenario step {step}: repeat must be >= 1, every_ms > 0")
            if isinstance(step, Picture):
                _check_picture(step.path)          # now, not when its frame is drawn
        self._starts = np.cumsum([0.0] + [s.ms / 1000.0 for s in self.steps])
        self._lock = threading.Lock()
        self._wanted: list[int] = []             # steps to draw ahead, in order
        self._drawing: threading.Thread | None = None
        self._ahead_of = -1

    @property
    def duration(self) -> float:
        """Seconds from the first step's start to the last step's end."""
        return float(self._starts[-1])

    def step_at(self, t: float) -> tuple[int, Step | None, float]:
        """(index, step, seconds into it) at ``t`` s; (len(steps), None, ...) once it has ended."""
        if self.loop and self.duration > 0:
            t = t % self.duration
        index = int(np.searchsorted(self._starts, t + 1e-9, side="right")) - 1  # frame times
        # are sums of 1/fps: the epsilon keeps a frame due exactly at a step boundary in the new step
        if index >= len(self.steps) or index < 0:
            return len(self.steps), None, t - self.duration
        return index, self.steps[index], t - float(self._starts[index])

    def position(self, t: float) -> int | None:
        """Index of the step in view at ``t`` s, or None once the scenario has ended."""
        index, step, _ = self.step_at(t)
        return None if step is None else index

    def finished(self, t: float) -> bool:
        """True once every step has played (never for a looping scenario); the same boundary
        rule as :meth:`step_at`."""
        return not self.loop and t + 1e-9 >= self.duration

    def scan_times(self) -> list[tuple[float, str]]:
        """``(seconds from the start, text)`` of every read the reader makes (one pass, even
        for a looping scenario)."""
        times = []
        for start, step in zip(self._starts[:-1], self.steps, strict=True):
            if isinstance(step, Scan):
                times += [(float(start) + k * step.every_ms / 1000.0, step.text)
                          for k in range(step.repeat)]
        return times

    def available(self, t: float) -> bool:
        """False while a :class:`Disappear` step is in force (the camera cannot be opened)."""
        return not isinstance(self.step_at(t)[1], Disappear)

    # --- the frame-source interface used by SimCamera -----------------------------------------
    def frame_at(self, t: float, index: int) -> np.ndarray | None:
        """What the camera sees at ``t`` s (frame number ``index``): an image, None for no frame,
        or :class:`CameraMissing` raised while the camera is gone."""
        number, step, _ = self.step_at(t)
        variant = index % VARIANTS
        if step is None or isinstance(step, (Nothing, Scan)):
            return self._nothing(variant)
        if isinstance(step, Stall):
            return None
        if isinstance(step, Disappear):
            raise CameraMissing("camera disconnected (scenario step 'disappear'): check the cable")
        self._look_ahead(number)
        return self._frame(step, number, variant if not isinstance(step, Garbage) else index % 16)

    def prerender(self) -> None:
        """Draw the first steps now, before the timeline starts (a real camera does not spend
        10-30 ms drawing a frame after it arrived); later steps are drawn ahead as the
        scenario plays."""
        self._nothing(0)
        for number in self._drawable(0, LOOKAHEAD + 1):
            for variant in range(VARIANTS):
                self._frame(self.steps[number], number, variant)

    @property
    def cached_frames(self) -> int:
        """How many drawn frames are held now (at most :data:`CACHE_FRAMES`)."""
        with self._lock:
            return len(self._cache)

    def _frame(self, step: Step, number: int, variant: int) -> np.ndarray:
        """The drawn frame, from the cache or drawn now (and kept, least recent dropped)."""
        key = (number, variant)
        with self._lock:
            frame = self._cache.get(key)
            if frame is not None:
                self._cache.move_to_end(key)
                return frame
        frame = self._render(step, number, variant)
        with self._lock:
            self._cache[key] = frame
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_FRAMES:
                self._cache.popitem(last=False)
        return frame

    def _drawable(self, start: int, count: int) -> list[int]:
        """Indexes of up to ``count`` steps from ``start`` that have frames to draw."""
        found: list[int] = []
        n = start
        while len(found) < count and n < len(self.steps):
            if isinstance(self.steps[n], (Show, Glare, Picture)):
                found.append(n)
            n += 1
        return found

    def _look_ahead(self, number: int) -> None:
        """Have the next drawable steps after ``number`` drawn in the background."""
        if number == self._ahead_of:
            return
        self._ahead_of = number
        wanted = self._drawable(number + 1, LOOKAHEAD)
        if self.loop and len(wanted) < LOOKAHEAD:
            wanted += self._drawable(0, LOOKAHEAD - len(wanted))
        with self._lock:
            self._wanted = wanted
            if self._drawing is None or not self._drawing.is_alive():
                self._drawing = threading.Thread(target=self._draw_ahead, daemon=True,
                                                 name="hw-sim-scenario-ahead")
                self._drawing.start()

    def _draw_ahead(self) -> None:
        """Background: draw the wanted steps' variants, then end (restarted when needed)."""
        while True:
            with self._lock:
                if not self._wanted:
                    self._drawing = None
                    return
                number = self._wanted.pop(0)
                missing = [v for v in range(VARIANTS) if (number, v) not in self._cache]
            for variant in missing:
                self._frame(self.steps[number], number, variant)

    def _rng(self, *parts: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *parts])

    def _nothing(self, variant: int) -> np.ndarray:
        if not self._blank:
            self._blank = [blank(self.width, self.height, rng=self._rng(999_999, v))
                           for v in range(VARIANTS)]
        return self._blank[variant]

    def _render(self, step: Step, number: int, variant: int) -> np.ndarray:
        rng = self._rng(number, variant)
        if isinstance(step, Show):
            look = replace(step.look, angle=step.look.angle + float(rng.uniform(-step.shake, step.shake)))
            return draw(step.text, look=look, width=self.width, height=self.height, rng=rng)
        if isinstance(step, Glare):
            base = (draw(step.text, look=step.look, width=self.width, height=self.height, rng=rng)
                    if step.text else blank(self.width, self.height, rng=rng))
            return glare(base, strength=step.strength, rng=rng)
        if isinstance(step, Garbage):
            return garbage_frame(step.kind, (self.height, self.width), rng)
        if isinstance(step, Picture):
            from drivers.images import load_gray

            return load_gray(step.path)
        raise TypeError(f"not a scenario step: {step!r}")  # pragma: no cover

    # --- building from data ----------------------------------------------------------------------
    @classmethod
    def from_list(cls, items: Iterable[Mapping[str, Any]], *, loop: bool = False,
                  seed: int = 0) -> Scenario:
        """A scenario from plain data, e.g. ``[{"show": "NC1:...", "ms": 1500}, {"nothing": 500}]``.

        Keys: ``show`` (text, with ``ms`` and optional ``look`` table of :class:`Look` fields),
        ``nothing``/``stall``/``disappear`` (their value is the milliseconds), ``glare`` (text or
        null, ``ms``, ``strength``), ``garbage`` (ms, ``kind``), ``picture`` (path, ``ms``),
        ``scan`` (text read by the 2D reader, ``ms``, optional ``repeat`` and ``every_ms``).
        """
        return cls([_step(item, n) for n, item in enumerate(items)], loop=loop, seed=seed)

    @classmethod
    def from_script(cls, script: Iterable[tuple[str | None, float]], *, loop: bool = False,
                    seed: int = 0, look: Look | None = None) -> Scenario:
        """A scenario from ``(text, seconds)`` pairs: the code of ``text`` in view for that long,
        or nothing in view where ``text`` is None."""
        look = look if look is not None else Look()
        steps: list[Step] = [Show(text, seconds * 1000.0, look) if text is not None
                             else Nothing(seconds * 1000.0) for text, seconds in script]
        return cls(steps, loop=loop, seed=seed)

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """A scenario file: JSON (a list, or ``{"steps": [...], "loop": false, "seed": 0}``) or
        TOML (``[[steps]]`` tables, optional ``loop`` and ``seed``)."""
        path = Path(path)
        try:
            if path.suffix == ".toml":
                import tomllib

                data: Any = tomllib.loads(path.read_text())
            else:
                data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read scenario {path}: {exc}") from exc
        if isinstance(data, list):
            data = {"steps": data}
        unknown = set(data) - {"steps", "loop", "seed"}
        if unknown or "steps" not in data:
            raise ConfigError(f"scenario {path} needs 'steps' (and optionally 'loop', 'seed'); "
                              f"unknown: {sorted(unknown)}")
        return cls.from_list(data["steps"], loop=bool(data.get("loop", False)),
                             seed=int(data.get("seed", 0)))


def _check_picture(path: str) -> None:
    """A picture step's file must be usable (name, existence, pixel cap) when the scenario is
    made: frames are drawn lazily, and a bad file must fail at start, not mid-run."""
    from drivers import images

    problem = images.utf8_name_problem(path)
    if problem is None and not Path(path).is_file():
        problem = f"image not found: {path}"
    if problem is None:
        try:
            images.check_size(Path(path))
        except images.ImageUnreadable as exc:
            problem = str(exc)
    if problem is not None:
        raise ConfigError(f"scenario picture step: {problem}")


_SIMPLE: dict[str, type[Nothing] | type[Stall] | type[Disappear]] = {
    "nothing": Nothing, "stall": Stall, "disappear": Disappear}


def _step(item: Mapping[str, Any], n: int) -> Step:
    where = f"scenario step {n + 1}"
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a table, got {item!r}")
    kinds = [k for k in ("show", "nothing", "glare", "stall", "disappear", "garbage", "picture",
                         "scan") if k in item]
    if len(kinds) != 1:
        raise ConfigError(f"{where} needs exactly one of show, nothing, glare, stall, disappear, "
                          f"garbage, picture, scan; got {sorted(item)}")
    kind = kinds[0]
    allowed = {kind, "ms", "look", "strength", "kind", "shake", "repeat", "every_ms"}
    unknown = set(item) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    try:
        if kind in _SIMPLE:
            return _SIMPLE[kind](float(item.get("ms", item[kind])))
        ms = float(item["ms"] if kind != "garbage" else item.get("ms", item["garbage"]))
        look = Look(**item.get("look", {}))
        if kind == "show":
            return Show(str(item["show"]), ms, look, float(item.get("shake", 1.5)))
        if kind == "scan":
            return Scan(str(item["scan"]), ms, int(item.get("repeat", 1)),
                        float(item.get("every_ms", 100.0)))
        if kind == "glare":
            text = item["glare"]
            return Glare(None if text in (None, "") else str(text), ms,
                         float(item.get("strength", 0.9)), look)
        if kind == "garbage":
            garbage_kind = str(item.get("kind", "noise"))
            if garbage_kind not in GARBAGE_KINDS:
                raise ConfigError(f"{where}: unknown garbage kind {garbage_kind!r}")
            return Garbage(ms, garbage_kind)
        return Picture(str(item["picture"]), ms)
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from exc
