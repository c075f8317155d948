"""Many trusted keys: no SM2 table is ever built during a scan, table memory stays within the
budget (least recently used out), the most used keys get the fast tables, and a verification is
right with any table or none. Timings are in ``benchmarks/bench_keys.py``, not here.
"""

from __future__ import annotations

import gc
import random
import threading

import pytest

from terminal import config as config_mod
from terminal.crypto import curve, keytables, sm2
from terminal.crypto.keytables import KeyTables, deep_size, table_bytes
from terminal.lists.signedlist import key_id
from terminal.lists.trust import TrustList, TrustListFile
from tests.support import credentials as kit
from tests.support.credentials import KEYS_MSG as MSG
from tests.support.credentials import signed_keys, trust_of

COMB = table_bytes("comb")
SPLIT = table_bytes("split")


def test_table_memory_stays_within_the_budget_with_many_keys():
    """Tables were never freed: 0.75 MiB for every key used twice (749 MiB at 1,000 keys)."""
    budget = 8 * keytables.MIB
    tables = KeyTables(budget, background=False, replace_every=0.0)
    keys = signed_keys(40, seed=2)
    trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB, tables=tables)
    rng = random.Random(3)
    for _ in range(4):
        for _d, pub, sig in rng.sample(keys, len(keys)):
            assert trust.key(key_id(pub)).verify(MSG, sig)
        tables.build_pending()
    held = [k.verifier for k in trust.keys.values() if k.verifier.precomputed]
    assert 0 < len(held) <= (budget - 40 * SPLIT) // COMB
    assert all(k.verifier.split_ready for k in trust.keys.values())
    measured = sum(deep_size(k._table) for k in held) + sum(
        deep_size(k.verifier._split) for k in trust.keys.values())
    assert measured <= budget
    assert tables.snapshot().bytes <= budget


def test_the_hottest_keys_get_the_comb_tables_and_lru_makes_room():
    tables = KeyTables(3 * COMB + 10 * SPLIT, background=False, replace_every=0.0)
    keys = signed_keys(6, seed=4)
    objects = [sm2.load_public_key(pub, lazy=True, tables=tables) for _, pub, _ in keys]
    tables.register(objects, preload=False)

    def use(i: int, times: int) -> None:
        for _ in range(times):
            assert objects[i].verify(MSG, keys[i][2])

    use(0, 9)
    use(1, 6)
    use(2, 4)
    use(3, 1)
    tables.build_pending()
    assert [o.precomputed for o in objects] == [True, True, True, False, False, False]
    use(4, 30)                             # a new hot key: the least recently used table goes
    tables.build_pending()
    assert objects[4].precomputed and not objects[0].precomputed
    assert sum(o.precomputed for o in objects) == 3
    assert tables.snapshot().evicted == 1


def test_a_full_budget_does_not_churn_for_keys_no_hotter_than_the_held_ones():
    tables = KeyTables(2 * COMB + 10 * SPLIT, background=False, replace_every=0.0)
    keys = signed_keys(4, seed=5)
    objects = [sm2.load_public_key(pub, lazy=True, tables=tables) for _, pub, _ in keys]
    tables.register(objects, preload=False)
    for i in range(4):
        for _ in range(3):
            objects[i].verify(MSG, keys[i][2])
    tables.build_pending()
    before = tables.snapshot()
    for i in (2, 3):
        objects[i].verify(MSG, keys[i][2])
    tables.build_pending()
    assert tables.snapshot().evicted == before.evicted == 0


def test_replacements_are_rate_limited_when_the_budget_is_full():
    from terminal.clock import FixedClock

    clock = FixedClock(kit.NOW, mono=0.0)
    tables = KeyTables(COMB + 10 * SPLIT, background=False, clock=clock, replace_every=5.0)
    keys = signed_keys(3, seed=6)
    objects = [sm2.load_public_key(pub, lazy=True, tables=tables) for _, pub, _ in keys]
    tables.register(objects, preload=False)
    for _ in range(3):
        objects[0].verify(MSG, keys[0][2])
    tables.build_pending()
    for i in (1, 2):
        for _ in range(20):
            objects[i].verify(MSG, keys[i][2])
    tables.build_pending()
    assert tables.snapshot().evicted == 1          # one replacement, then the interval
    clock.advance(5.0)
    for _ in range(30):                            # now clearly hotter than the held one
        objects[2].verify(MSG, keys[2][2])
    tables.build_pending()
    assert tables.snapshot().evicted == 2 and objects[2].precomputed


def test_tables_go_with_their_keys():
    tables = KeyTables(budget_bytes=64 * keytables.MIB, background=False)
    keys = signed_keys(3, seed=7)
    trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB, tables=tables)
    tables.build_pending()
    assert tables.snapshot().bytes == 3 * (COMB + SPLIT)
    del trust
    gc.collect()
    after = tables.snapshot()
    assert after.bytes == 0 and after.keys == 0


