"""The scanner follows the trust-list file that ``scanpoint sync`` replaces, without a restart.

Sync and scanner agree on the file (``trust.list_path``); a newer list takes effect within a
second, an older or damaged one written over it is refused and the held list stays in force.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from terminal.clock import FixedClock
from terminal.lists import listfiles
from terminal.lists.publish import Publisher
from terminal.lists.sync import SyncClient, SyncSettings
from terminal.lists.trust import TrustListFile, list_path
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit
from tests.support.configs import load_config

GREEN = kit.credential()                 # signed by kit.ISSUER, verified at kit.NOW
WITHOUT_ISSUER = [e for e in kit.default_entries() if e["kid"] != kit.ISSUER_KID]


def decide(verifier):
    r = verifier.verify(GREEN, kit.NOW)
    return r.decision, r.reason


def test_list_path_is_the_configured_file_else_the_state_dir(tmp_path):
    cfg = load_config(tmp_path)
    assert list_path(cfg) == tmp_path / "trust-list.cose"
    cfg = load_config(tmp_path, '[trust]\nlist = "/x/t.cose"\n')
    assert list_path(cfg) == Path("/x/t.cose")


def test_synced_trust_list_reaches_a_running_verifier(tmp_path):
    """Built from config before any sync; then sync writes lists it must follow."""
    issuer = tmp_path / "issuer"
    issuer.mkdir()
    state = tmp_path / "state"
    cfg = load_config(state, f'[trust]\nroot_key = "{kit.ROOT_PUB.hex()}"\n'
                      f'[sync]\nsource = "{listfiles.public_root(issuer)}"\n')
    clock = FixedClock(kit.NOW, mono=100.0)
    verifier = Verifier.from_config(cfg, clock=clock)
    assert decide(verifier) == (Decision.CHECK, Reason.TRUST_LIST_MISSING)

    def publish_and_sync(entries):
        with Publisher(issuer) as pub:
            pub.publish(kit.ROOT, now=kit.NOW - kit.DAY, trust_body={"keys": entries})
        # synced at the lists' own time: they were published a day before kit.NOW
        result = SyncClient(SyncSettings.for_terminal(cfg), clock=FixedClock(kit.NOW)).run_once()
        assert result.ok, result.line()
        clock.advance(1.1)                # the verifier re-stats the file at most once a second

    publish_and_sync(kit.default_entries())
    assert (state / "trust-list.cose").exists()          # where [trust] list = "" puts it
    assert decide(verifier) == (Decision.PASS, Reason.OK)

    publish_and_sync(WITHOUT_ISSUER)                      # the issuer's key is withdrawn
    assert decide(verifier) == (Decision.DENY, Reason.KEY_UNKNOWN)

    # an older list (version 1, key still in it) written over the file is ignored
    (state / "trust-list.cose").write_bytes(kit.trust_bytes(version=1))
    clock.advance(1.1)
    assert decide(verifier) == (Decision.DENY, Reason.KEY_UNKNOWN)


def test_reload_at_most_once_a_second_and_refusals_keep_the_held_list(tmp_path, caplog):
    path = tmp_path / "trust.cose"
    path.write_bytes(kit.trust_bytes(version=2))
    clock = FixedClock(kit.NOW, mono=100.0)
    follow = TrustListFile(path, kit.ROOT_PUB, clock=clock)
    verifier = Verifier(follow)
    assert follow.current.version == 2
    assert decide(verifier) == (Decision.PASS, Reason.OK)

    path.write_bytes(kit.trust_bytes(WITHOUT_ISSUER, version=3))
    clock.advance(0.5)
    assert follow.current.version == 2                   # not re-stated yet
    clock.advance(0.6)
    assert follow.current.version == 3
    assert decide(verifier) == (Decision.DENY, Reason.KEY_UNKNOWN)

    with caplog.at_level(logging.ERROR, logger="terminal.lists.trust"):
        path.write_bytes(kit.trust_bytes(version=2))      # rollback
        clock.advance(1.1)
        assert follow.current.version == 3
        assert "versions only go up" in caplog.text
        caplog.clear()
        path.write_bytes(b"\xa0damaged")                  # refused file
        clock.advance(1.1)
        assert follow.current.version == 3
        assert "trust_list_refused" in caplog.text
        other = kit.trust_bytes(version=9, root=kit.STRANGER)  # signed by someone else
        path.write_bytes(other)
        clock.advance(1.1)
        assert follow.current.version == 3
    os.unlink(path)                                       # file gone: keep what is held
    clock.advance(1.1)
    assert follow.current.version == 3
    path.write_bytes(kit.trust_bytes(version=4))
    clock.advance(1.1)
    assert follow.current.version == 4
    assert decide(verifier) == (Decision.PASS, Reason.OK)
