"""Real camera drivers: OpenCV on a video file, the newest-frame grabber, picamera2 errors."""

from __future__ import annotations

import importlib.util
import threading
import time

import cv2
import numpy as np
import pytest

from drivers.camera import (
    MAX_READ_FAILURES,
    LatestFrame,
    OpenCVCamera,
    on_raspberry_pi,
    open_camera,
    picamera2_error,
)
from drivers.decoder import open_decoder
from hw_sim.clock import SimClock
from hw_sim.render import CRISP, draw
from terminal.clock import SystemClock
from terminal.errors import CameraBusy, CameraError, CameraMissing, ConfigError
from terminal.interfaces import Camera
from tests.support.waiting import wait_until

HAVE_PICAMERA2 = importlib.util.find_spec("picamera2") is not None


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 640×480 MJPG video written by cv2.VideoWriter: 3 codes, 4 frames each, in colour."""
    path = tmp_path_factory.mktemp("video") / "codes.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    for text in ("CAM-ONE", "CAM-TWO", "CAM-THREE"):
        frame = cv2.cvtColor(draw(text, look=CRISP), cv2.COLOR_GRAY2BGR)
        for _ in range(4):
            writer.write(frame)
    writer.release()
    return path


def test_opencv_camera_reads_a_video_file_as_grayscale_frames(video):
    decoder = open_decoder("zxing")
    clock = SimClock(mono=50.0)
    with open_camera("opencv", source=str(video), clock=clock) as camera:
        assert isinstance(camera, Camera) and camera.is_file
        texts = []
        for _ in range(12):
            frame = camera.read()
            assert frame.image.shape == (480, 640) and frame.image.ndim == 2
            assert frame.arrived == 50.0
            texts.extend(decoder.decode(frame.image))
        assert texts == ["CAM-ONE"] * 4 + ["CAM-TWO"] * 4 + ["CAM-THREE"] * 4
        with pytest.raises(CameraError, match="no more frames"):
            camera.read()
    with pytest.raises(CameraError, match="closed"):
        camera.read()
    camera.close()  # twice is fine


def test_opencv_camera_missing_device():
    with pytest.raises(CameraMissing, match="not found: is it plugged in"):
        OpenCVCamera("/dev/video-scanpoint-missing")
    with pytest.raises(CameraMissing, match="cannot open camera 97"):
        OpenCVCamera(97)


def test_opencv_camera_unreadable_file(tmp_path):
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(CameraMissing, match="cannot open camera"):
        OpenCVCamera(str(junk))


def test_open_camera_unknown_kind():
    with pytest.raises(ConfigError, match="unknown camera kind 'webcam'"):
        open_camera("webcam")


class Feed:
    """A live frame feed for the grabber: a real thread pulls numbered frames as fast as it can.

    ``pause()`` stops production at the next grab and returns once the grabber thread is waiting
    there, so no frame is in flight; ``resume()`` lets it go on.
    """

    def __init__(self, fail_after: int | None = None, error: Exception | None = None):
        self.count = 0
        self.fail_after = fail_after
        self.error = error
        self.lock = threading.Lock()
        self.go = threading.Event()
        self.go.set()
        self.waiting = threading.Event()

    def grab(self):
        if not self.go.is_set():
            self.waiting.set()
            self.go.wait()
            self.waiting.clear()
        time.sleep(0.002)
        with self.lock:
            if self.fail_after is not None and self.count >= self.fail_after:
                if self.error is not None:
                    raise self.error
                return None
            self.count += 1
            return np.frombuffer(self.count.to_bytes(8, "big"), np.uint8).reshape(2, 4).copy()

    def pause(self) -> bool:
        self.go.clear()
        return self.waiting.wait(20)

    def resume(self) -> None:
        self.go.set()


def number(frame) -> int:
    """Which grab of the feed a frame came from."""
    return int.from_bytes(frame.image.tobytes(), "big")


def test_grabber_hands_out_only_the_newest_frame():
    feed = Feed()
    grabber = LatestFrame(feed.grab, SystemClock(), "test")
    try:
        first = grabber.read(timeout=20)
        assert first is not None
        n = number(first)
        assert wait_until(lambda: feed.count >= n + 10)     # ten more were grabbed meanwhile
        newest = grabber.read()
        # frame n + 10 was being grabbed, so n + 9 was already kept: skipped, not queued
        assert number(newest) >= n + 9 and newest.arrived > first.arrived
        assert feed.pause()                                  # nothing in flight any more
        last = grabber.read()
        assert last is None or number(last) > number(newest)
        assert grabber.read() is None                        # each frame handed out once
        feed.resume()
        assert grabber.read(timeout=20) is not None
    finally:
        feed.resume()
        grabber.stop()


def test_grabber_reports_a_dead_camera():
    grabber = LatestFrame(Feed(fail_after=3).grab, SystemClock(), "dying")
    try:
        with pytest.raises(CameraError, match=f"{MAX_READ_FAILURES} failed reads"):
            for _ in range(5):           # at most 3 frames, then the error (each read waits)
                grabber.read(timeout=20)
    finally:
        grabber.stop()


def test_grabber_passes_on_the_drivers_error():
    grabber = LatestFrame(Feed(fail_after=0, error=CameraMissing("unplugged")).grab,
                          SystemClock(), "gone")
    try:
        with pytest.raises(CameraMissing, match="unplugged"):
            grabber.read(timeout=20)     # waits for the thread's first grab, which fails
    finally:
        grabber.stop()


@pytest.mark.parametrize("message,kind", [
    ("Failed to acquire camera: Device or resource busy", CameraBusy),
    ("camera.acquire() returned unexpected code: -16", CameraBusy),
    ("Camera __init__ sequence did not complete.", CameraBusy),
    ("list index out of range", CameraMissing),
    ("Unable to set controls", CameraError),
])
def test_picamera2_errors_become_clear_ones(message, kind):
    exc = IndexError(message) if "index" in message else RuntimeError(message)
    error = picamera2_error(exc)
    assert type(error) is kind
    if kind is CameraBusy:
        assert str(error).startswith("camera busy: another process holds it")


@pytest.mark.skipif(HAVE_PICAMERA2, reason="picamera2 is installed here; see the Pi test")
def test_picamera2_missing_off_a_pi_says_how_to_install():
    with pytest.raises(CameraMissing, match="python3-picamera2.*--system-site-packages"):
        open_camera("picamera2")


@pytest.mark.skipif(not (HAVE_PICAMERA2 and on_raspberry_pi()),
                    reason="needs a Raspberry Pi with picamera2 and a camera module (not this machine)")
def test_picamera2_delivers_grayscale_frames():  # pragma: no cover - runs on a Pi only
    with open_camera("picamera2", width=640, height=480) as camera:
        deadline = time.monotonic() + 5
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = camera.read()
            time.sleep(0.01)
        assert frame is not None and frame.image.shape == (480, 640)


def test_open_camera_takes_one_config_for_every_kind(video):
    with open_camera("opencv", device=str(video), width=640, height=480, fps=15) as camera:
        assert camera.read().image.shape == (480, 640)
    if not on_raspberry_pi():
        with pytest.raises(CameraMissing, match="not found"):
            open_camera("auto", device="/dev/video-scanpoint-missing", width=640, height=480)
    if not HAVE_PICAMERA2:
        with pytest.raises(CameraMissing, match="picamera2 is not installed"):
            open_camera("picamera2", device=0, width=640, height=480, fps=15)
