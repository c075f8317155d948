"""Revocation store figures: lookup latency, apply times, bytes on disk, latency during a sync.

    python benchmarks/bench_revocation.py            # 1M and 10M entries (10M takes disk and minutes)
    python benchmarks/bench_revocation.py --quick    # 100k entries, for development
    python benchmarks/bench_revocation.py --sizes 1000000

Targets (this machine): lookup p99 <= 50 us, 1M-entry snapshot apply <= 15 s, 100k-entry delta
<= 2 s, <= 40 bytes on disk per entry, scan-path latency not rising while a sync applies (the
apply runs in another process, as the sync service does, and the scanner reads in WAL).
Lookups are timed through the scan path itself (``RevocationCheck.check``: SM3 of the serial, one
indexed query, a ``data_version`` probe) and as the bare indexed query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from terminal.lists.listfiles import public_root
from terminal.lists.revocation import RevocationCheck, RevocationStore, serial_hash
from terminal.result import Credential
from terminal.storage import connect_readonly

NOW = int(time.time())


def sorted_random(n: int, seed: int = 0) -> bytes:
    """``n`` random 16-byte entries, sorted and unique, as one body."""
    import numpy as np
    rng = np.random.default_rng(seed)
    a = np.unique(rng.integers(0, 256, size=16 * n, dtype=np.uint8).view("S16"))
    while len(a) < n:                                   # (collisions are astronomically rare)
        a = np.unique(np.concatenate([a, rng.integers(0, 256, size=16, dtype=np.uint8).view("S16")]))
    return a[:n].tobytes()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def disk_bytes(db: Path) -> int:
    return sum(os.path.getsize(str(db) + s) for s in ("", "-wal") if os.path.exists(str(db) + s))


def time_lookups(db: Path, serials: list[bytes], *, raw: bool = False) -> list[float]:
    """Per-call latency in microseconds, through the scan path (or the bare query with raw=True)."""
    chk = RevocationCheck(db)
    cred = Credential("native", "health", "i", "00", b"\0" * 16, 0, 0, 0)
    chk.check(cred, NOW)                                   # open the connection, warm the cache
    out = []
    pc = time.perf_counter_ns
    if raw:
        con = connect_readonly(db)                         # the same read-only connection kind
        hashes = [serial_hash(s) for s in serials]
        con.execute("SELECT 1 FROM revoked WHERE h = ?", (hashes[0],)).fetchone()
        for h in hashes:
            t = pc()
            con.execute("SELECT 1 FROM revoked WHERE h = ?", (h,)).fetchone()
            out.append((pc() - t) / 1000)
        con.close()
    else:
        for s in serials:
            c = Credential("native", "health", "i", "00", s, 0, 0, 0)
            t = pc()
            chk.check(c, NOW)
            out.append((pc() - t) / 1000)
    chk.close()
    return out


APPLY_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from terminal.lists.revocation import RevocationStore
body = open(sys.argv[3], "rb").read()
st = RevocationStore(sys.argv[2])
v = st.meta().version + 1
print("start", flush=True)
t = time.perf_counter()
st.apply_snapshot(v, %d, %d, body)
print("applied %%.3f" %% (time.perf_counter() - t), flush=True)
st.checkpoint()
"""


