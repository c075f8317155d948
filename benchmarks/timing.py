"""Timing helpers shared by the benchmarks: medians, since these 2-core machines are noisy."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable


def median_ms(fn: Callable[[], object], runs: int, *, warm_up: bool = True) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``runs`` calls (after one warm-up call)."""
    if warm_up:
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def median_each_ms(fns: Iterable[Callable[[], object]]) -> float:
    """Median of calling each function once, no warm-up (first-use figures)."""
    times = []
    for fn in fns:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3
