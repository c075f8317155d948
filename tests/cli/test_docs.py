"""Documentation coverage: every config key and every command-line argument says what it is for.

Generated from the real objects (``terminal.config.Config`` and ``build_parser()``), so a new key,
command or flag without a description fails here, naming it.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import tomllib
from pathlib import Path

from terminal import config as config_mod
from terminal.cli.exits import Exit
from terminal.cli.main import build_parser, walk

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
PARSERS = dict(walk(build_parser()))


def settings() -> list[tuple[str, str, dataclasses.Field]]:
    return [(name, f.name, f) for name, section in config_mod.Config().sections().items()
            for f in dataclasses.fields(section)]


def test_every_config_section_and_key_has_a_description():
    missing = [f"[{name}]" for name, section in config_mod.Config().sections().items()
               if not (type(section).__doc__ or "").strip()]
    missing += [f"[{section}] {key}" for section, key, f in settings()
                if not str(f.metadata.get("doc", "")).strip()]
    assert not missing, f"config settings without a description: {missing}"


def test_every_config_key_is_in_the_generated_defaults_with_its_description_and_default():
    text = config_mod.defaults_toml()
    document = tomllib.loads(text)
    defaults = config_mod.Config().sections()
    lines = text.splitlines()
    for section, key, f in settings():
        assert key in document.get(section, {}), f"[{section}] {key} missing from defaults_toml()"
        assert document[section][key] == getattr(defaults[section], key), (section, key)
        # the description is the comment right above the key (in its own section)
        start = lines.index(f"[{section}]")
        at = next(i for i in range(start, len(lines)) if lines[i].startswith(f"{key} = "))
        assert lines[at - 1] == f"# {f.metadata['doc']}", (section, key, lines[at - 1])


def test_generated_defaults_are_a_valid_config():
    assert config_mod.loads(config_mod.defaults_toml()) == config_mod.Config()


def test_every_argument_of_every_command_has_help():
    missing = []
    for prog, parser in PARSERS.items():
        if not (parser.description or "").strip():
            missing.append(f"{prog}: description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{prog} {choice.dest}: help in the command list"
                            for choice in action._choices_actions
                            if not (choice.help or "").strip()]
            elif not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"add help text: {missing}"


def test_every_command_is_in_the_readme():
    commands = [prog for prog, parser in PARSERS.items() if parser.get_default("func")]
    absent = [prog for prog in commands if not re.search(re.escape(prog) + r"(?![\w-])", README)]
    assert not absent, f"README.md does not mention: {absent}"


def test_readme_exit_table_is_the_implemented_one():
    """The README's exit-status table lists exactly the statuses of terminal/cli/exits.py."""
    section = README.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = [int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)]
    assert rows == sorted(int(e) for e in Exit)


def test_top_level_help_shows_the_exit_table(capsys):
    from terminal.cli.main import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for status in Exit:
        assert re.search(rf"^  {int(status)} ", out, re.MULTILINE), (status, out)


def test_commands_use_the_exit_table_and_do_not_import_main():
    """Handlers return ``Exit`` members, never bare numbers, and no command imports
    terminal.cli.main (main imports every command: that would be a cycle)."""
    import ast

    cli = Path(__file__).resolve().parents[2] / "terminal" / "cli"
    problems = []
    for path in sorted([*cli.glob("commands/*.py"), cli / "demo.py"]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            imported = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                        [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if "terminal.cli.main" in imported:
                problems.append(f"{path.name}:{node.lineno} imports terminal.cli.main")
            if (isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                    and type(node.value.value) is int):
                problems.append(f"{path.name}:{node.lineno} returns {node.value.value}")
            if isinstance(node, ast.IfExp) and any(
                    isinstance(v, ast.Constant) and type(v.value) is int
                    for v in (node.body, node.orelse)):
                problems.append(f"{path.name}:{node.lineno} picks a bare number")
    assert not problems, problems


