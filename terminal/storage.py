"""Everything scanpoint keeps on disk goes through here: SQLite stores and whole-file writes.

**Databases.** :func:`connect` opens any store with one pragma set — WAL, ``synchronous=FULL``
(under simulated power cuts WAL+NORMAL rolled back acknowledged commits: for us a revoked pass
silently un-revoked; OFF corrupted the file), a busy timeout, and ``secure_delete`` for stores
that hold rows about people, so purged rows do not linger in free pages — and brings its schema up
to date. Each store declares a :class:`Schema`: an ordered list of migrations whose count is
recorded in ``PRAGMA user_version``, applied in one transaction. A file made before a store used
``user_version`` is recognised by the schema's ``adopt`` hook and upgraded in place.

**Files.** :func:`atomic_write` replaces a file so a reader (or a power cut) sees the old content or
the whole new one, never a part: temporary file in the same folder, fsync, rename, fsync of the
folder.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.errors import StorageError

BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Schema:
    """A store's tables as an ordered list of migrations (each a list of SQL statements).

    ``version`` is the number of migrations; a file at ``user_version`` N gets migrations N+1...
    ``private`` turns on ``secure_delete`` (rows about people). ``adopt(con)`` may recognise a file
    written before the store recorded ``user_version`` and return the version it corresponds to
    (and tidy up what the old scheme left), or 0 for a new file.
    """

    name: str
    migrations: Sequence[Sequence[str]]
    private: bool = False
    adopt: Callable[[Any], int] | None = None

    @property
    def version(self) -> int:
        return len(self.migrations)


def configure(con: Any, *, private: bool = False, synchronous: str = "FULL") -> None:
    """Set the pragmas every scanpoint connection uses (stdlib :mod:`sqlite3` or APSW).

    ``synchronous`` is FULL everywhere; the power-cut experiments pass NORMAL and OFF to show
    why.
    """
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageError(f"SQLite file could not switch to WAL mode (got {mode!r})")
    con.execute(f"PRAGMA synchronous={synchronous}")
    con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    con.execute(f"PRAGMA secure_delete={'ON' if private else 'OFF'}")
    con.execute("PRAGMA cache_size=-32768")           # 32 MiB at most: big applies spill less
    con.execute("PRAGMA journal_size_limit=8388608")  # shrink the WAL after checkpoints


def user_version(con: Any) -> int:
    """The schema version recorded in the file (0 for a new or pre-``user_version`` file)."""
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def migrate(con: Any, schema: Schema) -> list[int]:
    """Bring ``con``'s file up to ``schema.version`` in one transaction; the versions applied.

    A file newer than this scanpoint knows is refused (:class:`StorageError`): writing to it could
    damage what a newer version stored.
    """
    if user_version(con) == schema.version:
        return []
    con.execute("BEGIN IMMEDIATE")
    try:
        current = user_version(con)
        if current == 0 and schema.adopt is not None:
            current = schema.adopt(con)
        _refuse_newer(current, schema)
        applied = list(range(current + 1, schema.version + 1))
        for number in applied:
            for statement in schema.migrations[number - 1]:
                con.execute(statement)
        con.execute(f"PRAGMA user_version={schema.version}")
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.execute("ROLLBACK")
        raise
    return applied


def _refuse_newer(version: int, schema: Schema) -> None:
    if version > schema.version:
        raise StorageError(
            f"{schema.name} database is at schema version {version}, newer than this scanpoint "
            f"knows ({schema.version}): it was written by a newer version; upgrade scanpoint")


def connect(path: str | os.PathLike[str], schema: Schema) -> sqlite3.Connection:
    """Open (creating if needed) a store for writing, in autocommit mode, schema up to date.

    The connection may be used from several threads if the caller serialises its use.
    """
    try:
        con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                              check_same_thread=False, cached_statements=64)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open {schema.name} database {path}: {exc}") from None
    try:
        _refuse_newer(user_version(con), schema)     # before configure() changes the file
        configure(con, private=schema.private)
        migrate(con, schema)
    except BaseException:
        con.close()
        raise
    return con


def connect_readonly(path: str | os.PathLike[str], *, timeout: float = 2.0) -> sqlite3.Connection:
    """A read-only connection (status, reports, the scanner's revocation lookups): it never creates
    or changes the file. Raises :class:`sqlite3.Error` when the file is missing or unreadable."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=timeout,
                          isolation_level=None, check_same_thread=True, cached_statements=16)
    con.execute("PRAGMA query_only=1")
    return con


def table_exists(con: Any, name: str) -> bool:
    """True if the file has a table called ``name`` (for ``adopt`` hooks)."""
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (name,)).fetchone() is not None


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = True,
                 mode: int = 0o644, overwrite: bool = True) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` so readers see the old file or the whole new one.

    ``durable`` fsyncs the file before the rename and the folder after it, so the new content
    survives a power cut once this returns; a file rewritten every second that readers may find
    damaged passes False (an fsync can stall an SD card for tens of ms). ``mode`` is set before
    the file appears under its name (``0o600`` for keys: never readable by others, not even for a
    moment). ``overwrite=False`` refuses an existing file with :class:`FileExistsError` (of two
    writers racing, exactly one wins). The folder must exist.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if overwrite:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
        if durable:
            fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename or link in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
