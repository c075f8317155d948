"""The simulated camera draws a scenario lazily, keeping a bounded number of frames.

A 300-code scenario used to hold every drawn frame (600 steps, 450 MB) before the first one was
shown; now the frames held stay under :data:`hw_sim.scenario.CACHE_FRAMES` however long the
scenario is, and every code is still shown and read in its turn. (RSS figures:
``benchmarks/bench_sim_memory.py``.)
"""

from __future__ import annotations

import pytest

from drivers.decoder import open_decoder
from hw_sim.camera import SimCamera
from hw_sim.clock import SimClock
from hw_sim.scenario import CACHE_FRAMES, Scenario


@pytest.fixture(scope="module")
def decoder():
    return open_decoder("zxing")


def script(codes: int) -> list[tuple[str | None, float]]:
    out: list[tuple[str | None, float]] = []
    for n in range(codes):
        out += [(f"CODE-{n:04d}", 0.2), (None, 0.1)]
    return out


@pytest.mark.parametrize("codes", [5, 300])
def test_frames_held_before_the_first_frame_do_not_grow_with_length(codes):
    scenario = Scenario.from_script(script(codes))
    SimCamera(scenario, clock=SimClock(), fps=10)          # draws what the start needs
    assert 0 < scenario.cached_frames <= CACHE_FRAMES


def test_a_long_scenario_plays_every_code_with_a_bounded_cache(decoder):
    scenario = Scenario.from_script(script(40))
    clock = SimClock()
    camera = SimCamera(scenario, clock=clock, fps=10)
    seen: list[str] = []
    most = 0
    while not camera.finished:
        frame = camera.read()
        if frame is not None:
            for text in decoder.decode(frame.image):
                if not seen or seen[-1] != text:
                    seen.append(text)
        most = max(most, scenario.cached_frames)
        clock.advance(0.1)
    assert seen == [f"CODE-{n:04d}" for n in range(40)]
    assert most <= CACHE_FRAMES


def test_frames_are_the_same_whether_drawn_ahead_or_on_demand():
    ahead = Scenario.from_script(script(3), seed=7)
    ahead.prerender()
    on_demand = Scenario.from_script(script(3), seed=7)
    for t, index in ((0.0, 0), (0.35, 5), (0.7, 9)):
        assert (ahead.frame_at(t, index) == on_demand.frame_at(t, index)).all()


@pytest.mark.parametrize("ms", [float("nan"), float("inf"), 0.0, -5.0])
def test_a_scenario_step_must_last_a_finite_positive_time(ms):
    from terminal.errors import ConfigError

    with pytest.raises(ConfigError, match="finite"):
        Scenario.from_list([{"nothing": ms}])


def test_a_picture_step_is_checked_when_the_scenario_is_made(tmp_path):
    """Frames are drawn lazily; a missing or oversized picture still fails at the start."""
    from terminal.errors import ConfigError

    with pytest.raises(ConfigError, match="not found"):
        Scenario.from_list([{"picture": str(tmp_path / "missing.png"), "ms": 100}])
