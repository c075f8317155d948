"""The scanning daemon's run loop: camera management, systemd notify/watchdog, signals, status file.

One thread does everything: read the newest frame, run it through the :class:`Pipeline`, then —
only if a health check of that same loop passes — ping the systemd watchdog. A side thread could
keep pinging while the loop is stuck, which is exactly what the watchdog exists to catch.

A camera that fails to open, raises, or stops delivering frames is closed and reopened with
exponential backoff; meanwhile the signals show the fault pattern and the status file says why.
A 2D code reader beside (or instead of) the camera is polled by the same loop, which waits on the
reader instead of sleeping, so its codes are decided as they arrive (:mod:`terminal.daemon.readers`
supervises it the same way). SIGTERM and SIGINT stop the loop cleanly with every LED and the
relay off.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from terminal.clock import SYSTEM, Clock
from terminal.daemon.pipeline import Pipeline, summarize
from terminal.daemon.sdnotify import Notifier
from terminal.interfaces import Camera, Signals
from terminal.storage import atomic_write

log = logging.getLogger("scanpoint.service")

STATUS_FILE = "status.json"


@dataclass(frozen=True)
class ServiceSettings:
    """Camera supervision and housekeeping timings (from the ``[camera]`` config section).

    ``stall_s``: no frame for this long counts as a camera failure. Retries wait
    ``retry_initial_s``, doubling (``retry_factor``) up to ``retry_max_s``. ``idle_sleep_s`` is the
    pause when no new frame is ready; ``status_interval_s`` how often the status file is rewritten.
    """

    stall_s: float = 3.0
    retry_initial_s: float = 0.5
    retry_max_s: float = 30.0
    retry_factor: float = 2.0
    idle_sleep_s: float = 0.002
    status_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.stall_s <= 0 or self.retry_initial_s <= 0 or self.idle_sleep_s < 0:
            raise ValueError("camera timings must be positive")
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("camera.retry_max_s must be at least camera.retry_initial_s")
        if self.retry_factor < 1:
            raise ValueError("camera.retry_factor must be at least 1")


class Backoff:
    """Exponential backoff: ``initial``, ``initial*factor``, ... capped at ``maximum``."""

    def __init__(self, initial: float, maximum: float, factor: float = 2.0) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.failures = 0

    def next_delay(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        delay = min(self.maximum, self.initial * self.factor ** self.failures)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class CodeSource(Protocol):
    """What the loop needs of a code reader's supervisor
    (:class:`terminal.daemon.readers.ReaderSupervisor`)."""

    @property
    def faulty(self) -> bool: ...

    def start(self) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def health(self, now: float) -> tuple[bool, str]: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class CameraState:
    NONE = "none"            # no camera configured ([camera] source = "none": a reader only)
    OK = "ok"                # delivering frames
    STARTING = "starting"    # opened, no frame yet
    BACKOFF = "backoff"      # failed; waiting to retry
    CLOSED = "closed"        # the daemon stopped


class Service:
    """Runs the pipeline against a camera and/or a code reader until stopped. See the module
    docstring.

    ``open_camera`` makes a fresh camera (it is called again after every failure); None for a
    terminal without one. ``reader`` supervises a code reader. The loop waits with
    ``clock.sleep`` (a simulated clock advances instead of waiting), or on the reader when there is one.
    """

    def __init__(self, pipeline: Pipeline, open_camera: Callable[[], Camera] | None,
                 signals: Signals, *, clock: Clock, settings: ServiceSettings | None = None,
                 state_dir: str | os.PathLike[str] | None = None,
                 notifier: Notifier | None = None, reader: CodeSource | None = None,
                 status_listeners: list[Callable[[dict[str, Any]], None]] | None = None) -> None:
        self.pipeline = pipeline
        self.open_camera = open_camera
        self.reader = reader
        self.signals = signals
        self.clock = clock
        self.settings = settings or ServiceSettings()
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.notifier = notifier or Notifier({})
        # each gets every status document written (the screen's publisher); must not wait
        self.status_listeners = list(status_listeners or ())
        self.camera: Camera | None = None
        self.camera_state = CameraState.STARTING if open_camera is not None else CameraState.NONE
        self.camera_error: str | None = None
        self.camera_failures = 0          # total failures since start
        self.backoff = Backoff(self.settings.retry_initial_s, self.settings.retry_max_s,
                               self.settings.retry_factor)
        self._retry_at = 0.0
        self._last_frame_at = 0.0        # monotonic: last frame delivered (or camera opened)
        self._last_turn: float | None = None
        self._last_ping: float | None = None
        self._last_status = -1e9
        self._state_dir_made = False      # the status folder is created once, on the first write
        self._stop = False
        self._fault_shown = False
        self.started_wall = clock.time()
        self.iterations = 0
        self.watchdog_pings = 0
        self.health_reason = "starting"

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Warm the verifier, open the camera and the reader (a failure only schedules a retry),
        tell systemd we are ready."""
        self.pipeline.warm_up()
        if self.reader is not None:
            self.reader.start()
        if self.open_camera is not None:
            self._open_camera()
        self._update_fault()
        self.write_status(force=True)
        self.notifier.ready(self.status_line())

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to stop after the current frame (safe from a signal handler)."""
        self._stop = True

    @property
    def stopping(self) -> bool:
        return self._stop

    def run(self, *, install_signal_handlers: bool = True, until: Callable[[], bool] | None = None) -> int:
        """Run until SIGTERM/SIGINT (or ``until()`` is true); always ends with the outputs off."""
        previous = {}
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, self.stop)
        try:
            self.start()
            while not self._stop and not (until is not None and until()):
                self.iterate()
        finally:
            self.shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return 0

    def shutdown(self) -> None:
        """Outputs off, camera closed, status says stopped, systemd told."""
        self.notifier.stopping("stopping")
        try:
            self.signals.off()
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            log.error("signals off failed error=%r", exc)
        self._close_camera()
        if self.reader is not None:
            try:
                self.reader.close()
            except Exception as exc:  # noqa: BLE001 - stopping goes on whatever the reader does
                log.warning("reader close failed error=%r", exc)
        for observer in self.pipeline.observers:
            try:
                observer.close()
            except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
                log.warning("observer close failed observer=%s error=%r",
                            type(observer).__name__, exc)
        if self.open_camera is not None:
            self.camera_state = CameraState.CLOSED
        self.write_status(force=True, state="stopped")
        log.info("stopped iterations=%d decisions=%d", self.iterations, self.pipeline.stats.decisions)

    # -- the loop -----------------------------------------------------------------------------
    def iterate(self) -> None:
        """One turn: take the reader's codes, read the newest frame (or wait/retry the camera),
        process it, check health."""
        now = self.clock.monotonic()
        if self.reader is not None and self.camera is not None:
            self.reader.poll(0.0)
        if self.camera is None:
            if self.open_camera is None:
                self._wait(0.05)
            elif now >= self._retry_at:
                self._open_camera()
            else:
                self._wait(min(0.05, self._retry_at - now))
        else:
            self._read_and_process(now)
        self._update_fault()
        self.iterations += 1
        end = self.clock.monotonic()
        self._health_and_ping(end, now)
        self._last_turn = end
        self.write_status()

    def _read_and_process(self, now: float) -> None:
        assert self.camera is not None
        try:
            frame = self.camera.read()
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            self._camera_failed(exc)
            return
        if frame is None:
            if now - self._last_frame_at > self.settings.stall_s:
                self._camera_failed(TimeoutError(
                    f"camera stalled: no frame for {self.settings.stall_s:g} s"))
            elif self.settings.idle_sleep_s:
                self._wait(self.settings.idle_sleep_s)
            return
        self._last_frame_at = self.clock.monotonic()
        if self.camera_state != CameraState.OK:
            self.camera_state = CameraState.OK
            self.camera_error = None
            self.backoff.reset()
            self._update_fault()
            log.info("camera delivering frames")
            self.write_status(force=True)
        self.pipeline.process(frame)

    def _wait(self, seconds: float) -> None:
        """Idle for ``seconds``: on the reader (its codes are decided as they arrive) when there
        is one, else on the clock."""
        if self.reader is not None:
            self.reader.poll(seconds)
        else:
            self.clock.sleep(seconds)

    # -- camera supervision ------------------------------------------------------------------
    def _open_camera(self) -> None:
        if self.open_camera is None:
            return
        try:
            self.camera = self.open_camera()
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            self.camera = None
            self._camera_failed(exc)
            return
        self.camera_state = CameraState.STARTING
        self._last_frame_at = self.clock.monotonic()
        log.info("camera opened")

    def _camera_failed(self, exc: BaseException) -> None:
        self._close_camera()
        self.camera_failures += 1
        delay = self.backoff.next_delay()
        self._retry_at = self.clock.monotonic() + delay
        self.camera_state = CameraState.BACKOFF
        self.camera_error = f"{type(exc).__name__}: {exc}"
        self._update_fault()
        log.warning("camera failed error=%r retry_in_s=%.2f failures=%d",
                    self.camera_error, delay, self.backoff.failures)
        self.write_status(force=True)
        self.notifier.status(self.status_line())

    def _close_camera(self) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            try:
                camera.close()
            except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
                log.warning("camera close failed error=%r", exc)

    def _update_fault(self) -> None:
        """The fault pattern shows while the camera or the reader is failed and being retried."""
        reader_failed = self.reader is not None and self.reader.faulty
        active = self.camera_state == CameraState.BACKOFF or reader_failed
        if active != self._fault_shown:
            self._show_fault(active)
            if self.reader is not None:        # a camera failure writes its own status
                self.write_status(force=True)
                self.notifier.status(self.status_line())

    def _show_fault(self, active: bool) -> None:
        if active == self._fault_shown:
            return
        try:
            self.signals.fault(active)
            self._fault_shown = active
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            log.error("fault signal failed error=%r", exc)

    # -- health and watchdog ------------------------------------------------------------------
    @property
    def turn_limit_s(self) -> float:
        """The longest a loop turn may take: half the watchdog interval (4 s without one)."""
        return (self.notifier.watchdog_interval or 4.0) / 2.0

    def health(self, now: float | None = None) -> tuple[bool, str]:
        """Is the frame loop healthy? (ok, why). Checked by the loop itself before each ping.

        Healthy means: the loop turned recently (no turn took longer than half the watchdog
        interval, or 2 s without one), the camera (if any) is either delivering frames within
        ``stall_s`` or in managed backoff with a retry scheduled, and so is the reader (if any).
        """
        now = self.clock.monotonic() if now is None else now
        limit = self.turn_limit_s
        if self._last_turn is not None and now - self._last_turn > limit:
            return False, f"loop stalled: {now - self._last_turn:.1f} s between turns"
        why = "ok"
        if self.camera_state == CameraState.BACKOFF:
            if not (self.camera is None and self._retry_at - now <= self.settings.retry_max_s + 1.0):
                return False, "camera failed and no retry scheduled"
            why = "camera in backoff"
        elif (self.camera_state != CameraState.NONE
              and now - self._last_frame_at > self.settings.stall_s + limit):
            return False, "camera silent"
        if self.reader is not None:
            ok, reader_why = self.reader.health(now)
            if not ok:
                return False, reader_why
            if why == "ok":
                why = reader_why
        return True, why

    def _health_and_ping(self, now: float, turn_start: float) -> None:
        ok, why = self.health(now)
        if ok and self._last_turn is None:
            ok = now - turn_start < self.turn_limit_s
        self.health_reason = why
        interval = self.notifier.watchdog_interval
        if not ok:
            return
        if interval is None:
            return
        if self._last_ping is None or now - self._last_ping >= interval / 3.0:
            if self.notifier.watchdog():
                self.watchdog_pings += 1
            self._last_ping = now

    # -- status -------------------------------------------------------------------------------
    def status_line(self) -> str:
        stats = self.pipeline.stats
        if self.camera_state == CameraState.BACKOFF:
            return f"camera fault ({self.camera_error}); retrying; {stats.decisions} decisions"
        if self.reader is not None and self.reader.faulty:
            return f"reader fault; retrying; {stats.decisions} decisions"
        return f"scanning; {stats.decisions} decisions"

    def status(self, state: str | None = None) -> dict[str, Any]:
        """The status document (JSON-safe, nothing personal) that ``scanpoint status`` reads."""
        stats = self.pipeline.stats
        now = self.clock.monotonic()
        if state is None:
            if self.camera_state == CameraState.BACKOFF:
                state = "camera-fault"
            elif self.reader is not None and self.reader.faulty:
                state = "reader-fault"
            else:
                state = "running"
        return {
            "state": state,
            "pid": os.getpid(),
            "terminal_id": self.pipeline.terminal_id,
            "site": self.pipeline.site,
            "started": round(self.started_wall, 3),
            "updated": round(self.clock.time(), 3),
            # liveness, judged by `scanpoint status` in another process against the system clock
            "updated_unix": round(SYSTEM.time(), 3),
            "status_interval_s": self.settings.status_interval_s,
            "health": self.health_reason,
            "camera": {
                "state": self.camera_state,
                "error": self.camera_error,
                "failures": self.camera_failures,
                "retry_in_s": (round(max(0.0, self._retry_at - now), 2)
                               if self.camera_state == CameraState.BACKOFF else None),
            },
            "reader": self.reader.status() if self.reader is not None else None,
            "frames": stats.frames,
            "reader_codes": stats.texts,
            "stale_frames": stats.stale,
            "decisions": stats.decisions,
            "by_decision": dict(stats.by_decision),
            "errors": {"decoder": stats.decoder_errors, "verifier": stats.verifier_errors,
                       "signals": stats.signal_errors, "observers": stats.observer_errors},
            "last_decision": summarize(stats.last_decision) if stats.last_decision else None,
            "watchdog": {"interval_s": self.notifier.watchdog_interval, "pings": self.watchdog_pings},
        }

    def write_status(self, *, force: bool = False, state: str | None = None) -> None:
        """Rewrite the status file atomically and hand the document to the status listeners, at
        most every ``status_interval_s`` unless forced."""
        if self.state_dir is None and not self.status_listeners:
            return
        now = self.clock.monotonic()
        if not force and now - self._last_status < self.settings.status_interval_s:
            return
        self._last_status = now
        document = self.status(state)
        if self.state_dir is not None:
            try:
                if not self._state_dir_made:
                    self.state_dir.mkdir(parents=True, exist_ok=True)
                    self._state_dir_made = True
                write_status_file(self.state_dir, document)
            except OSError as exc:
                log.error("status write failed path=%s error=%r", self.state_dir, exc)
        for listener in self.status_listeners:
            try:
                listener(document)
            except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
                log.warning("status listener failed error=%r", exc)


def write_status_file(state_dir: str | os.PathLike[str], document: dict[str, Any]) -> None:
    """Replace ``STATE_DIR/status.json`` so a reader sees the old or the new file, never half.

    Not fsynced: the file is advisory and rewritten every second, and on an SD card an fsync can
    stall the frame loop for tens of ms; readers treat a damaged file as unreadable.
    """
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    atomic_write(Path(state_dir) / STATUS_FILE, text, durable=False)


def read_status(state_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The daemon's last status document, None when there is none (never started), or a
    document with state ``unreadable`` when the file is damaged."""
    path = Path(state_dir) / STATUS_FILE
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:      # e.g. emptied by a power cut before the rename
        return {"state": "unreadable", "error": f"{path}: {exc}"}
    return document if isinstance(document, dict) else {"state": "unreadable",
                                                         "error": f"{path}: not a JSON object"}
