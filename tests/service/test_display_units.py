"""The staff screen's systemd units: the display reads only (no devices, read-only state,
loopback), the kiosk runs cage + Chromium on the local page, and the scanner keeps only AF_UNIX."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.systemd import UNITS, unit

SYSTEMD = UNITS


def service(name: str) -> dict[str, list[str]]:
    """The unit's [Service] settings (key -> every value)."""
    return unit(name)["Service"]


def last(unit: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    return unit[key][-1] if key in unit else default


def test_display_unit_has_no_devices_read_only_state_and_loopback_only():
    unit = service("scanpoint-display.service")
    assert "scanpoint display --config" in last(unit, "ExecStart")
    assert last(unit, "User") not in (None, "root", "scanpoint")     # its own user
    assert last(unit, "PrivateDevices") == "yes" and last(unit, "DevicePolicy") == "closed"
    assert "DeviceAllow" not in unit
    assert not set((last(unit, "SupplementaryGroups") or "").split()) & {"video", "gpio", "dialout"}
    assert last(unit, "ProtectSystem") == "strict"
    for writable in ("ReadWritePaths", "StateDirectory", "RuntimeDirectory"):
        assert writable not in unit, writable
    assert last(unit, "IPAddressDeny") == "any" and last(unit, "IPAddressAllow") == "localhost"
    assert set(last(unit, "RestrictAddressFamilies").split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert last(unit, "CapabilityBoundingSet") == ""


def test_kiosk_unit_runs_cage_and_chromium_on_the_local_page():
    unit = service("scanpoint-kiosk.service")
    command = " ".join(unit["ExecStart"])
    assert re.search(r"/usr/bin/cage .*-- /usr/bin/chromium --kiosk", command)
    assert "http://127.0.0.1:8080/" in command and "--disable-background-networking" in command
    assert last(unit, "User") not in (None, "root")
    assert last(unit, "PAMName") and last(unit, "TTYPath") == "/dev/tty1"


def test_scanner_unit_keeps_only_af_unix_and_a_runtime_folder_for_the_socket():
    unit = service("scanpoint.service")
    assert last(unit, "RestrictAddressFamilies").split() == ["AF_UNIX"]
    assert last(unit, "PrivateNetwork") == "yes"
    assert last(unit, "RuntimeDirectory") == "scanpoint"


@pytest.mark.parametrize("name, limit", [("scanpoint-display.service", 2.0),
                                         ("scanpoint.service", 1.0)])
def test_systemd_analyze_security_exposure(name, limit):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (Debian package 'systemd')")
    proc = subprocess.run([tool, "security", "--offline=yes", name], capture_output=True,
                          text=True, timeout=60, cwd=SYSTEMD)
    output = proc.stdout + proc.stderr
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", output)
    if match is None and "--offline" in output and "unrecognized" in output:
        pytest.skip("this systemd-analyze has no --offline mode (needs systemd >= 250)")
    assert match, output[-2000:]
    assert float(match.group(1)) <= limit, output[-3000:]
