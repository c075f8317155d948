"""The pieces of ``tools/build-deb`` that can go wrong quietly, on small real trees.

Building the whole package takes minutes (``tools/prove-deb`` does it, opt-in); these check the
path rewriting a relocated venv depends on, the shebang blanking, the maintainer scripts' syntax
under the shell dpkg runs them with, the man page, and that the units start what the package ships.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.systemd import UNITS, parse_unit

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


def test_the_venv_gets_every_dependency_but_those_the_os_provides():
    assert bd.requirement_name("Zxing_Cpp>=2.2") == "zxing-cpp"
    assert bd.requirement_name("evdev>=1.6; sys_platform == 'linux'") == "evdev"
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [bd.requirement_name(d) for d in bd.venv_requirements()]
    assert "evdev" not in names and "numpy" in names         # numpy resolves opencv, then goes
    assert sorted(names + ["evdev"]) == sorted(bd.requirement_name(d) for d in deps)
    assert all(f"{pkg} " in " ".join(bd.BASE_DEPENDS) for pkg in ("python3-numpy", "python3-evdev"))


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
    code = "\n".join(line for line in postrm.splitlines() if not line.lstrip().startswith("#"))
    before, purge = code.split('if [ "$1" = "purge" ]; then', 1)
    purge = purge.split("\nfi\n", 1)[0]
    assert "rm -rf /var/lib/scanpoint /var/lib/scanpoint-kiosk" in purge
    assert "/var/lib/" not in before and "/var/lib/" not in code.replace(purge, "")
    assert "/var/lib/" not in (REPO / "packaging" / "deb" / "prerm").read_text()
    assert "deluser" not in postrm                  # system users stay, as Debian keeps them


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


def unit(name: str) -> dict[str, dict[str, str]]:
    """The repository's unit ``name``: section -> key -> the value systemd uses (the last)."""
    return {section: {key: values[-1] for key, values in keys.items()}
            for section, keys in parse_unit(UNITS / name).items()}


def test_every_unit_in_systemd_is_shipped():
    assert sorted(p.name for p in (REPO / "systemd").iterdir()) == sorted(bd.UNITS)


def test_the_units_start_the_packaged_program():
    from terminal.config import LISTEN_DEFAULT

    for name in bd.UNITS:
        if not name.endswith(".service"):
            continue
        service = unit(name)["Service"]
        if name == "scanpoint-kiosk.service":      # cage + Chromium on the display's own page
            assert service["ExecStart"].startswith("/usr/bin/cage ")
            assert f"http://{LISTEN_DEFAULT}/" in service["ExecStart"]
            continue
        for key in ("ExecStart", "ExecCondition"):
            if key in service:
                assert service[key].startswith(f"{bd.PREFIX}/bin/scanpoint "), (name, key)
    assert "setup --check" in unit("scanpoint-sync.service")["Service"]["ExecCondition"]


def test_the_kiosk_pam_service_is_shipped_as_a_conffile():
    pam_service = unit("scanpoint-kiosk.service")["Service"]["PAMName"]
    assert f"etc/pam.d/{pam_service}" == bd.PAM_FILE
    lines = [line.split() for line in (REPO / "packaging" / "deb" / "pam-kiosk").read_text()
             .splitlines() if line.strip() and not line.startswith("#")]
    assert ["session", "required", "pam_systemd.so"] in lines     # a logind session: the seat
    assert {line[0] for line in lines} == {"auth", "account", "session"}


def run_postinst(tmp_path: Path, *args: str, installed: bool = False,
                 admin_enabled: tuple[str, ...] = ()) -> list[str]:
    """Run postinst under dash with the system tools it calls replaced by ones that record the
    call: which users it makes and which units it enables, with nothing changed on this machine.
    ``installed``: deb-systemd-helper has seen the units before (an upgrade);
    ``admin_enabled``: units an admin enabled by hand."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls"
    log.write_text("")
    recorder = f'#!/bin/sh\necho "$(basename "$0") $*" >> {log}\n'
    for tool in ("adduser", "addgroup", "install", "systemctl", "deb-systemd-invoke"):
        (bin_dir / tool).write_text(recorder)
    (bin_dir / "getent").write_text(recorder + "exit 2\n")          # no such user or group yet
    (bin_dir / "deb-systemd-helper").write_text(recorder + """
[ "$1" = --quiet ] && shift
case "$1" in
  was-enabled)     # true for a unit never seen; later, whether it is enabled now
    [ "$INSTALLED" = true ] || exit 0
    case " $ADMIN_ENABLED " in *" $2 "*) exit 0 ;; esac
    exit 1 ;;
  debian-installed) [ "$INSTALLED" = true ] ;;
esac
""")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "INSTALLED": str(installed).lower(),
           "ADMIN_ENABLED": " ".join(admin_enabled)}
    shell = shutil.which("dash") or "/bin/sh"
    res = subprocess.run([shell, str(REPO / "packaging" / "deb" / "postinst"), *args], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return log.read_text().splitlines()


def users_of_the_units() -> set[str]:
    return {unit(name)["Service"]["User"] for name in bd.UNITS if name.endswith(".service")}


def test_postinst_makes_every_unit_user_and_enables_all_but_the_kiosk(tmp_path):
    calls = run_postinst(tmp_path, "configure")
    made = {call.split()[-1] for call in calls if call.startswith("adduser --system")}
    assert made == users_of_the_units() == {"scanpoint", "scanpoint-display", "scanpoint-kiosk"}
    assert "adduser --quiet scanpoint-display scanpoint" in calls      # reads the state folder
    memberships = [c for c in calls if c.startswith("adduser --quiet scanpoint-kiosk")]
    assert memberships == []                                           # logind gives it the seat
    enabled = {c.split()[-1] for c in calls if c.startswith("deb-systemd-helper enable")}
    assert enabled == {"scanpoint.service", "scanpoint-sync.timer", "scanpoint-display.service"}
    assert "deb-systemd-helper update-state scanpoint-kiosk.service" in calls


def test_an_upgrade_keeps_a_kiosk_the_admin_enabled_and_enables_nothing_else(tmp_path):
    calls = run_postinst(tmp_path, "configure", "0.1.0-1", installed=True,
                         admin_enabled=("scanpoint-kiosk.service",))
    enabled = {c.split()[-1] for c in calls if c.startswith("deb-systemd-helper enable")}
    assert enabled == {"scanpoint-kiosk.service"}       # the others: the admin's choice kept
    calls = run_postinst(tmp_path, "configure", "0.1.0-1", installed=True)
    assert not [c for c in calls if c.startswith("deb-systemd-helper enable")]


def test_remove_masks_and_purge_forgets_every_unit_postinst_knows():
    postinst = (REPO / "packaging" / "deb" / "postinst").read_text()
    postrm = (REPO / "packaging" / "deb" / "postrm").read_text()

    def words(script: str, name: str) -> set[str]:
        return set(re.search(rf'^{name}="([^"]*)"', script, re.MULTILINE).group(1).split())

    known = words(postinst, "ENABLED") | words(postinst, "NOT_ENABLED")
    assert words(postrm, "UNITS") == known
    # every unit shipped is known, but the sync service, which its timer starts
    assert known == set(bd.UNITS) - {"scanpoint-sync.service"}
