"""Native credential chain speed: QR text → decision, per stage, and a QR-sized zlib bomb refused.

Run from the repository root: ``python benchmarks/bench_chain.py [--rounds N]``. Prints medians in
milliseconds. Targets (issue 2): QR text → decision ≤ 1 ms; a QR-sized zlib bomb (≈2.9 MB
inflated) refused in < 10 ms. Keys are the fixed test keys of ``tests/support/credentials.py``.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms

from terminal.formats import base45, cose, inflate, native
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    rounds = args.rounds

    trust = kit.trust_list()
    verifier = Verifier(trust, skew=30)
    text = kit.credential()
    now = kit.NOW
    assert verifier.verify(text, now).decision is Decision.PASS

    body = text[len(native.PREFIX):]
    compressed = base45.decode(body)
    raw = inflate.inflate(compressed)
    sign1 = cose.parse_sign1(raw)
    key = trust.key(sign1.protected[4])
    message = cose.sig_structure(sign1)

    bomb_plain = b"\x00" * 2_900_000
    bomb = native.PREFIX + base45.encode(zlib.compress(bomb_plain, 9))
    assert len(bomb) <= 4296, len(bomb)
    refused = verifier.verify(bomb, now)
    assert (refused.decision, refused.reason) == (Decision.DENY, Reason.PAYLOAD_TOO_LARGE)

    # before the background builder has got to this key (the first scans after a list load)
    cold = median_ms(lambda: key.verify(message, sign1.signature), rounds) \
        if not key.verifier.precomputed else None
    # the steady state: the daemon's keytables builds a used key's comb table off the scan path
    key.verifier.precompute()
    print(f"native chain, median ms over {rounds} rounds (SM2 key table built, as the daemon's "
          f"background builder leaves a used key)")
    stages = [
        ("base45", lambda: base45.decode(body)),
        ("inflate", lambda: inflate.inflate(compressed)),
        ("cose", lambda: cose.parse_sign1(raw)),
        ("signature", lambda: key.verify(message, sign1.signature)),
        ("claims", lambda: native.claims(sign1.payload, sign1.protected[4])),
    ]
    for name, fn in stages:
        print(f"  {name:<12} {median_ms(fn, rounds):8.3f}")
    if cold is not None:
        print(f"  signature    {cold:8.3f}   (the same key before its table is built)")
    chain = median_ms(lambda: verifier.verify(text, now), rounds)
    print(f"  {'text→decision':<12} {chain:8.3f}   target ≤ 1 ms: {'ok' if chain <= 1 else 'MISSED'}"
          f"   ({len(text)} chars)")
    bomb_ms = median_ms(lambda: verifier.verify(bomb, now), max(20, rounds // 10))
    print(f"  {'zlib bomb':<12} {bomb_ms:8.3f}   target < 10 ms: {'ok' if bomb_ms < 10 else 'MISSED'}"
          f"   ({len(bomb)} chars, would inflate to {len(bomb_plain) / 1e6:.1f} MB; refused "
          f"{refused.reason.value})")
    forged = kit.credential(kit.claims(), kit.STRANGER)
    print(f"  {'unknown key':<12} {median_ms(lambda: verifier.verify(forged, now), rounds):8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
