"""The scanner's systemd unit: key settings parsed from the file, and systemd's own security score."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.support.systemd import UNITS, last, parse_unit

UNIT = UNITS / "scanpoint.service"


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(UNIT)["Service"]


def test_notify_watchdog_and_restart(service):
    assert last(service, "Type") == "notify"
    assert last(service, "NotifyAccess") == "main"
    assert 5 <= int(last(service, "WatchdogSec")) <= 60
    assert last(service, "Restart") == "on-failure"
    assert "scanpoint run --config" in last(service, "ExecStart")


def test_no_network_at_all(service):
    assert last(service, "PrivateNetwork") == "yes"
    assert last(service, "IPAddressDeny") == "any"
    # AF_UNIX only: needed for sd_notify, nothing that reaches a network
    assert last(service, "RestrictAddressFamilies").split() == ["AF_UNIX"]


def test_devices_closed_list_with_camera_gpio_serial(service):
    assert last(service, "DevicePolicy") == "closed"
    allowed = " ".join(service["DeviceAllow"])
    for device in ("char-video4linux", "char-media", "/dev/dma_heap", "char-gpiochip",
                   "char-ttyUSB", "char-ttyAMA"):
        assert device in allowed, f"DeviceAllow lacks {device}"
    assert set(last(service, "SupplementaryGroups").split()) >= {"video", "gpio", "dialout"}
    # both would cut access to the very devices the scanner needs
    assert service.get("PrivateDevices", ["no"])[-1] == "no"
    assert service.get("PrivateUsers", ["no"])[-1] == "no"


def test_device_list_is_exactly_camera_gpio_serial_and_the_reader(service):
    """Every device class the scanner may open, and nothing more: a 2D code reader adds only
    read access to input devices (keyboard wedge); serial readers use the printer's tty classes."""
    assert sorted(service["DeviceAllow"]) == sorted([
        "char-video4linux rw", "char-media rw", "/dev/dma_heap/linux,cma rw",
        "/dev/dma_heap/system rw", "char-gpiochip rw", "/dev/gpiomem rw", "/dev/gpiomem0 rw",
        "char-ttyUSB rw", "char-ttyACM rw", "char-ttyAMA rw", "char-ttyS rw",
        "char-input r"])
    # the input class is read-only, and the service user is not in "input" (every keyboard):
    # the README's udev rule hands it the reader's node alone
    assert "input" not in last(service, "SupplementaryGroups").split()


def test_hardening(service):
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "MemoryDenyWriteExecute": "yes",
                       "RestrictNamespaces": "yes", "CapabilityBoundingSet": "",
                       "SystemCallArchitectures": "native"}.items():
        assert last(service, key) == value, key
    assert last(service, "User") != "root"
    assert last(service, "StateDirectory") == "scanpoint"


def test_systemd_analyze_security_exposure_at_most_1():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (Debian package 'systemd'); unit-file checks above still ran")
    proc = subprocess.run([tool, "security", "--offline=yes", str(UNIT)], capture_output=True,
                          text=True, timeout=60, cwd=UNIT.parent)
    output = proc.stdout + proc.stderr
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", output)
    if match is None and "--offline" in output and "unrecognized" in output:
        pytest.skip("this systemd-analyze has no --offline mode (needs systemd >= 250)")
    assert match, output[-2000:]
    assert float(match.group(1)) <= 1.0, output[-3000:]
