"""A printing process killed with SIGKILL mid-queue: after restart nothing is lost, order holds,
and the only possible duplicate is the one slip whose confirmation was cut off — marked REPRINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from drivers.printer import EscPosPrinter
from hw_sim.printer import VirtualPrinter
from terminal.counter.printqueue import PrintQueue
from tests.support.slips import make_slips, printed_codes

REPO = Path(__file__).resolve().parents[2]

WORKER = """
import sys, time
sys.path[:0] = [{repo!r}, {hwsim!r}]
from drivers.printer import EscPosPrinter
from terminal.counter.printqueue import PrintQueue
from tests.support.slips import make_slips, printed_codes
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
    with VirtualPrinter(tmp_path / "paper", delay=0.15, png=False) as vp:
        code = WORKER.format(repo=str(REPO), hwsim=str(REPO / "hw-sim"), db=str(db), port=vp.port)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline().strip() == b"started"
            assert vp.wait_for(4, 20)
            time.sleep(0.07)                     # inside the next slip's print time, most likely
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        killed_at = len(vp.slips)
        with PrintQueue(db, EscPosPrinter.from_url(vp.port), retry_interval=0.05) as queue:
            queue.start()
            assert queue.wait_idle(30)
        time.sleep(0.3)
        codes = printed_codes(vp)
    expected = [s.code for s in slips]
    # every slip printed; in order once duplicates are dropped; a duplicate is always marked
    deduped = [c for i, c in enumerate(codes) if c not in codes[:i]]
    assert deduped == expected
    reprints = [s for s in vp.slips if "REPRINT" in s.text]
    assert len(codes) - len(expected) <= 1 and len(reprints) <= 1
    assert len(codes) - len(expected) <= len(reprints)
    assert killed_at >= 4
