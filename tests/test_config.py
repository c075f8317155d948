"""The configuration file: documented defaults, strict keys and types, relative paths."""

from __future__ import annotations

import tomllib

import pytest

from terminal import config
from terminal.errors import ConfigError


def test_defaults_document_every_setting_and_parse_back():
    text = config.defaults_toml()
    parsed = config.from_dict(tomllib.loads(text))
    assert parsed.sections().keys() == config.Config().sections().keys()
    for name, section in config.Config().sections().items():
        assert f"[{name}]" in text
        assert getattr(parsed, name) == section


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    path = tmp_path / "terminal.toml"
    path.write_text('[terminal]\nid = "gate-3"\nstate_dir = "state"\n', encoding="utf-8")
    cfg = config.load(path)
    assert cfg.terminal.id == "gate-3"
    assert cfg.terminal.state_dir == str(tmp_path / "state")
    assert cfg.source == path


@pytest.mark.parametrize("text, message", [
    ("[terminal]\nidd = 1\n", "unknown key(s) idd in [terminal]"),
    ("[termnal]\n", "unknown section(s) termnal"),
    ('[terminal]\nid = 3\n', "wrong type (expected str)"),
    ('[terminal]\nhardware = "pii"\n', "hardware must be 'sim' or 'pi'"),
    ("terminal = 1\n", "must be a table"),
    ("[terminal\n", "not valid TOML"),
])
def test_bad_config_is_a_clear_error(text, message):
    with pytest.raises(ConfigError) as info:
        config.loads(text)
    assert message in str(info.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")
