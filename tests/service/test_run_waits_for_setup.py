"""``scanpoint run`` on a terminal not set up yet (the packaged config): it waits, READY with one
STATUS line saying what to run, instead of exiting into a restart loop, and starts scanning by
itself once a root key is written. A real process under a real notify socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from terminal.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def start(tmp_path: Path, cfg: Path) -> tuple[subprocess.Popen, socket.socket]:
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="4000000",
               PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "hw-sim")]))
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--config", str(cfg)],
                            env=env, stderr=subprocess.PIPE, text=True)
    return proc, sock


def messages_until(sock: socket.socket, done, limit: float = 30) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not done(got):
        got.append(sock.recv(4096).decode())
    return got


def test_waits_for_a_root_key_then_starts(tmp_path, capsys):
    cfg = tmp_path / "scanpoint.toml"
    base = '[terminal]\nstate_dir = "state"\nhardware = "sim"\n'
    cfg.write_text(base)
    proc, sock = start(tmp_path, cfg)
    try:
        waiting = messages_until(sock, lambda m: m.count("WATCHDOG=1") >= 2)
        assert waiting[0].startswith("READY=1\nSTATUS=waiting for setup")
        assert "scanpoint setup --source URL --root-key HEX" in waiting[0]
        assert sum(m.startswith("READY=1") for m in waiting) == 1     # one status line, kept
        assert proc.poll() is None

        issuer = tmp_path / "issuer"
        assert main(["issuer", "init", str(issuer)]) == 0
        capsys.readouterr()
        key = (issuer / "root.pub").read_text().strip()
        cfg.write_text(base + f'\n[trust]\nroot_key = "{key}"\n')
        started = messages_until(sock, lambda m: any(x.startswith("READY=1") for x in m))
        ready = [m for m in started if m.startswith("READY=1")]
        assert ready and "waiting" not in ready[0], started
        assert (tmp_path / "state" / "status.json").is_file()      # the real service runs
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        sock.close()
    err = proc.stderr.read()
    assert code == 0, err
    assert err.count("event=waiting_for_setup") == 1 and "Traceback" not in err


def test_stopping_while_waiting_is_clean(tmp_path):
    cfg = tmp_path / "scanpoint.toml"
    cfg.write_text('[terminal]\nstate_dir = "state"\nhardware = "sim"\n')
    proc, sock = start(tmp_path, cfg)
    try:
        assert messages_until(sock, lambda m: bool(m))[0].startswith("READY=1")
        cfg.write_text("[terminal]\nhardware = 'camera'\n")       # mid-edit: invalid
        invalid = messages_until(sock, lambda m: any(x.startswith("READY=1") for x in m))
        assert any("waiting for a valid config" in m and "hardware" in m for m in invalid)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        sock.close()
    err = proc.stderr.read()
    assert code == 0 and "Traceback" not in err
    assert not (tmp_path / "state" / "status.json").exists()      # the scanner never started
