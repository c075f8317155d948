"""The simulated device set the daemon and ``scanpoint demo`` run on (``terminal.daemon.devices`` with
``[terminal] hardware = "sim"``, built from hw_sim's camera, pins and faults)."""

from __future__ import annotations

import pytest

from hw_sim.clock import SimClock
from hw_sim.faults import Fault
from hw_sim.scenario import Disappear, Nothing, Scenario, Show
from terminal import config as config_mod
from terminal.daemon.devices import open_devices
from terminal.errors import CameraMissing
from terminal.interfaces import Camera, Decoder, Signals
from terminal.reasons import Decision
from tests.support.pins import pulses


def config(source="auto", fps=30, signals=""):
    """A simulator config: [camera] source and fps, the default decoder, [signals] extras."""
    return config_mod.loads(f'[terminal]\nhardware = "sim"\n[camera]\nsource = "{source}"\n'
                            f'fps = {fps}\n[signals]\nrelay_active_high = false\n{signals}')


def test_script_of_codes_plays_on_the_sim_clock():
    clock = SimClock()
    devices = open_devices(config(), scenario=[("SP1:ONE", 0.5), (None, 0.3), ("SP1:TWO", 0.5)],
                           clock=clock, scale=0.1)
    assert isinstance(devices.decoder, Decoder) and isinstance(devices.signals, Signals)
    assert devices.clock is clock
    sim = devices.sim
    assert sim.step_index() is None             # camera not open yet
    camera = devices.open_camera()
    assert isinstance(camera, Camera)
    seen = []
    while not sim.finished():
        frame = camera.read()
        if frame is not None:
            seen.append((sim.step_index(), tuple(devices.decoder.decode(frame.image))))
        devices.clock.sleep(1 / 30)
    assert seen[0] == (0, ("SP1:ONE",)) and seen[-1] == (2, ("SP1:TWO",))
    assert {texts for pos, texts in seen if pos == 1} == {()}
    assert len(seen) == 39                      # 1.3 s at 30 fps, one read per frame
    devices.close()


def test_signals_use_the_config_pins_and_patterns():
    devices = open_devices(config(signals='patterns = { pass = { green = [1.0], relay = [0.5] } }'),
                           clock=SimClock(), scale=0.1)
    try:
        recorder = devices.sim.recorder
        assert recorder.pin("relay").state is True          # active-low relay board, released
        devices.signals.show(Decision.PASS)
        assert recorder.states() == {"green": True, "red": False, "buzzer": False, "relay": True}
        assert recorder.pin("relay").state is False
        assert recorder.wait_for(lambda s: not s["green"], timeout=20)
        (green,) = pulses(recorder, "green")
        assert green.lasted_at_least(0.1)                  # 1.0 s scaled to 0.1 s
    finally:
        devices.close()


def test_camera_faults_and_reopening_keep_the_timeline():
    clock = SimClock(mono=0.0)
    devices = open_devices(config(), scenario=Scenario([Show("SP1:HELD", 5000)]), clock=clock,
                           faults=[Fault("disappear", 1.0, 1.0)])
    camera = devices.open_camera()
    assert camera.read() is not None
    clock.advance(1.2)
    with pytest.raises(CameraMissing):
        camera.read()
    camera.close()
    with pytest.raises(CameraMissing, match="unplugged"):
        devices.open_camera()                    # an unplugged camera cannot be reopened
    clock.advance(1.0)
    camera = devices.open_camera()
    frame = camera.read()
    assert devices.decoder.decode(frame.image) == ["SP1:HELD"]
    assert frame.arrived == pytest.approx(2.2, abs=1 / 30)   # same timeline as before
    assert devices.sim.cameras_opened == 2
    devices.sim.faults.stall()                   # manual fault switches on the handle
    clock.advance(0.1)
    assert camera.read() is None
    devices.sim.faults.heal()
    clock.advance(0.1)
    assert camera.read() is not None
    devices.close()


def test_scenario_disappear_blocks_reopening_until_it_ends():
    clock = SimClock()
    devices = open_devices(config(), clock=clock,
                           scenario=Scenario([Nothing(100), Disappear(500), Show("BACK", 500)]))
    camera = devices.open_camera()
    clock.advance(0.2)
    with pytest.raises(CameraMissing, match="check the cable"):
        camera.read()
    camera.close()
    with pytest.raises(CameraMissing, match="unplugged"):
        devices.open_camera()
    clock.advance(0.5)
    camera = devices.open_camera()               # same timeline: the scenario went on meanwhile
    assert camera.read() is not None and devices.sim.elapsed() == pytest.approx(0.7)
    devices.close()


def test_default_source_is_an_empty_scene_and_a_file_source_replays(tmp_path):
    devices = open_devices(config(), clock=SimClock())
    camera = devices.open_camera()
    frame = camera.read()
    assert frame.image.shape == (480, 640) and devices.decoder.decode(frame.image) == []
    sim = devices.sim
    assert sim.step_index() == 0 and not sim.finished()   # the empty scene loops: never finished
    devices.close()
    scenario = tmp_path / "s.json"
    scenario.write_text('[{"show": "SP1:FILE", "ms": 100}, {"stall": 100}]')
    clock = SimClock()
    devices = open_devices(config(source=str(scenario)), clock=clock)
    camera = devices.open_camera()
    assert devices.decoder.decode(camera.read().image) == ["SP1:FILE"]
    clock.advance(0.15)
    assert camera.read() is None and devices.sim.step_index() == 1
    clock.advance(0.1)
    assert devices.sim.finished()
    devices.close()
