"""Process footprint: ``scanpoint verify --text`` whole-process time and ``scanpoint run`` peak RSS.

    python benchmarks/bench_footprint.py                 # 40 verify runs, 3 daemon runs of 6 s
    python benchmarks/bench_footprint.py --quick
    python benchmarks/bench_footprint.py --baseline /path/to/other/checkout   # side by side

With ``--baseline`` the two checkouts' verify runs alternate (this machine's load drifts from minute
to minute; alternating keeps the comparison fair) and each figure is printed for both. Each figure
is a whole process started the way a user or systemd starts it (``python -m terminal``
with the checkout on ``PYTHONPATH``), so interpreter start-up and every import are included. The
daemon runs the simulator with a looping scenario that shows a signed native credential and an
empty scene in turn (so the decoder, the SM2 verifier and the signals all work), then gets SIGTERM;
its peak RSS is the kernel's ``ru_maxrss`` for that child. Also lists which heavy libraries each
process imported (``-X importtime``): ``cv2`` must not be among the daemon's with a Pi camera.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "hw-sim")]
HEAVY = ("cv2", "numpy", "zxingcpp", "pyzbar", "PIL", "gpiozero", "cryptography", "serial", "segno",
         "sqlite_utils", "cbor2", "gmssl", "hw_sim", "drivers")


def env_for(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), str(repo / "hw-sim")])
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def scanpoint(repo: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "terminal", *args], env=env_for(repo),
                          capture_output=True, text=True, **{"cwd": repo, **kw})


def setup(repo: Path, work: Path) -> tuple[Path, str, str]:
    """An issuer folder with a terminal config, and a fresh credential with its issue time."""
    done = scanpoint(repo, "issuer", "init", str(work / "demo"))
    if done.returncode:
        raise SystemExit(f"issuer init failed: {done.stderr}")
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    done = scanpoint(repo, "issuer", "issue", str(work / "demo"), "--type", "health", "--status",
                     "green", "--name", "Test", "--holder-id", "-", "--at", at, "--ttl", "120",
                     input="110101199001011234\n")
    if done.returncode:
        raise SystemExit(f"issuer issue failed: {done.stderr}")
    return work / "demo" / "terminal.toml", done.stdout.strip(), at


def imported(stderr: str) -> list[str]:
    """Top-level packages named in ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", line)
        if match:
            names.add(match.group(1).split(".")[0])
    return sorted(n for n in names if n in HEAVY)


def bench_verify(setups: list[tuple[Path, Path, str, str]], runs: int) -> None:
    """Whole-process time of ``verify --text`` for each checkout, runs interleaved."""
    commands = []
    for repo, config, text, at in setups:
        args = ["verify", "--config", str(config), "--at", at, "--text", text]
        first = scanpoint(repo, *args)
        if first.returncode != 0:
            raise SystemExit(f"verify did not pass ({first.returncode}): {first.stdout} {first.stderr}")
        commands.append((repo, args))
    times: list[list[float]] = [[] for _ in commands]
    bare = []
    for _ in range(runs):
        for n, (repo, args) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "terminal", *args], env=env_for(repo), cwd=repo,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[n].append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    print(f"scanpoint verify --text (pass), whole process, {runs} runs each, interleaved; "
          f"a bare 'python -c pass' {statistics.median(bare) * 1e3:.0f} ms")
    for (repo, args), row in zip(commands, times):
        row.sort()
        trace = subprocess.run([sys.executable, "-X", "importtime", "-m", "terminal", *args],
                               env=env_for(repo), cwd=repo, capture_output=True, text=True)
        modules = sum(1 for line in trace.stderr.splitlines() if line.startswith("import time:"))
        print(f"  {repo!s:40s} median {statistics.median(row) * 1e3:.0f} ms (quartiles "
              f"{row[runs // 4] * 1e3:.0f}-{row[3 * runs // 4] * 1e3:.0f}), {modules} modules "
              f"imported; heavy: {', '.join(imported(trace.stderr))}")


def bench_daemon(repo: Path, config: Path, text: str, runs: int, seconds: float) -> None:
    scenario = config.with_name("loop.json")
    scenario.write_text(json.dumps({"loop": True, "steps": [
        {"show": text, "ms": 1500}, {"nothing": 1000}]}))
    cfg = config.with_name("run.toml")   # beside terminal.toml: its relative paths still hold
    cfg.write_text(config.read_text().replace("[terminal]\n", "[terminal]\nhardware = \"sim\"\n", 1)
                   + f"\n[camera]\nsource = \"{scenario}\"\n")
    peaks = []
    for _ in range(runs):
        proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--config", str(cfg)],
                                env=env_for(repo), cwd=repo, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(seconds)
        proc.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read()
        if proc.returncode not in (0, -signal.SIGTERM):
            raise SystemExit(f"scanpoint run ended with {proc.returncode}: {err[-2000:]}")
        peaks.append(usage.ru_maxrss / 1024)
    trace = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "terminal", "run", "--config",
                              str(cfg)], env=env_for(repo), cwd=repo, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    trace.send_signal(signal.SIGTERM)
    _, err = trace.communicate()
    print(f"  {repo!s:40s} median {statistics.median(peaks):.1f} MiB (all: "
          f"{', '.join(f'{p:.1f}' for p in peaks)}); heavy: {', '.join(imported(err))}")


def bench_pi_imports(repo: Path, frames: Path) -> None:
    """What a picamera2 daemon would import: the drivers it loads, without a camera attached,
    decoding an empty frame and hard code frames (so the retries run too)."""
    code = ("import sys; import numpy as np; import drivers.camera, drivers.decoder, drivers.signals; "
            "d = drivers.decoder.open_decoder('zxing'); d.decode(np.zeros((480, 640), np.uint8)); "
            f"[d.decode(f) for f in np.load({str(frames)!r})]; "
            "print(' '.join(sorted(m for m in ('cv2', 'PIL', 'pyzbar') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], env=env_for(repo), cwd=repo,
                          capture_output=True, text=True)
    print(f"  {repo!s:40s} imports {done.stdout.strip() or 'none of cv2, PIL, pyzbar'}"
          f"{done.stderr.strip()[-300:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout to measure (default: this one)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout measured in the same run, e.g. the one before a change")
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--runs", type=int, default=None, help="verify runs per checkout")
    parser.add_argument("--daemon-runs", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=6.0, help="how long each daemon runs")
    args = parser.parse_args()
    repos = [r.resolve() for r in ([args.baseline] if args.baseline else []) + [args.repo]]
    runs = args.runs or (10 if args.quick else 40)
    daemon_runs = args.daemon_runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory() as tmp:
        setups = []
        for n, repo in enumerate(repos):
            work = Path(tmp) / str(n)
            work.mkdir()
            setups.append((repo, *setup(repo, work)))
        bench_verify(setups, runs)
        print(f"scanpoint run (simulator, a signed code shown 1.5 s / nothing 1 s, looping, "
              f"{args.seconds:.0f} s), peak RSS, {daemon_runs} runs each")
        for repo, config, text, _ in setups:
            bench_daemon(repo, config, text, daemon_runs, args.seconds)
        import numpy as np

        from hw_sim.scenes import hard_set

        frames = Path(tmp) / "hard.npy"
        np.save(frames, np.stack([s.frame for c in ("dim", "small") for s in hard_set(c, 3)]))
        print("a Pi daemon's drivers (camera, decoder, signals) decoding an empty and 6 hard frames")
        for repo in repos:
            bench_pi_imports(repo, frames)


if __name__ == "__main__":
    main()
