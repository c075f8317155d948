"""Pharmacy-side costs on the scan path and at the printer: ``python benchmarks/bench_pharmacy.py``.

Prints medians: building a slip, queueing it (one fsynced SQLite insert), queueing it while the
worker polls an offline printer, recording an audit row, the end-to-end print rate through the
virtual printer on a pty, and frame-to-LED latency of the pharmacy daemon (simulated camera, real
decoder, verifier and signals) while its printer is offline. ``--n`` sets the sample size,
``--gate-n`` the number of codes shown to the daemon.

The tests show *that* the scan path never waits for the printer (a jammed virtual printer); these
figures say how fast it is, which is a benchmark's job, not a test's.
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

from drivers.printer import EscPosPrinter
from hw_sim.printer import VirtualPrinter
from terminal.counter.audit import AuditLog
from terminal.counter.printqueue import PrintQueue
from terminal.counter.slip import build_slip
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

SECRET = bytes(32)


def result(i: int) -> Result:
    cred = Credential("native", "insurance", "CN-HI", "a1b2", i.to_bytes(16, "big"), 0, 0, 0,
                      None, "张*三", None, "1234")
    return Result(Decision.PASS, Reason.OK, "native", cred)


def gate_latency_printer_offline(work: Path, n: int) -> list[float]:
    """Frame-to-LED latency (s) of each of ``n`` insurance cards shown to the pharmacy daemon whose
    printer is offline (every slip waits in the queue)."""
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices
    from tests.support.configs import demo_terminal
    from tests.support.observers import Recorder

    with VirtualPrinter(work / "offline", png=False) as vp:
        vp.go_offline()
        config, home = demo_terminal(work, "pharmacy", printer_url=vp.port)
        now = int(time.time())
        script: list[tuple[str | None, float]] = []
        for i in range(n):
            script += [(home.issue("insurance", "测试", f"1101011990030{i:05d}", now=now), 0.5),
                       (None, 0.6)]
        devices = open_devices(config, scenario=script, scale=0.2)
        seen = Recorder()
        service = build_service(config, devices=devices)
        service.pipeline.add_observer(seen)
        try:
            service.run(install_signal_handlers=False, until=devices.sim.finished)
        finally:
            devices.close()
    if [e.result.decision.value for e in seen.events] != ["pass"] * n:
        raise SystemExit(f"expected {n} passes, got {seen.decisions()}")
    return [e.latency for e in seen.events]


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.3f} ms (p95 {sorted(samples)[int(len(samples) * .95)] * 1000:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--print-n", type=int, default=30)
    parser.add_argument("--gate-n", type=int, default=20)
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
        offline_submit = []
        with VirtualPrinter(tmp / "off", png=False) as vp:
            vp.go_offline()
            with PrintQueue(tmp / "q3.db", EscPosPrinter.from_url(vp.port, reply_timeout=0.3),
                            retry_interval=0.05) as queue:
                queue.start()                  # the worker keeps asking the silent printer
                for slip in slips:
                    t = time.perf_counter()
                    queue.submit(slip)
                    offline_submit.append(time.perf_counter() - t)
        with AuditLog(tmp / "state") as audit:
            for i in range(args.n):
                t = time.perf_counter()
                audit.record(result(i))
                audit_rec.append(time.perf_counter() - t)
        print(f"slip build (pure)           median {median_ms(build)}")
        print(f"queue submit (WAL, FULL)    median {median_ms(submit)}")
        print(f"  ... printer offline       median {median_ms(offline_submit)}")
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
        gate = gate_latency_printer_offline(tmp / "gate", args.gate_n)
        print(f"frame->LED, printer offline median {median_ms(gate)}, max "
              f"{max(gate) * 1000:.3f} ms ({args.gate_n} codes through the pharmacy daemon)")


if __name__ == "__main__":
    main()
