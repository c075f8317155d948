"""The device factory: ``hardware = "pi"`` builds the real drivers (here with gpiozero's mock pin
factory and an OpenCV camera that is not there), ``"sim"`` the simulator; both lazily."""

from __future__ import annotations

import sys

import pytest

from terminal import config as config_mod
from terminal.clock import SystemClock
from terminal.daemon.compose import build_verifier
from terminal.daemon.devices import open_devices
from terminal.daemon.pipeline import Pipeline
from terminal.daemon.service import Service, read_status
from terminal.errors import ConfigError
from tests.support.configs import load_config


def test_terminal_imports_no_hardware_library_until_devices_are_opened():
    import subprocess
    code = ("import sys, terminal.cli.main, terminal.daemon.compose, terminal.daemon.devices, terminal.daemon.service; "
            "bad = [m for m in ('gpiozero', 'cv2', 'zxingcpp', 'pyzbar', 'picamera2', 'serial', "
            "'hw_sim', 'drivers.camera') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pi_hardware_with_missing_usb_camera_backs_off_and_reports(tmp_path):
    config = load_config(
        tmp_path, '[camera]\nsource = "opencv"\ndevice = 97\nretry_initial_s = 0.1\n'
        'retry_max_s = 0.2\n[signals]\npin_factory = "mock"\n', hardware="pi")
    devices = open_devices(config)
    pipeline = Pipeline(devices.decoder, build_verifier(config), devices.signals,
                        clock=SystemClock())
    service = Service(pipeline, devices.open_camera, devices.signals, clock=SystemClock(),
                      state_dir=tmp_path)
    try:
        service.start()
        for _ in range(30):
            service.iterate()
        status = read_status(tmp_path)
        assert status["state"] == "camera-fault"
        assert status["camera"]["failures"] >= 2
        assert "Camera" in status["camera"]["error"]
        assert devices.signals.last == "fault"
        from terminal.cli.commands.status import collect, format_text
        report = collect(config)        # what `scanpoint status` shows
        assert report["state"] == "camera-fault"
        assert "camera:     backoff — CameraMissing" in format_text(report)
    finally:
        service.shutdown()
        devices.close()


def test_pi_camera_source_must_be_a_real_camera_kind(tmp_path):
    config = config_mod.loads('[terminal]\nhardware = "pi"\n[camera]\nsource = "scene.json"\n'
                              '[signals]\npin_factory = "mock"\n')
    with pytest.raises(ConfigError, match="picamera2"):
        open_devices(config)


def test_bad_signal_pattern_in_config_is_a_config_error():
    config = config_mod.loads('[signals]\npatterns = { pass = { purple = [1.0] } }\n')
    with pytest.raises(ConfigError, match="purple"):
        open_devices(config)


def test_pi_auto_camera_on_a_pi_without_picamera2_falls_back_to_opencv(monkeypatch):
    """The "auto" choice is drivers.camera's: a Pi lacking picamera2 uses OpenCV (here device 97,
    absent), rather than trying picamera2 and failing every retry."""
    import drivers.camera
    from terminal.errors import CameraMissing
    if drivers.camera._have_picamera2():
        pytest.skip("picamera2 is installed here: the fallback cannot be shown")
    monkeypatch.setattr(drivers.camera, "on_raspberry_pi", lambda: True)   # as on a Pi
    config = config_mod.loads('[terminal]\nhardware = "pi"\n[camera]\nsource = "auto"\n'
                              'device = 97\n[signals]\npin_factory = "mock"\n')
    devices = open_devices(config)
    try:
        with pytest.raises(CameraMissing, match="cannot open camera 97"):
            devices.open_camera()
    finally:
        devices.close()
