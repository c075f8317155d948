"""Retries for frames the first decoder pass could not read, only where something code-like is.

A gate camera sees nothing most of the time, so a frame's first pass must be cheap and a retry must
be earned. :func:`find_code` looks for code-scale texture (≈0.1 ms at 640×480, numpy only): four
pixels of every 4×4 cell are summed, and each 32×32-pixel block scores how much neighbouring
samples differ across *and* along the rows — a QR code's modules do both, a wall or a door frame's
edge does one, and sensor noise scores about the same everywhere. A region counts as code-like
when it stands out from the frame's own median block by several spreads of the quieter half, or is
very busy whatever the rest does (a code filling the view); its bounding box is where retries look.

:class:`Escalation` then tries the steps of :data:`STEPS` on that region as long as the per-frame
time budget lets the next step finish (its cost estimated from its own recent runs, per pixel):
denoise (3×3 box mean) for dim noisy screens, 2× upscaling for small codes, local contrast
normalisation where a reflection clips white, an inverted pass for dark-mode screens, a global
threshold, and — when the scene has stayed still — the average of its last frames, which divides
sensor noise by √n. A step the budget cannot afford this frame is where the next frame starts, so
a code held in view gets every retry within a few frames without any frame running late; a still
scene that stays unreadable through all of them is left alone until it changes. A budget of 0 turns
retries off. Everything here is numpy: the daemon never needs OpenCV to read a frame.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

log = logging.getLogger("scanpoint.decoder")

#: Side of the gate's blocks in pixels (8 samples taken every 4 pixels).
BLOCK = 32
#: A block is code-like when its activity exceeds the frame's median by this many spreads of the
#: quieter half of the blocks (sensor noise and plain background)...
SPREAD_FACTOR = 4.0
#: ...and by this share of the median, and by at least this many gray levels...
RELATIVE_MARGIN = 0.25
ABSOLUTE_MARGIN = 1.5
#: ...or when it is this busy in both directions whatever the rest of the frame does (a code
#: filling most of the view leaves no quiet background to stand out from).
BUSY_LEVEL = 28.0
#: Below this many pixels (≈ 320×320) too few blocks are background for the median to describe
#: it, and retries cost little: any region this busy counts.
SMALL_FRAME = 100_000
SMALL_BUSY_LEVEL = 12.0
#: A still scene that stays code-like but unreadable through this many rounds of every retry (and
#: the averaging of a full set of frames) is left alone until it changes (a poster, a keyboard):
#: no CPU spent on it frame after frame.
GIVE_UP_ROUNDS = 2
#: The region spans blocks above this share of the way from the median to the peak.
EXTENT_SHARE = 0.35
#: Default per-frame time budget of all retries together (ms); ``[decoder] budget_ms``.
DEFAULT_BUDGET_MS = 25.0
#: Default number of still frames averaged; ``[decoder] average_frames`` (1 turns it off).
DEFAULT_AVERAGE_FRAMES = 4


@dataclass(frozen=True)
class Region:
    """Where something code-like is: pixel rows ``top:bottom`` and columns ``left:right``;
    ``peak`` and ``floor`` are the strongest and the median block activity (gray levels)."""

    top: int
    bottom: int
    left: int
    right: int
    peak: float = 0.0
    floor: float = 0.0

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.top:self.bottom, self.left:self.right]

    @property
    def pixels(self) -> int:
        return max(0, self.bottom - self.top) * max(0, self.right - self.left)

    def size(self) -> tuple[int, int]:
        return self.bottom - self.top, self.right - self.left


# --------------------------------------------------------------------------------------------
# The gate


def _samples(gray: np.ndarray) -> np.ndarray:
    """The four pixels on the diagonal of every 4×4 cell, summed (int16): sensor noise drops by
    half while a code's modules (1.5 px and up) still differ from cell to cell."""
    h, w = (gray.shape[0] // 4) * 4, (gray.shape[1] // 4) * 4
    s = np.add(gray[0:h:4, 0:w:4], gray[1:h:4, 1:w:4], dtype=np.int16)
    s += gray[2:h:4, 2:w:4]
    s += gray[3:h:4, 3:w:4]
    return s


def block_activity(samples: np.ndarray) -> np.ndarray:
    """Per 32×32-pixel block: the smaller of the mean absolute differences between horizontally
    and vertically neighbouring samples, in gray levels (edges score in one direction only)."""
    h, w = samples.shape
    bh, bw = h // 8, w // 8
    s = samples[:bh * 8, :bw * 8]
    dx = np.empty_like(s)
    np.subtract(s[:, 1:], s[:, :-1], out=dx[:, :-1])
    dx[:, -1] = 0
    np.abs(dx, out=dx)
    dy = np.empty_like(s)
    np.subtract(s[1:], s[:-1], out=dy[:-1])
    dy[-1] = 0
    np.abs(dy, out=dy)
    ax = dx.reshape(bh, 8, bw * 8).sum(axis=1, dtype=np.int32).reshape(bh, bw, 8).sum(axis=2)
    ay = dy.reshape(bh, 8, bw * 8).sum(axis=1, dtype=np.int32).reshape(bh, bw, 8).sum(axis=2)
    return np.minimum(ax, ay) * (1.0 / 256.0)   # 64 differences of 4-sample sums per block


def _smooth3(grid: np.ndarray) -> np.ndarray:
    p = np.pad(grid, 1, mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) * (1.0 / 9.0)


def _run(mask: np.ndarray, i: int) -> tuple[int, int]:
    """The contiguous run of True in a 1-D mask around index ``i``: [lo, hi)."""
    lo = i
    while lo > 0 and mask[lo - 1]:
        lo -= 1
    hi = i + 1
    while hi < len(mask) and mask[hi]:
        hi += 1
    return lo, hi


def _activity_map(samples: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The smoothed block activity, its median (noise and background) and the code-like bar."""
    act = _smooth3(block_activity(samples))
    flat = act.ravel()
    ranked = np.partition(flat, (flat.size // 4, flat.size // 2))
    quarter, floor = float(ranked[flat.size // 4]), float(ranked[flat.size // 2])
    spread = (floor - quarter) / 0.6745         # sigma of the quieter half, robustly
    bar = floor + max(SPREAD_FACTOR * spread, RELATIVE_MARGIN * floor, ABSOLUTE_MARGIN)
    return act, floor, min(bar, BUSY_LEVEL)


def find_code(gray: np.ndarray, samples: np.ndarray | None = None) -> Region | None:
    """The region of ``gray`` holding something code-like, or None for a frame without one.

    ``samples`` (from a previous call on the same frame) saves recomputing them. Frames smaller
    than two blocks are judged by their contrast alone, and the whole frame is the region.
    """
    h, w = gray.shape
    if h < 2 * BLOCK or w < 2 * BLOCK:
        if h == 0 or w == 0:
            return None
        spread = float(gray.max()) - float(gray.min())
        return Region(0, h, 0, w, spread, 0.0) if spread >= 40 else None
    if samples is None:
        samples = _samples(gray)
    act, floor, threshold = _activity_map(samples)
    if h * w < SMALL_FRAME:
        threshold = min(threshold, SMALL_BUSY_LEVEL)
    flat = int(np.argmax(act))
    pr, pc = divmod(flat, act.shape[1])
    peak = float(act[pr, pc])
    if peak <= threshold:
        return None
    hot = act > min(threshold, floor + EXTENT_SHARE * (peak - floor))
    c0, c1 = _run(hot[pr], pc)
    r0, r1 = _run(np.asarray(hot[:, c0:c1].any(axis=1)), pr)
    c0, c1 = _run(np.asarray(hot[r0:r1].any(axis=0)), pc)
    return Region(max(0, (r0 - 1) * BLOCK), min(h, (r1 + 1) * BLOCK),
                  max(0, (c0 - 1) * BLOCK), min(w, (c1 + 1) * BLOCK), peak, floor)


def region_around(points: list[tuple[float, float]], shape: tuple[int, int],
                  grow: float = 0.3) -> Region:
    """The box around a located symbol's corners, grown by ``grow`` of its size on each side
    (room for the quiet zone and a corner the detector placed a little short)."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    gx = (max(xs) - min(xs)) * grow + 4
    gy = (max(ys) - min(ys)) * grow + 4
    h, w = shape
    return Region(max(0, int(min(ys) - gy)), min(h, int(max(ys) + gy) + 1),
                  max(0, int(min(xs) - gx)), min(w, int(max(xs) + gx) + 1))


# --------------------------------------------------------------------------------------------
# Image operations (uint8 in, uint8 out)


def box3(image: np.ndarray) -> np.ndarray:
    """3×3 box mean (edges keep their pixels): halves sensor noise on a dim screen."""
    a = image.astype(np.uint16)
    out = a.copy()
    if a.shape[0] >= 3 and a.shape[1] >= 3:
        rows = a[:-2] + a[1:-1] + a[2:]
        out[1:-1, 1:-1] = (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:] + 4) // 9
    return out.astype(np.uint8)


def upscale2(image: np.ndarray) -> np.ndarray:
    """Bilinear 2× upscaling: a code at 1.5–2.5 px per module becomes one zxing can sample."""
    a = image.astype(np.uint16)
    h, w = a.shape
    if h < 2 or w < 2:
        return np.ascontiguousarray(image)
    out = np.empty((2 * h - 1, 2 * w - 1), np.uint16)
    out[0::2, 0::2] = a
    horizontal = a[:, :-1] + a[:, 1:]
    out[0::2, 1::2] = (horizontal + 1) >> 1
    out[1::2, 0::2] = (a[:-1] + a[1:] + 1) >> 1
    out[1::2, 1::2] = (horizontal[:-1] + horizontal[1:] + 2) >> 2
    return out.astype(np.uint8)


def _weights(n: int, cells: int, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For n pixels over ``cells`` cells of ``cell`` pixels: the cell on each pixel's left/top,
    the one after it, and the weight of the latter — linear interpolation between cell centres."""
    centres = (np.arange(cells) + 0.5) * cell
    x = np.clip(np.arange(n) + 0.5, centres[0], centres[-1])
    first = np.clip(np.searchsorted(centres, x) - 1, 0, max(cells - 2, 0))
    second = np.minimum(first + 1, cells - 1)
    t = ((x - centres[first]) / cell).astype(np.float32) if cells > 1 else np.zeros(n, np.float32)
    return first, second, t


def _upsample(grid: np.ndarray, h: int, w: int, cell: int) -> np.ndarray:
    """A (cells × cells) grid of values at cell centres, linearly interpolated to h × w pixels
    (separable and elementwise: a matrix product would hand this to BLAS threads, 50× slower
    on a busy 2-core machine)."""
    y0, y1, ty = _weights(h, grid.shape[0], cell)
    x0, x1, tx = _weights(w, grid.shape[1], cell)
    across = grid[:, x0] * (1.0 - tx) + grid[:, x1] * tx        # cells × w: small
    return across[y0] * (1.0 - ty)[:, None] + across[y1] * ty[:, None]   # whole-row copies


def local_contrast(image: np.ndarray, cell: int = 16) -> np.ndarray:
    """Stretch each neighbourhood between its own darkest and lightest level.

    A lamp's reflection adds light that fades across the code, so one global threshold fails and
    zxing's local one sees too little contrast near the bright patch. Per ``cell``×``cell``
    block take the min and max, widen them over the 3×3 neighbouring blocks (so every window
    holds both module colours), interpolate smoothly and map min → 0, max → 255.
    """
    h, w = image.shape
    if h < 2 * cell or w < 2 * cell:
        return np.ascontiguousarray(image)
    bh, bw = h // cell, w // cell
    strips = image[:bh * cell, :bw * cell].reshape(bh, cell, bw * cell)
    lo = strips.min(axis=1).reshape(bh, bw, cell).min(axis=2).astype(np.float32)
    hi = strips.max(axis=1).reshape(bh, bw, cell).max(axis=2).astype(np.float32)
    lo = _neighbourhood(lo, np.minimum)
    hi = _neighbourhood(hi, np.maximum)
    scale = 255.0 / np.maximum(hi - lo, 24.0)
    out = (image.astype(np.float32) - _upsample(lo, h, w, cell)) * _upsample(scale, h, w, cell)
    return np.clip(out, 0, 255).astype(np.uint8)


def _neighbourhood(grid: np.ndarray, pick: Callable) -> np.ndarray:
    p = np.pad(grid, 1, mode="edge")
    rows = pick(pick(p[:-2], p[1:-1]), p[2:])
    return pick(pick(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def invert(image: np.ndarray) -> np.ndarray:
    """Light modules on a dark screen (dark mode) turned into an ordinary code."""
    return 255 - image


# --------------------------------------------------------------------------------------------
# Steps and the escalation ladder


@dataclass(frozen=True)
class Step:
    """One retry: ``prepare`` turns the region's pixels into the image zxing reads; ``prior``
    is a pessimistic cost in seconds per region pixel until the step has run here once; ``when``
    (if set) says whether the region is worth this step at all."""

    name: str
    prepare: Callable[[np.ndarray], np.ndarray]
    prior: float
    max_side: int = 100_000       # skip regions larger than this (upscaling a big code is waste)
    binarizer: str | None = None
    when: Callable[[np.ndarray], bool] | None = None


def has_glare(image: np.ndarray) -> bool:
    """Whether at least 1 % of the region is clipped white (a reflection, not a lit screen)."""
    sample = image[::2, ::2]
    return bool(np.count_nonzero(sample >= 250) * 100 >= sample.size)


#: Every retry measured (``benchmarks/bench_hard_scenes.py`` prints what each reads that no
#: other does, and its cost).
CANDIDATES: tuple[Step, ...] = (
    Step("denoise", box3, 30e-9),
    Step("upscale", upscale2, 100e-9, max_side=400),
    Step("glare", local_contrast, 60e-9, when=has_glare),
    Step("invert", invert, 25e-9),
    Step("histogram", np.ascontiguousarray, 25e-9, binarizer="GlobalHistogram"),
    Step("denoise+upscale", lambda a: upscale2(box3(a)), 120e-9, max_side=400),
)

#: The retries a decoder runs by default, in this order: the ones that paid for themselves on the
#: hard scenes (frames only they read, per try): denoise (dim screens; most reads), upscale
#: (small, tilted, blurred codes), glare (a few glare frames; tried only where white clips),
#: invert (dark-mode screens, two real photos; cheap), histogram (cheap), average (still scenes:
#: most of the sequence gain). Dropped: "denoise+upscale" (read nothing the others did not).
DEFAULT_STEPS = ("denoise", "upscale", "glare", "invert", "histogram", "average")
STEPS: tuple[Step, ...] = tuple(s for s in CANDIDATES if s.name in DEFAULT_STEPS)

#: Cost prior of averaging still frames (seconds per region pixel, averaging plus one read).
AVERAGE_PRIOR = 40e-9
#: Costs are kept per pixel, counting a region as at least this many pixels: a read has a fixed
#: cost, so a tiny region's per-pixel figure would overstate a large one's many times.
MIN_COST_PIXELS = 128 * 128


@dataclass
class _Seen:
    gray: np.ndarray
    samples: np.ndarray
    region: Region


class Escalation:
    """The retries for one camera's frames, with their budget, cost estimates and statistics.

    ``read(image, binarizer_name_or_None) -> (texts, located_region_or_None)`` is the decoder's
    lean single-symbol pass. ``budget_ms`` bounds the time the steps may add to one frame (0: never
    escalate); ``average_frames`` is how many frames of a still scene may be averaged (1: none).
    ``gate=False`` treats every unread image as code-like, whole, and never gives up — for image
    files, where there is no camera to keep up with and no scene to follow. ``steps`` selects and
    orders the retries by name (benchmarks use it to measure each one's worth). ``timer`` is
    injectable for tests.

    Frames are kept by reference for averaging: a camera must hand out a new array per frame and
    never write into one it has delivered (every camera in ``drivers`` and ``hw_sim`` does so).
    """

    def __init__(self, read: Callable[[np.ndarray, str | None], tuple[list[str], Any]], *,
                 budget_ms: float = DEFAULT_BUDGET_MS,
                 average_frames: int = DEFAULT_AVERAGE_FRAMES,
                 gate: bool = True,
                 steps: tuple[str, ...] | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        if not budget_ms >= 0:
            raise ValueError("the decoder's time budget must be 0 ms or more")
        if average_frames < 1:
            raise ValueError("average_frames must be 1 (off) or more")
        by_name = {s.name: s for s in CANDIDATES}
        names = list(DEFAULT_STEPS if steps is None else steps)
        unknown = [n for n in names if n not in by_name and n != "average"]
        if unknown:
            raise ValueError(f"unknown decoder retry step(s) {unknown}: choose from "
                             f"{', '.join(['average', *by_name])}")
        self._read = read
        self.budget = budget_ms / 1000.0
        self.gate = gate
        self.average_frames = average_frames if gate and "average" in names else 1
        self.steps = [by_name[n] for n in names if n != "average"]
        self._timer = timer
        self._costs: dict[str, deque] = {}
        self._resume = 0
        self._attempts = 0           # steps tried (or found not to apply) on this still scene
        self._last: _Seen | None = None
        self._history: deque[_Seen] = deque(maxlen=max(1, self.average_frames - 1))
        #: Counters for status and benchmarks: frames judged empty (``idle``), escalated, left
        #: alone as an unreadable still scene (``given_up``), steps the budget put off
        #: (``over_budget``), and frames each step read.
        self.stats: dict[str, int] = {"idle": 0, "escalated": 0, "given_up": 0, "over_budget": 0,
                                      "average": 0, **{s.name: 0 for s in self.steps}}
        #: Step attempts (name -> count) and time spent (name -> seconds), for benchmarks.
        self.tries: dict[str, int] = {}
        self.spent: dict[str, float] = {}

    # -- cost bookkeeping ---------------------------------------------------------------------
    def estimate(self, name: str, prior: float, pixels: int) -> float:
        """Seconds the step is expected to take on ``pixels``: 1.5× its median recent cost per
        pixel (a one-off stall on a busy machine must not shut a step out for many frames), or
        the pessimistic ``prior`` before it has run."""
        seen = self._costs.get(name)
        per_pixel = 1.5 * statistics.median(seen) if seen else prior
        return per_pixel * max(pixels, MIN_COST_PIXELS)

    def _record(self, name: str, seconds: float, pixels: int) -> None:
        self._costs.setdefault(name, deque(maxlen=8)).append(seconds / max(pixels, MIN_COST_PIXELS))
        self.tries[name] = self.tries.get(name, 0) + 1
        self.spent[name] = self.spent.get(name, 0.0) + seconds

    def _affordable(self, name: str, prior: float, pixels: int, deadline: float) -> bool:
        return self._timer() + self.estimate(name, prior, pixels) <= deadline

    # -- the scene ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the scene (a code was read, or nothing code-like is in view)."""
        self._resume = 0
        self._attempts = 0
        self._last = None
        self._history.clear()

    def run(self, gray: np.ndarray, located: Region | None, started: float) -> list[str]:
        """Retries for a frame whose lean pass (begun at ``started``) read nothing.

        ``located`` is where zxing found a symbol it could not decode (None if it found none).
        Returns the texts a retry read, or [] when the frame is not code-like or nothing worked.
        """
        if self.budget <= 0:
            return []
        if not self.gate:
            whole = located or Region(0, gray.shape[0], 0, gray.shape[1])
            self.stats["escalated"] += 1
            self._resume = 0
            return self._ladder(gray, whole, started + self.budget)
        samples = _samples(gray) if min(gray.shape) >= 2 * BLOCK else None
        region = find_code(gray, samples) if located is None else located
        if located is not None and samples is not None:
            act, floor, _ = _activity_map(samples)     # the stillness test needs the noise level
            region = replace(located, floor=floor, peak=float(act.max()))
        if region is None:
            self.stats["idle"] += 1
            self.reset()
            return []
        seen = None if samples is None else _Seen(gray, samples, region)
        if seen is None or self._last is None or not _still(self._last, seen):
            self._attempts = 0
            self._resume = 0
            self._history.clear()
        elif (self._attempts >= GIVE_UP_ROUNDS * max(len(self.steps), 1)
              and (self.average_frames < 2
                   or len(self._history) >= (self._history.maxlen or 1))):
            self.stats["given_up"] += 1          # tried everything on this very scene: wait for a change
            self._last = seen
            return []
        self._last = seen
        self.stats["escalated"] += 1
        deadline = started + self.budget
        texts = self._average(gray, seen, deadline) if seen is not None else []
        if not texts:
            texts = self._ladder(gray, region, deadline)
        if texts:
            self.reset()
        return texts

    def _ladder(self, gray: np.ndarray, region: Region, deadline: float) -> list[str]:
        crop = region.crop(gray)
        pixels = region.pixels
        n = len(self.steps)
        for offset in range(n):
            index = (self._resume + offset) % n
            step = self.steps[index]
            if max(region.size()) > step.max_side or (step.when is not None and not step.when(crop)):
                self._attempts += 1
                continue
            cost = self.estimate(step.name, step.prior, pixels)
            if cost > self.budget:           # can never fit in a frame: skip it, not the ladder
                self._attempts += 1
                self.stats["over_budget"] += 1
                continue
            if self._timer() + cost > deadline:
                self._resume = index         # the next frame starts here
                self.stats["over_budget"] += 1
                return []
            self._attempts += 1
            begin = self._timer()
            texts, _ = self._read(step.prepare(crop), step.binarizer)
            self._record(step.name, self._timer() - begin, pixels)
            if texts:
                self.stats[step.name] += 1
                log.debug("decoder=zxing rescued_by=%s", step.name)
                return texts
        self._resume = 0
        return []

    def _average(self, gray: np.ndarray, seen: _Seen, deadline: float) -> list[str]:
        """Average this frame with the previous frames of the same still scene, and read that."""
        if self.average_frames < 2:
            return []
        still = list(self._history)
        self._history.append(seen)
        if not still:
            return []
        region = seen.region
        pixels = region.pixels * (len(still) + 1)
        if not self._affordable("average", AVERAGE_PRIOR, pixels, deadline):
            self.stats["over_budget"] += 1
            return []
        begin = self._timer()
        total = region.crop(gray).astype(np.uint16)
        for other in still:
            total += region.crop(other.gray)
        count = len(still) + 1
        mean = ((total + count // 2) // count).astype(np.uint8)
        texts, _ = self._read(mean, None)
        if not texts and max(region.size()) <= 400 and self._timer() < deadline:
            texts, _ = self._read(upscale2(mean), None)
        self._record("average", self._timer() - begin, pixels)
        if texts:
            self.stats["average"] += 1
        return texts


def _still(before: _Seen, now: _Seen) -> bool:
    """Whether ``now``'s code-like region looks as it did in ``before``, up to sensor noise:
    the mean change per sample stays below a quarter of the way from the frame's noise level
    to the code's activity (a moving code changes by about its full activity)."""
    if before.gray.shape != now.gray.shape:
        return False
    region = now.region
    r0, r1 = region.top // 4, (region.bottom + 3) // 4
    c0, c1 = region.left // 4, (region.right + 3) // 4
    a = now.samples[r0:r1, c0:c1]
    b = before.samples[r0:r1, c0:c1]
    if a.size == 0 or a.shape != b.shape:
        return False
    change = float(np.abs(a - b).mean()) / 4.0          # per pixel, like the activity
    return change <= region.floor + 0.25 * max(region.peak - region.floor, 0.0) + 1.0
