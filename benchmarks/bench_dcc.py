"""EU DCC verification speed: each stage and the whole ``dcc.read``, ES256 and PS256.

Run from the repository root: ``python benchmarks/bench_dcc.py [--rounds N]``. Prints medians in
milliseconds. Codes are signed here with throwaway keys (tools/dcc_sample.py); a real-world DCC
from the EU suite is timed too when the shared test data is present.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms

from terminal.formats import (
    dcc,
    dsc,
)
from terminal.formats.chain import VerifyContext
from tools import dcc_sample as sample
from tools.testdata import find_testdata


def bench_code(label: str, text: str, ctx: VerifyContext, rounds: int) -> None:
    b45 = dcc.unprefix(text)
    z = dcc.base45_decode(b45)
    raw = dcc.decompress(z)
    sign1 = dcc.parse_cose(raw)
    signer = dcc.verify_signature(sign1, ctx.dsc)
    claims = dcc.parse_claims(sign1)
    stages = [("base45", lambda: dcc.base45_decode(b45)),
              ("inflate", lambda: dcc.decompress(z)),
              ("cose", lambda: dcc.parse_cose(raw)),
              ("signature", lambda: dcc.verify_signature(sign1, ctx.dsc)),
              ("claims", lambda: dcc.parse_claims(sign1)),
              ("validity+usage", lambda: (dcc.check_validity(claims, signer, ctx.now),
                                          dcc.check_key_usage(claims, signer))),
              ("read (all)", lambda: dcc.read(text, ctx))]
    assert dcc.read(text, ctx).passed, label
    cells = [f"{name} {median_ms(fn, rounds):.3f}" for name, fn in stages]
    print(f"{label:<28} " + "  ".join(cells) + f"   ({len(text)} chars)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    print(f"median ms over {args.rounds} rounds")
    for kind in ("ec", "rsa"):
        key, der = sample.make_signer(kind)
        ctx = VerifyContext(now=time.time(), dsc=dsc.DscStore.from_der([der]))
        bench_code(f"sample {'ES256' if kind == 'ec' else 'PS256 (RSA-2048)'}",
                   sample.make_dcc(key, der), ctx, args.rounds)
    base = find_testdata()
    case = base / "dcc/DE/2DCode/raw/1.json" if base else None
    if case is not None and case.is_file():
        data = json.loads(case.read_text())
        from tools.dcc_suite import parse_clock
        ctx = VerifyContext(now=parse_clock("2021-06-01T00:00:00Z"),
                            dsc=dsc.DscStore([dsc.certificate_from_base64(data["TESTCTX"]["CERTIFICATE"])]))
        bench_code("EU suite DE/1 (ES256)", data["PREFIX"], ctx, args.rounds)
    # a store the size of the EU DSC list: lookup cost stays flat
    big = dsc.DscStore.from_der([sample.make_signer("ec")[1] for _ in range(200)])
    probe = next(iter(big)).kid
    print(f"kid lookup in a 200-certificate store: {median_ms(lambda: big.find(probe), args.rounds) * 1000:.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
