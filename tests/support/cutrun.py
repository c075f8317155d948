"""One power-cut experiment on the real store code, shared by the tests and the benchmark."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import apsw

from terminal.lists.revocation import RevocationStore
from terminal.storage import configure
from tests.support.powercut import CutVFS, Disk, PowerCut, materialize

DB = "/rev.db"
ISSUED = 1_700_000_000


def digest(hashes) -> str:
    return hashlib.sha256(b"".join(sorted(hashes))).hexdigest()


@dataclass
class Plan:
    """A base list (version 1) and a sequence of updates, with the expected content per version."""

    first: list            # version 1
    updates: list          # ("snap", v, hashes) | ("delta", v, add, remove, count)
    expected: dict         # version -> (count, digest)


def make_plan(seed: int, base_n: int = 1500, versions: int = 8, add: int = 150,
              remove: int = 40) -> Plan:
    rng = random.Random(seed)
    def rb() -> bytes:
        return rng.getrandbits(128).to_bytes(16, "big")

    cur = sorted({rb() for _ in range(base_n)})
    first = cur
    expected = {1: (len(cur), digest(cur))}
    updates = []
    for v in range(2, versions + 2):
        if v % 4 == 0:                     # now and then a full snapshot (DELETE + bulk insert)
            cur = sorted({rb() for _ in range(base_n + 50 * v)})
            updates.append(("snap", v, b"".join(cur)))
        else:
            rem = sorted(rng.sample(cur, remove))
            ad = sorted({rb() for _ in range(add)})
            cur = sorted((set(cur) - set(rem)) | set(ad))
            updates.append(("delta", v, b"".join(ad), b"".join(rem), len(cur)))
        expected[v] = (len(cur), digest(cur))
    return Plan(first, updates, expected)


def _open(disk: Disk, synchronous: str):
    vfs = CutVFS(disk)
    con = apsw.Connection(DB, vfs=vfs.vfsname)
    con.execute("PRAGMA locking_mode=EXCLUSIVE")   # WAL index in heap memory (no xShm in Python)
    configure(con, synchronous=synchronous)
    con.execute("PRAGMA wal_autocheckpoint=40")    # checkpoints happen mid-run, on purpose
    return vfs, con


def base_image(plan_seed: int, **kw) -> tuple[dict, Plan]:
    """The durable files of a store holding version 1, cleanly closed, and the update plan."""
    plan = make_plan(plan_seed, **kw)
    disk = Disk()
    vfs, con = _open(disk, "FULL")
    RevocationStore(con=con).apply_snapshot(1, ISSUED, ISSUED + 86400, b"".join(plan.first))
    con.close()
    vfs.unregister()
    return disk.snapshot(), plan


def run(image: dict, plan: Plan, synchronous: str, cut_at: int | None) -> tuple[int, int, Disk]:
    """Apply the plan's updates, cutting power at operation ``cut_at``.

    Returns (last acknowledged version, operations done, disk).
    """
    disk = Disk(image)
    disk.cut_at = cut_at
    acked = 1
    vfs, con = _open(disk, synchronous)
    try:
        store = RevocationStore(con=con)
        for up in plan.updates:
            if up[0] == "snap":
                store.apply_snapshot(up[1], ISSUED + up[1], ISSUED + 86400, up[2])
            else:
                _, v, ad, rem, count = up
                store.apply_delta(v - 1, v, ISSUED + v, ISSUED + 86400, ad, rem, count)
            acked = up[1]            # apply returned: the commit is acknowledged
    except (PowerCut, apsw.Error):
        if not disk.dead:
            raise  # an error with the power still on is a store bug, not a cut's effect
    try:
        con.close(True)
    except Exception:
        pass
    vfs.unregister()
    return acked, disk.ops, disk


@dataclass
class Outcome:
    corrupt: int = 0
    lost: int = 0        # an acknowledged version is gone
    mixed: int = 0       # content matches no version, or not the version the metadata claims
    ok: int = 0
    at_new: int = 0      # found the in-flight update committed

    def add(self, other: Outcome) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))


def examine(files: dict, plan: Plan, acked: int) -> Outcome:
    """Open the after-cut files with the ordinary driver and classify them."""
    out = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        path = materialize(files, Path(tmp), DB)
        try:
            con = sqlite3.connect(path, isolation_level=None)
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                out.corrupt = 1
                return out
            row = con.execute("SELECT version FROM lists WHERE kind='revocation'").fetchone()
            hashes = [bytes(r[0]) for r in con.execute("SELECT h FROM revoked ORDER BY h")]
            con.close()
        except sqlite3.DatabaseError:
            out.corrupt = 1
            return out
        version = row[0] if row else 0
        if version < acked:
            out.lost = 1
            return out
        if plan.expected.get(version) != (len(hashes), digest(hashes)):
            out.mixed = 1
            return out
        out.ok = 1
        out.at_new = int(version > acked)
        return out


def campaign(cuts: int, synchronous: str = "FULL", seed: int = 1) -> Outcome:
    """``cuts`` power cuts at random operations of the same workload; totals of what was found."""
    image, plan = base_image(seed)
    acked, total_ops, _ = run(image, plan, synchronous, None)
    assert acked == max(plan.expected), f"uncut run stopped at version {acked}"
    rng = random.Random(seed * 7919 + len(synchronous))
    total = Outcome()
    for _ in range(cuts):
        cut = rng.randint(1, total_ops)
        acked, _, disk = run(image, plan, synchronous, cut)
        total.add(examine(disk.after_cut(rng), plan, acked))
    return total
