"""The pieces of ``tools/build-deb`` that can go wrong quietly, on small real trees.

Building the whole package takes minutes (``tools/prove-deb`` does it, opt-in); these check the
path rewriting a relocated venv depends on, the shebang blanking, the maintainer scripts' syntax
under the shell dpkg runs them with, the man page, and that the units start what the package ships.
"""

from __future__ import annotations

import configparser
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def load_build_deb():
    loader = importlib.machinery.SourceFileLoader("build_deb", str(REPO / "tools" / "build-deb"))
    spec = importlib.util.spec_from_loader("build_deb", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


bd = load_build_deb()


def fake_venv(stage: Path) -> Path:
    venv = stage / bd.PREFIX.lstrip("/")
    (venv / "bin").mkdir(parents=True)
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "pkg" / "__pycache__").mkdir(parents=True)
    (venv / "bin" / "scanpoint").write_text(f"#!{venv}/bin/python3\nimport sys\n")
    (venv / "bin" / "scanpoint").chmod(0o755)
    (venv / "bin" / "activate").write_text(f'VIRTUAL_ENV="{venv}"\nexport VIRTUAL_ENV\n')
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\ncommand = /usr/bin/python3 -m venv {venv}\n")
    (site / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0compiled")
    return venv


def test_relocate_points_scripts_at_the_installed_path(tmp_path):
    stage = tmp_path / "root"
    venv = fake_venv(stage)
    bd.relocate(stage, venv)
    assert (venv / "bin" / "scanpoint").read_text().startswith(f"#!{bd.PREFIX}/bin/python3\n")
    assert f'VIRTUAL_ENV="{bd.PREFIX}"' in (venv / "bin" / "activate").read_text()
    assert str(stage) not in (venv / "pyvenv.cfg").read_text()
    assert os.access(venv / "bin" / "scanpoint", os.X_OK)
    assert not list(venv.rglob("__pycache__"))          # byte-code is made by postinst instead


def test_relocate_refuses_a_staging_path_it_cannot_rewrite(tmp_path):
    stage = tmp_path / "root"
    venv = fake_venv(stage)
    (venv / "lib" / "blob.so").write_bytes(b"\x7fELF\0" + str(venv).encode())
    with pytest.raises(bd.BuildError, match="binary file holds the staging path"):
        bd.relocate(stage, venv)
    (venv / "lib" / "blob.so").unlink()
    (venv / "lib" / "link").symlink_to(venv / "bin" / "scanpoint")
    with pytest.raises(bd.BuildError, match="symlink into the staging tree"):
        bd.relocate(stage, venv)


def test_shebangs_of_imported_modules_are_blanked_keeping_line_numbers(tmp_path):
    venv = fake_venv(tmp_path / "root")
    site = next(venv.glob("lib/python3*/site-packages"))
    module = site / "pkg" / "tool.py"
    module.write_text("#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nX = 1\n")
    script = site / "pkg" / "run.py"
    script.write_text("#!/usr/bin/env python\nprint(1)\n")
    script.chmod(0o755)
    assert bd.quiet_shebangs(venv) == 1
    lines = module.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("# ") and lines[1:] == ["# -*- coding: utf-8 -*-", "X = 1"]
    assert script.read_text().startswith("#!/usr/bin/env python")   # executable: left alone
    compile(module.read_text(), str(module), "exec")


def test_gz_is_reproducible():
    assert bd.gz(b"changelog") == bd.gz(b"changelog")
    import gzip
    assert gzip.decompress(bd.gz(b"changelog")) == b"changelog"


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm"])
def test_maintainer_scripts_parse_under_the_system_shell(script):
    path = REPO / "packaging" / "deb" / script
    assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/bin/sh\n")
    shells = [s for s in ("/bin/sh", shutil.which("dash")) if s]
    for shell in shells:
        res = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, (shell, res.stderr)


def test_purge_alone_removes_the_state():
    postrm = (REPO / "packaging" / "deb" / "postrm").read_text()
    purge = postrm.split('if [ "$1" = "purge" ]; then', 1)
    assert len(purge) == 2 and "rm -rf /var/lib/scanpoint" in purge[1]
    assert postrm.count("/var/lib/scanpoint") == 2      # the comment and the purge branch only
    assert "/var/lib/scanpoint" not in (REPO / "packaging" / "deb" / "prerm").read_text()


def test_the_man_page_lists_every_command():
    res = subprocess.run([sys.executable, str(REPO / "packaging" / "deb" / "manpage.py"), "9.9-1",
                          "2030-01-01"], capture_output=True, text=True, cwd=REPO,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO),
                                                                          str(REPO / "hw-sim")])))
    assert res.returncode == 0, res.stderr
    page = res.stdout
    assert page.startswith('.TH SCANPOINT 1 "2030-01-01" "scanpoint 9.9-1"')
    for command in ("setup", "run", "sync", "status", "demo", "issuer init", "audit export"):
        assert f"\\fBscanpoint {command.replace('-', chr(92) + '-')}" in page, command
    from terminal.cli.exits import Exit

    status = page.split(".SH EXIT STATUS\n", 1)[1].split(".SH ", 1)[0]
    assert [int(code) for code in re.findall(r"^\\fB(\d+)\\fR$", status, re.MULTILINE)] == \
        sorted(int(e) for e in Exit)


def test_the_units_start_the_packaged_program():
    for name in bd.UNITS:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read(REPO / "systemd" / name)
        if name.endswith(".service"):
            for key in ("ExecStart", "ExecCondition"):
                if key in cp["Service"]:
                    assert cp["Service"][key].startswith(f"{bd.PREFIX}/bin/scanpoint "), (name, key)
    cond = configparser.ConfigParser(strict=False, interpolation=None)
    cond.read(REPO / "systemd" / "scanpoint-sync.service")
    assert "setup --check" in cond["Service"]["ExecCondition"]
