"""The issuer's publisher: revocation entries in, signed static list files out.

``issuer revoke`` adds entries (16-byte truncated SM3 hashes of serials) to a small SQLite file in
the issuer folder; ``issuer publish`` assigns them the next version and writes, under
``DIR/public/lists/``, a signed full snapshot, signed deltas from each of the last K published versions
to the new one, the trust list republished with a higher version, and last the small signed
index that points at them -- so a client never sees an index naming a file that is not there yet.
Files are written atomically (temporary file, fsync, rename) and old ones pruned.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal import storage
from terminal.clock import SYSTEM, Clock
from terminal.errors import TrustListError
from terminal.lists import listfiles
from terminal.lists.listfiles import FileRef
from terminal.lists.revocation import HASH_BYTES, serial_hash
from terminal.storage import Schema, atomic_write, table_exists

log = logging.getLogger("scanpoint.publish")

REVOCATION_VALIDITY = 24 * 3600
TRUST_VALIDITY = 48 * 3600
KEEP_DELTAS = 8
STATE_DB = "revocations.db"


def _adopt_legacy(con: Any) -> int:
    """Files written before the publisher recorded ``user_version`` already hold version 1."""
    return 1 if table_exists(con, "entries") else 0


SCHEMA = Schema("publisher", [[
    "CREATE TABLE entries (h BLOB PRIMARY KEY, version INTEGER) WITHOUT ROWID",
    "CREATE INDEX entries_version ON entries(version)",
    "CREATE TABLE published (kind TEXT NOT NULL, version INTEGER NOT NULL, "
    "issued INTEGER NOT NULL, PRIMARY KEY (kind, version))",
]], adopt=_adopt_legacy)
"""The issuer's pending and published revocation entries (hashes: they name no one)."""


def _ref(path: Path, data: bytes) -> FileRef:
    return FileRef(path.name, len(data), hashlib.sha256(data).hexdigest())


@dataclass
class Published:
    """What one ``publish`` wrote."""

    index_version: int
    revocation_version: int
    entries: int
    added: int
    deltas: list[int] = field(default_factory=list)
    trust_version: int | None = None
    files: list[str] = field(default_factory=list)


