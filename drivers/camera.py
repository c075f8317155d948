"""Cameras: picamera2 on a Raspberry Pi, OpenCV ``VideoCapture`` for USB and laptop cameras.

Both deliver grayscale frames and never queue them: a grabber thread keeps only the newest frame,
and :meth:`read` hands it out once (None while no new frame has arrived), so a busy pipeline always
decodes what is in front of the camera now, not what was there a second ago.

picamera2 comes from the Raspberry Pi OS packages and is imported only when a Pi camera is opened;
its YUV420 output gives the grayscale frame for free (the Y plane). Its errors are vague ("Camera
__init__ sequence did not complete"), so they are mapped to :class:`CameraBusy` /
:class:`CameraMissing` with messages a clerk can act on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from terminal.clock import Clock, SystemClock
from terminal.errors import CameraBusy, CameraError, CameraMissing, ConfigError
from terminal.interfaces import Frame

log = logging.getLogger("scanpoint.camera")

#: A grabber gives up after this many consecutive failed reads (a USB camera unplugged).
MAX_READ_FAILURES = 5


class LatestFrame:
    """A background thread that calls ``grab()`` in a loop and keeps only the newest image.

    ``grab`` returns a 2-D uint8 array (or None for "no frame this time") and raises
    :class:`CameraError` when the device is gone; the error is handed to the next :meth:`read`.
    """

    def __init__(self, grab: Callable[[], np.ndarray | None], clock: Clock, name: str) -> None:
        self._grab = grab
        self._clock = clock
        self._cond = threading.Condition()
        self._image: np.ndarray | None = None
        self._arrived = 0.0
        self._seq = 0
        self._taken = 0
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"grab-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                image = self._grab()
            except CameraError as exc:
                self._fail(exc)
                return
            except Exception as exc:  # noqa: BLE001 - a driver bug must not kill the terminal silently
                self._fail(CameraError(f"camera read failed: {exc}"))
                return
            if image is None:
                failures += 1
                if failures >= MAX_READ_FAILURES:
                    self._fail(CameraError(
                        f"camera stopped delivering frames ({failures} failed reads in a row): "
                        "check the cable or USB connection"))
                    return
                self._stopping.wait(0.01)
                continue
            failures = 0
            with self._cond:
                self._image = image
                self._arrived = self._clock.monotonic()
                self._seq += 1
                self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        if self._stopping.is_set():
            return
        log.warning("camera error=%r", str(exc))
        with self._cond:
            self._error = exc
            self._cond.notify_all()

    def read(self, timeout: float = 0.0) -> Frame | None:
        """The newest frame not yet handed out, waiting up to ``timeout`` s; None if there is none."""
        with self._cond:
            if timeout > 0 and self._seq == self._taken and self._error is None:
                self._cond.wait_for(lambda: self._seq != self._taken or self._error is not None,
                                    timeout)
            if self._seq != self._taken:
                self._taken = self._seq
                return Frame(self._image, self._arrived)
            if self._error is not None:
                raise self._error
            return None

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)


class OpenCVCamera:
    """A USB or laptop camera (device index or ``/dev/videoN``), or a video file, through OpenCV.

    Live devices are read by a grabber thread keeping only the newest frame. A video file is read
    in order, one frame per :meth:`read` (useful for replays); its end raises :class:`CameraError`.
    """

    def __init__(self, source: int | str = 0, *, width: int = 640, height: int = 480,
                 fps: float | None = None, clock: Clock | None = None) -> None:
        import cv2

        self._cv2 = cv2
        self.source = source
        self.clock = clock or SystemClock()
        if isinstance(source, str) and source.isdigit():
            source = int(source)
        self.is_file = isinstance(source, str) and Path(source).is_file() and not source.startswith("/dev/")
        if isinstance(source, str) and not self.is_file and not Path(source).exists():
            raise CameraMissing(f"camera {source} not found: is it plugged in?")
        self._cap = cv2.VideoCapture(source)
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraMissing(
                f"cannot open camera {source!r}: not connected, busy in another program, or not "
                "readable by this user (add it to the 'video' group)")
        if not self.is_file:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue: as short as it goes
            if fps:
                self._cap.set(cv2.CAP_PROP_FPS, fps)
        self._lock = threading.Lock()
        self._closed = False
        self._grabber = None if self.is_file else LatestFrame(self._grab, self.clock, str(source))
        log.info("camera opened kind=opencv source=%s file=%s", source, self.is_file)

    def _grab(self) -> np.ndarray | None:
        with self._lock:
            if self._closed:
                return None
            ok, image = self._cap.read()
        if not ok or image is None:
            return None
        return self._gray(image)

    def _gray(self, image: np.ndarray) -> np.ndarray:
        if image.ndim == 3:
            return self._cv2.cvtColor(image, self._cv2.COLOR_BGR2GRAY)
        return image

    def read(self) -> Frame | None:
        """The newest frame (None when no new one arrived since the last call)."""
        if self._closed:
            raise CameraError("camera is closed")
        if self._grabber is not None:
            return self._grabber.read()
        with self._lock:
            ok, image = self._cap.read()
        if not ok or image is None:
            raise CameraError(f"no more frames from {self.source}")
        return Frame(self._gray(image), self.clock.monotonic())

    def close(self) -> None:
        """Stop grabbing and release the device. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._grabber is not None:
            self._grabber.stop()
        with self._lock:
            self._cap.release()

    def __enter__(self) -> OpenCVCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def picamera2_error(exc: BaseException) -> CameraError:
    """Turn picamera2/libcamera's vague errors into one a clerk can act on."""
    text = str(exc)
    lowered = text.lower()
    if "busy" in lowered or "-16" in text or "in use by another process" in lowered \
            or "failed to acquire" in lowered or "did not complete" in lowered:
        return CameraBusy("camera busy: another process holds it (stop the other camera program, "
                          f"e.g. rpicam-hello, or another scanpoint) [{text}]")
    if isinstance(exc, IndexError) or "no camera" in lowered or "not found" in lowered:
        return CameraMissing(f"no Raspberry Pi camera found: check the ribbon cable and run "
                             f"'rpicam-hello --list-cameras' [{text}]")
    return CameraError(f"Raspberry Pi camera failed: {text}")


