"""The persistent slip queue against the virtual printer: paper out, offline, unplugged, restarts.

"submit never waits for the printer" is shown by causality, not by timing submit(): the virtual
printer is jammed mid-slip (``hold``), so the worker is certainly blocked inside the driver, and
every submit must still return and store its slip while it stays blocked.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from drivers.printer import EscPosPrinter
from hw_sim.printer import VirtualPrinter
from terminal.counter.printqueue import PrintQueue, QueueFull, SlipObserver
from terminal.reasons import Decision, Reason
from terminal.result import Result
from tests.support.results import AT, CST, SECRET, credential, decision_event
from tests.support.slips import make_slips, printed_codes
from tests.support.waiting import wait_until


def driver(vp: VirtualPrinter, print_timeout: float = 3.0) -> EscPosPrinter:
    return EscPosPrinter.from_url(vp.port, reply_timeout=0.3, print_timeout=print_timeout)


def test_paper_out_mid_queue_of_20_then_refill_prints_all_in_order_once(tmp_path, vprinter):
    slips = make_slips(20)
    vprinter.run_out_of_paper(after=7)
    with PrintQueue(tmp_path / "q.db", driver(vprinter), retry_interval=0.05) as queue:
        for slip in slips:
            queue.submit(slip)
        queue.start()
        assert vprinter.wait_for(7, 10)
        assert wait_until(lambda: queue.last_status is not None and not queue.last_status.paper)
        time.sleep(0.3)                                   # it keeps waiting, printing nothing
        assert len(vprinter.slips) == 7
        assert queue.counts() == {"pending": 13, "printed": 7, "failed": 0}
        assert len(vprinter.torn) == 1                    # the 8th ran out mid-slip
        vprinter.refill()
        assert vprinter.wait_for(20, 20)
        assert queue.wait_idle(5)
        assert queue.counts() == {"pending": 0, "printed": 20, "failed": 0}
    codes = printed_codes(vprinter)
    assert codes == [s.code for s in slips]               # in order, none lost, none twice
    assert len(set(codes)) == 20
    assert "重打 REPRINT" in vprinter.slips[7].text        # the torn one, reprinted and marked
    assert sum("REPRINT" in s.text for s in vprinter.slips) == 1


def test_offline_printer_keeps_every_slip_until_it_is_back(tmp_path, vprinter):
    vprinter.go_offline()
    with PrintQueue(tmp_path / "q.db", driver(vprinter), retry_interval=0.05) as queue:
        queue.start()
        for slip in make_slips(20):
            queue.submit(slip)
        assert wait_until(lambda: queue.last_status is not None
                          and "no answer" in queue.last_status.detail)
        assert vprinter.slips == [] and queue.counts()["pending"] == 20
        vprinter.come_online()
        assert vprinter.wait_for(20, 30)
        assert queue.wait_idle(10)
    assert len(set(printed_codes(vprinter))) == 20


def test_unplugged_printer_keeps_slips(tmp_path):
    absent = EscPosPrinter.from_url("/dev/ttyUSB-scanpoint-absent", reply_timeout=0.1)
    with PrintQueue(tmp_path / "q.db", absent, retry_interval=0.05) as queue:
        queue.start()
        for slip in make_slips(10):
            queue.submit(slip)
        assert wait_until(lambda: queue.last_status is not None
                          and "cannot open" in queue.last_status.detail)
        assert queue.counts() == {"pending": 10, "printed": 0, "failed": 0}


def test_printer_stuck_mid_slip_does_not_block_submit(tmp_path, vprinter):
    slips = make_slips(20)
    vprinter.hold()                                       # jams at the first cut
    db = tmp_path / "q.db"
    queue = PrintQueue(db, driver(vprinter, print_timeout=30), retry_interval=0.05)
    try:
        queue.start()
        first = queue.submit(slips[0])
        assert vprinter.wait_held(20)                     # the worker waits inside print_slip ...
        ids = [queue.submit(slip) for slip in slips[1:]]  # ... and every submit still returns
        assert ids == sorted(ids) and first not in ids and len(set(ids)) == 19
        assert vprinter.wait_held(0) and vprinter.slips == []   # still stuck all along
        assert queue.counts() == {"pending": 20, "printed": 0, "failed": 0}
        with sqlite3.connect(db) as conn:                 # still the first try: it never timed out
            assert conn.execute("SELECT state, attempts FROM slips WHERE id = ?",
                                (first,)).fetchone() == ("sending", 0)
        vprinter.release()
        assert vprinter.wait_for(20, 30)
        assert queue.wait_idle(10)
    finally:
        vprinter.release()
        queue.close()
    assert printed_codes(vprinter) == [s.code for s in slips]     # in order, none twice
    assert not any("REPRINT" in s.text for s in vprinter.slips)


def test_slips_survive_a_restart(tmp_path, vprinter):
    slips = make_slips(5)
    with PrintQueue(tmp_path / "q.db") as queue:          # no printer yet
        for slip in slips:
            queue.submit(slip)
    with PrintQueue(tmp_path / "q.db", driver(vprinter), retry_interval=0.05) as queue:
        assert [s.code for s in queue.pending()] == [s.code for s in slips]
        queue.start()
        assert vprinter.wait_for(5, 10)
    assert printed_codes(vprinter) == [s.code for s in slips]


def test_crash_between_send_and_confirm_reprints_once_marked(tmp_path, vprinter):
    """A row left 'sending' (process died after sending, before marking) prints again as REPRINT."""
    slips = make_slips(3)
    with PrintQueue(tmp_path / "q.db") as queue:
        for slip in slips:
            queue.submit(slip)
    conn = sqlite3.connect(tmp_path / "q.db")
    conn.execute("UPDATE slips SET state = 'sending', attempts = 1 WHERE id = 1")
    conn.commit()
    conn.close()
    with PrintQueue(tmp_path / "q.db", driver(vprinter), retry_interval=0.05) as queue:
        queue.start()
        assert vprinter.wait_for(3, 10)
        assert queue.wait_idle(5)
    assert printed_codes(vprinter) == [s.code for s in slips]
    assert vprinter.slips[0].text.splitlines()[0].strip() == "** 重打 REPRINT **"
    assert "REPRINT" not in vprinter.slips[1].text


def test_queue_is_bounded(tmp_path):
    with PrintQueue(tmp_path / "q.db", max_pending=3) as queue:
        for slip in make_slips(3):
            queue.submit(slip)
        with pytest.raises(QueueFull, match="fix the printer"):
            queue.submit(make_slips(1)[0])


def test_database_uses_wal_and_full_sync(tmp_path):
    with PrintQueue(tmp_path / "q.db") as queue:
        assert queue._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert queue._conn.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL


def test_observer_queues_only_selected_decisions_and_never_raises(tmp_path):
    queue = PrintQueue(tmp_path / "q.db")
    observer = SlipObserver(queue, secret=SECRET, print_on=["pass", "check"], tz=CST)
    observer.on_decision(decision_event(Result(Decision.PASS, Reason.OK, "native", credential())))
    observer.on_decision(decision_event(Result(Decision.DENY, Reason.REVOKED, "native", credential())))
    assert queue.counts()["pending"] == 1
    assert observer.last_slip.decision == "pass"
    queue.close()
    observer.on_decision(decision_event(Result(Decision.CHECK, Reason.LIST_STALE, "native", credential())))
    assert observer.errors == 1


def test_printer_that_never_confirms_prints_each_slip_at_most_max_attempts(tmp_path):
    with VirtualPrinter(tmp_path / "slips", confirms=False) as vp, \
            PrintQueue(tmp_path / "q.db", EscPosPrinter.from_url(vp.port, print_timeout=0.2),
                       retry_interval=0.02, max_attempts=2) as queue:
        for slip in make_slips(2):
            queue.submit(slip)
        queue.start()
        assert wait_until(lambda: queue.counts()["failed"] == 2, 15)
        assert queue.counts() == {"pending": 0, "printed": 0, "failed": 2}
        time.sleep(0.3)
        assert len(vp.slips) == 4                 # two tries each, then it gives up
        assert sum("REPRINT" in s.text for s in vp.slips) == 2


def test_failed_slips_are_purged_after_the_keep_period(tmp_path):
    from terminal.clock import FixedClock
    clock = FixedClock(AT)
    with PrintQueue(tmp_path / "q.db", keep_printed=3600, clock=clock) as queue:
        first, second = (queue.submit(slip) for slip in make_slips(2))
        # as the worker leaves slips a printer never confirmed
        queue._conn.execute("UPDATE slips SET state = 'failed' WHERE id IN (?, ?)", (first, second))
        queue._conn.execute("UPDATE slips SET created = ? WHERE id = ?", (AT + 1800, second))
        assert queue.purge(now=AT + 3000) == 0          # both younger than the keep period
        assert queue.purge(now=AT + 3601) == 1          # the first aged out (from created)
        assert queue.counts() == {"pending": 0, "printed": 0, "failed": 1}
        assert queue.purge(now=AT + 1800 + 3601) == 1
        assert queue.counts()["failed"] == 0
