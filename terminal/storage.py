"""Opening scanpoint's SQLite files the one safe way: WAL, ``synchronous=FULL``, secure delete.

WAL with FULL survives power cuts without losing acknowledged commits (NORMAL did not, see
DESIGN.md); ``secure_delete`` overwrites deleted rows so purged data does not linger in free pages.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (each statement its own durable transaction)."""
    conn = sqlite3.connect(str(path), timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA secure_delete=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection for status and reports: never creates or changes the file."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
