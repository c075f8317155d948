"""sd_notify over a real AF_UNIX datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket

from terminal.daemon.sdnotify import Notifier


def received(sock) -> dict[str, str]:
    sock.settimeout(20)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_ready_status_watchdog_stopping_arrive_as_datagrams(notify_socket):
    with Notifier({"NOTIFY_SOCKET": notify_socket.path}) as notifier:
        assert notifier.enabled
        assert notifier.ready("scanning")
        assert notify_socket.fields() == {"READY": "1", "STATUS": "scanning"}
        assert notifier.watchdog()
        assert notify_socket.fields() == {"WATCHDOG": "1"}
        assert notifier.status("camera fault")
        assert notify_socket.fields() == {"STATUS": "camera fault"}
        assert notifier.stopping()
        assert notify_socket.fields() == {"STOPPING": "1"}


def test_newline_in_a_value_cannot_forge_a_field(notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.path})
    notifier.status("bad\nREADY=1")
    assert notify_socket.fields() == {"STATUS": "bad READY=1"}
    notifier.close()


def test_abstract_namespace_socket():
    name = f"scanpoint-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.watchdog()
        assert received(sock) == {"WATCHDOG": "1"}
        notifier.close()
    finally:
        sock.close()


def test_without_systemd_everything_is_a_quiet_no_op():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_missing_socket_is_counted_not_raised(tmp_path):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.watchdog() is False
    assert notifier.errors == 1


def test_watchdog_interval_only_for_this_process():
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 20.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 20.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "junk"}).watchdog_interval is None
