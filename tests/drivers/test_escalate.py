"""Retries on the hard scenes: what they read, that they run only where something code-like is,
that the per-frame budget bounds them by construction, and that the daemon's decoder needs no
OpenCV. No test here measures time: the budget is checked against an injected clock."""

from __future__ import annotations

import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
import zxingcpp

from drivers.decoder import ZxingDecoder, as_gray, open_decoder
from drivers.escalate import (
    CANDIDATES,
    DEFAULT_STEPS,
    GIVE_UP_ROUNDS,
    Escalation,
    box3,
    find_code,
    invert,
    local_contrast,
    upscale2,
)
from hw_sim.render import CRISP, Look, blank, draw
from hw_sim.scenes import (
    CONDITIONS,
    Scene,
    credential_texts,
    empty_set,
    hard_set,
    moving_sequence,
    sequence_set,
    still_sequence,
)

UNLIMITED = math.inf


def camera(**options) -> ZxingDecoder:
    """The daemon's decoder (single symbol), unlimited budget unless given."""
    options.setdefault("budget_ms", UNLIMITED)
    return ZxingDecoder(single=True, **options)


def reads(decoder: ZxingDecoder, samples) -> int:
    count = 0
    for sample in samples:
        decoder.escalation.reset()              # independent scenes
        count += sample.text in decoder.decode(sample.frame)
    return count


def zxing_default(frame) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture(scope="module")
def hard():
    return {c: hard_set(c, 12, seed=1) for c in CONDITIONS}


# --- what the retries read ---------------------------------------------------------------------


def test_retries_read_hard_scenes_the_first_pass_and_the_peers_miss(hard):
    ours = camera()
    lean = camera(budget_ms=0)
    totals = {"ours": 0, "lean": 0, "zxing": 0}
    for condition, samples in hard.items():
        got, base = reads(ours, samples), reads(lean, samples)
        peer = sum(s.text in zxing_default(s.frame) for s in samples)
        print(f"{condition}: retries {got}, first pass {base}, zxing-cpp default {peer} of {len(samples)}")
        assert got >= base
        totals["ours"] += got
        totals["lean"] += base
        totals["zxing"] += peer
    assert reads(camera(), hard["dim"]) >= reads(lean, hard["dim"]) + 4   # denoise
    assert totals["ours"] >= totals["zxing"] + 10
    assert ours.stats["denoise"] > 0 and ours.stats["upscale"] > 0


def test_no_retry_reports_a_code_on_empty_scenes():
    decoder = camera()
    frames = empty_set(8, seed=2) + empty_set(8, seed=2, dim=True)
    assert [decoder.decode(f) for f in frames] == [[]] * len(frames)


def test_dark_mode_screens_are_read_by_the_inverted_retry():
    text = credential_texts()[2]
    frame = 255 - draw(text, look=Look(fill=0.3, angle=10, noise=3))
    decoder = camera()
    assert decoder.decode(frame) == [text]
    assert decoder.stats["invert"] == 1 and decoder.stats["plain"] == 0


def test_one_code_per_frame_in_the_daemon_and_every_code_in_an_image():
    left = draw("LEFT-CODE", look=Look(fill=0.2, noise=0, blur=0), width=320, height=480)
    right = draw("RIGHT-CODE", look=Look(fill=0.2, noise=0, blur=0), width=320, height=480)
    both = np.hstack([left, right])
    assert len(camera().decode(both)) == 1
    assert sorted(open_decoder("zxing", images=True).decode(both)) == ["LEFT-CODE", "RIGHT-CODE"]


def test_a_single_read_stopped_by_an_undecodable_symbol_reads_the_others(testdata):
    root = testdata / "qr" / "zxing-cpp" / "qrcode-2"
    photo = cv2.imread(str(root / "#1086.png"), cv2.IMREAD_GRAYSCALE)
    expected = (root / "#1086.txt").read_bytes().decode("utf-8")
    decoder = camera()
    assert decoder.decode(photo) == [expected]
    assert decoder.stats["all_symbols"] == 1


# --- only where something code-like is ---------------------------------------------------------


def test_escalation_only_on_code_like_frames(hard):
    decoder = camera()
    for frame in (np.full((480, 640), 90, np.uint8), blank(look=Look(noise=20)),
                  *empty_set(6, seed=4)[:3]):
        decoder.decode(frame)
    assert decoder.stats["escalated"] == 0 and decoder.escalation.tries == {}
    assert decoder.stats["idle"] == 5
    unread = [s for s in hard["dim"] if s.text not in camera(budget_ms=0).decode(s.frame)]
    assert unread
    for sample in unread:
        decoder.escalation.reset()
        decoder.decode(sample.frame)
    assert decoder.stats["escalated"] == len(unread)
    assert decoder.stats["idle"] == 5                  # every dim code frame was seen as code-like


