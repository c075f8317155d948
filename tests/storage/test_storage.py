"""The one storage layer: every store's pragmas and migrations, files made by older versions, and
whole-file writes that a crash or a racing writer cannot leave half done."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

from terminal import storage
from terminal.clock import FixedClock
from terminal.counter import audit as audit_mod
from terminal.counter import printqueue
from terminal.errors import StorageError
from terminal.lists import publish, revocation
from terminal.storage import Schema, atomic_write

LEGACY = Path(__file__).parent / "legacy"
STORES = {"revocation": revocation.SCHEMA, "audit": audit_mod.SCHEMA,
          "print queue": printqueue.SCHEMA, "publisher": publish.SCHEMA}


def legacy(tmp_path: Path, name: str) -> Path:
    """A copy of a file made by the code before the storage layer (see legacy/README.md)."""
    return Path(shutil.copy(LEGACY / name, tmp_path / name))


@pytest.mark.parametrize("label", sorted(STORES))
def test_every_store_gets_the_one_pragma_set_and_its_schema_version(tmp_path, label):
    schema = STORES[label]
    con = storage.connect(tmp_path / "x.db", schema)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2             # FULL
        assert con.execute("PRAGMA secure_delete").fetchone()[0] == int(schema.private)
        assert storage.user_version(con) == schema.version >= 1
    finally:
        con.close()


def test_stores_about_people_delete_securely_and_list_stores_do_not():
    assert audit_mod.SCHEMA.private and printqueue.SCHEMA.private
    assert not revocation.SCHEMA.private and not publish.SCHEMA.private


def test_legacy_revocation_store_is_adopted_with_its_lists(tmp_path):
    path = legacy(tmp_path, "revocation.db")
    with revocation.RevocationStore(path) as store:
        assert storage.user_version(store.con) == 1
        assert not storage.table_exists(store.con, "_sqlite_migrations")
        meta = store.meta()
        assert (meta.version, meta.entries, meta.etag) == (2, 3, "e1")
        assert store.meta("trust").version == 3 and store.count() == 3
        assert store.contains(revocation.serial_hash(b"\x01" * 16))
        store.apply_snapshot(3, 1767225600, 1767312000, b"")    # and it takes new versions
    metas, state = revocation.read_lists(path)
    assert metas["revocation"].version == 3 and state["last_sync"]["code"] == "updated"


def test_legacy_audit_log_keeps_its_rows(tmp_path):
    legacy(tmp_path, "audit.db")
    clock = FixedClock(1767225700.0)
    with audit_mod.AuditLog(tmp_path, secret=b"\x07" * 32, clock=clock, retention_days=30) as log:
        rows = list(log.rows())
        assert [r["decision"] for r in rows] == ["pass", "deny"]
        assert rows[0]["code"] == log.find(rows[0]["code"])[0]["code"]
        assert storage.user_version(log._conn) == audit_mod.SCHEMA.version


def test_legacy_print_queue_keeps_its_waiting_slip(tmp_path):
    path = legacy(tmp_path, "printqueue.db")
    with printqueue.PrintQueue(path, None, clock=FixedClock(1767225700.0)) as queue:
        waiting = queue.pending()
        assert len(waiting) == 1 and "王*明" in waiting[0].to_text()


def test_legacy_publisher_file_is_adopted_and_publishes_on(tmp_path):
    from terminal.crypto import sm2

    (tmp_path / "issuer").mkdir()
    shutil.copy(LEGACY / "publisher-revocations.db", tmp_path / "issuer" / publish.STATE_DB)
    with publish.Publisher(tmp_path / "issuer", clock=FixedClock(1767225700.0)) as pub:
        assert storage.user_version(pub.con) == 1
        assert pub.latest("revocation") == 1 and pub.pending() == 0
        done = pub.publish(sm2.generate_private_key())
    assert done.revocation_version == 2 and done.entries == 3


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE later (x)")
    con.execute("PRAGMA user_version = 9")
    con.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer version"):
        storage.connect(path, audit_mod.SCHEMA)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path):
    broken = Schema("test", [["CREATE TABLE a (x)"], ["CREATE TABLE b (y)", "NOT SQL"]])
    path = tmp_path / "m.db"
    storage.connect(path, Schema("test", [["CREATE TABLE a (x)"]])).close()
    with pytest.raises(sqlite3.Error):
        storage.connect(path, broken)
    con = storage.connect(path, Schema("test", [["CREATE TABLE a (x)"]]))
    assert storage.user_version(con) == 1 and not storage.table_exists(con, "b")
    con.close()


def test_atomic_write_replaces_whole_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "list.cose"
    atomic_write(target, b"first")
    atomic_write(target, "second, in UTF-8: 张")
    assert target.read_text(encoding="utf-8") == "second, in UTF-8: 张"
    assert [p.name for p in tmp_path.iterdir()] == ["list.cose"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_atomic_write_of_a_key_is_never_readable_by_others_and_never_overwrites(tmp_path):
    key = tmp_path / "root.key"
    atomic_write(key, "secret", mode=0o600, overwrite=False)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        atomic_write(key, "other", mode=0o600, overwrite=False)
    assert key.read_text() == "secret" and [p.name for p in tmp_path.iterdir()] == ["root.key"]


def test_atomic_write_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "status.json"
    atomic_write(target, "old")

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["status.json"]
