"""The ``[reader]`` section and the device factory: documented defaults, clear refusals at start,
real drivers on ``hardware = "pi"``, nothing loaded until devices are opened, and the standalone
virtual reader (``python -m hw_sim.reader``)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drivers.reader import SerialReader
from hw_sim.reader import VirtualReader
from terminal import config as config_mod
from terminal.clock import SystemClock
from terminal.daemon.devices import open_devices
from terminal.daemon.pipeline import Pipeline
from terminal.daemon.readers import ReaderSupervisor
from terminal.daemon.service import Service
from terminal.errors import ConfigError
from terminal.reasons import Decision, Reason
from terminal.result import Result
from tests.support.observers import Recorder

REPO = Path(__file__).resolve().parents[2]


def test_reader_defaults_are_documented_and_parse_back():
    text = config_mod.defaults_toml()
    assert "[reader]" in text and 'terminator = "cr"' in text and 'layout = "us"' in text
    config = config_mod.loads(text)
    assert config.reader.url == "" and config.reader.kind == ""
    assert config.reader.debounce_ms == 1500 and config.reader.strip_aim is True


@pytest.mark.parametrize("toml,message", [
    ('[reader]\nlayout = "de"', "only the US layout"),
    ('[reader]\nlayout = "fr"', "keyboard country to USA"),
    ('[reader]\nterminator = "etx"', "terminator must be one of cr, lf, crlf, timeout"),
    ('[reader]\ngap_ms = 0', "gap_ms"),
    ('[reader]\nretry_max_s = 0.1', "retry_max_s"),
    ('[reader]\nspeed = 9600', "unknown key(s) speed in [reader]"),
])
def test_bad_reader_settings_are_refused_at_load(toml, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_mod.loads(toml)


def test_kind_follows_the_url():
    assert config_mod.loads('[reader]\nurl = "/dev/ttyACM0"').reader.kind == "serial"
    assert config_mod.loads('[reader]\nurl = "evdev:/dev/input/event3"').reader.kind == "keyboard"


def test_no_camera_and_no_reader_is_refused_at_start(tmp_path):
    config = config_mod.loads(f'[terminal]\nstate_dir = "{tmp_path}"\n[camera]\nsource = "none"')
    with pytest.raises(ConfigError, match="needs a code reader"):
        open_devices(config)


def test_virtual_reader_needs_simulated_hardware(tmp_path):
    config = config_mod.loads(f'[terminal]\nhardware = "pi"\nstate_dir = "{tmp_path}"\n'
                              '[reader]\nurl = "sim"\n[signals]\npin_factory = "mock"')
    with pytest.raises(ConfigError, match="hardware = 'sim'"):
        open_devices(config)


def test_terminal_loads_no_reader_driver_until_devices_are_opened():
    code = ("import sys, terminal.daemon.compose, terminal.daemon.readers, terminal.config; "
            "bad = [m for m in ('evdev', 'serial', 'drivers.reader', 'drivers.readerframing', "
            "'hw_sim') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


class Refuse:
    def verify(self, text, now):
        return Result(Decision.DENY, Reason.SIGNATURE_INVALID)




def test_pi_hardware_reader_only_terminal_uses_the_real_serial_driver(tmp_path):
    with VirtualReader(tmp_path / "ttyACM0") as virtual:
        config = config_mod.loads(
            f'[terminal]\nhardware = "pi"\nstate_dir = "{tmp_path}"\n[camera]\nsource = "none"\n'
            f'[reader]\nurl = "{virtual.port}"\n[signals]\npin_factory = "mock"\n')
        devices = open_devices(config)
        try:
            assert devices.open_camera is None and devices.reader_name == virtual.port
            seen = Recorder()
            pipeline = Pipeline(devices.decoder, Refuse(), devices.signals, clock=SystemClock(),
                                observers=[seen])
            supervisor = ReaderSupervisor.from_config(config.reader, devices.open_reader,
                                                      pipeline, clock=SystemClock())
            service = Service(pipeline, None, devices.signals, clock=SystemClock(),
                              state_dir=tmp_path, reader=supervisor)
            stop = threading.Event()
            thread = threading.Thread(target=service.run, daemon=True, kwargs={
                "install_signal_handlers": False, "until": stop.is_set})
            thread.start()
            deadline = time.monotonic() + 20
            while supervisor.state != "ok" and time.monotonic() < deadline:
                time.sleep(0.01)
            virtual.scan("]Q1SP1:NOT-A-REAL-CREDENTIAL")
            while not seen.events and time.monotonic() < deadline:
                time.sleep(0.01)
            stop.set()
            thread.join(timeout=20)
            assert [(e.result.reason, e.source) for e in seen.events] == \
                [(Reason.SIGNATURE_INVALID, "reader")]
            assert isinstance(supervisor.status()["url"], str) and supervisor.kind == "serial"
        finally:
            devices.close()


def test_standalone_virtual_reader_prints_its_path_and_scans_each_line(tmp_path):
    env_path = [str(REPO), str(REPO / "hw-sim")]
    proc = subprocess.Popen([sys.executable, "-m", "hw_sim.reader", "--aim", "]Q1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": ":".join(env_path), "PATH": "/usr/bin:/bin"})
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        assert line.startswith("virtual reader on /dev/pts/"), line
        port = line.split()[3].rstrip(";")
        reader = SerialReader.open(port)
        try:
            proc.stdin.write("SP1:TYPED-BY-HAND\n")
            proc.stdin.flush()
            codes: list[str] = []
            deadline = time.monotonic() + 20
            while not codes and time.monotonic() < deadline:
                codes = [c.text for c in reader.read(0.05)]
            assert codes == ["SP1:TYPED-BY-HAND"]
        finally:
            reader.close()
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
