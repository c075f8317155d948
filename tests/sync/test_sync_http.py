"""Revoke -> publish -> sync against a real HTTP server on loopback, and every way it can go wrong.

Each refusal must carry its own reason and leave the previous list in use.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import time
from pathlib import Path

import pytest

from terminal.clock import SystemClock
from terminal.crypto import sm2
from terminal.lists import listfiles
from terminal.lists.publish import Publisher
from terminal.lists.revocation import RevocationCheck, RevocationStore
from terminal.lists.sync import SyncClient, SyncFailed, SyncSettings
from terminal.reasons import Reason
from terminal.result import Credential
from tests.support.configs import load_config
from tests.support.listserver import ListServer
from tests.support.results import credential

ROOT = sm2.generate_private_key()
ROOT_PUB = sm2.public_key_of(ROOT)
OTHER = sm2.generate_private_key()


class NoWaitClock(SystemClock):
    """The system clock, except that waiting is only recorded: backoff delays become a list."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def cred(serial: bytes) -> Credential:
    return credential(serial)


class Rig:
    """An issuer folder served over HTTP and a terminal that syncs from it."""

    def __init__(self, tmp: Path) -> None:
        self.issuer = tmp / "issuer"
        self.issuer.mkdir()
        self.server = ListServer(listfiles.public_root(self.issuer))
        self.clock = NoWaitClock()
        self.sleeps = self.clock.slept
        self.settings = SyncSettings(
            source=self.server.url, db=tmp / "term" / "revocation.db", root_public_key=ROOT_PUB,
            trust_file=tmp / "term" / "trust.list", partial_dir=tmp / "term" / "partial",
            retries=2, backoff=0.01, backoff_max=0.05, timeout=5.0)
        self.check = RevocationCheck(self.settings.db)

    def publish(self, *serials: bytes, key: int = ROOT, **kw) -> None:
        with Publisher(self.issuer) as pub:
            for s in serials:
                pub.revoke_serial(s)
            pub.publish(key, trust_body={"keys": []}, **kw)

    def sync(self):
        return SyncClient(self.settings, clock=self.clock).run_once()

    def version(self):
        with RevocationStore(self.settings.db) as st:
            m = st.meta("revocation")
            return m.version if m else None

    def lists(self) -> Path:
        return listfiles.public_root(self.issuer) / listfiles.LISTS_DIR

    def file(self, prefix: str) -> Path:
        (path,) = [p for p in self.lists().iterdir() if p.name.startswith(prefix)
                   and p.suffix == ".snap"] if prefix == "snap" else [self.lists() / prefix]
        return path


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.check.close()
    r.server.close()


A, B, C = os.urandom(16), os.urandom(16), os.urandom(16)


def test_revoke_publish_sync_then_revoked(rig):
    rig.publish(A)
    res = rig.sync()
    assert res.ok and res.code == "updated", res.line()
    assert rig.check.check(cred(A), time.time()) is Reason.REVOKED
    assert rig.check.check(cred(B), time.time()) is None
    assert rig.settings.trust_file.exists()          # trust list republished and installed
    # nothing new: the index request is conditional and answered 304
    res = rig.sync()
    assert res.ok and res.code == "current"
    assert rig.server.requests[-1][1].get("If-None-Match")


def test_delta_used_when_close_to_current(rig):
    rig.publish(A)
    assert rig.sync().ok
    rig.publish(B, C)
    before = len(rig.server.requests)
    res = rig.sync()
    assert res.ok and "delta" in res.message, res.line()
    fetched = [p for p, _ in rig.server.requests[before:]]
    assert any(p.endswith(".delta") for p in fetched)
    assert not any(p.endswith(".snap") for p in fetched)
    for s in (A, B, C):
        assert rig.check.check(cred(s), time.time()) is Reason.REVOKED


def test_far_behind_gets_snapshot(rig):
    rig.publish(A)
    assert rig.sync().ok
    for _ in range(3):
        rig.publish(os.urandom(16))
    with Publisher(rig.issuer, keep_deltas=1) as pub:
        pub.revoke_serial(B)
        pub.publish(ROOT, trust_body={"keys": []})
    res = rig.sync()
    assert res.ok and "snapshot" in res.message, res.line()
    assert rig.check.check(cred(B), time.time()) is Reason.REVOKED


def _prior(rig):
    rig.publish(A)
    assert rig.sync().ok
    return rig.version()


def _still_old(rig, v):
    assert rig.version() == v
    assert rig.check.check(cred(A), time.time()) is Reason.REVOKED
    assert rig.check.check(cred(B), time.time()) is None


def test_server_down(rig, monkeypatch):
    v = _prior(rig)
    rig.publish(B)
    rig.server.close()
    monkeypatch.setattr(random, "uniform", lambda a, b: 1.0)   # no jitter: see the doubling
    res = rig.sync()
    assert not res.ok and res.code == "unreachable", res.line()
    assert rig.sleeps == pytest.approx([0.01, 0.02])     # retried twice, backing off x2
    _still_old(rig, v)


