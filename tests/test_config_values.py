"""Config values a careless operator might write: every float finite and in range, known words.

The float cases are generated from the config classes themselves, so a setting added later is
covered without touching this file.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from terminal import config
from terminal.errors import ConfigError


def float_settings() -> list[tuple[str, str]]:
    """(section, key) of every float setting of the config."""
    out = []
    for name, section in config.Config().sections().items():
        hints = typing.get_type_hints(type(section))
        out += [(name, f.name) for f in dataclasses.fields(section) if hints[f.name] is float]
    return out


FLOATS = float_settings()


def test_there_are_float_settings_to_check():
    assert ("lists", "issued_tolerance") in FLOATS and ("sync", "timeout") in FLOATS


@pytest.mark.parametrize("section, key", FLOATS)
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "+nan"])
def test_every_float_setting_refuses_a_non_finite_value(section, key, bad):
    with pytest.raises(ConfigError) as info:
        config.loads(f"[{section}]\n{key} = {bad}\n", where="t.toml")
    message = str(info.value)
    assert f"[{section}] {key}" in message, message
    assert "finite" in message
    assert "\n" not in message


@pytest.mark.parametrize("section, key", FLOATS)
def test_every_float_setting_has_a_range(section, key):
    low, high = config.value_range(getattr(config.Config(), section), key)
    assert low is not None and high is not None
    default = getattr(getattr(config.Config(), section), key)
    assert low <= default <= high
    for bad in (high * 2 + 1, low - 1):
        with pytest.raises(ConfigError) as info:
            config.loads(f"[{section}]\n{key} = {bad!r}\n", where="t.toml")
        assert f"[{section}] {key}" in str(info.value)


@pytest.mark.parametrize("section, key, value", [
    ("lists", "issued_tolerance", 86400.0),
    ("lists", "max_clock_offset", 60.0),
    ("sync", "timeout", 1.0),
    ("policy", "skew", 0),
])
def test_sensible_values_are_accepted(section, key, value):
    cfg = config.loads(f"[{section}]\n{key} = {value!r}\n")
    assert getattr(getattr(cfg, section), key) == float(value)


def test_issued_tolerance_nan_cannot_switch_the_clock_guard_off():
    with pytest.raises(ConfigError, match=r"\[lists\] issued_tolerance"):
        config.loads("[lists]\nissued_tolerance = nan\n")


def test_a_config_that_is_not_utf8_is_a_config_error_from_load(tmp_path):
    path = tmp_path / "t.toml"
    path.write_bytes(b'[terminal]\nid = "gate"\n# caf\xe9\n')
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert str(path) in message and "UTF-8" in message and "line 3" in message


def test_camera_source_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "terminal.toml").write_text('[camera]\nsource = "scenes/gate.toml"\n')
    monkeypatch.chdir(tmp_path)
    cfg = config.load(folder / "terminal.toml")
    assert cfg.camera.source == str(folder / "scenes" / "gate.toml")


@pytest.mark.parametrize("word", ["auto", "picamera2", "opencv"])
def test_camera_source_words_are_not_paths(tmp_path, word):
    (tmp_path / "t.toml").write_text(f'[camera]\nsource = "{word}"\n')
    assert config.load(tmp_path / "t.toml").camera.source == word


def test_an_unknown_credential_type_in_accept_is_refused():
    with pytest.raises(ConfigError) as info:
        config.loads('[policy]\naccept = ["helth"]\n')
    message = str(info.value)
    assert "[policy]" in message and "'helth'" in message and "health" in message


def test_known_credential_types_are_accepted():
    cfg = config.loads('[policy]\naccept = ["health", "dcc-test"]\n')
    assert cfg.policy.to_policy().accept == frozenset({"health", "dcc-test"})


@pytest.mark.parametrize("value", ["nan", "inf", "1e300", "-inf"])
@pytest.mark.parametrize("output", ["relay", "green"])
def test_signal_pattern_times_are_finite_and_bounded(value, output):
    """A relay pulse of inf would hold the gate open for good."""
    from terminal.daemon.devices import signal_patterns

    cfg = config.loads(f"[signals]\npatterns = {{ pass = {{ {output} = [{value}] }} }}\n")
    with pytest.raises(ConfigError) as info:
        signal_patterns(cfg)
    assert f"pass.{output}" in str(info.value)
