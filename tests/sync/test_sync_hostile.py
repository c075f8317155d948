"""Sync against a hostile or careless server: trickling bodies, Retry-After, redirects, lying
``Date`` headers, garbage. Real HTTP on loopback (:mod:`hostileserver`), real SQLite store.
"""

from __future__ import annotations

import email.utils
import os
import time
from pathlib import Path

import pytest

from terminal.clock import SystemClock
from terminal.crypto import sm2
from terminal.lists import listfiles, timeguard
from terminal.lists.publish import Publisher
from terminal.lists.revocation import RevocationStore, read_lists
from terminal.lists.status import describe
from terminal.lists.sync import SyncClient, SyncSettings
from tests.support.hostileserver import HostileServer

ROOT = sm2.generate_private_key()
ROOT_PUB = sm2.public_key_of(ROOT)
OTHER = sm2.generate_private_key()
INDEX = "/lists/" + listfiles.INDEX_NAME


class NoWaitClock(SystemClock):
    """The system clock; waiting is recorded instead of done."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


class Rig:
    def __init__(self, tmp: Path) -> None:
        self.issuer = tmp / "issuer"
        self.issuer.mkdir()
        self.server = HostileServer(listfiles.public_root(self.issuer))
        self.clock = NoWaitClock()
        self.settings = SyncSettings(
            source=self.server.url, db=tmp / "term" / "revocation.db", root_public_key=ROOT_PUB,
            trust_file=tmp / "term" / "trust.list", partial_dir=tmp / "term" / "partial",
            retries=2, backoff=0.01, backoff_max=30.0, timeout=5.0)

    def publish(self, *serials: bytes, key: int = ROOT) -> None:
        with Publisher(self.issuer) as pub:
            for s in serials:
                pub.revoke_serial(s)
            pub.publish(key, trust_body={"keys": []})

    def sync(self):
        return SyncClient(self.settings, clock=self.clock).run_once()

    def state(self) -> tuple[dict, dict]:
        return read_lists(self.settings.db)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.server.close()


@pytest.fixture
def other_server(tmp_path):
    folder = tmp_path / "elsewhere"
    (folder / "lists").mkdir(parents=True)
    server = HostileServer(folder)
    yield server, folder / "lists"
    server.close()


# -- an overall deadline per file, and Retry-After --------------------------------------------------

def test_a_trickling_server_is_cut_off_at_the_deadline(rig):
    rig.publish(os.urandom(16))
    rig.server.faults[INDEX] = ("slow", 0.02)          # ~1 byte every 20 ms: each read is quick
    rig.settings.deadline = 0.3
    result = rig.sync()
    assert not result.ok and result.code == "deadline", result.line()
    assert "0.3" in result.message and listfiles.INDEX_NAME in result.message
    meta, state = rig.state()
    assert "revocation" not in meta and state[timeguard.LAST_SYNC]["code"] == "deadline"


def test_retry_after_is_waited_for(rig):
    rig.publish(os.urandom(16))
    rig.server.faults[INDEX] = ("busy", 1, 7)
    result = rig.sync()
    assert result.ok, result.line()
    assert rig.clock.slept and rig.clock.slept[0] >= 7


def test_retry_after_as_an_http_date(rig):
    rig.publish(os.urandom(16))
    later = email.utils.formatdate(time.time() + 12, usegmt=True)
    rig.server.faults[INDEX] = ("busy", 1, later)
    assert rig.sync().ok
    assert 10 <= rig.clock.slept[0] <= 13


def test_a_retry_after_beyond_backoff_max_ends_the_run_without_waiting(rig):
    rig.publish(os.urandom(16))
    rig.server.faults[INDEX] = ("busy", 5, 86400)
    result = rig.sync()
    assert not result.ok and result.code == "retry-later", result.line()
    assert "86400" in result.message
    assert rig.clock.slept == []


# -- the server's Date: only from a response whose signed index verified --------------------------

def test_a_date_from_a_refused_index_is_not_counted(rig):
    rig.publish(os.urandom(16), key=OTHER)             # not signed by the pinned root
    rig.server.httpd.date_offset = -5 * 3600
    result = rig.sync()
    assert not result.ok and result.code == "wrong-signer", result.line()
    _, state = rig.state()
    assert timeguard.CLOCK_STATE not in state


def test_a_date_from_an_error_answer_is_not_counted(rig):
    rig.server.httpd.date_offset = -5 * 3600
    result = rig.sync()                                # nothing published: 404
    assert not result.ok and result.code == "http-404"
    _, state = rig.state()
    assert timeguard.CLOCK_STATE not in state


def test_a_date_from_a_verified_index_is_counted_and_status_says_so(rig):
    rig.publish(os.urandom(16))
    rig.server.httpd.date_offset = 3 * 3600
    assert rig.sync().ok
    meta, state = rig.state()
    obs = state[timeguard.CLOCK_STATE]
    assert abs(obs["offset"] - 3 * 3600) < 60
    assert obs["index_version"] == meta["index"].version
    status = describe(meta, state, time.time())
    source = status["clock"]["source"]
    assert f"index v{meta['index'].version}" in source and "verified" in source, source
    assert "clock trust from" in status["summary"]


def test_a_304_does_not_renew_the_observation(rig):
    rig.publish(os.urandom(16))
    assert rig.sync().ok
    _, state = rig.state()
    first = state[timeguard.CLOCK_STATE]
    rig.server.httpd.date_offset = -5 * 3600           # a responder that only answers 304
    result = rig.sync()
    assert result.ok and result.code == "current"
    _, state = rig.state()
    assert state[timeguard.CLOCK_STATE] == first


def test_a_held_observation_from_another_boot_asks_for_the_whole_index(rig):
    rig.publish(os.urandom(16))
    assert rig.sync().ok
    with RevocationStore(rig.settings.db) as store:
        obs = dict(read_lists(rig.settings.db)[1][timeguard.CLOCK_STATE])
        obs["boot_id"] = "another-boot"
        store.set_state(timeguard.CLOCK_STATE, obs)
    before = len(rig.server.requests)
    result = rig.sync()
    assert result.ok
    (path, headers), = rig.server.requests[before:]
    assert path == INDEX and "If-None-Match" not in headers      # fetched whole, Date counted
    assert read_lists(rig.settings.db)[1][timeguard.CLOCK_STATE]["boot_id"] != "another-boot"


# -- redirects --------------------------------------------------------------------------------------

def test_a_redirect_to_another_host_is_refused(rig, other_server):
    other, folder = other_server
    rig.publish(os.urandom(16))
    (folder / listfiles.INDEX_NAME).write_bytes(
        (listfiles.public_root(rig.issuer) / "lists" / listfiles.INDEX_NAME).read_bytes())
    rig.server.faults[INDEX] = ("redirect", other.url + "lists/" + listfiles.INDEX_NAME)
    result = rig.sync()
    assert not result.ok and result.code == "redirect-refused", result.line()
    assert other.url.rstrip("/").split("//")[1] in result.message
    assert other.requests == []


def test_a_redirect_to_a_configured_host_is_followed(rig, other_server):
    other, folder = other_server
    rig.publish(os.urandom(16))
    lists = listfiles.public_root(rig.issuer) / "lists"
    for f in lists.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    rig.server.faults[INDEX] = ("redirect", other.url + "lists/" + listfiles.INDEX_NAME)
    rig.settings.redirect_hosts = (other.url.rstrip("/").split("//")[1],)
    result = rig.sync()
    assert result.ok, result.line()
    assert [p for p, _ in other.requests] == [INDEX]


def test_a_redirect_on_the_same_host_is_followed(rig):
    rig.publish(os.urandom(16))
    lists = listfiles.public_root(rig.issuer) / "lists"
    (lists / "moved.sl").write_bytes((lists / listfiles.INDEX_NAME).read_bytes())
    rig.server.faults[INDEX] = ("redirect", "/lists/moved.sl")
    assert rig.sync().ok


def test_a_failed_redirect_target_is_named_not_the_first_server(rig, other_server):
    other, _ = other_server                            # serves nothing: 404
    rig.publish(os.urandom(16))
    rig.server.faults[INDEX] = ("redirect", other.url + "lists/" + listfiles.INDEX_NAME)
    rig.settings.redirect_hosts = (other.url.rstrip("/").split("//")[1],)
    result = rig.sync()
    assert not result.ok and result.code == "http-404"
    assert other.url in result.message, result.message
    assert rig.server.url not in result.message


# -- refusal codes come from the refusal, not from words in its message ----------------------------

@pytest.mark.parametrize("garbage", [
    b"\x9f\x01\xff",               # indefinite-length array: "... not allowed here"
    b"\xf8\x20",                    # simple value 32: "... is not allowed"
    b"\xd2\x84\x40\xa0\x40\x40",      # COSE_Sign1 with empty everything
    os.urandom(300),
])
def test_a_garbage_index_is_malformed(rig, garbage):
    rig.publish(os.urandom(16))
    rig.server.faults[INDEX] = ("garbage", garbage)
    result = rig.sync()
    assert not result.ok and result.code == "malformed", result.line()


def test_an_index_over_the_cap_is_too_large(rig):
    rig.publish(os.urandom(16))
    rig.settings.max_index_bytes = 100
    result = rig.sync()
    assert not result.ok and result.code == "too-large", result.line()