def test_a_key_in_a_newer_list_keeps_its_tables():
    keys = signed_keys(2, seed=8)
    first = TrustList.from_bytes(trust_of(keys, version=1), kit.ROOT_PUB)
    held = first.key(key_id(keys[0][1])).verifier
    held.precompute()
    second = TrustList.from_bytes(trust_of(keys, version=2), kit.ROOT_PUB)
    assert second.key(key_id(keys[0][1])).verifier is held and held.precomputed


@pytest.mark.parametrize("tier", ["comb", "split", "none"])
def test_every_tier_gives_the_same_answers(tier):
    rng = random.Random(9)
    tables = KeyTables(background=False)
    for _d, pub, sig in signed_keys(12, seed=10):
        key = sm2.PublicKey(pub, precompute=(tier == "comb"))
        if tier == "split":
            key.set_split(curve.drain(curve.split_table_steps(key.x, key.y)))
        assert key.verify(MSG, sig)
        assert not key.verify(MSG + b"!", sig)
        bad = bytearray(sig)
        bad[rng.randrange(64)] ^= 1 << rng.randrange(8)
        assert key.verify(MSG, bytes(bad)) is False
    assert tables.snapshot().keys == 0


def test_split_multiplication_matches_plain_double_and_add():
    rng = random.Random(11)
    d = rng.randrange(1, sm2.N - 1)
    x, y = sm2.parse_public_key(sm2.public_key_of(d))
    table = curve.drain(curve.split_table_steps(x, y))
    for k in [1, 2, 15, 16, (1 << 64) - 1, 1 << 64, (1 << 192) + 1, sm2.N - 1,
              *(rng.randrange(1, sm2.N) for _ in range(20))]:
        assert curve.affine(curve.mul_split(k, table)) == curve.affine(curve.mul_wnaf(k, x, y))
    assert curve.mul_split(sm2.N, table) is None


def test_tables_are_built_in_small_slices():
    x, y = sm2.parse_public_key(sm2.public_key_of(12345))
    steps = curve.comb_table_steps(x, y, 7)
    slices = 0
    while True:
        try:
            next(steps)
            slices += 1
        except StopIteration as done:
            table = done.value
            break
    assert slices >= 30
    assert table == curve.comb_table(x, y, 7)
    assert deep_size(table) == pytest.approx(COMB, rel=0.02)


def test_the_budget_comes_from_the_config(tmp_path):
    manager = keytables.default()
    before = manager.budget_bytes
    try:
        cfg = config_mod.loads(f'[terminal]\nstate_dir = "{tmp_path}"\n'
                               f'[trust]\nroot_key = "{kit.ROOT_PUB.hex()}"\nkey_tables_mib = 8\n')
        TrustListFile.from_config(cfg)
        assert manager.budget_bytes == 8 * keytables.MIB
    finally:
        manager.configure(before)


def test_the_background_builder_gives_a_loaded_list_its_tables():
    tables = KeyTables(64 * keytables.MIB)
    try:
        keys = signed_keys(3, seed=12)
        trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB, tables=tables)
        done = threading.Event()

        def ready() -> bool:
            return all(k.verifier.precomputed and k.verifier.split_ready
                       for k in trust.keys.values())

        for _ in range(600):                       # polled, not timed: up to a minute
            if ready():
                done.set()
                break
            done.wait(0.1)
        assert ready()
        for _d, pub, sig in keys:
            assert trust.key(key_id(pub)).verify(MSG, sig)
    finally:
        tables.close()


def test_a_dead_keys_id_given_to_a_new_key_keeps_the_books_right():
    tables = KeyTables(COMB + 10 * SPLIT, background=False, replace_every=0.0)
    keys = signed_keys(2, seed=13)
    reused = False
    for _ in range(50):
        first = sm2.load_public_key(keys[0][1], lazy=True, tables=tables)
        for _ in range(3):
            first.verify(MSG, keys[0][2])
        tables.build_pending()
        old_id = id(first)
        del first                                   # its tables go with it (not reaped yet)
        second = sm2.load_public_key(keys[1][1], lazy=True, tables=tables)
        reused = id(second) == old_id
        for _ in range(3):
            second.verify(MSG, keys[1][2])
        tables.build_pending()
        assert second.precomputed
        del second
        gc.collect()
        tables.build_pending()
        if reused:
            break
    assert reused, "CPython did not reuse the address: nothing was tested"
    assert tables.snapshot().bytes == 0 and tables.snapshot().keys == 0


def test_a_dropped_trust_list_does_not_keep_its_keys_or_their_tables():
    import weakref

    keys = signed_keys(2, seed=14)
    trust = TrustList.from_bytes(trust_of(keys), kit.ROOT_PUB)          # the process's manager
    held = weakref.ref(trust.key(key_id(keys[0][1])).verifier)
    del trust
    gc.collect()
    assert held() is None
