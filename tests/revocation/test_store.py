"""The revocation store on a real SQLite file: schema, transactions, version rule, the scan hook."""

from __future__ import annotations

import os
import time

import pytest

from terminal.errors import TrustListError
from terminal.lists.revocation import (
    DeltaMismatch,
    ListRollback,
    RevocationCheck,
    RevocationStore,
    serial_hash,
    split_hashes,
)
from terminal.lists.timeguard import TimeGuard
from terminal.reasons import Reason
from terminal.result import Credential
from tests.support.configs import config_text, load_config
from tests.support.results import credential

NOW = int(time.time())


def body(*hashes: bytes) -> bytes:
    return b"".join(sorted(hashes))


def cred(serial: bytes) -> Credential:
    return credential(serial)


@pytest.fixture
def store(tmp_path):
    with RevocationStore(tmp_path / "r.db") as st:
        yield st


def test_pragmas_schema_and_recorded_migrations(store):
    con = store.con
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA synchronous").fetchone()[0] == 2          # FULL
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name='revoked'").fetchone()[0]
    assert "WITHOUT ROWID" in sql and "BLOB PRIMARY KEY" in sql
    assert con.execute("PRAGMA user_version").fetchone()[0] == 1         # one migration applied


def test_reopening_does_not_migrate_twice(tmp_path):
    RevocationStore(tmp_path / "r.db").close()
    with RevocationStore(tmp_path / "r.db") as st:
        assert st.con.execute("PRAGMA user_version").fetchone()[0] == 1


def test_snapshot_then_delta(store):
    a, b, c = (serial_hash(os.urandom(16)) for _ in range(3))
    assert store.apply_snapshot(1, NOW, NOW + 60, body(a, b)) == 2
    assert store.apply_delta(1, 2, NOW, NOW + 60, body(c), body(a), 2) == 2
    assert not store.contains(a) and store.contains(b) and store.contains(c)
    m = store.meta()
    assert (m.version, m.entries) == (2, 2)


def test_versions_only_go_up(store):
    store.apply_snapshot(5, NOW, NOW + 60, body(serial_hash(b"x")))
    for v in (5, 4):
        with pytest.raises(ListRollback, match="not newer"):
            store.apply_snapshot(v, NOW, NOW + 60, b"")
    assert store.meta().version == 5 and store.count() == 1


def test_delta_that_does_not_fit_is_refused_and_changes_nothing(store):
    a, b = serial_hash(b"a"), serial_hash(b"b")
    store.apply_snapshot(1, NOW, NOW + 60, body(a))
    with pytest.raises(DeltaMismatch, match="does not fit"):
        store.apply_delta(3, 4, NOW, NOW + 60, body(b), b"", 2)
    with pytest.raises(DeltaMismatch, match="gives 2 entries"):
        store.apply_delta(1, 2, NOW, NOW + 60, body(b), b"", 5)
    assert store.meta().version == 1 and list(store.iter_hashes()) == [a]


@pytest.mark.parametrize("bad,msg", [(b"\x01" * 15, "multiple of 16"),
                                     (b"\x02" * 16 + b"\x01" * 16, "ascending"),
                                     (b"\x01" * 32, "ascending")])
def test_malformed_bodies_refused(store, bad, msg):
    with pytest.raises(TrustListError, match=msg):
        store.apply_snapshot(1, NOW, NOW + 60, bad)
    assert store.meta() is None


def test_entry_cap(store):
    with pytest.raises(TrustListError, match="cap"):
        split_hashes(body(b"\x01" * 16, b"\x02" * 16), max_entries=1)


def test_check_is_read_only_and_fails_closed(tmp_path):
    db = tmp_path / "none.db"
    chk = RevocationCheck(db)
    assert chk.check(cred(b"s"), NOW) is Reason.LIST_STALE
    assert not db.exists()                      # the scanner never creates the store


def test_check_sees_commits_of_another_connection(tmp_path):
    db = tmp_path / "r.db"
    st = RevocationStore(db)
    st.apply_snapshot(1, NOW, NOW + 3600, b"")
    chk = RevocationCheck(db)
    assert chk.check(cred(b"s1"), NOW) is None
    st.apply_delta(1, 2, NOW, NOW + 3600, serial_hash(b"s1"), b"", 1)
    assert chk.check(cred(b"s1"), NOW) is Reason.REVOKED
    st.close()
    chk.close()


