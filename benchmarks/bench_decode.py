"""QR decoding figures: per-frame cost (empty frame, frame with a code) and read rates per decoder.

    python benchmarks/bench_decode.py            # full run
    python benchmarks/bench_decode.py --quick    # fewer repetitions, while developing

Prints medians in milliseconds and ratios against the chosen decoder (zxing). Target (issue 3):
an empty 640×480 frame costs ≤ 3 ms with zxing; pyzbar alone takes ~15 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "hw-sim")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from drivers.decoder import DECODER_NAMES, ZxingDecoder, open_decoder  # noqa: E402
from drivers.images import load_gray  # noqa: E402
from hw_sim.render import Look, blank, draw  # noqa: E402
from tools.testdata import find_testdata  # noqa: E402
from timing import median_ms  # noqa: E402  (benchmarks/ is on sys.path)

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def credential_text(seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    return "NC1:" + "".join(rng.choice(list(ALNUM), 300))


def frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    text = credential_text()
    out = {
        "empty: sim scene (gray, noise 4)": blank(rng=rng),
        "empty: sensor noise 20": blank(look=Look(noise=20), rng=rng),
    }
    data = find_testdata()
    if data is not None:
        scene = data / "qr" / "zxing-cpp" / "falsepositives-1" / "01.webp"
        if scene.exists():
            out["empty: real scene (falsepositives-1/01)"] = cv2.resize(load_gray(scene), (640, 480))
    out["code: credential, 40% of frame"] = draw(text, look=Look(angle=8, tilt=0.05), rng=rng)
    out["code: dim screen + noise (retry)"] = draw(
        text, look=Look(fill=0.4, angle=-12, tilt=0.08, dark=90, light=150, noise=20,
                        background=120), rng=rng)
    return out


def bench_cost(repeat: int) -> None:
    import zxingcpp

    decoders = {name: open_decoder(name) for name in DECODER_NAMES}
    formats = zxingcpp.BarcodeFormat.QRCode
    decoders["zxing-cpp raw (no retry)"] = type("Raw", (), {
        "decode": staticmethod(lambda f: zxingcpp.read_barcodes(f, formats=formats))})()
    print(f"per-frame decode cost, 640x480 grayscale, median of {repeat} (ms)")
    names = list(decoders)
    print(f"  {'frame':42s}" + "".join(f"{n:>26s}" for n in names) + f"{'pyzbar/zxing':>14s}")
    empty_cost = None
    for label, frame in frames().items():
        costs = {n: median_ms(lambda: decoders[n].decode(frame), repeat) for n in names}
        empty_cost = costs["zxing"] if empty_cost is None else empty_cost
        found = decoders["zxing"].decode(frame)
        row = "".join(f"{costs[n]:26.2f}" for n in names)
        print(f"  {label:42s}{row}{costs['pyzbar'] / costs['zxing']:13.1f}x"
              f"   (zxing found {len(found)})")
    print(f"  target: empty 640x480 frame <= 3 ms with zxing -> {empty_cost:.2f} ms "
          f"{'OK' if empty_cost <= 3.0 else 'OVER'}")


def bench_read_rate() -> None:
    data = find_testdata()
    if data is None:
        print("read rate: shared test data not found (set SCANPOINT_TESTDATA); skipped")
        return
    root = data / "qr" / "zxing-cpp"
    photos = [(p, p.with_suffix(".txt").read_bytes().decode("utf-8"))
              for folder in (f"qrcode-{i}" for i in range(1, 7))
              for p in sorted((root / folder).iterdir()) if p.suffix != ".txt"]
    negatives = [p for folder in ("falsepositives-1", "falsepositives-2")
                 for p in sorted((root / folder).iterdir())]
    images = {p: load_gray(p) for p, _ in photos}
    negative_images = [load_gray(p) for p in negatives]
    print(f"\nread rate on real photos (zxing-cpp samples qrcode-1..6, {len(photos)} images; "
          f"false positives on {len(negatives)} code-free images)")
    decoders = {name: open_decoder(name) for name in DECODER_NAMES}
    decoders["zxing without retry"] = ZxingDecoder(rescue=False)
    for name, decoder in decoders.items():
        start = time.perf_counter()
        read = sum(expected in decoder.decode(images[p]) for p, expected in photos)
        seconds = time.perf_counter() - start
        false = sum(bool(decoder.decode(img)) for img in negative_images)
        print(f"  {name:22s} {read:4d}/{len(photos)}  false positives {false}/{len(negatives)}"
              f"  ({seconds / len(photos) * 1000:.1f} ms/photo)")

    rng = np.random.default_rng(5)
    text = credential_text(5)
    synthetic = []
    for dark, light in [(90, 150), (100, 140), (110, 140)]:
        for noise in (10, 20, 30):
            for fill in (0.4, 0.25):
                for _ in range(2):
                    look = Look(fill=fill, angle=float(rng.uniform(-25, 25)), tilt=0.08, dark=dark,
                                light=light, noise=noise, blur=0.8, background=(dark + light) // 2)
                    synthetic.append(draw(text, look=look, rng=rng))
    print(f"\nread rate on {len(synthetic)} simulated dim-screen frames with sensor noise")
    for name, decoder in decoders.items():
        read = sum(text in decoder.decode(f) for f in synthetic)
        print(f"  {name:22s} {read:4d}/{len(synthetic)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    args = parser.parse_args()
    repeat = args.repeat or (15 if args.quick else 200)
    bench_cost(repeat)
    bench_read_rate()


if __name__ == "__main__":
    main()
