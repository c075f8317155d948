"""The sync systemd units: network yes, devices no, hardened, run by a timer."""

from __future__ import annotations

import configparser
from pathlib import Path

UNITS = Path(__file__).resolve().parents[2] / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(UNITS / name)
    return cp


def test_service_has_network_but_no_devices():
    svc = unit("scanpoint-sync.service")["Service"]
    assert "sync --once --config" in svc["ExecStart"]
    assert svc["PrivateDevices"] == "yes" and svc["DevicePolicy"] == "closed"
    assert "AF_INET" in svc["RestrictAddressFamilies"]
    assert "PrivateNetwork" not in svc
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables"):
        assert svc[key] == "yes"
    assert svc["ProtectSystem"] == "strict" and svc["CapabilityBoundingSet"] == ""
    assert unit("scanpoint-sync.service")["Unit"]["After"].startswith("network-online.target")


def test_timer_runs_the_service_with_jitter():
    t = unit("scanpoint-sync.timer")["Timer"]
    assert t["Unit"] == "scanpoint-sync.service"
    assert t["OnBootSec"] and t["OnUnitActiveSec"] and t["RandomizedDelaySec"]


def test_sync_and_scanner_units_use_the_same_venv_and_config():
    """The sync must write the lists the scanner reads: same scanpoint install, same config file."""
    def program_and_config(name):
        words = unit(name)["Service"]["ExecStart"].split()
        return words[0].rsplit("/", 1)[0], words[words.index("--config") + 1]

    assert program_and_config("scanpoint-sync.service") == program_and_config("scanpoint.service")
    assert program_and_config("scanpoint.service") == ("/opt/scanpoint/venv/bin",
                                                       "/etc/scanpoint/scanpoint.toml")
