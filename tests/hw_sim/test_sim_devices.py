"""The simulated device set the daemon and ``scanpoint demo`` run on (hw_sim.devices)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from hw_sim.clock import SimClock
from hw_sim.devices import open_parts
from hw_sim.faults import Fault
from hw_sim.scenario import Scenario, Show
from terminal.errors import CameraMissing
from terminal.interfaces import Camera, Decoder, Signals
from terminal.reasons import Decision


def config(source="auto", fps=30, patterns=None):
    """The config sections hw_sim reads ([camera], [decoder], [signals]), as plain data."""
    return SimpleNamespace(
        camera=SimpleNamespace(source=source, fps=fps),
        decoder=SimpleNamespace(backend="zxing"),
        signals=SimpleNamespace(green_pin=17, red_pin=27, buzzer_pin=22, relay_pin=23,
                                relay_active_high=False, buzzer_active_high=True,
                                patterns=patterns or {}))


def test_script_of_codes_plays_on_the_sim_clock():
    clock = SimClock()
    parts = open_parts(config(), scenario=[("NC1:ONE", 0.5), (None, 0.3), ("NC1:TWO", 0.5)],
                       clock=clock, scale=0.1)
    assert isinstance(parts.decoder, Decoder) and isinstance(parts.signals, Signals)
    assert parts.sleep == clock.sleep
    playback = parts.sim.scenario
    assert playback.position() == 0            # camera not open yet
    camera = parts.open_camera()
    assert isinstance(camera, Camera)
    seen = []
    while playback.position() is not None:
        frame = camera.read()
        if frame is not None:
            seen.append((playback.position(), tuple(parts.decoder.decode(frame.image))))
        parts.sleep(1 / 30)
    assert seen[0] == (0, ("NC1:ONE",)) and seen[-1] == (2, ("NC1:TWO",))
    assert {texts for pos, texts in seen if pos == 1} == {()}
    assert len(seen) == 39                      # 1.3 s at 30 fps, one read per frame
    parts.signals.close()


def test_signals_use_the_config_pins_and_patterns():
    parts = open_parts(config(patterns={"pass": {"green": [1.0], "relay": [0.5]}}),
                       clock=SimClock(), scale=0.1)
    try:
        recorder = parts.sim.recorder
        assert recorder.pin("relay").state is True          # active-low relay board, released
        parts.signals.show(Decision.PASS)
        time.sleep(0.02)
        assert recorder.states() == {"green": True, "red": False, "buzzer": False, "relay": True}
        assert recorder.pin("relay").state is False
        time.sleep(0.15)
        assert recorder.states()["green"] is False          # 1.0 s scaled to 0.1 s
    finally:
        parts.signals.close()


def test_camera_faults_and_reopening_keep_the_timeline():
    clock = SimClock(mono=0.0)
    parts = open_parts(config(), scenario=Scenario([Show("NC1:HELD", 5000)]), clock=clock,
                       faults=[Fault("disappear", 1.0, 1.0)])
    camera = parts.open_camera()
    assert camera.read() is not None
    clock.advance(1.2)
    with pytest.raises(CameraMissing):
        camera.read()
    camera.close()
    with pytest.raises(CameraMissing, match="unplugged"):
        parts.open_camera()                      # an unplugged camera cannot be reopened
    clock.advance(1.0)
    camera = parts.open_camera()
    frame = camera.read()
    assert parts.decoder.decode(frame.image) == ["NC1:HELD"]
    assert frame.arrived == pytest.approx(2.2, abs=1 / 30)   # same timeline as before
    assert parts.sim.cameras_opened == 2
    parts.sim.faults.stall()                     # manual fault switches on the handle
    clock.advance(0.1)
    assert camera.read() is None
    parts.sim.faults.heal()
    clock.advance(0.1)
    assert camera.read() is not None
    parts.signals.close()


def test_default_source_is_an_empty_scene_and_a_file_source_replays(tmp_path):
    parts = open_parts(config(), clock=SimClock())
    camera = parts.open_camera()
    frame = camera.read()
    assert frame.image.shape == (480, 640) and parts.decoder.decode(frame.image) == []
    assert parts.sim.scenario.position() == 0    # the empty scene loops: never finished
    parts.signals.close()
    scenario = tmp_path / "s.json"
    scenario.write_text('[{"show": "NC1:FILE", "ms": 100}, {"stall": 100}]')
    clock = SimClock()
    parts = open_parts(config(source=str(scenario)), clock=clock)
    camera = parts.open_camera()
    assert parts.decoder.decode(camera.read().image) == ["NC1:FILE"]
    clock.advance(0.15)
    assert camera.read() is None and parts.sim.scenario.position() == 1
    clock.advance(0.1)
    assert parts.sim.scenario.position() is None
    parts.signals.close()
