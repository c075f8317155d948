"""The sync unit's hardening: systemd's own score, the boot id it passes in, and the timer."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from terminal.lists import fetch
from tests.support.systemd import UNITS, unit


def settings(name: str, section: str = "Service") -> dict[str, list[str]]:
    return unit(name)[section]


def test_sync_unit_scores_at_most_1():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (Debian package 'systemd')")
    proc = subprocess.run([tool, "security", "--offline=yes", "scanpoint-sync.service"],
                          capture_output=True, text=True, timeout=60, cwd=UNITS)
    output = proc.stdout + proc.stderr
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", output)
    if match is None and "--offline" in output and "unrecognized" in output:
        pytest.skip("this systemd-analyze has no --offline mode (needs systemd >= 250)")
    assert match, output[-2000:]
    assert float(match.group(1)) <= 1.0, output[-3000:]


def test_a_unit_that_hides_proc_sys_passes_the_boot_id_in():
    service = settings("scanpoint-sync.service")
    if service.get("ProcSubset", ["all"])[-1] == "pid":
        assert "SCANPOINT_BOOT_ID=%b" in " ".join(service.get("Environment", []))


def test_network_is_limited_to_what_a_fetch_needs():
    service = settings("scanpoint-sync.service")
    assert service["IPAddressDeny"][-1] == "any"
    assert service["RestrictAddressFamilies"][-1].split() == ["AF_INET", "AF_INET6"]
    assert service["UMask"][-1] == "0077"


def test_persistent_only_with_a_calendar_timer():
    timer = settings("scanpoint-sync.timer", "Timer")
    if timer.get("Persistent", ["false"])[-1] in ("true", "yes", "1"):
        assert timer.get("OnCalendar"), "Persistent= has no effect without OnCalendar="
    assert timer["OnBootSec"] and timer["OnUnitActiveSec"]


def test_a_refused_connection_names_the_addresses_to_allow():
    message = fetch.not_permitted("http://127.0.0.1:8080/lists/index.sl")
    assert "IPAddressAllow=127.0.0.1" in message and "systemctl edit scanpoint-sync" in message
