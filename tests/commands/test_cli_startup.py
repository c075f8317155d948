"""What a one-shot command loads: only its own command module, only the format its code needs,
and no SM2 comb table it would use once. Checked in fresh interpreters (module sets, not time)."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import terminal.cli.commands
from terminal.cli.main import build_parser, command_names
from terminal.formats import dispatch

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(m.name for m in pkgutil.iter_modules(terminal.cli.commands.__path__))


def top_level_commands(module_name: str) -> set[str]:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    issuer = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"terminal.cli.commands.{module_name}").register(commands, issuer)
    return set(commands.choices)


def test_each_top_level_command_lives_in_the_module_of_its_name():
    for name in MODULES:
        added = top_level_commands(name)
        assert added <= {name}, f"{name}.py adds {added}: the lazy parser would not find them"
        if name not in ("issuer", "publish"):       # these two add `issuer` subcommands only
            assert added == {name}


@pytest.mark.parametrize("argv,expected", [
    (["verify", "--text", "x"], ["verify"]),
    (["--log-level", "DEBUG", "decode", "a.png"], ["decode"]),
    (["--log-level=INFO", "status"], ["status"]),
    (["issuer", "init", "demo"], MODULES),
    (["--help"], MODULES),
    ([], MODULES),
    (["no-such-command"], MODULES),
])
def test_only_the_named_command_module_is_imported(argv, expected):
    assert command_names(argv) == expected


def test_the_full_parser_still_lists_every_command():
    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(choices) == {m for m in MODULES if m != "publish"}


def test_format_prefixes_listed_for_lazy_import_match_the_modules():
    for name, prefixes in dispatch.PREFIXES.items():
        module = importlib.import_module(f"terminal.formats.{name}")
        assert name == module.NAME and tuple(prefixes) == tuple(module.PREFIXES)
    assert dispatch.detect("HC1:ABC").NAME == "dcc"
    assert dispatch.detect("SP1:ABC").NAME == "native"
    assert dispatch.detect("XYZ:ABC") is None


def test_verify_text_loads_no_other_command_no_dcc_stack_and_builds_no_table(tmp_path, capsys):
    from terminal.cli.main import main

    demo = tmp_path / "issuer"
    at = str(int(time.time()))
    assert main(["issuer", "init", str(demo)]) == 0      # keys, lists, a synced terminal config
    capsys.readouterr()
    assert main(["issuer", "issue", str(demo), "--type", "health", "--status", "green", "--name",
                 "Test", "--holder-id", "X1", "--at", at]) == 0
    text = capsys.readouterr().out.strip().splitlines()[0]
    cfg = demo / "terminal.toml"
    code = (
        "import sys, json\n"
        "from terminal.cli.main import main\n"
        "status = main(sys.argv[1:])\n"
        "from terminal.crypto import curve\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules),\n"
        "                  'g_table': curve.built_g_table() is not None}))\n")
    done = subprocess.run([sys.executable, "-c", code, "verify", "--config", str(cfg), "--at",
                           at, "--text", text],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 0                                   # PASS
    modules = set(report["modules"])
    others = {f"terminal.cli.commands.{m}" for m in MODULES} - {"terminal.cli.commands.verify"}
    assert not modules & others
    assert "terminal.formats.dcc" not in modules and "cryptography.x509" not in modules
    assert "terminal.daemon.service" not in modules
    assert report["g_table"] is False                              # no table for one check
