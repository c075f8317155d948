"""Simulated camera memory: RSS against scenario length (it must stay flat).

    python benchmarks/bench_sim_memory.py [--quick] [--codes 10 100 300]

For each length a fresh process builds a scenario of N codes (a code 1.5 s, then 0.5 s of
nothing: 2N steps), opens a SimCamera on a simulated clock and reports its RSS before the first
frame and after playing the first 60 simulated seconds, with the number of drawn frames held.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys
from hw_sim.camera import SimCamera
from hw_sim.clock import SimClock
from hw_sim.scenario import Scenario

def rss_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

codes, play = int(sys.argv[1]), float(sys.argv[2])
steps = []
for n in range(codes):
    steps += [(f"SP1:BENCH-{n:05d}", 1.5), (None, 0.5)]
base = rss_mib()
scenario = Scenario.from_script(steps)
clock = SimClock()
camera = SimCamera(scenario, clock=clock, fps=15)
before = rss_mib()
t = 0.0
while t < play and not camera.finished:
    camera.read()
    clock.advance(1 / 15)
    t += 1 / 15
after = rss_mib()
held = len(getattr(scenario, "_cache", {}))
print(json.dumps({"codes": codes, "steps": 2 * codes, "rss_start": round(base, 1),
                  "rss_before_first_frame": round(before, 1), "rss_after_play": round(after, 1),
                  "frames_held": held}))
"""


def measure(codes: int, play: float) -> dict:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "hw-sim"),
                                          os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", CHILD, str(codes), str(play)], env=env,
                         capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 and 100 codes only")
    parser.add_argument("--codes", type=int, nargs="+", default=None)
    parser.add_argument("--play", type=float, default=60.0, help="simulated seconds played")
    args = parser.parse_args(argv)
    lengths = args.codes or ([10, 100] if args.quick else [10, 100, 300])
    print(f"{'codes':>6} {'steps':>6} {'RSS start':>10} {'before 1st frame':>17} "
          f"{'after play':>11} {'frames held':>12}   (MiB; {args.play:g} s played)")
    for codes in lengths:
        r = measure(codes, args.play)
        print(f"{r['codes']:>6} {r['steps']:>6} {r['rss_start']:>10.1f} "
              f"{r['rss_before_first_frame']:>17.1f} {r['rss_after_play']:>11.1f} "
              f"{r['frames_held']:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
