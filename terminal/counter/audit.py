"""The privacy-preserving audit log: one row per decision, nothing that identifies a person.

A row holds the time, decision, reason, format, credential type, issuer key id, the keyed hash
(HMAC-SM3 under the per-terminal secret, see :mod:`terminal.counter.secret`) of the credential serial,
its 8-character verification code (the one printed on the slip) and the decision latency —
never a payload, a name or an ID. Rows older than the retention (default 7 days) are purged on
open and periodically; purging uses SQLite ``secure_delete`` and truncates the WAL, so deleted
rows do not linger in free pages.

This module also holds the log redaction the daemon installs on the root logger
(:func:`install_redaction`): anything that looks like a credential QR text is replaced before a
log line is written anywhere.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from terminal import storage
from terminal.clock import SYSTEM, Clock
from terminal.config import Config
from terminal.counter.secret import keyed_serial_hash, load_or_create_secret, verification_code
from terminal.errors import TimeFormatError
from terminal.interfaces import DecisionEvent
from terminal.reasons import Decision, Reason
from terminal.result import Result
from terminal.storage import Schema
from terminal.timefmt import in_range, iso, parse_iso

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.db"
SCHEMA = Schema("audit", [[
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at REAL NOT NULL,"
    " decision TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " format TEXT,"
    " type TEXT,"
    " key_id TEXT,"
    " serial_hash TEXT,"
    " code TEXT,"
    " latency_ms REAL)",
    "CREATE INDEX IF NOT EXISTS events_at ON events(at)",
    "CREATE INDEX IF NOT EXISTS events_code ON events(code)",
]], private=True)
"""Rows are about people (hashed): purged ones must not linger in free pages."""
COLUMNS = ("at", "decision", "reason", "format", "type", "key_id", "serial_hash", "code",
           "latency_ms")
DAY = 86400.0


def _safe_text(value: Any, limit: int = 64) -> str | None:
    """A short printable token for a column (format, type, key id): bounded, no control chars."""
    if value is None:
        return None
    text = str(value)[:limit]
    return "".join(c if c.isprintable() else "?" for c in text)


class AuditLog:
    """The audit database in ``state_dir`` (``audit.db``). Thread-safe; one instance per process.

    ``on_decision(event)`` is the pipeline observer: it records and never raises. Old rows are
    purged on open, after a record once ``purge_interval`` has passed, and — after ``start()`` —
    by a background thread every ``purge_interval`` even when no one scans.
    """

    def __init__(self, state_dir: str | Path, *, retention_days: float = 7.0,
                 purge_interval: float = 3600.0, secret: bytes | None = None,
                 clock: Clock = SYSTEM) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.state_dir / AUDIT_FILE
        self.retention = retention_days * DAY
        self.purge_interval = purge_interval
        self._clock = clock
        self._secret = secret if secret is not None else load_or_create_secret(self.state_dir)
        self._lock = threading.Lock()
        self._conn = storage.connect(self.path, SCHEMA)
        self._last_purge = 0.0
        self._stop = threading.Event()
        self._purger: threading.Thread | None = None
        self.purge()
        self.errors = 0

    def start(self) -> AuditLog:
        """Purge every ``purge_interval`` seconds in a background thread, even when idle."""
        if self._purger is None:
            self._purger = threading.Thread(target=self._purge_loop, name="audit-purge",
                                            daemon=True)
            self._purger.start()
        return self

    def _purge_loop(self) -> None:
        while not self._stop.wait(self.purge_interval):
            try:
                self.purge()
            except Exception as exc:  # noqa: BLE001 - retried at the next interval
                log.error("event=audit_purge_failed error=%s", type(exc).__name__)

    # -- writing -------------------------------------------------------------------------------

    def record(self, result: Result, at: float | None = None, latency: float | None = None) -> None:
        """Append one decision. Only hashes and codes leave the credential."""
        at = self._clock.time() if at is None else float(at)
        cred = result.credential
        digest = code = None
        if cred is not None and cred.serial:
            raw = keyed_serial_hash(self._secret, cred.serial)
            digest, code = raw.hex(), verification_code(raw)
        row = (at, Decision(result.decision).value, Reason(result.reason).value,
               _safe_text(result.format), _safe_text(cred.type if cred else None),
               _safe_text(cred.key_id if cred else None), digest, code,
               None if latency is None else round(latency * 1000.0, 3))
        with self._lock:
            self._conn.execute(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "
                               f"({', '.join('?' * len(COLUMNS))})", row)
        if self._clock.monotonic() - self._last_purge >= self.purge_interval:
            self.purge()

    def on_decision(self, event: DecisionEvent) -> None:
        """Pipeline observer: record ``event.result`` at ``event.wall``; never raises."""
        try:
            self.record(event.result, event.wall, event.latency)
        except Exception as exc:  # noqa: BLE001 - the audit log must never stop the gate
            self.errors += 1
            log.error("event=audit_write_failed error=%s", type(exc).__name__)

    def purge(self, now: float | None = None) -> int:
        """Delete rows older than the retention; returns how many. Truncates the WAL after."""
        now = self._clock.time() if now is None else now
        with self._lock:
            cur = self._conn.execute("DELETE FROM events WHERE at < ?", (now - self.retention,))
            if cur.rowcount:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._last_purge = self._clock.monotonic()
        if cur.rowcount:
            log.info("event=audit_purged rows=%d", cur.rowcount)
        return cur.rowcount

    # -- reading -------------------------------------------------------------------------------

    def rows(self, since: float = 0.0, until: float | None = None) -> Iterator[dict[str, Any]]:
        """Rows with ``since <= at < until``, oldest first."""
        until = float("inf") if until is None else until
        with self._lock:
            fetched = self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM events WHERE at >= ? AND at < ? ORDER BY at, id",
                (since, until)).fetchall()
        for values in fetched:
            yield dict(zip(COLUMNS, values))

    def find(self, code: str) -> list[dict[str, Any]]:
        """Rows whose verification code is ``code`` (the 8 characters printed on the slip)."""
        with self._lock:
            fetched = self._conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM events WHERE code = ? ORDER BY at, id",
                (code,)).fetchall()
        return [dict(zip(COLUMNS, values)) for values in fetched]

    def export(self, out: TextIO, since: float = 0.0, fmt: str = "csv") -> int:
        """Write rows since ``since`` as CSV (with a header) or JSON lines; returns the count."""
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"unknown export format {fmt!r}: use csv or jsonl")
        count = 0
        writer = csv.DictWriter(out, fieldnames=("time",) + COLUMNS) if fmt == "csv" else None
        if writer:
            writer.writeheader()
        for row in self.rows(since):
            row = {"time": iso(row["at"]), **row}
            if writer:
                writer.writerow(row)
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count

    def counters(self, since: float = 0.0) -> dict[str, Any]:
        """Counts by decision and by reason, the row total and the oldest and newest times."""
        with self._lock:
            return _summary(self._conn, since)

    def close(self) -> None:
        self._stop.set()
        if self._purger is not None:
            self._purger.join(timeout=5)
            self._purger = None
        with self._lock:
            self._conn.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parse_since(text: str, now: float | None = None) -> float:
    """``--since``: an ISO date or date-time (naive = UTC), or a span back from ``now`` (default:
    the system clock): ``7d``, ``12h``, ``30m``."""
    text = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([dhm])", text)
    if match:
        now = SYSTEM.time() if now is None else now
        return in_range(now - float(match[1]) * {"d": DAY, "h": 3600.0, "m": 60.0}[match[2]], text)
    try:
        return parse_iso(text)
    except TimeFormatError:
        raise TimeFormatError(f"{text!r} is not an ISO date/time (2026-11-24 or "
                              "2026-11-24T08:00:00+08:00) nor a span like 7d, 12h, 30m") from None


def status_section(config: Config) -> dict[str, Any]:
    """The audit part of ``scanpoint status``: counters by decision and reason, retention."""
    section = config.audit
    if not section.enabled:
        return {"enabled": False}
    path = Path(config.terminal.state_dir) / AUDIT_FILE
    if not path.exists():
        return {"enabled": True, "events": 0, "note": "no audit log yet"}
    conn = storage.connect_readonly(path)
    try:
        summary = _summary(conn)
    finally:
        conn.close()
    return {"enabled": True, "retention_days": section.retention_days, **summary}


def summary_since(config: Config, since: float) -> dict[str, Any] | None:
    """Counts by decision and reason of the events at or after Unix time ``since`` (the staff
    screen's "today"); None when the audit log is disabled or not there yet. Counts, never rows."""
    path = Path(config.terminal.state_dir) / AUDIT_FILE
    if not config.audit.enabled or not path.exists():
        return None
    conn = storage.connect_readonly(path)
    try:
        return _summary(conn, since)
    finally:
        conn.close()


def _summary(conn: sqlite3.Connection, since: float = 0.0) -> dict[str, Any]:
    by_decision = dict(conn.execute(
        "SELECT decision, count(*) FROM events WHERE at >= ? GROUP BY decision", (since,)))
    by_reason = dict(conn.execute(
        "SELECT reason, count(*) FROM events WHERE at >= ? GROUP BY reason ORDER BY 2 DESC",
        (since,)))
    total, oldest, newest = conn.execute(
        "SELECT count(*), min(at), max(at) FROM events WHERE at >= ?", (since,)).fetchone()
    return {"events": total,
            "by_decision": {d.value: by_decision.get(d.value, 0) for d in Decision},
            "by_reason": by_reason,
            "oldest": iso(oldest) if oldest is not None else None,
            "newest": iso(newest) if newest is not None else None}
