"""hw-sim cameras: scenario steps, image/directory/video replay, pacing on the clock, faults."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from drivers.decoder import open_decoder
from hw_sim.camera import ImageSource, SimCamera, VideoSource, open_sim_camera, source_for
from hw_sim.clock import SimClock
from hw_sim.faults import GARBAGE_KINDS, Fault, FaultyCamera, garbage_frame
from hw_sim.render import CRISP, Look, draw
from hw_sim.scenario import Disappear, Garbage, Glare, Nothing, Scenario, Show, Stall
from terminal.clock import Clock
from terminal.errors import CameraError, CameraMissing, ConfigError
from terminal.interfaces import Camera

FPS = 30


@pytest.fixture(scope="module")
def decoder():
    return open_decoder("zxing")


def play(camera, clock, seconds, decoder, fps=FPS):
    """Read once per frame period for ``seconds``; one entry per read: texts, None or an error name."""
    out = []
    for _ in range(round(seconds * fps)):
        try:
            frame = camera.read()
            out.append(None if frame is None else tuple(decoder.decode(frame.image)))
        except CameraError as exc:
            out.append(type(exc).__name__)
        clock.advance(1 / fps)
    return out


def test_sim_clock_is_a_clock_and_only_moves_when_told():
    clock = SimClock(wall=1_000.0, mono=5.0)
    assert isinstance(clock, Clock)
    assert (clock.time(), clock.monotonic()) == (1_000.0, 5.0)
    clock.sleep(2.5)
    assert (clock.time(), clock.monotonic()) == (1_002.5, 7.5)
    clock.set(10.0)                       # a tampered wall clock goes back; monotonic does not
    assert (clock.time(), clock.monotonic()) == (10.0, 7.5)
    clock.advance_to(9.0)
    assert clock.monotonic() == 9.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_scenario_steps_give_the_expected_frames(decoder):
    clock = SimClock()
    scenario = Scenario([Show("SP1:FIRST", 500), Nothing(300), Stall(200), Show("SP1:SECOND", 400),
                         Disappear(200), Garbage(100, "torn"), Show("SP1:THIRD", 300)])
    assert scenario.duration == pytest.approx(2.0)
    camera = SimCamera(scenario, clock=clock, fps=FPS)
    assert isinstance(camera, Camera)
    out = play(camera, clock, 2.1, decoder)
    assert out[:15] == [("SP1:FIRST",)] * 15                 # 0-500 ms
    assert out[15:24] == [()] * 9                            # nothing in view
    assert out[24:30] == [None] * 6                          # stall: no frames arrive
    assert out[30:42] == [("SP1:SECOND",)] * 12
    assert out[42:48] == ["CameraMissing"] * 6               # unplugged
    assert out[48:51] == [()] * 3                            # garbage decodes to nothing
    assert out[51:60] == [("SP1:THIRD",)] * 9
    assert out[60:] == [()] * 3 and camera.finished


def test_frames_are_realistic_and_vary_like_a_live_camera():
    clock = SimClock()
    camera = SimCamera(Scenario([Show("SP1:LOOK", 1000)]), clock=clock, fps=FPS)
    frames = []
    for _ in range(4):
        frames.append(camera.read())
        clock.advance(1 / FPS)
    images = [f.image for f in frames]
    assert all(i.shape == (480, 640) and i.dtype == np.uint8 for i in images)
    assert not np.array_equal(images[0], images[1])          # shake and sensor noise differ
    light = (images[0] > 150).mean()                        # paper of the code; scene is gray 90
    assert 0.1 < light < 0.4                                 # a code covering a good part of it
    arrived = [f.arrived - camera.start for f in frames]
    assert arrived == pytest.approx([0, 1 / FPS, 2 / FPS, 3 / FPS])


def test_read_never_queues_it_returns_the_newest_frame():
    clock = SimClock()
    camera = SimCamera(Scenario([Show("A", 100), Show("B", 1000)]), clock=clock, fps=FPS)
    assert camera.read() is not None
    assert camera.read() is None                 # nothing new until the next frame period
    clock.advance(0.5)                           # a slow pipeline misses 14 frames
    frame = camera.read()
    assert frame.arrived - camera.start == pytest.approx(15 / FPS)
    assert camera.frames_skipped == 14
    assert camera.read() is None


def test_scenario_is_deterministic():
    def frames():
        clock = SimClock()
        camera = SimCamera(Scenario([Show("SP1:SEED", 200)], seed=4), clock=clock)
        result = []
        for _ in range(5):
            result.append(camera.read().image)
            clock.advance(1 / 30)
        return result
    first, second = frames(), frames()
    assert len(first) == len(second) == 5
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], first[1])        # deterministic, yet not one frozen frame


def test_glare_can_wash_a_code_out(decoder):
    clock = SimClock()
    scenario = Scenario([Glare("SP1:GLARE", 200, strength=1.0, look=Look(fill=0.3)),
                         Glare(None, 100)])
    out = play(SimCamera(scenario, clock=clock), clock, 0.3, decoder)
    assert out[:6].count(("SP1:GLARE",)) < 6
    assert out[6:] == [()] * 3


def test_closed_camera_refuses_reads():
    camera = SimCamera(Scenario([Nothing(100)]), clock=SimClock())
    camera.close()
    with pytest.raises(CameraError, match="closed"):
        camera.read()


def test_scenario_from_data_and_files(tmp_path, decoder):
    data = [{"show": "SP1:DATA", "ms": 300, "look": {"fill": 0.3, "angle": 10}},
            {"nothing": 200}, {"stall": 100}, {"glare": None, "ms": 100, "strength": 0.5},
            {"garbage": 100, "kind": "stripes"}, {"disappear": 100}]
    scenario = Scenario.from_list(data)
    assert [type(s).__name__ for s in scenario.steps] == [
        "Show", "Nothing", "Stall", "Glare", "Garbage", "Disappear"]
    assert scenario.steps[0].look.fill == 0.3
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"steps": data, "seed": 3}))
    assert Scenario.load(path).seed == 3
    toml = tmp_path / "s.toml"
    toml.write_text('loop = true\n[[steps]]\nshow = "SP1:TOML"\nms = 100\n[[steps]]\nnothing = 100\n')
    clock = SimClock()
    camera = open_sim_camera(toml, clock=clock)
    out = play(camera, clock, 0.4, decoder)
    assert out.count(("SP1:TOML",)) == 6 and not camera.finished   # looped twice


@pytest.mark.parametrize("data,message", [
    ([{"show": "X"}], "missing 'ms'"),
    ([{"show": "X", "ms": 0}], "more than 0 ms"),
    ([{"show": "X", "nothing": 3, "ms": 5}], "exactly one of"),
    ([{"show": "X", "ms": 5, "colour": 1}], "unknown key"),
    ([{"garbage": 5, "kind": "smoke"}], "unknown garbage kind"),
    ([{"show": "X", "ms": 5, "look": {"zoom": 2}}], "zoom"),
    (["show"], "must be a table"),
])
def test_scenario_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        Scenario.from_list(data)


def test_image_file_and_directory_replay(tmp_path, decoder):
    for n, text in enumerate(["IMG-ONE", "IMG-TWO", "IMG-THREE"]):
        cv2.imwrite(str(tmp_path / f"{n}.png"), draw(text, look=CRISP))
    (tmp_path / "notes.txt").write_text("ignored")
    clock = SimClock()
    camera = open_sim_camera(tmp_path, clock=clock, hold=0.1, loop=False)
    out = play(camera, clock, 0.4, decoder)
    assert out[0:3] == [("IMG-ONE",)] * 3 and out[3:6] == [("IMG-TWO",)] * 3
    assert out[6:9] == [("IMG-THREE",)] * 3 and out[9:] == [()] * 3
    assert camera.finished
    single = open_sim_camera(tmp_path / "1.png", clock=clock)
    assert decoder.decode(single.read().image) == ["IMG-TWO"]
    listed = source_for([tmp_path / "2.png", tmp_path / "0.png"], hold=1.0)
    assert isinstance(listed, ImageSource) and len(listed.images) == 2


def test_replay_errors(tmp_path):
    with pytest.raises(ConfigError, match="no image files"):
        ImageSource.from_directory(tmp_path)
    with pytest.raises(CameraMissing, match="nothing to replay"):
        open_sim_camera(tmp_path / "missing.png")


def write_video(path, texts, fps=10, frames_each=5):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for text in texts:
        frame = cv2.cvtColor(draw(text, look=CRISP), cv2.COLOR_GRAY2BGR)
        for _ in range(frames_each):
            writer.write(frame)
    writer.release()


def test_video_replay_at_its_own_frame_rate(tmp_path, decoder):
    path = tmp_path / "codes.avi"
    write_video(path, ["VID-A", "VID-B", "VID-C"])       # 10 fps, 0.5 s each
    clock = SimClock()
    camera = open_sim_camera(path, clock=clock, fps=10, loop=False)
    assert isinstance(camera.source, VideoSource) and camera.source.fps == pytest.approx(10)
    out = play(camera, clock, 1.7, decoder, fps=10)
    assert out[:5] == [("VID-A",)] * 5 and out[5:10] == [("VID-B",)] * 5
    assert out[10:15] == [("VID-C",)] * 5 and out[15:] == [None, None]
    assert camera.finished


def test_video_replay_skips_frames_for_a_slow_reader_and_loops(tmp_path, decoder):
    path = tmp_path / "codes.avi"
    write_video(path, ["VID-A", "VID-B", "VID-C"])
    clock = SimClock()
    camera = open_sim_camera(path, clock=clock, fps=10, loop=True)
    clock.advance(1.2)                                     # frame 12: VID-C
    assert decoder.decode(camera.read().image) == ["VID-C"]
    clock.advance(0.5)                                     # 1.7 s: looped to frame 2, VID-A
    assert decoder.decode(camera.read().image) == ["VID-A"]


@pytest.mark.parametrize("kind", GARBAGE_KINDS)
def test_garbage_frames(kind, decoder):
    frame = garbage_frame(kind, (480, 640), np.random.default_rng(1),
                          base=draw("BASE", look=CRISP))
    assert frame.dtype == np.uint8 and frame.ndim == 2
    assert decoder.decode(frame) == []


def test_faulty_camera_scheduled_faults(decoder):
    clock = SimClock(mono=0.0)
    base = SimCamera(Scenario([Show("SP1:FAULTS", 5000)]), clock=clock)
    camera = FaultyCamera(base, clock, [Fault("stall", 0.49, 0.5), Fault("disappear", 0.99, 0.5),
                                        Fault("garbage", 1.49, 0.5, "noise")])
    out = play(camera, clock, 2.5, decoder)
    assert out[:15] == [("SP1:FAULTS",)] * 15
    assert out[15:30] == [None] * 15
    assert out[30:45] == ["CameraMissing"] * 15
    assert out[45:60] == [()] * 15
    assert out[60:] == [("SP1:FAULTS",)] * 15            # recovered
    assert camera.injected == {"stall": 15, "disappear": 15, "garbage": 15}


def test_faulty_camera_manual_faults(decoder):
    clock = SimClock()
    camera = FaultyCamera(SimCamera(Scenario([Show("SP1:MANUAL", 5000)]), clock=clock), clock)
    assert play(camera, clock, 0.1, decoder) == [("SP1:MANUAL",)] * 3
    camera.disappear()
    assert play(camera, clock, 0.1, decoder) == ["CameraMissing"] * 3
    camera.garbage("tiny")
    frame = camera.read() or (clock.advance(1 / 30), camera.read())[1]
    assert frame.image.shape == (1, 1)
    camera.stall()
    assert play(camera, clock, 0.1, decoder) == [None] * 3
    camera.heal()
    assert play(camera, clock, 0.1, decoder) == [("SP1:MANUAL",)] * 3
    assert not camera.finished                          # wrapped camera's attributes show through
    with pytest.raises(ValueError, match="unknown garbage kind"):
        camera.garbage("smoke")
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("fire", 0.0)
