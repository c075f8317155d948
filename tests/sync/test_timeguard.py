"""Clock trust and staleness rules, status section, and the site decision mapping."""

from __future__ import annotations

from terminal.clock import FixedClock
from terminal.lists.revocation import ListMeta, RevocationStore
from terminal.lists.status import status_section
from terminal.lists.timeguard import TimeGuard, boot_id, clock_observation, parse_http_date
from terminal.reasons import Reason
from tests.support.configs import load_config

NOW = 1_760_000_000.0


def meta(kind="revocation", issued=NOW - 100, valid=NOW + 3600):
    return {kind: ListMeta(kind, 3, int(issued), int(valid), None, 10, int(NOW))}


def test_parse_http_date():
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parse_http_date("garbage") is None and parse_http_date(None) is None


def test_same_boot_projects_server_time_with_monotonic():
    clock = FixedClock(NOW, mono=1000.0)
    g = TimeGuard(max_offset=7200, clock=clock)
    obs = clock_observation(NOW, clock)
    state = {"clock": obs}
    assert obs["boot_id"] == boot_id() and obs["offset"] == 0.0
    # 10 minutes later by the monotonic clock; the wall clock was set back 3 h meanwhile
    clock.advance(600)
    assert g.clock_reason(NOW + 600, {}, state) is None
    assert "off the sync server" in g.clock_reason(NOW + 600 - 3 * 3600, {}, state)


def test_other_boot_uses_recorded_offset():
    g = TimeGuard(max_offset=7200)
    state = {"clock": {"server_date": NOW, "local_time": NOW - 9000, "offset": 9000.0,
                       "monotonic": 5.0, "boot_id": "another-boot"}}
    assert g.clock_reason(NOW, {}, state) is not None
    state["clock"]["offset"] = 100.0
    assert g.clock_reason(NOW, {}, state) is None


def test_never_earlier_than_newest_list():
    g = TimeGuard(issued_tolerance=600)
    m = meta(issued=NOW)
    assert g.assess(NOW - 601, m, {}, required=("revocation",)) is Reason.CLOCK_UNTRUSTED
    assert g.assess(NOW - 599, m, {}, required=("revocation",)) is None


def test_stale_and_missing():
    g = TimeGuard()
    assert g.assess(NOW + 3601, meta(), {}, required=("revocation",)) is Reason.LIST_STALE
    assert g.assess(NOW, {}, {}, required=("revocation",)) is Reason.LIST_STALE


def test_status_section(tmp_path):
    db = tmp_path / "revocation.db"
    cfg = load_config(tmp_path)
    assert "no revocation store" in status_section(cfg)["error"]
    issued = int(NOW)
    with RevocationStore(db) as st:
        st.apply_snapshot(4, issued, issued + 3600, b"\x01" * 16)
        st.set_state("last_sync", {"ok": False, "code": "rollback", "at": issued + 50})
    out = status_section(cfg, clock=FixedClock(issued + 50))
    rev = out["lists"]["revocation"]
    assert rev["version"] == 4 and rev["entries"] == 1 and not rev["stale"]
    assert rev["age_s"] == 50                             # on the injected clock: exact
    assert out["last_sync"]["code"] == "rollback"
    assert out["clock"]["trusted"] is True
    assert out["summary"].startswith("revocation v4, 1 entries")
    assert "trust: none held" in out["summary"] and "last sync FAILED rollback" in out["summary"]
