"""The persistent slip queue and the worker thread that drains it to a printer.

``submit()`` is one SQLite insert (WAL, ``synchronous=FULL``), so the scan path never waits for
paper, a jam or an unplugged cable. A worker thread prints the oldest waiting slip when the
printer says it is ready and marks it printed only once the printer has confirmed it.

Delivery is *at least once*, never lost, and a slip prints twice only in one narrow window:

* before sending, the row is marked ``sending`` (committed); after the printer's in-order
  confirmation, it is marked ``printed`` (committed).
* if the process dies, or the printer stops answering, between those two commits, the slip's fate
  is unknown. It is printed again, headed ``重打 REPRINT``, so a clerk holding two copies sees
  which is which (same verification code, same time). We choose a possible duplicate over a
  possible loss.
* a confirmation reporting paper end means the slip ran out mid-way (torn); it too is reprinted
  with the marker once paper is back.
* a printer that prints but never answers (no GS r support, a broken return line) would print
  one slip forever: after ``max_attempts`` unanswered sends the slip is marked ``failed``, logged,
  and counted in ``scanpoint status``; the queue moves on.

The queue stores the rendered slip (masked name, ID tail, code) and never a raw payload.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import tzinfo
from pathlib import Path
from typing import Any

from terminal import storage
from terminal.clock import SYSTEM, Clock
from terminal.counter.paper import Slip
from terminal.counter.slip import build_slip
from terminal.errors import PrinterError
from terminal.interfaces import DecisionEvent, Printer, PrinterStatus, PrintOutcome
from terminal.storage import Schema

log = logging.getLogger(__name__)

QUEUE_FILE = "printqueue.db"
SCHEMA = Schema("print queue", [[
    "CREATE TABLE IF NOT EXISTS slips ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " created REAL NOT NULL,"
    " slip TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending'"
    "  CHECK (state IN ('pending', 'sending', 'printed', 'failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"     # sends the printer never answered
    " printed_at REAL)",
    "CREATE INDEX IF NOT EXISTS slips_state ON slips(state, id)",
]], private=True)
"""Waiting slips hold a masked name, an ID tail and a code: purged rows must not linger."""


class QueueFull(PrinterError):
    """The slip queue holds ``max_pending`` unprinted slips; the printer has been down too long."""


class PrintQueue:
    """A SQLite-backed FIFO of slips with a worker thread printing them.

    ``start()`` launches the worker; ``close()`` stops it (waiting for an in-flight slip at most
    ``print_timeout`` of the printer) and closes the database. Without a printer the queue only
    stores slips (a terminal whose printer is configured later still keeps them).
    """

    def __init__(self, path: str | Path, printer: Printer | None = None, *,
                 retry_interval: float = 2.0, max_pending: int = 1000,
                 max_attempts: int = 3, keep_printed: float = 86400.0,
                 clock: Clock = SYSTEM) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.printer = printer
        self.retry_interval = retry_interval
        self.max_pending = max_pending
        self.max_attempts = max_attempts
        self.keep_printed = keep_printed
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = storage.connect(self.path, SCHEMA)   # submit() and queries
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_status: PrinterStatus | None = None
        self.purge()

    # -- the scan path -------------------------------------------------------------------------

    def submit(self, slip: Slip) -> int:
        """Queue a slip; returns its id. One fsynced insert: fast, never touches the printer.

        Raises :class:`QueueFull` when ``max_pending`` slips already wait.
        """
        with self._lock:
            waiting = self._conn.execute(
                "SELECT count(*) FROM slips WHERE state IN ('pending', 'sending')").fetchone()[0]
            if waiting >= self.max_pending:
                raise QueueFull(f"{waiting} slips wait for the printer; fix the printer "
                                "(paper, cable, power) — new slips are not queued")
            cur = self._conn.execute("INSERT INTO slips (created, slip) VALUES (?, ?)",
                                     (self._clock.time(), slip.to_json()))
            slip_id = int(cur.lastrowid or 0)
        self._wake.set()
        return slip_id

    # -- inspection ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Slips by state: pending (includes sending) and printed."""
        with self._lock:
            rows = dict(self._conn.execute(
                "SELECT state, count(*) FROM slips GROUP BY state").fetchall())
        return {"pending": rows.get("pending", 0) + rows.get("sending", 0),
                "printed": rows.get("printed", 0), "failed": rows.get("failed", 0)}

    def pending(self) -> list[Slip]:
        """The slips still to print, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT slip FROM slips WHERE state IN ('pending', 'sending') ORDER BY id"
            ).fetchall()
        return [Slip.from_json(r[0]) for r in rows]

    def purge(self, now: float | None = None) -> int:
        """Delete finished slips older than ``keep_printed`` seconds; returns how many.

        Printed slips age from ``printed_at``; failed slips (never confirmed, so given up) age
        from ``created``: they hold a masked name, ID tail and code too, and nothing else bounds
        them (``max_pending`` counts only waiting slips), so they must not be kept forever.
        """
        now = self._clock.time() if now is None else now
        cutoff = now - self.keep_printed
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM slips WHERE (state = 'printed' AND printed_at < ?) "
                "OR (state = 'failed' AND created < ?)", (cutoff, cutoff))
        return cur.rowcount

    # -- the worker ----------------------------------------------------------------------------

    def start(self) -> PrintQueue:
        """Start the worker thread (no-op without a printer or if already running)."""
        if self.printer is not None and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="slip-printer", daemon=True)
            self._thread.start()
        return self

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no slip is waiting (for tests and the demo); True if the queue drained."""
        deadline = self._clock.monotonic() + timeout
        while self._clock.monotonic() < deadline:
            if self.counts()["pending"] == 0:
                return True
            self._clock.sleep(0.02)
        return self.counts()["pending"] == 0

    def _run(self) -> None:
        conn = storage.connect(self.path, SCHEMA)  # the worker's own connection
        last_purge = self._clock.monotonic()
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    worked = self._step(conn)
                except Exception:
                    log.exception("event=print_worker_error")
                    worked = False
                if self._clock.monotonic() - last_purge > 3600:
                    self.purge()
                    last_purge = self._clock.monotonic()
                if not worked:
                    self._wake.wait(self.retry_interval)
        finally:
            conn.close()

    def _step(self, conn: sqlite3.Connection) -> bool:
        """Print the oldest waiting slip if the printer is ready; True if one was printed."""
        row = conn.execute("SELECT id, slip, state, attempts FROM slips "
                           "WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1").fetchone()
        if row is None or self.printer is None:
            return False
        slip_id, text, state, attempts = row
        status = self.printer.status()
        if status != self.last_status:
            log.info("event=printer_status online=%s paper=%s near_end=%s detail=%r",
                     status.online, status.paper, status.near_end, status.detail)
        self.last_status = status
        if not status.ready:
            return False
        if attempts >= self.max_attempts:
            # a printer that prints but never confirms (no GS r support) must not loop forever
            conn.execute("UPDATE slips SET state = 'failed' WHERE id = ?", (slip_id,))
            log.error("event=slip_failed id=%d attempts=%d hint=%r", slip_id, attempts,
                      "printer never confirmed: does it support GS r? check the printer")
            return True
        slip = Slip.from_json(text)
        if state == "sending":                     # an earlier attempt may have printed it
            slip = slip.as_reprint()
        conn.execute("UPDATE slips SET state = 'sending' WHERE id = ?", (slip_id,))
        outcome = self.printer.print_slip(slip)
        if outcome == PrintOutcome.PRINTED:
            conn.execute("UPDATE slips SET state = 'printed', printed_at = ? WHERE id = ?",
                         (self._clock.time(), slip_id))
            log.info("event=slip_printed id=%d", slip_id)
            return True
        if outcome == PrintOutcome.NOT_SENT:
            conn.execute("UPDATE slips SET state = ? WHERE id = ?", (state, slip_id))
        elif outcome == PrintOutcome.UNCONFIRMED:
            conn.execute("UPDATE slips SET attempts = attempts + 1 WHERE id = ?", (slip_id,))
        log.warning("event=slip_not_printed id=%d outcome=%s", slip_id, outcome.value)
        return False

    def close(self) -> None:
        """Stop the worker and close the database; waiting slips stay for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self._conn.close()

    def __enter__(self) -> PrintQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SlipObserver:
    """Pipeline observer: builds a slip for each decision in ``print_on`` and queues it.

    Never raises and never waits for the printer: building a slip is pure, queueing is one insert.
    ``site`` and ``terminal_id`` default to the event's own. ``close()`` stops the worker and
    closes the port (and the simulator when ``[printer] url = "sim"``).
    """

    def __init__(self, queue: PrintQueue, *, secret: bytes, width: int = 32,
                 print_on: tuple[str, ...] | list[str] = ("pass", "deny", "check"),
                 site: str | None = None, terminal_id: str | None = None,
                 tz: tzinfo | None = None, qr: bool = True) -> None:
        self.queue = queue
        self.print_on = frozenset(print_on)
        self._secret = secret
        self.width = width
        self.site = site
        self.terminal_id = terminal_id
        self.tz = tz
        self.qr = qr
        self.errors = 0
        self.last_slip: Slip | None = None

    def on_decision(self, event: DecisionEvent) -> None:
        try:
            result = event.result
            if result.decision.value not in self.print_on:
                return
            site = self.site or event.site or "scanpoint"
            terminal_id = self.terminal_id or event.terminal_id or "-"
            slip = build_slip(result, site=site, terminal_id=terminal_id, secret=self._secret,
                              at=event.wall, width=self.width, tz=self.tz, qr=self.qr)
            self.queue.submit(slip)
            self.last_slip = slip
        except Exception as exc:  # noqa: BLE001 - a slip problem must never stop the gate
            self.errors += 1
            log.error("event=slip_queue_failed error=%s: %s", type(exc).__name__, exc)

    def close(self, drain_s: float = 3.0) -> None:
        """Stop the worker and close the queue; the printer belongs to the devices, which close it.

        A ready printer gets up to ``drain_s`` seconds to finish the waiting slips; whatever is
        left stays queued for the next start.
        """
        status = self.queue.last_status
        if drain_s > 0 and status is not None and status.ready:
            self.queue.wait_idle(drain_s)
        self.queue.close()


def status_section(config: Any) -> dict[str, Any]:
    """The printer part of ``scanpoint status``: slips waiting and printed (from the queue file)."""
    section = config.printer
    if not section.enabled:
        return {"enabled": False}
    path = Path(config.terminal.state_dir) / QUEUE_FILE
    if not path.exists():
        return {"enabled": True, "url": section.url, "pending": 0, "printed": 0}
    conn = storage.connect_readonly(path)
    try:
        rows = dict(conn.execute("SELECT state, count(*) FROM slips GROUP BY state").fetchall())
        oldest = conn.execute("SELECT min(created) FROM slips "
                              "WHERE state IN ('pending', 'sending')").fetchone()[0]
    finally:
        conn.close()
    return {"enabled": True, "url": section.url,
            "pending": rows.get("pending", 0) + rows.get("sending", 0),
            "printed": rows.get("printed", 0),
            "failed": rows.get("failed", 0),
            "oldest_pending_unix": oldest}
