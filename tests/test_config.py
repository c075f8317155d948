"""The configuration file: documented defaults, strict keys and types, relative paths."""

from __future__ import annotations

import dataclasses
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


def test_every_section_and_setting_has_a_non_empty_description():
    """A setting added with a bare ``field()`` (or ``setting(x, "")``) has no doc: it would
    print as an empty ``#`` line above the key."""
    text = config.defaults_toml()
    sections = config.Config().sections()
    assert len(sections) >= 10
    settings = 0
    for name, section in sections.items():
        summary = (type(section).__doc__ or "").strip()
        assert summary, f"[{name}] has no docstring"
        assert f"# {summary.splitlines()[0]}\n[{name}]\n" in text
        for f in dataclasses.fields(section):
            doc = f.metadata.get("doc", "")
            assert isinstance(doc, str) and doc.strip(), f"[{name}] {f.name} has no description"
            assert f"\n# {doc}\n{f.name} = " in text, f"[{name}] {f.name}"
            settings += 1
    assert settings >= 40


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