def bench_size(n: int, lookups: int, tmp: Path) -> None:
    print(f"\n== {n:,} entries ==")
    db = tmp / f"rev-{n}.db"
    body = sorted_random(n, seed=n)
    st = RevocationStore(db)
    t = time.perf_counter()
    st.apply_snapshot(1, NOW, NOW + 86400, body)
    first = time.perf_counter() - t
    st.checkpoint()
    print(f"apply {n:,}-entry snapshot into empty store: {first:.2f} s")
    size = disk_bytes(db)
    print(f"bytes on disk per entry: {size / n:.1f} (file {size / 1e6:.1f} MB)")

    # lookups: half hits, half misses (serial hashes of random serials are misses; for hits we
    # need serials whose hash is listed, so revoke a known set through a delta)
    hit_serials = [os.urandom(16) for _ in range(min(lookups // 2, 50_000))]
    add = b"".join(sorted(serial_hash(s) for s in hit_serials))
    t = time.perf_counter()
    st.apply_delta(1, 2, NOW, NOW + 86400, add, b"", n + len(hit_serials))
    print(f"apply {len(hit_serials):,}-entry delta: {time.perf_counter() - t:.2f} s")
    st.checkpoint()
    miss_serials = [os.urandom(16) for _ in range(lookups - len(hit_serials))]
    serials = hit_serials + miss_serials
    import random
    random.Random(1).shuffle(serials)
    for raw in (False, True):
        lat = time_lookups(db, serials, raw=raw)
        label = "bare indexed query" if raw else "scan-path check()"
        print(f"lookup {label}: p50 {statistics.median(lat):.1f} us, p99 {pct(lat, 99):.1f} us, "
              f"max {max(lat):.0f} us ({len(lat):,} lookups)")

    # a 100k-entry delta (10% of 1M) -- or 10% of n when smaller
    dn = min(100_000, max(1000, n // 10))
    dbody = sorted_random(dn, seed=n + 1)
    removes = body[: 16 * (dn // 10)]
    t = time.perf_counter()
    st.apply_delta(2, 3, NOW, NOW + 86400, dbody, removes, n + len(hit_serials) + dn - dn // 10)
    print(f"apply {dn:,}-entry delta (+{dn:,} / -{dn // 10:,}): {time.perf_counter() - t:.2f} s")
    st.checkpoint()
    print(f"bytes on disk per entry after the delta: {disk_bytes(db) / st.count():.1f}")

    # replace the whole list (a new full snapshot) while the scanner keeps looking up
    body2 = sorted_random(n, seed=n + 2)
    bfile = tmp / "body2.bin"
    bfile.write_bytes(body2)
    st.close()
    idle = time_lookups(db, serials[: min(lookups, 20_000)])
    child = subprocess.Popen(
        [sys.executable, "-c", APPLY_CHILD % (NOW, NOW + 86400),
         str(Path(__file__).resolve().parents[1]), str(db), str(bfile)],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "start"
    during: list[float] = []
    while child.poll() is None:
        during += time_lookups(db, serials[:2000])
    out = child.stdout.read().split()
    applied = float(out[out.index("applied") + 1])
    print(f"apply {n:,}-entry snapshot replacing {n:,} (other process): {applied:.2f} s")
    print(f"scan-path lookup idle:         p50 {statistics.median(idle):.1f} us, "
          f"p99 {pct(idle, 99):.1f} us")
    print(f"scan-path lookup during apply: p50 {statistics.median(during):.1f} us, "
          f"p99 {pct(during, 99):.1f} us ({len(during):,} lookups while applying)")
    bfile.unlink()
    for s in ("", "-wal", "-shm"):
        Path(str(db) + s).unlink(missing_ok=True)


def bench_sync(n: int, tmp: Path) -> None:
    """End to end: publish an n-entry list, serve it with http.server, time one full sync."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from terminal.crypto import sm2
    from terminal.lists.publish import Publisher
    from terminal.lists.sync import SyncClient, SyncSettings

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    issuer = tmp / "issuer"
    issuer.mkdir()
    root = sm2.generate_private_key()
    body = sorted_random(n, seed=7)
    t = time.perf_counter()
    with Publisher(issuer) as pub:
        pub.revoke_hashes(body[i:i + 16] for i in range(0, len(body), 16))
        res = pub.publish(root)
    publish_s = time.perf_counter() - t
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(public_root(issuer))))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings = SyncSettings(source=f"http://127.0.0.1:{httpd.server_address[1]}/",
                            db=tmp / "term" / "revocation.db",
                            root_public_key=sm2.public_key_of(root), partial_dir=tmp / "partial")
    t = time.perf_counter()
    result = SyncClient(settings).run_once()
    sync_s = time.perf_counter() - t
    httpd.shutdown()
    httpd.server_close()
    snap = (public_root(issuer) / "lists" / f"revocation-{res.revocation_version}.snap").stat().st_size
    print(f"revoke+publish {n:,} entries: {publish_s:.2f} s; snapshot file {snap / 1e6:.1f} MB "
          f"({snap / n:.1f} bytes/entry on the wire)")
    print(f"first sync over loopback HTTP (download, SHA-256, SM2 verify, apply): {sync_s:.2f} s "
          f"-> {result.line()}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k entries only (development)")
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated entry counts")
    ap.add_argument("--lookups", type=int, default=100_000, help="lookups per size")
    ap.add_argument("--dir", default=None, help="folder for the databases (default: a temp dir)")
    args = ap.parse_args(argv)
    sizes = [100_000] if args.quick else [int(float(s)) for s in args.sizes.split(",")]
    lookups = 20_000 if args.quick else args.lookups
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for n in sizes:
            bench_size(n, lookups, Path(tmp))
        n = min(sizes)
        print(f"\n== publish and sync {n:,} entries ==")
        bench_sync(n, Path(tmp))


if __name__ == "__main__":
    main()