def test_404(rig):
    v = _prior(rig)
    rig.publish(B)
    rig.server.faults["/lists/index.sl"] = 404
    res = rig.sync()
    assert not res.ok and res.code == "http-404", res.line()
    assert rig.sleeps == []                                # a 404 is not retried
    _still_old(rig, v)


def test_truncated_body(rig):
    v = _prior(rig)
    rig.publish(B)
    for p in rig.lists().iterdir():
        if p.suffix in (".snap", ".delta"):
            rig.server.faults["/lists/" + p.name] = "truncate"
    res = rig.sync()
    assert not res.ok and res.code == "truncated", res.line()
    _still_old(rig, v)


def test_corrupted_signature(rig):
    v = _prior(rig)
    rig.publish(B)
    idx = rig.lists() / listfiles.INDEX_NAME
    data = bytearray(idx.read_bytes())
    data[-5] ^= 0x01                                       # inside the signature
    idx.write_bytes(bytes(data))
    res = rig.sync()
    assert not res.ok and res.code == "bad-signature", res.line()
    _still_old(rig, v)


def test_wrong_signer(rig):
    v = _prior(rig)
    rig.publish(B, key=OTHER)
    res = rig.sync()
    assert not res.ok and res.code == "wrong-signer", res.line()
    _still_old(rig, v)


def test_rollback_replayed_older_version(rig, tmp_path):
    rig.publish(A)
    old = tmp_path / "old-lists"
    shutil.copytree(rig.lists(), old)                      # an attacker keeps version 1
    rig.publish(B)
    assert rig.sync().ok
    v = rig.version()
    shutil.rmtree(rig.lists())
    shutil.copytree(old, rig.lists())                      # ... and replays it later
    res = rig.sync()
    assert not res.ok and res.code == "rollback", res.line()
    assert rig.version() == v
    assert rig.check.check(cred(B), time.time()) is Reason.REVOKED   # not silently un-revoked


def test_huge_response(rig):
    v = _prior(rig)
    rig.publish(B)
    rig.server.faults["/lists/index.sl"] = "huge"
    res = rig.sync()
    assert not res.ok and res.code == "too-large", res.line()
    _still_old(rig, v)


def test_resume_with_range_after_a_broken_transfer(rig):
    rig.settings.retries = 0
    rig.publish(A, *[os.urandom(16) for _ in range(20000)])
    snap = next(p for p in rig.lists().iterdir() if p.suffix == ".snap")
    rig.server.faults["/lists/" + snap.name] = "truncate"
    rig.server.httpd.truncate_once = True
    res = rig.sync()
    assert not res.ok and res.code == "truncated"
    assert rig.version() is None
    res = rig.sync()                                        # second run resumes the partial file
    assert res.ok, res.line()
    ranged = [h for p, h in rig.server.requests if p.endswith(snap.name) and "Range" in h]
    assert ranged and ranged[-1]["Range"] == f"bytes={snap.stat().st_size // 2}-"
    assert rig.check.check(cred(A), time.time()) is Reason.REVOKED
    assert not any(rig.settings.partial_dir.iterdir())      # partial removed once applied


def test_server_errors_are_retried_with_backoff(rig):
    rig.publish(A)
    rig.server.faults["/lists/index.sl"] = ("fail", 2, 503)
    res = rig.sync()
    assert res.ok, res.line()
    assert len(rig.sleeps) == 2


def test_clock_behind_server_is_untrusted(rig):
    rig.publish(A)
    rig.server.httpd.date_offset = 3 * 3600                # server says it is 3 h later than we do
    assert rig.sync().ok
    assert rig.check.check(cred(B), time.time()) is Reason.CLOCK_UNTRUSTED
    assert rig.check.check(cred(A), time.time()) is Reason.REVOKED   # listed stays revoked
    rig.server.httpd.date_offset = 60                      # within the allowance again
    rig.publish(C)
    assert rig.sync().ok
    assert rig.check.check(cred(B), time.time()) is None


def test_clock_earlier_than_newest_list_is_untrusted(rig):
    rig.publish(A)
    assert rig.sync().ok
    # set back a day (e.g. to revive an expired code): earlier than the list's issue time
    assert rig.check.check(cred(B), time.time() - 86400) is Reason.CLOCK_UNTRUSTED


def test_stale_list(rig):
    rig.publish(A, revocation_validity=60)
    assert rig.sync().ok
    assert rig.check.check(cred(B), time.time() + 120) is Reason.LIST_STALE
    assert rig.check.check(cred(B), time.time()) is None


