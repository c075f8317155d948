"""Many trusted keys: verification time, the largest single-scan stall and table memory.

    python benchmarks/bench_keys.py [--quick] [--keys 1 16 100 1000] [--scans N] [--runs R]

A trust list of N issuer keys is loaded as the scanner loads it; then scans are verified in
random order (each scan: one SM2/SM3 verification with a uniformly chosen key, as
``IssuerKey.verify`` does it for a native credential), with a short idle gap between scans as at
a gate, where tables are built in the background. The first ``--warm`` scans after the load are
reported apart (tables are still being built then); then ``--scans`` more. Per N it prints the
median over R runs of: p50 and p99 of a verification, the largest single verification (the
stall a person at the gate waits through) after and during the warm-up, and the memory of the
SM2 tables held at the end, next to the budget (``[trust] key_tables_mib``).

Goals (issue 10): p99 <= 1.5 ms, no stall over 2 ms, table memory within the budget at 1,000
keys, and the 1-key figure unchanged. The machine is shared: take the medians, not one run.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy
sys.path.insert(1, str(Path(__file__).resolve().parents[1] / "tests"))

from terminal.crypto import curve, sm2
from terminal.issuer import credentials as iss
from terminal.lists.signedlist import key_id
from terminal.lists.trust import TrustList

ROOT = int.from_bytes(b"bench root key", "big")
ROOT_PUB = sm2.public_key_of(ROOT)
NOW = 1767225600
MSG = b"x" * 180                      # about a native credential's Sig_structure


def deep_size(obj: object, seen: set[int]) -> int:
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, (list, tuple)):
        size += sum(deep_size(item, seen) for item in obj)
    return size


def table_mib(trust: TrustList) -> tuple[float, int]:
    """MiB of SM2 comb tables held by the list's keys (measured on one, times the count)."""
    tables = [k.verifier._table for k in trust.keys.values()
              if k.verifier is not None and k.verifier._table is not None]
    if not tables:
        return 0.0, 0
    return deep_size(tables[0], set()) * len(tables) / 2**20, len(tables)


def one_run(n: int, scans: int, gap_s: float, seed: int, warm: int = 500) -> dict[str, float]:
    rng = random.Random(seed)
    privs = [rng.randrange(1, sm2.N - 1) for _ in range(n)]
    pubs = [sm2.public_key_of(d) for d in privs]
    sigs = [sm2.sign(d, MSG) for d in privs]
    entries = [iss.trust_entry(p, f"issuer {i}", NOW - 86400, NOW + 365 * 86400, ["health"])
               for i, p in enumerate(pubs)]
    data = iss.sign_trust_list(entries, 1, NOW - 60, NOW + 86400, ROOT)
    gc.collect()
    started = time.perf_counter()
    trust = TrustList.from_bytes(data, ROOT_PUB)
    load_ms = (time.perf_counter() - started) * 1e3
    keys = [trust.key(key_id(p)) for p in pubs]
    times = []
    for _ in range(warm + scans):
        i = rng.randrange(n)
        t0 = time.perf_counter()
        ok = keys[i].verify(MSG, sigs[i])
        times.append(time.perf_counter() - t0)
        assert ok
        time.sleep(gap_s)
    warming, times = sorted(times[:warm]), sorted(times[warm:])
    mib, count = table_mib(trust)
    return {"p50": times[len(times) // 2] * 1e3, "p99": times[int(len(times) * 0.99)] * 1e3,
            "max": times[-1] * 1e3, "over_2ms": sum(t > 0.002 for t in times),
            "warm_p99": warming[int(len(warming) * 0.99)] * 1e3,
            "warm_max": warming[-1] * 1e3, "table_mib": mib, "tables": count,
            "load_ms": load_ms}


def budget_mib() -> float | None:
    try:
        from terminal.crypto import keytables
    except ImportError:
        return None
    return keytables.default().budget_bytes / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer scans and runs")
    parser.add_argument("--keys", type=int, nargs="+", default=[1, 16, 100, 1000])
    parser.add_argument("--scans", type=int, default=None, help="scans per run (default 3000)")
    parser.add_argument("--runs", type=int, default=None, help="runs per key count (default 5)")
    parser.add_argument("--gap-ms", type=float, default=5.0, help="idle time between scans")
    parser.add_argument("--warm", type=int, default=500,
                        help="scans right after the list load, reported apart")
    args = parser.parse_args(argv)
    scans = args.scans or (600 if args.quick else 3000)
    runs = args.runs or (1 if args.quick else 5)
    curve.g_table()
    budget = budget_mib()
    print(f"trusted keys benchmark — Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {scans} scans a run in random key order, {args.gap_ms:g} ms "
          f"between scans, median of {runs} run(s)")
    print(f"table budget: {'none (tables kept forever)' if budget is None else f'{budget:g} MiB'}")
    print(f"{'':>5} {'after warm-up':^35} {'warm-up':^17}")
    print(f"{'keys':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'>2 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'tables':>7} {'table MiB':>10} {'list load ms':>13}")
    for n in args.keys:
        results = [one_run(n, scans, args.gap_ms / 1e3, seed=1000 * n + r, warm=args.warm)
                   for r in range(runs)]
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(f"{n:>5} {med['p50']:>8.3f} {med['p99']:>8.3f} {med['max']:>8.2f} "
              f"{med['over_2ms']:>8.0f} {med['warm_p99']:>8.3f} {med['warm_max']:>8.2f} "
              f"{med['tables']:>7.0f} {med['table_mib']:>10.1f} {med['load_ms']:>13.1f}",
              flush=True)
    print("goals: p99 <= 1.5 ms, max <= 2 ms, table memory within the budget, 1 key unchanged")
    print("(>2 ms: scans over 2 ms after the warm-up; on a shared machine a few come from other "
          "processes — the 1-key row, where nothing is built, shows that floor)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