def test_listed_stays_revoked_even_when_stale(tmp_path):
    db = tmp_path / "r.db"
    with RevocationStore(db) as st:
        st.apply_snapshot(1, NOW, NOW + 60, serial_hash(b"s1"))
    chk = RevocationCheck(db)
    assert chk.check(cred(b"s1"), NOW + 7200) is Reason.REVOKED
    assert chk.check(cred(b"s2"), NOW + 7200) is Reason.LIST_STALE


def test_clock_guard_allowance_is_configurable(tmp_path):
    db = tmp_path / "r.db"
    with RevocationStore(db) as st:
        st.apply_snapshot(1, NOW, NOW + 86400, b"")
        st.set_state("clock", {"server_date": NOW, "local_time": NOW - 1800, "offset": 1800.0,
                               "monotonic": 0.0, "boot_id": None})
    assert RevocationCheck(db).check(cred(b"s"), NOW + 10) is None
    strict = RevocationCheck(db, TimeGuard(max_offset=600))
    assert strict.check(cred(b"s"), NOW + 10) is Reason.CLOCK_UNTRUSTED


def test_check_tolerates_a_credential_without_serial(tmp_path):
    db = tmp_path / "r.db"
    with RevocationStore(db) as st:
        st.apply_snapshot(1, NOW, NOW + 60, b"")
    assert RevocationCheck(db).check(cred(b""), NOW) is None


def test_serial_hash_is_truncated_sm3():
    from terminal.crypto.sm3 import sm3
    assert serial_hash(b"abc") == sm3(b"abc")[:16]
    assert len(serial_hash(os.urandom(16))) == 16


def test_bytes_per_entry_is_small(tmp_path):
    db = tmp_path / "r.db"
    hs = body(*(os.urandom(16) for _ in range(20000)))
    with RevocationStore(db) as st:
        st.apply_snapshot(1, NOW, NOW + 60, hs)
        st.checkpoint()
    assert os.path.getsize(db) / 20000 <= 40


def test_from_config(tmp_path):
    from terminal import config
    from tests.support.credentials import ROOT_PUB
    cfg = load_config(tmp_path, f'[sync]\nsource = "http://x/"\n'
                      f'[trust]\nroot_key = "{ROOT_PUB.hex()}"\n[lists]\nstale = "deny"\n')
    chk = RevocationCheck.from_config(cfg)
    assert chk.path == tmp_path / "revocation.db"
    assert chk.deny_reasons == {Reason.LIST_STALE}
    # no root key (a DCC-only site, `scanpoint verify` without --config): no list to check
    assert RevocationCheck.from_config(config.loads("")) is None


def test_pinned_root_without_list_source_fails_closed(tmp_path, caplog):
    """A root key but neither [sync] source nor [lists] db: the hook still exists, on
    STATE_DIR/revocation.db, and answers LIST_STALE (deny where the site says so), with a warning."""
    from terminal import config
    from terminal.verify.verifier import Verifier
    from tests.support import credentials as kit
    trust = tmp_path / "trust.list"
    trust.write_bytes(kit.trust_bytes())
    text = config_text(tmp_path, f'[trust]\nroot_key = "{kit.ROOT_PUB.hex()}"\nlist = "{trust}"\n')
    cfg = config.loads(text)
    with caplog.at_level("WARNING", logger="scanpoint.revocation"):
        chk = RevocationCheck.from_config(cfg)
    assert chk is not None and chk.path == tmp_path / "revocation.db"
    assert "event=revocation_no_source" in caplog.text
    result = Verifier.from_config(cfg, revocation=chk).verify(kit.credential(), kit.NOW)
    assert (result.decision.value, result.reason) == ("check", Reason.LIST_STALE)
    strict = config.loads(text + '[lists]\nstale = "deny"\n')
    result = Verifier.from_config(strict, revocation=RevocationCheck.from_config(strict)).verify(
        kit.credential(), kit.NOW)
    assert (result.decision.value, result.reason) == ("deny", Reason.LIST_STALE)
