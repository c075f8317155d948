"""Pharmacy-side costs on the scan path and at the printer: ``python benchmarks/bench_pharmacy.py``.

Prints medians: building a slip, queueing it (one fsynced SQLite insert), recording an audit row,
and the end-to-end print rate through the virtual printer on a pty. ``--n`` sets the sample size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "hw-sim")]

from drivers.printer import EscPosPrinter  # noqa: E402
from hw_sim.printer import VirtualPrinter  # noqa: E402
from terminal.counter.audit import AuditLog  # noqa: E402
from terminal.counter.printqueue import PrintQueue  # noqa: E402
from terminal.reasons import Decision, Reason  # noqa: E402
from terminal.result import Credential, Result  # noqa: E402
from terminal.counter.slip import build_slip  # noqa: E402

SECRET = bytes(32)


def result(i: int) -> Result:
    cred = Credential("native", "insurance", "CN-HI", "a1b2", i.to_bytes(16, "big"), 0, 0, 0,
                      None, "张*三", None, "1234")
    return Result(Decision.PASS, Reason.OK, "native", cred)


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.3f} ms (p95 {sorted(samples)[int(len(samples) * .95)] * 1000:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--print-n", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build, submit, audit_rec = [], [], []
        slips = []
        for i in range(args.n):
            t = time.perf_counter()
            slips.append(build_slip(result(i), site="Renhe", terminal_id="T01", secret=SECRET, at=1.8e9))
            build.append(time.perf_counter() - t)
        with PrintQueue(tmp / "q.db") as queue:
            for slip in slips:
                t = time.perf_counter()
                queue.submit(slip)
                submit.append(time.perf_counter() - t)
        with AuditLog(tmp / "state") as audit:
            for i in range(args.n):
                t = time.perf_counter()
                audit.record(result(i))
                audit_rec.append(time.perf_counter() - t)
        print(f"slip build (pure)           median {median_ms(build)}")
        print(f"queue submit (WAL, FULL)    median {median_ms(submit)}")
        print(f"audit record (WAL, FULL)    median {median_ms(audit_rec)}")
        with VirtualPrinter(tmp / "paper", png=False) as vp, \
                PrintQueue(tmp / "q2.db", EscPosPrinter.from_url(vp.port), retry_interval=0.05) as q:
            t = time.perf_counter()
            for slip in slips[:args.print_n]:
                q.submit(slip)
            q.start()
            if not vp.wait_for(args.print_n, 120):
                raise SystemExit(f"only {len(vp.slips)} of {args.print_n} slips printed in 120 s")
            elapsed = time.perf_counter() - t
        print(f"virtual printer throughput  {args.print_n / elapsed:.1f} slips/s "
              f"({args.print_n} slips, status check + print + confirm each)")


if __name__ == "__main__":
    main()