class Publisher:
    """The revocation entries of one issuer folder and their publication."""

    def __init__(self, directory: str | Path, *, keep_deltas: int = KEEP_DELTAS,
                 clock: Clock = SYSTEM) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise TrustListError(f"issuer folder {self.dir} does not exist: run `scanpoint issuer init`")
        self.out = listfiles.public_root(self.dir) / listfiles.LISTS_DIR
        self.keep_deltas = keep_deltas
        self.clock = clock
        self.con = storage.connect(self.dir / STATE_DB, SCHEMA)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- revoking ------------------------------------------------------------------------------
    def revoke_hashes(self, hashes: Iterable[bytes]) -> int:
        """Add 16-byte entries (pending until the next publish); returns how many were new."""
        rows = []
        for h in hashes:
            if len(h) != HASH_BYTES:
                raise TrustListError("a revocation entry must be 16 bytes")
            rows.append((bytes(h),))
        before = self.con.total_changes
        self.con.execute("BEGIN IMMEDIATE")
        self.con.executemany("INSERT OR IGNORE INTO entries (h, version) VALUES (?, NULL)", rows)
        self.con.execute("COMMIT")
        return self.con.total_changes - before

    def revoke_serial(self, serial: bytes) -> bool:
        """Revoke one credential serial; False if it was already revoked."""
        return self.revoke_hashes([serial_hash(serial)]) == 1

    def pending(self) -> int:
        return self.con.execute("SELECT count(*) FROM entries WHERE version IS NULL").fetchone()[0]

    def latest(self, kind: str) -> int:
        row = self.con.execute("SELECT max(version) FROM published WHERE kind = ?", (kind,)).fetchone()
        return row[0] or 0

    # -- publishing ----------------------------------------------------------------------------
    def publish(self, private_key: int, *, now: int | None = None,
                revocation_validity: int = REVOCATION_VALIDITY,
                trust_validity: int = TRUST_VALIDITY, trust_body: dict[str, Any] | None = None,
                min_revocation_version: int = 0, min_trust_version: int = 0) -> Published:
        """Sign and write the next versions of every list, then the index pointing at them.

        ``trust_body``: the trust list body to republish (None: no trust list in the index).
        ``min_*_version``: versions already issued elsewhere (``issuer init``'s version 1), so
        published versions stay above them.
        """
        now = int(self.clock.time() if now is None else now)
        self.out.mkdir(parents=True, exist_ok=True)
        rv = max(self.latest("revocation"), min_revocation_version) + 1
        self.con.execute("BEGIN IMMEDIATE")
        try:
            added = self.con.execute(
                "UPDATE entries SET version = ? WHERE version IS NULL", (rv,)).rowcount
            hashes = b"".join(r[0] for r in self.con.execute("SELECT h FROM entries ORDER BY h"))
            count = len(hashes) // HASH_BYTES
            result = Published(0, rv, count, added)
            snap_path = self.out / listfiles.snapshot_name(rv)
            snap = listfiles.sign_snapshot(rv, now, now + revocation_validity, hashes, private_key)
            atomic_write(snap_path, snap)
            snap_ref = _ref(snap_path, snap)
            deltas: dict[int, FileRef] = {}
            bases = [r[0] for r in self.con.execute(
                "SELECT version FROM published WHERE kind = 'revocation' ORDER BY version DESC "
                "LIMIT ?", (self.keep_deltas,))]
            for base in bases:
                add = b"".join(r[0] for r in self.con.execute(
                    "SELECT h FROM entries WHERE version > ? ORDER BY h", (base,)))
                data = listfiles.sign_delta(base, rv, now, now + revocation_validity, add, b"",
                                            count, private_key)
                path = self.out / listfiles.delta_name(base, rv)
                atomic_write(path, data)
                deltas[base] = _ref(path, data)
            result.deltas = sorted(deltas)
            self.con.execute("INSERT INTO published VALUES ('revocation', ?, ?)", (rv, now))
            tv = trust_ref = None
            if trust_body is not None:
                tv = max(self.latest("trust"), min_trust_version) + 1
                data = listfiles.sign_list(listfiles.KIND_TRUST, tv, now, now + trust_validity,
                                           trust_body, private_key)
                path = self.out / listfiles.trust_name(tv)
                atomic_write(path, data)
                trust_ref = _ref(path, data)
                self.con.execute("INSERT INTO published VALUES ('trust', ?, ?)", (tv, now))
                result.trust_version = tv
            iv = self.latest("index") + 1
            index = listfiles.sign_index(iv, now, now + revocation_validity, rv, snap_ref, deltas,
                                         tv, trust_ref, private_key)
            atomic_write(self.out / listfiles.INDEX_NAME, index)     # last: everything it names exists
            self.con.execute("INSERT INTO published VALUES ('index', ?, ?)", (iv, now))
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        result.index_version = iv
        keep = {listfiles.INDEX_NAME, snap_ref.path, *(r.path for r in deltas.values())}
        if bases:   # a client that read the previous index a moment ago can still fetch its files
            keep.add(listfiles.snapshot_name(bases[0]))
            keep.update(p.name for p in self.out.glob(f"revocation-*-{bases[0]}.delta"))
        if trust_ref is not None:
            keep.add(trust_ref.path)
        result.files = sorted(keep)
        self._prune(keep)
        log.info("event=published index=%d revocation=%d entries=%d added=%d deltas=%d trust=%s",
                 iv, rv, count, added, len(deltas), tv)
        return result

    def _prune(self, keep: set[str]) -> None:
        """Remove list files the new index no longer names (a CDN may still serve them a while)."""
        for path in self.out.iterdir():
            if path.is_file() and path.name not in keep and (
                    path.suffix in (".snap", ".delta") or path.name.startswith("trust-")):
                path.unlink()
