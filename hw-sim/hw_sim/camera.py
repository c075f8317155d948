"""Simulated cameras: replay image files, a directory, a video file or a scripted scenario.

A :class:`SimCamera` delivers frames at ``fps`` on an injected clock: frame *k* arrives at
``start + k / fps``. :meth:`SimCamera.read` returns the newest frame that has arrived and not been
read yet, skipping any the reader was too slow for — the same never-queue rule as the real cameras.
With a :class:`hw_sim.clock.SimClock` a test advances time and reads, deterministically and fast.

The sources answer ``frame_at(t, index)`` (``t`` seconds since the camera started): an image, None
("no frame arrived": a stall), or raise :class:`CameraMissing` ("camera gone").
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np

from hw_sim.scenario import Scenario
from terminal.clock import SYSTEM, Clock
from terminal.errors import CameraError, CameraMissing, ConfigError
from terminal.interfaces import Frame

log = logging.getLogger("scanpoint.hw_sim.camera")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".webm", ".mjpg", ".mjpeg", ".m4v"}


class FrameSource(Protocol):
    """What a simulated camera looks at; ``t`` is seconds since the camera started."""

    def frame_at(self, t: float, index: int) -> np.ndarray | None:
        """The image in view (None: no frame arrived, a stall)."""

    def position(self, t: float) -> int | None:
        """Index of the step or image in view, None once the source has ended."""

    def finished(self, t: float) -> bool:
        """True once there is nothing more to show (never for a looping source)."""

    def available(self, t: float) -> bool:
        """False while the simulated camera is unplugged (it cannot be opened)."""

    def prerender(self) -> None:
        """Do expensive drawing now, before the timeline starts."""

    def scan_times(self) -> list[tuple[float, str]]:
        """``(seconds from the start, text)`` of every code the 2D reader reads (none but in a
        scenario with ``scan`` steps)."""


class LazyImages(Sequence[np.ndarray]):
    """Image files decoded when shown, at most ``keep`` held at once (least recently shown
    dropped): a folder of a thousand photos costs what a few do. Each file's name and header
    (pixel cap) are checked when the replay is made, so a bad file fails at start, not mid-run."""

    def __init__(self, paths: Sequence[Path], *, keep: int = 8,
                 max_pixels: int | None = None) -> None:
        from drivers import images

        self._images = images
        self.max_pixels = images.MAX_PIXELS if max_pixels is None else max_pixels
        self.paths = list(paths)
        for path in self.paths:
            problem = images.utf8_name_problem(path)
            if problem is not None:
                raise images.ImageUnreadable(problem)
            images.check_size(path, self.max_pixels)
        self.keep = keep
        self._held: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, n: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, n: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, n: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        n = range(len(self))[n]
        with self._lock:
            image = self._held.get(n)
            if image is not None:
                self._held.move_to_end(n)
                return image
        image = self._images.load_gray(self.paths[n], max_pixels=self.max_pixels)
        with self._lock:
            self._held[n] = image
            while len(self._held) > self.keep:
                self._held.popitem(last=False)
        return image


class ImageSource:
    """Image files shown one after another, each for ``hold`` seconds (then looping, or an empty
    gray scene once they are all shown when ``loop`` is False). Files are decoded when shown
    (:class:`LazyImages`); ``max_pixels`` caps their size (default ``[camera]
    max_image_pixels``' 16 MP)."""

    def __init__(self, paths: Sequence[str | Path], hold: float = 1.0, loop: bool = True,
                 *, max_pixels: int | None = None) -> None:
        if not paths:
            raise ConfigError("an image replay needs at least one image file")
        if not (math.isfinite(hold) and hold > 0):
            raise ConfigError("each replayed image must be held for a finite time of more than "
                              "0 s")
        self.paths = [Path(p) for p in paths]
        self.images = LazyImages(self.paths, max_pixels=max_pixels)
        self.hold = hold
        self.loop = loop
        self.duration = hold * len(self.images)
        self._shape = self.images[0].shape

    @classmethod
    def from_directory(cls, directory: str | Path, **kwargs: Any) -> ImageSource:
        """Every image file in ``directory`` (sorted by name; other files ignored). A file whose
        name is not UTF-8 is skipped with a warning: OpenCV crashes the process on one."""
        from drivers.images import utf8_name_problem

        directory = Path(directory)
        paths = []
        skipped = []
        for p in sorted(directory.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            problem = utf8_name_problem(p)
            if problem is None:
                paths.append(p)
            else:
                skipped.append(problem)
                log.warning("event=replay_file_skipped %s", problem)
        if not paths:
            why = f" ({len(skipped)} skipped: {skipped[0]})" if skipped else ""
            raise ConfigError(f"no image files in {directory}{why}")
        return cls(paths, **kwargs)

    def position(self, t: float) -> int | None:
        """Which image is in view at ``t`` s (None once a non-looping replay is over)."""
        n = int(t / self.hold + 1e-9)
        if n >= len(self.images) and not self.loop:
            return None
        return n % len(self.images)

    def frame_at(self, t: float, index: int) -> np.ndarray | None:
        n = self.position(t)
        if n is None:
            return np.full(self._shape, 128, np.uint8)
        return self.images[n]

    def finished(self, t: float) -> bool:
        return not self.loop and t >= self.duration

    def available(self, t: float) -> bool:
        return True

    def prerender(self) -> None:
        """Nothing to draw: images are decoded when shown (the first one already is)."""

    def scan_times(self) -> list[tuple[float, str]]:
        return []


class VideoSource:
    """A video file decoded with OpenCV, played at its own frame rate (``loop`` restarts it)."""

    def __init__(self, path: str | Path, loop: bool = True) -> None:
        import cv2

        self._cv2 = cv2
        self.path = Path(path)
        if not self.path.is_file():
            raise CameraMissing(f"video file not found: {self.path}")
        self.loop = loop
        self._open()
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.duration = count / self.fps if count > 0 else math.inf
        self._ended = False

    def _open(self) -> None:
        self._cap = self._cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise CameraMissing(f"cannot open video {self.path}: unknown format or damaged file")
        self._next = 0          # index of the next frame the capture will decode
        self._last: np.ndarray | None = None

    def frame_at(self, t: float, index: int) -> np.ndarray | None:
        target = int(t * self.fps + 1e-9)
        if self.loop and math.isfinite(self.duration) and self.duration > 0:
            target %= max(1, int(round(self.duration * self.fps)))
        if target < self._next - 1:           # looped back to the start
            self._cap.release()
            self._open()
        if target == self._next - 1 and self._last is not None:
            return self._last
        while self._next < target:             # frames the reader was too slow for: skip
            if not self._cap.grab():
                return self._end()
            self._next += 1
        ok, image = self._cap.read()
        if not ok or image is None:
            return self._end()
        self._next += 1
        if image.ndim == 3:
            image = self._cv2.cvtColor(image, self._cv2.COLOR_BGR2GRAY)
        self._last = image
        return image

    def _end(self) -> np.ndarray | None:
        self._ended = True
        return None

    def finished(self, t: float) -> bool:
        return self._ended or (not self.loop and t >= self.duration)

    def position(self, t: float) -> int | None:
        """The frame number in view (None once the video has ended)."""
        return None if self.finished(t) else int(t * self.fps + 1e-9)

    def available(self, t: float) -> bool:
        return True

    def prerender(self) -> None:
        """Nothing to draw: frames are decoded as they are asked for."""

    def scan_times(self) -> list[tuple[float, str]]:
        return []

    def close(self) -> None:
        self._cap.release()


class SimCamera:
    """A camera over a frame source, paced by an injected clock (implements ``Camera``).

    ``start`` (monotonic s) is when frame 0 arrives; cameras re-opened with :meth:`reopen` share it,
    so a scenario keeps its place across a simulated unplug and re-open.
    """

    def __init__(self, source: FrameSource, *, clock: Clock | None = None, fps: float = 30.0,
                 start: float | None = None) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ConfigError("camera fps must be a finite number more than 0")
        self.source = source
        self.clock = clock or SYSTEM
        self.fps = float(fps)
        source.prerender()  # before the timeline starts, or drawing time eats the first steps
        self.start = self.clock.monotonic() if start is None else start
        if not source.available(self.elapsed()):
            raise CameraMissing("camera not found (simulated: the scenario has it unplugged)")
        self._last_index = -1
        self._closed = False
        self.frames_skipped = 0

    def elapsed(self) -> float:
        """Seconds since frame 0."""
        return self.clock.monotonic() - self.start

    @property
    def finished(self) -> bool:
        """True once a scenario, replay or video has nothing more to show."""
        return self.source.finished(self.elapsed())

    def read(self) -> Frame | None:
        """The newest frame that arrived since the last read, or None."""
        if self._closed:
            raise CameraError("camera is closed")
        index = math.floor(self.elapsed() * self.fps + 1e-9)
        if index <= self._last_index or index < 0:
            return None
        if self._last_index >= 0:
            self.frames_skipped += index - self._last_index - 1
        self._last_index = index
        t = index / self.fps
        image = self.source.frame_at(t, index)
        if image is None:
            return None
        return Frame(image, self.start + t)

    def reopen(self) -> SimCamera:
        """A new camera on the same source and timeline (what a driver re-open after a fault gives);
        raises :class:`CameraMissing` while the source has the camera unplugged."""
        return SimCamera(self.source, clock=self.clock, fps=self.fps, start=self.start)

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> SimCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def source_for(spec: Any, *, loop: bool = True, hold: float = 1.0,
               max_pixels: int | None = None) -> FrameSource:
    """A frame source from a spec: a :class:`Scenario`, a scenario file (.json/.toml), a video file,
    an image file, a directory of images, or a list of image files (at most ``max_pixels``
    each; default 16 MP)."""
    if isinstance(spec, (Scenario, ImageSource, VideoSource)):
        return spec
    if isinstance(spec, (list, tuple)):
        return ImageSource(spec, hold=hold, loop=loop, max_pixels=max_pixels)
    path = Path(spec)
    if not path.exists():
        raise CameraMissing(f"nothing to replay at {path}: not a file or directory")
    if path.is_dir():
        return ImageSource.from_directory(path, hold=hold, loop=loop, max_pixels=max_pixels)
    suffix = path.suffix.lower()
    if suffix in (".json", ".toml"):
        return Scenario.load(path)
    if suffix in VIDEO_SUFFIXES:
        return VideoSource(path, loop=loop)
    if suffix in IMAGE_SUFFIXES or path.is_file():
        return ImageSource([path], hold=hold, loop=loop, max_pixels=max_pixels)
    raise CameraMissing(f"nothing to replay at {path}: not a file or directory")


def open_sim_camera(spec: Any, *, clock: Clock | None = None, fps: float = 30.0,
                    loop: bool = True, hold: float = 1.0) -> SimCamera:
    """A simulated camera over ``spec`` (see :func:`source_for`)."""
    camera = SimCamera(source_for(spec, loop=loop, hold=hold), clock=clock, fps=fps)
    log.info("camera opened kind=sim source=%s fps=%s", type(camera.source).__name__, fps)
    return camera
