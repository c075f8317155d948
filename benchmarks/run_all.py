"""Run every benchmark and print its figures: ``python benchmarks/run_all.py [--quick]``.

Each ``bench_*.py`` runs in its own process, one after another (these machines have 2 cores:
running them side by side would measure the contention). ``--quick`` passes small settings to
each; without it the revocation benchmark builds 1M and 10M-entry stores (minutes, ~1 GB disk).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUICK = {
    "bench_chain.py": ["--rounds", "100"],
    "bench_dcc.py": ["--rounds", "100"],
    "bench_pharmacy.py": ["--n", "100", "--print-n", "10", "--gate-n", "4"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small settings for every benchmark")
    parser.add_argument("only", nargs="*", help="names to run, e.g. sm2 chain (default: all)")
    args = parser.parse_args()
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        extra = (QUICK.get(script.name, ["--quick"]) if args.quick else [])
        print(f"\n===== {name}: python benchmarks/{script.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.monotonic()
        status = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent)
        print(f"===== {name}: exit {status}, {time.monotonic() - started:.0f} s", flush=True)
        if status:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
