"""SM2 verify and SM3 figures: ours (pure Python, comb tables) next to gmssl in the same run.

    python benchmarks/bench_sm2.py [--quick]

Prints medians per call: verify with a cached key (the terminal's steady state: issuer keys are
loaded with their tables when the trust list loads), verify with a key seen for the first time
(no table), loading a key (validation + table build), signing, gmssl's verify_with_sm3, and SM3
through cryptography vs gmssl.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

from timing import median_each_ms, median_ms

from terminal.crypto import (
    curve,
    sm2,
)
from terminal.crypto.sm3 import sm3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a few seconds)")
    args = parser.parse_args(argv)
    runs = 100 if args.quick else 1000
    gm_runs = 10 if args.quick else 100
    cold_keys = 8 if args.quick else 40

    msg = b"x" * 180  # about the size of a native credential's Sig_structure
    t0 = time.perf_counter()
    curve.g_table()
    g_table_ms = (time.perf_counter() - t0) * 1e3

    d = sm2.generate_private_key()
    pub = sm2.public_key_of(d)
    sig = sm2.sign(d, msg)
    key = sm2.load_public_key(pub)
    assert key.verify(msg, sig) and sm2.verify(pub, msg, sig)

    rows: list[tuple[str, float]] = []
    ours = median_ms(lambda: sm2.verify(pub, msg, sig), runs)
    rows.append(("SM2 verify, ours, cached key (module verify())", ours))
    rows.append(("SM2 verify, ours, PublicKey.verify()",
                 median_ms(lambda: key.verify(msg, sig), runs)))

    cold = []
    loads = []
    for _ in range(cold_keys):
        dk = sm2.generate_private_key()
        pk = sm2.public_key_of(dk)
        sk = sm2.sign(dk, msg)
        cold.append(lambda pk=pk, sk=sk: sm2.verify(pk, msg, sk))
        pk2 = sm2.public_key_of(sm2.generate_private_key())
        loads.append(lambda pk2=pk2: sm2.load_public_key(pk2))
    ours_cold = median_each_ms(cold)
    rows.append(("SM2 verify, ours, cold (first use of a key, no table)", ours_cold))
    rows.append(("load_public_key (validate + build table), once per key", median_each_ms(loads)))
    rows.append(("SM2 sign, ours", median_ms(lambda: sm2.sign(d, msg), max(runs // 4, 10))))

    try:
        from gmssl import func as gm_func
        from gmssl import sm2 as gm_sm2
        from gmssl import sm3 as gm_sm3
    except ImportError:
        gm_sm2 = None
    if gm_sm2 is not None:
        crypt = gm_sm2.CryptSM2(private_key=None, public_key=pub.hex())
        crypt.public_key = pub.hex()  # gmssl mangles keys whose hex starts with "04"
        sig_hex = sig.hex()
        assert crypt.verify_with_sm3(sig_hex, msg)
        gm = median_ms(lambda: crypt.verify_with_sm3(sig_hex, msg), gm_runs)
        rows.append(("SM2 verify, gmssl 3.2.2 verify_with_sm3", gm))

    data = sm2.load_public_key(pub).za() + msg
    sm3_ours = median_ms(lambda: sm3(data), runs)
    rows.append(("SM3 of 212 bytes, cryptography (OpenSSL)", sm3_ours))
    if gm_sm2 is not None:
        as_list = gm_func.bytes_to_list(data)
        assert bytes.fromhex(gm_sm3.sm3_hash(as_list)) == sm3(data)
        sm3_gm = median_ms(lambda: gm_sm3.sm3_hash(gm_func.bytes_to_list(data)), max(runs // 4, 10))
        rows.append(("SM3 of 212 bytes, gmssl (pure Python)", sm3_gm))

    print(f"SM2/SM3 benchmark — Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {'quick' if args.quick else 'full'} run, medians")
    print(f"(generator table built once per process: {g_table_ms:.1f} ms)")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:9.3f} ms")
    if gm_sm2 is not None:
        print(f"  {'ratio gmssl / ours (cached key)':<{width}}  {gm / ours:9.1f} x")
        print(f"  {'ratio gmssl / ours (cold key)':<{width}}  {gm / ours_cold:9.1f} x")
        print(f"  {'ratio SM3 gmssl / cryptography':<{width}}  {sm3_gm / sm3_ours:9.1f} x")
    target = 0.5
    print(f"target: verify <= {target} ms median: {'met' if ours <= target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
