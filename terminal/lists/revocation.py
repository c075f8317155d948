"""The terminal's revocation store (SQLite) and the verifier's revocation hook.

Entries are 128-bit truncated SM3 hashes of credential serials, so the store (and the published
list) names no one. The database runs in WAL mode with ``synchronous=FULL``: under simulated power
cuts ``NORMAL`` rolled back acknowledged commits (a revoked pass silently un-revoked) and ``OFF``
corrupted the file. Every update -- a full snapshot or a delta -- is one transaction whose version
check happens inside it, so a crash leaves the old list whole and versions only go up.

Writers (the sync process) use :class:`RevocationStore`; the scanner uses :class:`RevocationCheck`,
whose :meth:`~RevocationCheck.check` is one indexed query on a connection reused by the calling
thread. The store works on a stdlib :mod:`sqlite3` connection or on an APSW one (the power-cut tests
drive the very same code through an APSW VFS shim).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal import storage
from terminal.clock import SYSTEM, Clock
from terminal.crypto.sm3 import sm3
from terminal.errors import TrustListError
from terminal.lists.timeguard import TimeGuard
from terminal.reasons import Reason
from terminal.result import Credential
from terminal.storage import Schema, table_exists

log = logging.getLogger("scanpoint.revocation")

HASH_BYTES = 16
REVOCATION = "revocation"
TRUST = "trust"
INDEX = "index"


def _adopt_legacy(con: Any) -> int:
    """Files written before the store used ``user_version`` recorded their one migration in a
    ``_sqlite_migrations`` table (sqlite-utils' scheme): such a file is at version 1."""
    if not table_exists(con, "_sqlite_migrations"):
        return 0
    done = {row[0] for row in con.execute("SELECT name FROM _sqlite_migrations")}
    con.execute("DROP TABLE _sqlite_migrations")
    return 1 if "0001_initial" in done else 0


SCHEMA = Schema("revocation", [
    [
        # WITHOUT ROWID + BLOB primary key: the hash *is* the b-tree key, ~21 bytes a row on disk.
        "CREATE TABLE revoked (h BLOB PRIMARY KEY CHECK (length(h) = 16)) WITHOUT ROWID",
        "CREATE TABLE lists (kind TEXT PRIMARY KEY, version INTEGER NOT NULL, "
        "issued INTEGER NOT NULL, valid_until INTEGER NOT NULL, etag TEXT, "
        "entries INTEGER, applied_at INTEGER NOT NULL)",
        "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ],
], adopt=_adopt_legacy)
"""The store's tables. Hashes name no one, so deletes need not be secure (a 10M-entry snapshot
replacement would pay for zeroing every freed page)."""


def serial_hash(serial: bytes) -> bytes:
    """The 16-byte revocation entry of a credential serial: SM3(serial) truncated to 128 bits."""
    return sm3(bytes(serial))[:HASH_BYTES]


def check_hashes(blob: bytes, *, what: str = "list", max_entries: int | None = None) -> memoryview:
    """Check a body of concatenated 16-byte hashes is well formed and strictly ascending.

    Sorted, duplicate-free bodies make inserts sequential (dense pages) and let a corrupted or
    padded body be refused before anything touches the database. Returns a memoryview of it.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TrustListError(f"{what}: hash body is not bytes")
    mv = memoryview(blob).cast("B")
    if len(mv) % HASH_BYTES:
        raise TrustListError(f"{what}: hash body length {len(mv)} is not a multiple of 16")
    n = len(mv) // HASH_BYTES
    if max_entries is not None and n > max_entries:
        raise TrustListError(f"{what}: {n} entries exceed the cap of {max_entries}",
                             code="too-large")
    prev = b""
    for start in range(0, n, 65536):
        chunk = mv[start * HASH_BYTES:(start + 65536) * HASH_BYTES].tobytes()
        items = [chunk[i:i + HASH_BYTES] for i in range(0, len(chunk), HASH_BYTES)]
        if prev >= items[0] or any(a >= b for a, b in zip(items, items[1:])):
            raise TrustListError(f"{what}: hashes not strictly ascending near entry {start}")
        prev = items[-1]
    return mv


def iter_batches(mv: memoryview, batch: int = 50_000) -> Iterator[list[tuple[bytes]]]:
    """The entries of a checked body as parameter rows, ``batch`` at a time (bounded memory)."""
    step = batch * HASH_BYTES
    for start in range(0, len(mv), step):
        chunk = mv[start:start + step].tobytes()
        yield [(chunk[i:i + HASH_BYTES],) for i in range(0, len(chunk), HASH_BYTES)]


def split_hashes(blob: bytes, *, what: str = "list", max_entries: int | None = None) -> list[bytes]:
    """The checked entries of a body as a list (small bodies: deltas, tests)."""
    mv = check_hashes(blob, what=what, max_entries=max_entries)
    return [row[0] for rows in iter_batches(mv) for row in rows]


@dataclass(frozen=True)
class ListMeta:
    """What the terminal holds of one signed list."""

    kind: str
    version: int
    issued: int
    valid_until: int
    etag: str | None
    entries: int | None
    applied_at: int


class ListRollback(TrustListError):
    """A list was refused because its version is not newer than the one held."""

    code = "rollback"


class DeltaMismatch(TrustListError):
    """A delta does not fit the held list (wrong base or entry count); a full snapshot is needed."""

    code = "delta-mismatch"


def _total_changes(con: Any) -> int:
    tc = con.total_changes          # sqlite3: attribute; apsw: method
    return tc() if callable(tc) else tc


class RevocationStore:
    """The writable store: applies signed snapshots and deltas, records list metadata and sync state.

    ``con`` is an open connection (stdlib or APSW, autocommit) or None to open ``path``.
    """

    def __init__(self, path: str | Path | None = None, *, con: Any = None,
                 clock: Clock = SYSTEM) -> None:
        if con is None:
            if path is None:
                raise ValueError("RevocationStore needs a path or a connection")
            con = storage.connect(path, SCHEMA)
        else:
            storage.migrate(con, SCHEMA)
        self.path = Path(path) if path is not None else None
        self.con = con
        self.clock = clock

    # -- reading -------------------------------------------------------------------------------
    def meta(self, kind: str = REVOCATION) -> ListMeta | None:
        """The metadata of the held list of ``kind``, or None if none is held."""
        row = self.con.execute(
            "SELECT kind, version, issued, valid_until, etag, entries, applied_at FROM lists "
            "WHERE kind = ?", (kind,)).fetchone()
        return ListMeta(*row) if row else None

    def contains(self, entry: bytes) -> bool:
        """True if the 16-byte hash ``entry`` is revoked."""
        return self.con.execute("SELECT 1 FROM revoked WHERE h = ?", (entry,)).fetchone() is not None

    def count(self) -> int:
        """Number of revoked entries (a full scan: for tests and tools, not the scan path)."""
        return self.con.execute("SELECT count(*) FROM revoked").fetchone()[0]

    def iter_hashes(self) -> Iterator[bytes]:
        """Every entry in ascending order."""
        for (h,) in self.con.execute("SELECT h FROM revoked ORDER BY h"):
            yield bytes(h)

    # -- writing -------------------------------------------------------------------------------
    def set_state(self, key: str, value: Any) -> None:
        """Save a small JSON value (last sync result, clock offset...)."""
        self.con.execute("INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
                         (key, json.dumps(value, sort_keys=True)))

    def _begin_newer(self, kind: str, version: int) -> ListMeta | None:
        """Start the write transaction and refuse a version that does not go up."""
        self.con.execute("BEGIN IMMEDIATE")
        held = self.meta(kind)
        if held is not None and version <= held.version:
            self.con.execute("ROLLBACK")
            raise ListRollback(
                f"{kind} list version {version} refused: not newer than held version "
                f"{held.version} (rollback or replay)")
        return held

    def _finish(self, kind: str, version: int, issued: int, valid_until: int,
                etag: str | None, entries: int | None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO lists (kind, version, issued, valid_until, etag, entries, "
            "applied_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, int(version), int(issued), int(valid_until), etag, entries,
             int(self.clock.time())))
        self.con.execute("COMMIT")

    def apply_snapshot(self, version: int, issued: int, valid_until: int, hashes: bytes, *,
                       etag: str | None = None, max_entries: int | None = None,
                       batch: int = 50_000) -> int:
        """Replace the whole list with ``hashes`` (sorted 16-byte entries) in one transaction.

        Returns the entry count. Raises :class:`ListRollback` if ``version`` is not newer.
        """
        mv = check_hashes(hashes, what="revocation snapshot", max_entries=max_entries)
        n = len(mv) // HASH_BYTES
        self._begin_newer(REVOCATION, version)
        try:
            self.con.execute("DELETE FROM revoked")   # truncate optimisation: pages are reused
            for rows in iter_batches(mv, batch):
                self.con.executemany("INSERT INTO revoked (h) VALUES (?)", rows)
            self._finish(REVOCATION, version, issued, valid_until, etag, n)
        except BaseException:
            self._rollback()
            raise
        return n

    def apply_delta(self, base: int, version: int, issued: int, valid_until: int, add: bytes,
                    remove: bytes, count: int, *, etag: str | None = None,
                    max_entries: int | None = None) -> int:
        """Apply a delta from ``base`` to ``version`` in one transaction; ``count`` is the size after.

        Refuses (:class:`DeltaMismatch`) if the held version is not ``base`` or the resulting size
        is not ``count`` -- the caller then fetches the full snapshot.
        """
        adds = split_hashes(add, what="revocation delta (add)", max_entries=max_entries)
        removes = split_hashes(remove, what="revocation delta (remove)", max_entries=max_entries)
        held = self._begin_newer(REVOCATION, version)
        try:
            if held is None or held.version != base:
                raise DeltaMismatch(
                    f"delta {base}->{version} does not fit held version "
                    f"{held.version if held else 'none'}")
            before = _total_changes(self.con)
            self.con.executemany("DELETE FROM revoked WHERE h = ?", ((h,) for h in removes))
            removed = _total_changes(self.con) - before
            before = _total_changes(self.con)
            self.con.executemany("INSERT OR IGNORE INTO revoked (h) VALUES (?)", ((h,) for h in adds))
            added = _total_changes(self.con) - before
            held_entries = held.entries if held.entries is not None else self.count()
            now_entries = held_entries - removed + added
            if now_entries != count:
                raise DeltaMismatch(
                    f"delta {base}->{version} gives {now_entries} entries, list says {count}")
            self._finish(REVOCATION, version, issued, valid_until, etag, now_entries)
        except BaseException:
            self._rollback()
            raise
        return now_entries

    def record_list(self, kind: str, version: int, issued: int, valid_until: int, *,
                    etag: str | None = None, entries: int | None = None) -> None:
        """Record a list held elsewhere (the trust-list file) -- versions only go up."""
        self._begin_newer(kind, version)
        try:
            self._finish(kind, version, issued, valid_until, etag, entries)
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            self.con.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - already rolled back (e.g. by the error itself)
            pass

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (after a big apply) and truncate it."""
        self.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> RevocationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_path(config: Any) -> Path:
    """The revocation store of a terminal config: ``[lists] db``, else STATE_DIR/revocation.db."""
    return Path(config.lists.db or Path(config.terminal.state_dir) / "revocation.db")


def read_lists(path: str | Path) -> tuple[dict[str, ListMeta], dict[str, Any]]:
    """Held list metadata and sync state, read without creating or changing the file."""
    con = storage.connect_readonly(path, timeout=1.0)
    try:
        return _lists_and_state(con)
    finally:
        con.close()


def _lists_and_state(con: Any) -> tuple[dict[str, ListMeta], dict[str, Any]]:
    meta = {r[0]: ListMeta(*r) for r in con.execute(
        "SELECT kind, version, issued, valid_until, etag, entries, applied_at FROM lists")}
    state = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM sync_state")}
    return meta, state


@dataclass
class _Reader:
    """One thread's read-only connection and what it last read of the list metadata."""

    con: sqlite3.Connection
    data_version: int | None = None
    meta: dict[str, ListMeta] | None = None
    state: dict[str, Any] | None = None


class _PerThread(threading.local):
    reader: _Reader | None = None


class RevocationCheck:
    """The verifier's revocation hook: ``check(credential, now) -> Reason | None``.

    Answers REVOKED when the serial's hash is listed (even from a stale list: a listed revocation is
    never wrong to honour), otherwise CLOCK_UNTRUSTED when the clock cannot be trusted, LIST_STALE
    when no list is held or it is past its valid-until, else None. Each thread that calls
    :meth:`check` gets one read-only connection, reused; list metadata is cached and re-read only
    when ``PRAGMA data_version`` says the sync process committed something. ``deny_reasons`` are
    the list/clock reasons a site's ``[lists]`` settings turn from ``check`` into ``deny``.
    """

    def __init__(self, path: str | Path, guard: TimeGuard | None = None, *,
                 deny_reasons: frozenset[Reason] = frozenset()) -> None:
        self.path = Path(path)
        self.guard = guard if guard is not None else TimeGuard()
        self.deny_reasons = frozenset(deny_reasons)
        self._local = _PerThread()
        self._warned: str | None = None

    @classmethod
    def from_config(cls, config: Any, *, clock: Clock = SYSTEM) -> RevocationCheck | None:
        """The hook for a terminal config; never raises (the store is opened at the first check).

        With a pinned root key (``[trust] root_key``) there is always a hook, on
        :func:`store_path`: a missing store answers LIST_STALE (check), so a terminal without a
        list source fails closed instead of passing unchecked (logged as a warning here). None only
        without a root key -- a DCC-only site, or ``scanpoint verify`` without ``--config`` --
        where no signed list could ever be verified.
        """
        lists = config.lists
        if not config.trust.root_key:
            return None
        db = store_path(config)
        if not config.sync.source and not lists.db:
            log.warning("event=revocation_no_source store=%s: no [sync] source or [lists] db is "
                        "configured; credentials answer LIST_STALE (check) until lists are synced "
                        "into this store", db)
        deny = frozenset(reason for reason, setting in ((Reason.LIST_STALE, lists.stale),
                                                         (Reason.CLOCK_UNTRUSTED, lists.untrusted_clock))
                         if setting == "deny")
        return cls(db, TimeGuard.from_config(config, clock=clock), deny_reasons=deny)

    def _reader(self) -> _Reader:
        reader = self._local.reader
        if reader is None:
            reader = _Reader(storage.connect_readonly(self.path, timeout=0.2))
            self._local.reader = reader
        dv = reader.con.execute("PRAGMA data_version").fetchone()[0]
        if dv != reader.data_version or reader.meta is None:
            reader.meta, reader.state = _lists_and_state(reader.con)
            reader.data_version = dv
        return reader

    def check(self, credential: Credential, now: float) -> Reason | None:
        """REVOKED, CLOCK_UNTRUSTED, LIST_STALE or None for ``credential`` at wall time ``now``."""
        try:
            reader = self._reader()
            if credential.serial and reader.con.execute(
                    "SELECT 1 FROM revoked WHERE h = ?",
                    (serial_hash(credential.serial),)).fetchone() is not None:
                return Reason.REVOKED
        except sqlite3.Error as exc:
            # Missing or unreadable store: fail closed to `check`, never to `pass`.
            if self._warned != str(exc):            # once per distinct error
                log.warning("event=revocation_store_unreadable path=%s error=%s", self.path, exc)
                self._warned = str(exc)
            self.close()
            return Reason.LIST_STALE
        return self.guard.assess(now, reader.meta or {}, reader.state or {},
                                 required=(REVOCATION,))

    def close(self) -> None:
        """Close the calling thread's connection (it reopens at the next check)."""
        reader = self._local.reader
        if reader is not None:
            reader.con.close()
            self._local.reader = None
