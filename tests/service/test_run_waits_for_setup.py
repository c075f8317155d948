"""``scanpoint run`` on a terminal not set up yet (the packaged config): it waits, READY with one
STATUS line saying what to run, instead of exiting into a restart loop, and starts scanning by
itself once a root key is written. A real process under a real notify socket."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from terminal.cli.main import main
from tests.support.notify import NotifyListener
from tests.support.programs import python_env


def start(cfg: Path, listener: NotifyListener) -> subprocess.Popen:
    """``scanpoint run`` as a real process, notifying ``listener`` as systemd's socket."""
    env = python_env(NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="4000000")
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen([sys.executable, "-m", "terminal", "run", "--config", str(cfg)],
                            env=env, stderr=subprocess.PIPE, text=True)


def messages_until(listener: NotifyListener, done, limit: float = 30) -> list[str]:
    """Notify messages until ``done(messages)`` holds (a deadline against a hung test only)."""
    got: list[str] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not done(got):
        got.append(listener.receive())
    return got


def test_waits_for_a_root_key_then_starts(tmp_path, notify_socket, capsys):
    cfg = tmp_path / "scanpoint.toml"
    base = '[terminal]\nstate_dir = "state"\nhardware = "sim"\n'
    cfg.write_text(base)
    proc = start(cfg, notify_socket)
    try:
        waiting = messages_until(notify_socket, lambda m: m.count("WATCHDOG=1") >= 2)
        assert waiting[0].startswith("READY=1\nSTATUS=waiting for setup")
        assert "scanpoint setup --source URL --root-key HEX" in waiting[0]
        assert sum(m.startswith("READY=1") for m in waiting) == 1     # one status line, kept
        assert proc.poll() is None

        issuer = tmp_path / "issuer"
        assert main(["issuer", "init", str(issuer)]) == 0
        capsys.readouterr()
        key = (issuer / "root.pub").read_text().strip()
        cfg.write_text(base + f'\n[trust]\nroot_key = "{key}"\n')
        started = messages_until(notify_socket, lambda m: any(x.startswith("READY=1") for x in m))
        ready = [m for m in started if m.startswith("READY=1")]
        assert ready and "waiting" not in ready[0], started
        assert (tmp_path / "state" / "status.json").is_file()      # the real service runs
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    err = proc.stderr.read()
    assert code == 0, err
    assert err.count("event=waiting_for_setup") == 1 and "Traceback" not in err


def test_stopping_while_waiting_is_clean(tmp_path, notify_socket):
    cfg = tmp_path / "scanpoint.toml"
    cfg.write_text('[terminal]\nstate_dir = "state"\nhardware = "sim"\n')
    proc = start(cfg, notify_socket)
    try:
        assert messages_until(notify_socket, lambda m: bool(m))[0].startswith("READY=1")
        cfg.write_text("[terminal]\nhardware = 'camera'\n")       # mid-edit: invalid
        invalid = messages_until(notify_socket, lambda m: any(x.startswith("READY=1") for x in m))
        assert any("waiting for a valid config" in m and "hardware" in m for m in invalid)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    err = proc.stderr.read()
    assert code == 0 and "Traceback" not in err
    assert not (tmp_path / "state" / "status.json").exists()      # the scanner never started