class PiCamera:
    """A Raspberry Pi camera through picamera2, delivering the Y plane of YUV420 frames."""

    def __init__(self, camera_num: int = 0, *, width: int = 640, height: int = 480,
                 fps: float = 30.0, clock: Clock | None = None) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise CameraMissing(
                "picamera2 is not installed: on Raspberry Pi OS run 'sudo apt install "
                "python3-picamera2' and create the venv with --system-site-packages "
                f"({exc})") from exc
        self.clock = clock or SystemClock()
        self.width, self.height = width, height
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as exc:
            raise picamera2_error(exc) from exc
        if len(cameras) <= camera_num:
            raise CameraMissing(
                f"no Raspberry Pi camera number {camera_num} found ({len(cameras)} connected): "
                "check the ribbon cable and run 'rpicam-hello --list-cameras'")
        try:
            self._cam = Picamera2(camera_num)
        except Exception as exc:
            raise picamera2_error(exc) from exc
        try:
            config = self._cam.create_video_configuration(
                main={"size": (width, height), "format": "YUV420"},
                controls={"FrameRate": float(fps)}, buffer_count=3, queue=False)
            self._cam.configure(config)
            self._cam.start()
        except Exception as exc:
            self._cam.close()
            raise picamera2_error(exc) from exc
        self._closed = False
        self._grabber = LatestFrame(self._grab, self.clock, f"picamera{camera_num}")
        log.info("camera opened kind=picamera2 num=%d size=%dx%d", camera_num, width, height)

    def _grab(self) -> np.ndarray | None:
        if self._closed:
            return None
        try:
            yuv = self._cam.capture_array("main")
        except Exception as exc:
            if self._closed:
                return None
            raise picamera2_error(exc) from exc
        return np.ascontiguousarray(yuv[: self.height, : self.width])  # the Y plane

    def read(self) -> Frame | None:
        """The newest frame (None when no new one arrived since the last call)."""
        if self._closed:
            raise CameraError("camera is closed")
        return self._grabber.read()

    def close(self) -> None:
        """Stop the camera and release it for other processes. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._grabber.stop()
        try:
            self._cam.stop()
        finally:
            self._cam.close()

    def __enter__(self) -> PiCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CAMERA_KINDS = ("auto", "picamera2", "opencv")


def open_camera(kind: str = "auto", **settings: Any) -> PiCamera | OpenCVCamera:
    """Open a camera of ``kind``:

    - ``"picamera2"``: a Raspberry Pi camera (settings: camera_num, width, height, fps, clock);
    - ``"opencv"``: ``source`` (or ``device``) = a device index, ``/dev/videoN`` or a video file;
      width, height, fps, clock;
    - ``"auto"``: picamera2 on a Raspberry Pi that has it, else OpenCV.

    Settings that do not apply to the chosen kind (``device`` for picamera2) are ignored, so one
    config section serves both. Simulated cameras live in :mod:`hw_sim.camera`.
    """
    if kind == "auto":
        kind = "picamera2" if on_raspberry_pi() and _have_picamera2() else "opencv"
    if kind == "picamera2":
        allowed = {"camera_num", "width", "height", "fps", "clock"}
        return PiCamera(**{k: v for k, v in settings.items() if k in allowed})
    if kind == "opencv":
        if "device" in settings:
            device = settings.pop("device")
            settings.setdefault("source", device)
        allowed = {"source", "width", "height", "fps", "clock"}
        return OpenCVCamera(**{k: v for k, v in settings.items() if k in allowed})
    raise ConfigError(f"unknown camera kind {kind!r}: choose one of {', '.join(CAMERA_KINDS)} "
                      "(or hardware = 'sim' for the simulator)")


def _have_picamera2() -> bool:
    import importlib.util

    return importlib.util.find_spec("picamera2") is not None


def on_raspberry_pi() -> bool:
    """True on a Raspberry Pi (device-tree model says so)."""
    try:
        return "raspberry pi" in Path("/proc/device-tree/model").read_text(errors="ignore").lower()
    except OSError:
        return False


__all__ = [
    "CAMERA_KINDS",
    "LatestFrame",
    "OpenCVCamera",
    "PiCamera",
    "on_raspberry_pi",
    "open_camera",
    "picamera2_error",
]