def test_directory_source(rig):
    rig.publish(A)
    rig.settings.source = str(listfiles.public_root(rig.issuer))
    res = rig.sync()
    assert res.ok, res.line()
    assert rig.check.check(cred(A), time.time()) is Reason.REVOKED
    rig.publish(B)
    assert rig.sync().ok
    assert rig.check.check(cred(B), time.time()) is Reason.REVOKED


def test_no_list_yet_is_stale(rig):
    assert rig.check.check(cred(A), time.time()) is Reason.LIST_STALE


def test_concurrent_sync_is_refused_as_busy(rig):
    import fcntl
    rig.publish(A)
    rig.settings.db.parent.mkdir(parents=True, exist_ok=True)
    with open(str(rig.settings.db) + ".sync-lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        res = rig.sync()
    assert not res.ok and res.code == "busy"
    assert rig.sync().ok


def test_previous_files_survive_one_publish(rig):
    rig.publish(A)
    rig.publish(B)
    rig.publish(C)
    names = {p.name for p in rig.lists().iterdir()}
    assert "revocation-2.snap" in names and "revocation-3.snap" in names   # current + previous
    assert "revocation-1.snap" not in names


def test_clock_offset_warning_uses_the_configured_limit(rig, caplog):
    """The sync warns at [lists] max_clock_offset (what the scanner enforces), not a fixed 2 h."""
    rig.settings.max_clock_offset = 300.0
    rig.publish(A)
    rig.server.httpd.date_offset = 900                     # 15 min off: over 300 s, under 2 h
    with caplog.at_level("WARNING", logger="scanpoint.sync"):
        assert rig.sync().ok
    assert any("event=clock_offset" in r.getMessage() and "allowed=300" in r.getMessage()
               for r in caplog.records), caplog.text


def test_settings_and_guard_take_max_clock_offset_from_config(tmp_path):
    from terminal.lists.timeguard import TimeGuard
    cfg = load_config(tmp_path, '[lists]\nmax_clock_offset = 120.0\nissued_tolerance = 30.0\n'
                      f'[sync]\nsource = "{tmp_path}"\n[trust]\nroot_key = "{ROOT_PUB.hex()}"\n')
    assert SyncSettings.from_config(cfg, ROOT_PUB).max_clock_offset == 120.0
    guard = TimeGuard.from_config(cfg)
    assert (guard.max_offset, guard.issued_tolerance) == (120.0, 30.0)
    assert RevocationCheck.from_config(cfg).guard == guard


def _held_trust_file(rig, version: int, keys: int) -> bytes:
    """Put a trust list of ``version`` with ``keys`` issuer keys where the scanner holds it."""
    from terminal.issuer import credentials as issuer
    now = int(time.time())
    entries = [issuer.trust_entry(sm2.public_key_of(sm2.generate_private_key()), f"issuer {i}",
                                  now - 3600, now + 86400, ["health"]) for i in range(keys)]
    data = issuer.sign_trust_list(entries, version, now - 60, now + 86400, ROOT)
    rig.settings.trust_file.parent.mkdir(parents=True, exist_ok=True)
    rig.settings.trust_file.write_bytes(data)
    return data


def test_older_trust_list_never_replaces_a_bigger_newer_held_file(rig):
    """No trust row in the store (a new or rebuilt store): the held file's version is the floor,
    even when it is bigger than the published file (it was read with the new file's size cap)."""
    held = _held_trust_file(rig, version=7, keys=3)
    rig.publish(A)                                         # publishes trust list version 1, no keys
    assert listfiles.trust_name(1) in {p.name for p in rig.lists().iterdir()}
    res = rig.sync()
    assert not res.ok and res.code == "rollback", res.line()
    assert rig.settings.trust_file.read_bytes() == held


def test_unreadable_held_trust_file_is_not_replaced(rig):
    rig.settings.trust_file.parent.mkdir(parents=True, exist_ok=True)
    rig.settings.trust_file.write_bytes(b"\x00garbage")
    rig.publish(A)
    res = rig.sync()
    assert not res.ok and res.code == "held-trust-unreadable", res.line()
    assert str(rig.settings.trust_file) in res.message
    assert rig.settings.trust_file.read_bytes() == b"\x00garbage"


def test_trust_list_download_is_capped_at_what_the_scanner_reads(rig):
    """A trust list over signedlist.MAX_LIST_BYTES is refused before download, even though
    [sync] max_list_bytes (meant for revocation snapshots) is far bigger."""
    from terminal.lists.signedlist import MAX_LIST_BYTES
    rig.publish(A)
    index = listfiles.read_index((rig.lists() / listfiles.INDEX_NAME).read_bytes(), ROOT_PUB,
                                 max_bytes=65536)
    ref = dataclasses.replace(index.trust.file, size=MAX_LIST_BYTES + 1)
    with pytest.raises(SyncFailed) as err:
        SyncClient(rig.settings)._download(None, ref, MAX_LIST_BYTES)
    assert err.value.code == "too-large"
    assert rig.settings.max_list_bytes > MAX_LIST_BYTES
