"""A printing process killed with SIGKILL mid-queue: after restart nothing is lost, order holds,
and the only duplicate is the one slip whose confirmation was cut off — marked REPRINT.

The kill lands in that window for certain, not "most likely": the virtual printer jams at the
fifth slip's cut (``hold(after=4)``), so the child has sent the slip and waits for its
confirmation when it is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from drivers.printer import EscPosPrinter
from hw_sim.printer import VirtualPrinter
from terminal.counter.printqueue import PrintQueue
from tests.support.programs import HW_SIM, REPO
from tests.support.slips import make_slips, printed_codes

WORKER = """
import sys, time
sys.path[:0] = [{repo!r}, {hwsim!r}]
from drivers.printer import EscPosPrinter
from terminal.counter.printqueue import PrintQueue
queue = PrintQueue({db!r}, EscPosPrinter.from_url({port!r}, print_timeout=10), retry_interval=0.05)
queue.start()
print("started", flush=True)
time.sleep(60)
"""


def test_sigkill_mid_queue_loses_nothing(tmp_path):
    slips = make_slips(12)
    db = tmp_path / "q.db"
    with PrintQueue(db) as queue:
        for slip in slips:
            queue.submit(slip)
    with VirtualPrinter(tmp_path / "paper", png=False) as vp:
        vp.hold(after=4)
        code = WORKER.format(repo=str(REPO), hwsim=str(HW_SIM), db=str(db), port=vp.port)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"started"
            assert vp.wait_held(30)              # slip 5 sent, its confirmation pending
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        killed_at = len(vp.slips)
        vp.release()                             # the printer finishes the slip it had
        assert vp.wait_for(5, 30)
        with PrintQueue(db, EscPosPrinter.from_url(vp.port), retry_interval=0.05) as queue:
            queue.start()
            assert queue.wait_idle(30)
            assert queue.counts() == {"pending": 0, "printed": 12, "failed": 0}
        assert vp.wait_for(13, 30)
        codes = printed_codes(vp)
    expected = [s.code for s in slips]
    assert killed_at == 4
    # every slip printed, in order once duplicates are dropped; the one duplicate is marked
    deduped = [c for i, c in enumerate(codes) if c not in codes[:i]]
    assert deduped == expected
    assert codes == expected[:5] + [expected[4]] + expected[5:]
    reprints = [s for s in vp.slips if "REPRINT" in s.text]
    assert len(reprints) == 1 and reprints[0] is vp.slips[5]
