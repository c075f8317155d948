"""Regression tests for 1,000 trusted keys, through the trust list's public API only.

Before: with more than 16 keys each key's SM2 table was built during its second scan (an 8.7 ms
stall), and tables were never freed (0.75 MiB each: 749 MiB at 1,000 keys). Now no scan builds a
table, and the tables held stay within ``[trust] key_tables_mib`` (64 MiB by default).
"""

from __future__ import annotations

import random
import threading

import pytest

from terminal.crypto import curve
from terminal.lists.signedlist import key_id
from terminal.lists.trust import TrustList
from tests.support import credentials as kit
from tests.support.credentials import KEYS_MSG as MSG
from tests.support.credentials import signed_keys, trust_of

DEFAULT_BUDGET = 64 * 2**20


def deep_size(obj: object) -> int:
    """A table's bytes, measured here rather than by keytables' own count (the thing checked)."""
    import sys

    seen: set[int] = set()
    total, stack = 0, [obj]
    while stack:
        item = stack.pop()
        if id(item) not in seen:
            seen.add(id(item))
            total += sys.getsizeof(item)
            if isinstance(item, (list, tuple)):
                stack.extend(item)
    return total


@pytest.fixture
def builds_in_this_thread(monkeypatch):
    """Records every comb-table build made in the calling (scanning) thread."""
    seen: list[str] = []
    scanner = threading.current_thread()
    real_comb = curve.comb_table
    real_steps = getattr(curve, "comb_table_steps", None)

    def comb_table(*a, **kw):
        if threading.current_thread() is scanner:
            seen.append("comb_table")
        return real_comb(*a, **kw)

    def comb_table_steps(*a, **kw):
        if threading.current_thread() is scanner:
            seen.append("comb_table_steps")
        return real_steps(*a, **kw)

    monkeypatch.setattr(curve, "comb_table", comb_table)
    if real_steps is not None:
        monkeypatch.setattr(curve, "comb_table_steps", comb_table_steps)
    return seen


def test_a_scan_never_builds_a_table(builds_in_this_thread):
    """With more than 16 keys a key's table used to be built during its second scan (8.7 ms)."""
    keys = signed_keys(20, seed=1)
    trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB)
    builds_in_this_thread.clear()           # whatever loading did is not a scan
    for _, pub, sig in keys[:5]:
        key = trust.key(key_id(pub))
        for _ in range(3):
            assert key.verify(MSG, sig)
    assert builds_in_this_thread == []


def test_tables_held_for_many_used_keys_stay_within_the_default_budget():
    keys = signed_keys(120, seed=2)
    trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB)
    rng = random.Random(3)
    for _ in range(3):
        for _, pub, sig in rng.sample(keys, len(keys)):
            assert trust.key(key_id(pub)).verify(MSG, sig)

    def held() -> list:
        return [k.verifier._table for k in trust.keys.values() if k.verifier.precomputed]

    settled = threading.Event()
    last, same = -1, 0
    for _ in range(600):                    # polled until the background settles (<= 60 s)
        count = len(held())
        same = same + 1 if count == last else 0
        last = count
        if same >= 30 and count:
            break
        settled.wait(0.1)
    tables = held()
    assert tables, "the most used keys get their tables"
    assert len(tables) * deep_size(tables[0]) <= DEFAULT_BUDGET
