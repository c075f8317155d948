"""QR decoding figures: per-frame cost by frame type and read rates, side by side with the peers.

    python benchmarks/bench_decode.py            # full run
    python benchmarks/bench_decode.py --quick    # fewer repetitions, while developing

"scanpoint" is the daemon's decoder: ``open_decoder("zxing", single=True)`` with the default retry
budget (what ``[decoder]`` gives ``scanpoint run``); "scanpoint, image files" is what ``scanpoint
decode``/``verify IMAGE`` use (``images=True``: every code, retries without the gate). The peers are
zxing-cpp's default call (``read_barcodes(frame, formats=QRCode)``: rotated, downscaled and inverted
passes) and pyzbar. Targets (issue 12): an empty real-scene frame ≤ 1.5× zxing-cpp's default call,
a frame with a code ≤ 0.7 ms; real photos read no fewer than before (128 and 129 of 137).
Hard scenes (dim, glare, tilt, small, blur) are in ``bench_hard_scenes.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "hw-sim")]

import cv2
import numpy as np

from drivers.decoder import ZxingDecoder, open_decoder
from drivers.images import load_gray
from hw_sim.render import Look, blank, draw
from hw_sim.scenes import hard_set
from tools.testdata import find_testdata

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def credential_text(seed: int = 1) -> str:
    rng = np.random.default_rng(seed)
    return "NC1:" + "".join(rng.choice(list(ALNUM), 300))


def peers() -> dict[str, object]:
    import zxingcpp
    from pyzbar import pyzbar

    qr = zxingcpp.BarcodeFormat.QRCode
    return {
        "zxing-cpp default": lambda f: [b.text for b in zxingcpp.read_barcodes(f, formats=qr)],
        "pyzbar": lambda f: [s.data.decode("utf-8", "replace")
                             for s in pyzbar.decode(f, symbols=[pyzbar.ZBarSymbol.QRCODE])],
    }


def no_code_photos(data: Path) -> list[np.ndarray]:
    root = data / "qr" / "zxing-cpp"
    return [load_gray(p) for folder in ("falsepositives-1", "falsepositives-2")
            for p in sorted((root / folder).iterdir())]


def frames(data: Path | None) -> dict[str, tuple[np.ndarray, str | None]]:
    rng = np.random.default_rng(0)
    text = credential_text()
    out: dict[str, tuple[np.ndarray, str | None]] = {
        "empty: sim scene (gray, noise 4)": (blank(rng=rng), None),
        "empty: sensor noise 20": (blank(look=Look(noise=20), rng=rng), None),
    }
    if data is not None:
        scene = data / "qr" / "zxing-cpp" / "falsepositives-1" / "01.webp"
        out["empty: real scene (falsepositives-1/01)"] = (cv2.resize(load_gray(scene), (640, 480)), None)
    out["code: credential, 40% of frame"] = (draw(text, look=Look(angle=8, tilt=0.05), rng=rng), text)
    out["code: dim screen + noise"] = (draw(text, look=Look(
        fill=0.4, angle=-12, tilt=0.08, dark=90, light=150, noise=20, background=120), rng=rng), text)
    for condition, label in (("dim", "code: hard dim phone (read by a retry)"),
                             ("small", "code: hard small code (read by a retry)")):
        sample = next(s for s in hard_set(condition, 30, seed=3) if needs_retry(s))
        out[label] = (sample.frame, sample.text)
    return out


def needs_retry(sample) -> bool:
    """A hard frame the first pass misses and a retry reads (budget aside)."""
    first = ZxingDecoder(single=True, budget_ms=0).decode(sample.frame)
    return sample.text not in first and sample.text in ZxingDecoder(
        single=True, budget_ms=float("inf")).decode(sample.frame)


def interleaved_medians(runners: dict[str, object], repeat: int) -> dict[str, float]:
    """Median ms of each callable, calling them in turn ``repeat`` times: on a shared machine
    whose load drifts, every decoder sees the same conditions."""
    times: dict[str, list[float]] = {n: [] for n in runners}
    for fn in runners.values():
        fn()                                           # warm up
    for _ in range(repeat):
        for n, fn in runners.items():
            start = time.perf_counter()
            fn()
            times[n].append(time.perf_counter() - start)
    return {n: statistics.median(t) * 1e3 for n, t in times.items()}


def bench_cost(repeat: int, data: Path | None) -> None:
    ours = open_decoder("zxing", single=True)
    both = open_decoder("zxing+pyzbar", single=True)
    others = peers()
    names = ["scanpoint", "zxing-cpp default", "pyzbar", "scanpoint zxing+pyzbar"]
    calls = {"scanpoint": ours.decode, "scanpoint zxing+pyzbar": both.decode, **others}
    print(f"per-frame decode cost, 640x480 grayscale, median of {repeat} (ms); each call a new "
          "scene for scanpoint (no averaging or give-up on a repeated frame)")
    print(f"  {'frame':42s}" + "".join(f"{n:>24s}" for n in names) + f"{'scanpoint/zxing':>17s}")

    def fresh(decoder, frame):
        primary = getattr(decoder, "primary", decoder)
        primary.escalation.reset()
        return decoder.decode(frame)

    results = {}
    for label, (frame, text) in frames(data).items():
        runners = {n: ((lambda frame=frame: fresh(ours, frame)) if n == "scanpoint" else
                       (lambda frame=frame: fresh(both, frame)) if n == "scanpoint zxing+pyzbar" else
                       (lambda fn=calls[n], frame=frame: fn(frame))) for n in names}
        costs = interleaved_medians(runners, repeat)
        found = fresh(ours, frame)
        ok = "read" if text is not None and text in found else ("-" if text is None else "MISSED")
        results[label] = costs
        print(f"  {label:42s}" + "".join(f"{costs[n]:24.3f}" for n in names)
              + f"{costs['scanpoint'] / costs['zxing-cpp default']:16.2f}x  ({ok})")
    if data is not None:
        real = results["empty: real scene (falsepositives-1/01)"]
        ratio = real["scanpoint"] / real["zxing-cpp default"]
        print(f"  target: empty real-scene frame <= 1.5x zxing-cpp's default call -> {ratio:.2f}x "
              f"{'OK' if ratio <= 1.5 else 'OVER'}")
    code = results["code: credential, 40% of frame"]["scanpoint"]
    print(f"  target: a frame with a code <= 0.7 ms -> {code:.3f} ms {'OK' if code <= 0.7 else 'OVER'}")
    if data is not None:
        bench_no_code_scenes(data, max(5, repeat // 10))


def bench_no_code_scenes(data: Path, repeat: int) -> None:
    photos = [cv2.resize(p, (640, 480)) for p in no_code_photos(data)]
    import zxingcpp

    qr = zxingcpp.BarcodeFormat.QRCode
    ours = open_decoder("zxing", single=True)
    steady, first, raw = [], [], []
    for photo in photos:
        ours.escalation.reset()
        start = time.perf_counter()
        ours.decode(photo)
        first.append((time.perf_counter() - start) * 1e3)
        both = interleaved_medians({"ours": lambda photo=photo: ours.decode(photo),
                                    "raw": lambda photo=photo: zxingcpp.read_barcodes(photo, formats=qr)},
                                   repeat)
        steady.append(both["ours"])
        raw.append(both["raw"])
    print(f"  all {len(photos)} no-code photos at 640x480, mean ms: zxing-cpp default "
          f"{statistics.mean(raw):.3f}; scanpoint held in view {statistics.mean(steady):.3f} "
          f"({statistics.mean(steady) / statistics.mean(raw):.2f}x), at first sight "
          f"{statistics.mean(first):.3f} ({statistics.mean(first) / statistics.mean(raw):.2f}x); "
          f"code-like (retried) {ours.stats['escalated']} times, given up "
          f"{ours.stats['given_up']} times")


def bench_read_rate(data: Path | None) -> None:
    if data is None:
        print("read rate: shared test data not found (set SCANPOINT_TESTDATA); skipped")
        return
    root = data / "qr" / "zxing-cpp"
    photos = [(p, p.with_suffix(".txt").read_bytes().decode("utf-8"))
              for folder in (f"qrcode-{i}" for i in range(1, 7))
              for p in sorted((root / folder).iterdir()) if p.suffix != ".txt"]
    images = {p: load_gray(p) for p, _ in photos}
    negatives = no_code_photos(data)
    print(f"\nread rate on real photos (zxing-cpp samples qrcode-1..6, {len(photos)} images; "
          f"false positives on {len(negatives)} code-free images)")
    decoders = {
        "scanpoint": open_decoder("zxing", single=True),
        "scanpoint zxing+pyzbar": open_decoder("zxing+pyzbar", single=True),
        "scanpoint, image files": open_decoder("zxing", images=True),
        "scanpoint zxing+pyzbar, image files": open_decoder("zxing+pyzbar", images=True),
        "scanpoint, no retries": ZxingDecoder(single=True, budget_ms=0),
    }
    hits_by = {}
    for name, decoder in decoders.items():
        primary = getattr(decoder, "primary", decoder)
        start = time.perf_counter()
        hits = []
        for p, expected in photos:
            primary.escalation.reset()
            hits.append(expected in decoder.decode(images[p]))
        seconds = time.perf_counter() - start
        false = sum(bool(decoder.decode(img)) for img in negatives)
        hits_by[name] = hits
        print(f"  {name:38s} {sum(hits):4d}/{len(photos)}  false positives {false}/{len(negatives)}"
              f"  ({seconds / len(photos) * 1000:.1f} ms/photo)")
    union = [False] * len(photos)
    for name, fn in peers().items():
        hits = [expected in fn(images[p]) for p, expected in photos]
        union = [u or h for u, h in zip(union, hits)]
        false = sum(bool(fn(img)) for img in negatives)
        print(f"  {name:38s} {sum(hits):4d}/{len(photos)}  false positives {false}/{len(negatives)}")
    print(f"  {'union of the peers':38s} {sum(union):4d}/{len(photos)}")
    print("  before issue 12: zxing 128/137, zxing+pyzbar 129/137")

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
    print(f"\nread rate on {len(synthetic)} simulated dim-screen frames with sensor noise "
          "(plain background; before issue 12: zxing 17/36)")
    for name in ("scanpoint", "scanpoint, no retries"):
        decoder = decoders[name]
        hits = 0
        for frame in synthetic:
            decoder.escalation.reset()
            hits += text in decoder.decode(frame)
        print(f"  {name:38s} {hits:4d}/{len(synthetic)}")
    for name, fn in peers().items():
        print(f"  {name:38s} {sum(text in fn(f) for f in synthetic):4d}/{len(synthetic)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    args = parser.parse_args()
    repeat = args.repeat or (15 if args.quick else 200)
    data = find_testdata()
    bench_cost(repeat, data)
    bench_read_rate(data)


if __name__ == "__main__":
    main()