def test_a_read_frame_costs_no_retry():
    decoder = camera()
    text = credential_texts()[0]
    assert decoder.decode(draw(text, look=CRISP)) == [text]
    assert decoder.stats["plain"] == 1 and decoder.stats["escalated"] == 0
    assert decoder.escalation.tries == {}


def test_the_region_found_holds_the_code(hard):
    from hw_sim.scenes import code_corners

    for sample in hard["small"] + hard["tilt"]:
        region = find_code(sample.frame)
        assert region is not None
        corners = code_corners(sample.scene, sample.text)
        cx, cy = corners.mean(axis=0)
        assert region.left <= cx <= region.right and region.top <= cy <= region.bottom


# --- the budget, by construction ------------------------------------------------------------------


class Clock:
    """An injected clock: time moves only when a test (or a fake slow read) moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def code_like_but_unreadable(seed: int = 0) -> np.ndarray:
    """Module-sized random squares, no finder patterns: code-like texture nothing can read."""
    frame = blank(look=Look(noise=3), rng=np.random.default_rng(seed))
    blocks = np.random.default_rng(seed).integers(0, 2, (45, 45)).astype(np.uint8) * 180 + 30
    frame[105:375, 185:455] = np.kron(blocks, np.ones((6, 6), np.uint8))
    return frame


def test_a_budget_of_zero_disables_every_retry(hard):
    decoder = camera(budget_ms=0)
    for sample in hard["dim"] + hard["small"]:
        decoder.decode(sample.frame)
    decoder.decode(code_like_but_unreadable())
    assert decoder.stats["escalated"] == 0 and decoder.escalation.tries == {}
    assert ZxingDecoder(rescue=False).escalation.budget == 0


def test_each_frame_stays_within_its_budget_and_the_next_frame_goes_on():
    clock = Clock()
    lean = ZxingDecoder(single=True)

    def slow_read(image, binarizer):              # a real read that takes 5 ms of the clock
        clock.now += 0.005
        return lean._retry_read(image, binarizer)

    budget = 0.012
    escalation = Escalation(slow_read, budget_ms=budget * 1000, average_frames=1, timer=clock)
    frame = code_like_but_unreadable()
    per_frame = []
    for _ in range(4):
        started = clock()
        escalation.run(frame, None, started)
        per_frame.append(clock() - started)
    print(f"ms per frame: {[round(t * 1000, 1) for t in per_frame]}, tries {escalation.tries}")
    assert all(spent <= budget + 1e-9 for spent in per_frame)   # never over the budget
    assert max(per_frame) < 3 * 0.005                           # so never the whole ladder at once
    assert escalation.stats["over_budget"] > 0
    region = find_code(frame)
    fits = {s.name for s in escalation.steps
            if escalation.estimate(s.name, s.prior, region.pixels) <= budget}
    fitting_before = {s.name for s in escalation.steps if s.prior * region.pixels <= budget}
    runnable = (fits | fitting_before) - {"glare"}   # glare runs only where white is clipped
    assert set(escalation.tries) == runnable          # every step that fits got its turn...
    assert {s.name for s in escalation.steps} - runnable - {"glare"}   # ...one that cannot never ran


def test_an_unreadable_still_scene_is_left_alone_until_it_changes():
    decoder = camera()
    frame = code_like_but_unreadable()
    for _ in range(12):
        assert decoder.decode(frame) == []
    tries = dict(decoder.escalation.tries)
    assert decoder.stats["given_up"] > 0
    assert max(tries.values()) <= GIVE_UP_ROUNDS + 1
    decoder.decode(frame)
    assert decoder.escalation.tries == tries                  # no more retries on this scene
    moved = code_like_but_unreadable(seed=1)                  # the scene changed: try again
    decoder.decode(moved)
    assert sum(decoder.escalation.tries.values()) > sum(tries.values())


# --- across frames ------------------------------------------------------------------------------


def test_averaging_a_still_scene_reads_what_single_frames_miss():
    text = credential_texts()[1]
    scene = Scene(ppm=3.0, screen=80, black=52, ambient=40, noise=12.0)   # a dim, noisy screen
    frames = still_sequence(text, scene, 4, seed=1).frames
    averaging, single = camera(), camera(average_frames=1)
    assert not any(text in single.decode(f) for f in frames)   # every retry, frame by frame
    got = [averaging.decode(f) for f in frames]
    assert [text] in got and averaging.stats["average"] == 1
    assert got[0] == []                                        # nothing to average yet


def test_sequences_are_decided_sooner_with_averaging():
    within = {"averaging": 0, "single": 0}
    for seq in sequence_set("still", 12, frames=3, seed=1):
        for label, decoder in (("averaging", camera()), ("single", camera(average_frames=1))):
            within[label] += any(seq.text in decoder.decode(f) for f in seq.frames)
    print(f"still sequences read within 3 frames: {within}")
    assert within["averaging"] > within["single"]


def test_frames_are_not_averaged_while_the_phone_moves():
    text = credential_texts()[1]
    scene = Scene(ppm=3.0, screen=80, black=45, ambient=40, noise=7.0)
    seq = moving_sequence(text, scene, 6, seed=4, entry_frames=5)
    decoder = camera()
    for frame in seq.frames[:5]:                       # still moving in every one of these
        decoder.decode(frame)
    assert decoder.escalation.tries.get("average", 0) == 0


# --- image operations and colour input ---------------------------------------------------------


def test_image_operations():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    flat = np.full((20, 30), 77, np.uint8)
    assert np.array_equal(box3(flat), flat)
    assert box3(image).std() < image.std() * 0.6            # noise averaged down
    up = upscale2(image)
    assert up.shape == (73, 105) and np.array_equal(up[::2, ::2], image)
    assert np.array_equal(invert(invert(image)), image)
    dim = (np.kron(rng.integers(0, 2, (8, 8)), np.ones((8, 8))) * 30 + 100).astype(np.uint8)
    stretched = local_contrast(dim)
    assert dim.max() - dim.min() == 30 and stretched.max() - stretched.min() >= 200
    for op in (box3, upscale2, local_contrast, invert):
        assert op(image).dtype == np.uint8


def test_colour_frames_give_the_same_gray_as_opencv():
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (31, 47, 3), dtype=np.uint8)
    bgra = np.dstack([bgr, rng.integers(0, 256, (31, 47), dtype=np.uint8)])
    for colour, code in ((bgr, cv2.COLOR_BGR2GRAY), (bgra, cv2.COLOR_BGRA2GRAY)):
        ours = as_gray(colour).astype(int)
        theirs = cv2.cvtColor(colour, code).astype(int)
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= 1   # rounding only


def test_unknown_steps_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown decoder retry step"):
        ZxingDecoder(steps=("sharpen",))
    with pytest.raises(ValueError, match="0 ms or more"):
        ZxingDecoder(budget_ms=-1)
    with pytest.raises(ValueError, match="average_frames"):
        ZxingDecoder(average_frames=0)
    assert {s.name for s in CANDIDATES} >= set(DEFAULT_STEPS) - {"average"}


def test_the_daemon_decoder_reads_frames_without_opencv(tmp_path, hard):
    frames = [s.frame for s in hard["dim"][:4]] + [code_like_but_unreadable()]
    np.save(tmp_path / "frames.npy", np.stack(frames))
    code = (
        "import sys, numpy as np\n"
        "import drivers.camera, drivers.decoder, drivers.signals\n"
        "d = drivers.decoder.open_decoder('zxing', single=True, budget_ms=float('inf'))\n"
        f"for f in np.load({str(tmp_path / 'frames.npy')!r}): d.decode(f)\n"
        "assert d.stats['escalated'] >= 1, d.stats\n"
        "print(' '.join(m for m in ('cv2', 'PIL') if m in sys.modules) or 'clean')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


# --- configuration --------------------------------------------------------------------------------


def test_decoder_config_reaches_the_daemon_decoder():
    from terminal import config as config_mod
    from terminal.daemon.devices import open_decoder as daemon_decoder
    from terminal.errors import ConfigError

    defaults = config_mod.Config().decoder
    assert (defaults.budget_ms, defaults.average_frames) == (25.0, 4)
    cfg = config_mod.loads("[decoder]\nbudget_ms = 8\naverage_frames = 1\n")
    decoder = daemon_decoder(cfg)
    assert decoder.single and decoder.escalation.budget == pytest.approx(0.008)
    assert decoder.escalation.average_frames == 1
    off = daemon_decoder(config_mod.loads("[decoder]\nbudget_ms = 0\n"))
    off.decode(code_like_but_unreadable())
    assert off.stats["escalated"] == 0
    with pytest.raises(ConfigError, match="budget_ms"):
        config_mod.loads("[decoder]\nbudget_ms = -5\n")
    with pytest.raises(ConfigError, match="average_frames"):
        config_mod.loads("[decoder]\naverage_frames = 0\n")
    both = daemon_decoder(config_mod.loads('[decoder]\nbackend = "zxing+pyzbar"\nbudget_ms = 3\n'))
    assert both.primary.single and both.primary.escalation.budget == pytest.approx(0.003)
