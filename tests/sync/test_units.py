"""The sync systemd units: network yes, devices no, hardened, run by a timer."""

from __future__ import annotations

from tests.support.systemd import last, unit


def test_service_has_network_but_no_devices():
    svc = unit("scanpoint-sync.service")["Service"]
    assert "sync --once --config" in last(svc, "ExecStart")
    assert last(svc, "PrivateDevices") == "yes" and last(svc, "DevicePolicy") == "closed"
    assert "AF_INET" in last(svc, "RestrictAddressFamilies").split()
    assert "PrivateNetwork" not in svc
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables"):
        assert last(svc, key) == "yes", key
    assert last(svc, "ProtectSystem") == "strict" and last(svc, "CapabilityBoundingSet") == ""
    assert last(unit("scanpoint-sync.service")["Unit"], "After").startswith("network-online.target")


def test_timer_runs_the_service_with_jitter():
    t = unit("scanpoint-sync.timer")["Timer"]
    assert last(t, "Unit") == "scanpoint-sync.service"
    assert last(t, "OnBootSec") and last(t, "OnUnitActiveSec") and last(t, "RandomizedDelaySec")


def test_sync_and_scanner_units_use_the_same_venv_and_config():
    """The sync must write the lists the scanner reads: same scanpoint install, same config file."""
    def program_and_config(name):
        words = last(unit(name)["Service"], "ExecStart").split()
        return words[0].rsplit("/", 1)[0], words[words.index("--config") + 1]

    assert program_and_config("scanpoint-sync.service") == program_and_config("scanpoint.service")
    assert program_and_config("scanpoint.service") == ("/opt/scanpoint/venv/bin",
                                                       "/etc/scanpoint/scanpoint.toml")
