"""Hard scenes: read rates by condition and over frame sequences, side by side with the peers.

    python benchmarks/bench_hard_scenes.py                # 60 frames per condition, 40 sequences
    python benchmarks/bench_hard_scenes.py --quick        # 20 and 12

Frames come from ``hw_sim.scenes`` (generated from fixed seeds: a phone screen showing a signed
native credential, dim, with glare, tilted up to 30°, at 1.5–2.5 px per module, motion-blurred, or
two of these at once). "scanpoint" is the daemon's decoder (``open_decoder("zxing", single=True)``
with the default time budget); the peers are zxing-cpp's default call (QR only), pyzbar, their
union (a frame counts if either reads it) and OpenCV's QRCodeDetector. Then what each retry step is
worth (frames lost when it is left out) and what it costs, and sequences as a camera delivers
them: the share of phones decided within 3 frames of the code being fully in view.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "hw-sim")]


from drivers.decoder import ZxingDecoder
from drivers.escalate import CANDIDATES, DEFAULT_STEPS
from hw_sim.scenes import CONDITIONS, empty_set, hard_set, sequence_set

WITHIN = 3


def peers() -> dict[str, object]:
    import cv2
    import zxingcpp
    from pyzbar import pyzbar

    qr = zxingcpp.BarcodeFormat.QRCode
    detector = cv2.QRCodeDetector()

    def opencv(frame):
        try:
            text, _, _ = detector.detectAndDecode(frame)
        except cv2.error:
            return []
        return [text] if text else []

    return {
        "zxing-cpp": lambda f: [b.text for b in zxingcpp.read_barcodes(f, formats=qr)],
        "pyzbar": lambda f: [s.data.decode("utf-8", "replace")
                             for s in pyzbar.decode(f, symbols=[pyzbar.ZBarSymbol.QRCODE])],
        "opencv": opencv,
    }


def ours(**options) -> ZxingDecoder:
    return ZxingDecoder(single=True, **options)   # what open_decoder("zxing", single=True) builds


def read_all(decoder: ZxingDecoder, samples) -> list[bool]:
    out = []
    for sample in samples:
        decoder.escalation.reset()          # each hard frame is a scene of its own
        out.append(sample.text in decoder.decode(sample.frame))
    return out


def single_frames(count: int, use_opencv: bool) -> dict[str, list]:
    print(f"single-frame read rate by condition, {count} frames each (640x480 gray)")
    others = peers()
    if not use_opencv:
        others.pop("opencv")
    names = ["scanpoint", *others, "union of peers", "scanpoint, no retries"]
    print(f"  {'condition':10s}" + "".join(f"{n:>22s}" for n in names))
    sets = {c: hard_set(c, count) for c in CONDITIONS}
    totals = {n: 0 for n in names}
    for condition, samples in sets.items():
        row = {"scanpoint": sum(read_all(ours(), samples)),
               "scanpoint, no retries": sum(read_all(ours(budget_ms=0), samples))}
        union = [False] * len(samples)
        for name, fn in others.items():
            hits = [s.text in fn(s.frame) for s in samples]
            row[name] = sum(hits)
            union = [u or h for u, h in zip(union, hits)]
        row["union of peers"] = sum(union)
        for n in names:
            totals[n] += row[n]
        best_peer = row["union of peers"]
        mark = "above" if row["scanpoint"] > best_peer else "NOT above"
        print(f"  {condition:10s}" + "".join(f"{row[n]:>17d}/{count:<4d}" for n in names)
              + f"  ({mark} the union)")
    total = count * len(sets)
    print(f"  {'all':10s}" + "".join(f"{totals[n]:>17d}/{total:<4d}" for n in names))
    return sets


def step_worth(sets: dict[str, list]) -> None:
    full = ours()
    reads = {c: read_all(full, s) for c, s in sets.items()}
    print("\nwhat each retry is worth: frames read only with it (left out -> lost), its cost")
    print(f"  {'step':18s}{'read first':>11s}{'lost without':>14s}{'runs':>7s}{'mean ms':>9s}"
          f"   lost by condition")
    names = list(DEFAULT_STEPS)
    for name in names + [s.name for s in CANDIDATES if s.name not in names]:
        if name not in names:          # a dropped candidate: what it would add to the default
            others = (*names, name)
            with_it = ours(steps=others)
            by = {}
            for c, s in sets.items():
                hits = read_all(with_it, s)
                by[c] = sum(b and not a for a, b in zip(reads[c], hits))
            runs = with_it.escalation.tries.get(name, 0)
            mean = with_it.escalation.spent.get(name, 0.0) / runs * 1e3 if runs else 0.0
            detail = ", ".join(f"{c} {v}" for c, v in by.items() if v) or "-"
            print(f"  {name + ' (dropped)':18s}{with_it.stats.get(name, 0):>11d}"
                  f"{'+' + str(sum(by.values())):>14s}{runs:>7d}{mean:>9.2f}   gained: {detail}")
            continue
        if name == "average":
            first = full.stats["average"]
            lost_total, by = 0, {}          # single frames have no still history: see sequences
        else:
            others = tuple(n for n in names if n != name)
            without = ours(steps=others)
            by = {}
            for c, s in sets.items():
                hits = read_all(without, s)
                by[c] = sum(a and not b for a, b in zip(reads[c], hits))
            lost_total = sum(by.values())
            first = full.stats[name]
        runs = full.escalation.tries.get(name, 0)
        mean = full.escalation.spent.get(name, 0.0) / runs * 1e3 if runs else 0.0
        detail = ", ".join(f"{c} {v}" for c, v in by.items() if v) or "-"
        print(f"  {name:18s}{first:>11d}{lost_total:>14d}{runs:>7d}{mean:>9.2f}   {detail}")
    print(f"  (frames read by the first pass {full.stats['plain']}, by a full read after an "
          f"undecodable symbol {full.stats['all_symbols']}, escalated {full.stats['escalated']}, "
          f"steps put off by the budget {full.stats['over_budget']})")


def sequences(count: int) -> None:
    others = peers()
    others.pop("opencv")
    print(f"\nsequences, {count} of each kind: share decided within {WITHIN} frames of the code "
          f"being fully in view (mean frames to the first read)")
    names = ["scanpoint", "scanpoint, no averaging", *others, "union of peers"]
    print(f"  {'kind':8s}" + "".join(f"{n:>26s}" for n in names))
    for kind in ("still", "moving"):
        seqs = sequence_set(kind, count, frames=8)
        firsts: dict[str, list[int | None]] = {n: [] for n in names}
        for seq in seqs:
            for label, decoder in (("scanpoint", ours()), ("scanpoint, no averaging", ours(average_frames=1))):
                first = None
                for k, frame in enumerate(seq.frames):
                    if seq.text in decoder.decode(frame) and k >= seq.in_view:
                        first = k - seq.in_view
                        break
                firsts[label].append(first)
            hits = {name: [seq.text in fn(f) for f in seq.frames] for name, fn in others.items()}
            hits["union of peers"] = [any(h[k] for h in hits.values()) for k in range(len(seq.frames))]
            for name, row in hits.items():
                first = next((k - seq.in_view for k in range(seq.in_view, len(row)) if row[k]), None)
                firsts[name].append(first)
        cells = []
        for n in names:
            got = [f for f in firsts[n] if f is not None]
            within = sum(f < WITHIN for f in got)
            mean = statistics.mean(got) + 1 if got else float("nan")
            cells.append(f"{within:>3d}/{count} {100 * within / count:3.0f}% ({mean:.1f})")
        print(f"  {kind:8s}" + "".join(f"{c:>26s}" for c in cells))


def no_code(count: int) -> None:
    print(f"\nno-code frames ({count} simulated empty scenes, {count} dim): codes reported")
    frames = empty_set(count) + empty_set(count, dim=True)
    decoder = ours()
    reported = sum(bool(decoder.decode(f)) for f in frames)
    start = time.perf_counter()
    for f in frames:
        decoder.decode(f)
    ms = (time.perf_counter() - start) / len(frames) * 1e3
    print(f"  scanpoint: {reported}/{len(frames)} reported, {ms:.2f} ms/frame, "
          f"escalated {decoder.stats['escalated']} frames (idle {decoder.stats['idle']}, "
          f"given up {decoder.stats['given_up']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="frames per condition")
    parser.add_argument("--sequences", type=int, default=None, help="sequences per kind")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-opencv", action="store_true", help="leave OpenCV's detector out")
    args = parser.parse_args()
    count = args.count or (20 if args.quick else 60)
    seqs = args.sequences or (12 if args.quick else 40)
    sets = single_frames(count, not args.no_opencv)
    step_worth(sets)
    sequences(seqs)
    no_code(count)


if __name__ == "__main__":
    main()
