"""Supervision of a 2D code reader: open it, hand its codes to the pipeline, reopen it with
backoff when it disappears, and report its state.

The daemon's one loop (:class:`terminal.daemon.service.Service`) calls :meth:`ReaderSupervisor.poll`
every turn — with a zero timeout while the camera keeps it busy, and as its idle wait otherwise,
so a code is decided the moment its terminator arrives instead of after a sleep. Codes go to
:meth:`terminal.daemon.pipeline.Pipeline.process_text`, the same decision path as camera codes.

A reader that fails to open or raises is closed and retried after ``retry_initial_s``, doubling up
to ``retry_max_s``; meanwhile :attr:`ReaderSupervisor.faulty` makes the service show the fault
pattern. Input the reader's framer dropped (binary garbage, oversize, half-sent codes) is counted
and logged by kind — never its content.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from terminal.clock import Clock
from terminal.config import ReaderSection
from terminal.daemon.pipeline import Pipeline
from terminal.daemon.service import Backoff
from terminal.interfaces import Reader

log = logging.getLogger("scanpoint.reader")

#: what each kind of dropped input most likely means, for the log line a technician reads
DROP_HINTS = {
    "garbage": "binary or non-text input: check [reader] baudrate and the reader's keyboard "
               "country (USA)",
    "oversize": "over 4 KiB without a terminator: check [reader] terminator",
    "partial": "a code cut off before its terminator: check [reader] terminator matches the "
               "reader's suffix, or the cable",
}


class ReaderState:
    STARTING = "starting"    # not opened yet
    OK = "ok"                # open and listening
    BACKOFF = "backoff"      # failed; waiting to retry
    CLOSED = "closed"        # the daemon stopped


class ReaderSupervisor:
    """Keeps one reader open and feeds its codes to ``pipeline`` (see the module docstring).

    ``open_reader`` makes a fresh reader; it is called again after every failure. ``name`` and
    ``kind`` (``serial``/``keyboard``) are what the status shows.
    """

    def __init__(self, open_reader: Callable[[], Reader], pipeline: Pipeline, *, clock: Clock,
                 name: str, kind: str, debounce_s: float = 1.5, retry_initial_s: float = 0.5,
                 retry_max_s: float = 30.0) -> None:
        self.open_reader = open_reader
        self.pipeline = pipeline
        self.clock = clock
        self.name = name
        self.kind = kind
        self.debounce_s = debounce_s
        self.retry_max_s = retry_max_s
        self.backoff = Backoff(retry_initial_s, retry_max_s)
        self.reader: Reader | None = None
        self.state = ReaderState.STARTING
        self.error: str | None = None
        self.failures = 0
        self.codes = 0                     # codes handed to the pipeline since start
        self._retry_at = 0.0
        self._dropped: Counter[str] = Counter()   # from readers already closed
        self._seen_drops: dict[str, int] = {}     # of the current reader, as last logged

    @classmethod
    def from_config(cls, section: ReaderSection, open_reader: Callable[[], Reader],
                    pipeline: Pipeline, *, clock: Clock) -> ReaderSupervisor:
        """A supervisor with the ``[reader]`` timings."""
        return cls(open_reader, pipeline, clock=clock, name=section.url, kind=section.kind,
                   debounce_s=section.debounce_ms / 1000.0,
                   retry_initial_s=section.retry_initial_s, retry_max_s=section.retry_max_s)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Open the reader; a failure only schedules a retry."""
        self._open()

    def close(self) -> None:
        """Close the reader for good (the daemon is stopping)."""
        self._close()
        self.state = ReaderState.CLOSED

    @property
    def faulty(self) -> bool:
        """True while the reader is gone and being retried: the fault pattern shows."""
        return self.state == ReaderState.BACKOFF

    # -- the loop's call ---------------------------------------------------------------------
    def poll(self, timeout: float) -> int:
        """Wait up to ``timeout`` s for codes and decide each; returns how many were handed to
        the pipeline. While the reader is gone, waits (on the clock) or retries it when due."""
        if self.reader is None:
            now = self.clock.monotonic()
            if self.state != ReaderState.CLOSED and now >= self._retry_at:
                self._open()
            elif timeout > 0:
                wait = timeout if self.state == ReaderState.CLOSED else self._retry_at - now
                self.clock.sleep(min(timeout, wait))
            return 0
        try:
            codes = self.reader.read(timeout)
        except Exception as exc:  # noqa: BLE001 - any failure of the device means: reopen it
            self._note_drops()
            self._failed(exc)
            return 0
        self._note_drops()
        for code in codes:
            self.codes += 1
            self.pipeline.process_text(code.text, code.arrived, source="reader",
                                       hold_s=self.debounce_s)
        return len(codes)

    # -- supervision --------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.reader = self.open_reader()
        except Exception as exc:  # noqa: BLE001 - not there yet, busy, misconfigured: retry
            self.reader = None
            self._failed(exc)
            return
        self.state = ReaderState.OK
        self.error = None
        self.backoff.reset()
        self._seen_drops = {}
        log.info("event=reader_ready kind=%s port=%s", self.kind, self.name)

    def _failed(self, exc: BaseException) -> None:
        self._close()
        self.failures += 1
        delay = self.backoff.next_delay()
        self._retry_at = self.clock.monotonic() + delay
        self.state = ReaderState.BACKOFF
        self.error = f"{type(exc).__name__}: {exc}"
        log.warning("event=reader_failed port=%s error=%r retry_in_s=%.2f failures=%d",
                    self.name, self.error, delay, self.backoff.failures)

    def _close(self) -> None:
        reader, self.reader = self.reader, None
        if reader is None:
            return
        self._dropped.update(self._reader_drops(reader))
        self._seen_drops = {}
        try:
            reader.close()
        except Exception as exc:  # noqa: BLE001 - a vanished device may fail to close
            log.warning("event=reader_close_failed port=%s error=%r", self.name, exc)

    @staticmethod
    def _reader_drops(reader: Reader) -> dict[str, int]:
        try:
            return dict(reader.drops())
        except Exception:  # noqa: BLE001 - counters are advisory
            return {}

    def _note_drops(self) -> None:
        if self.reader is None:
            return
        drops = self._reader_drops(self.reader)
        if drops == self._seen_drops:
            return
        for kind, count in drops.items():
            if count > self._seen_drops.get(kind, 0):
                log.warning("event=reader_input_dropped kind=%s total=%d hint=%r", kind,
                            self._dropped[kind] + count, DROP_HINTS.get(kind, ""))
        self._seen_drops = drops

    def dropped(self) -> dict[str, int]:
        """Input dropped without a decision since the daemon started, by kind."""
        total = Counter(self._dropped)
        if self.reader is not None:
            total.update(self._reader_drops(self.reader))
        return {kind: total.get(kind, 0) for kind in ("garbage", "oversize", "partial")}

    # -- health and status -------------------------------------------------------------------
    def health(self, now: float) -> tuple[bool, str]:
        """Open, or in managed backoff with a retry scheduled: healthy."""
        if self.state == ReaderState.BACKOFF and self._retry_at - now > self.retry_max_s + 1.0:
            return False, "reader failed and no retry scheduled"
        return True, "reader in backoff" if self.state == ReaderState.BACKOFF else "ok"

    def status(self) -> dict[str, Any]:
        """The reader's part of the status document: which reader, its state, its counters."""
        now = self.clock.monotonic()
        return {
            "url": self.name,
            "kind": self.kind,
            "state": self.state,
            "error": self.error if self.state != ReaderState.OK else None,
            "failures": self.failures,
            "retry_in_s": (round(max(0.0, self._retry_at - now), 2)
                           if self.state == ReaderState.BACKOFF else None),
            "codes": self.codes,
            "dropped": self.dropped(),
        }


def status_section(config: Any) -> dict[str, Any]:
    """``scanpoint status``: the configured reader, and what the daemon last said about it."""
    from terminal.daemon.service import read_status

    section = config.reader
    if not section.url:
        return {"url": None, "state": "none"}
    document = read_status(config.terminal.state_dir) or {}
    reported = document.get("reader") if isinstance(document.get("reader"), dict) else None
    report: dict[str, Any] = {"url": section.url, "kind": section.kind}
    if reported is None:
        report["state"] = "not-running"
    else:
        report.update({k: v for k, v in reported.items() if k not in ("url", "kind")})
    return report
