"""A systemd notify socket to listen on: the AF_UNIX datagram socket ``NOTIFY_SOCKET`` names."""

from __future__ import annotations

import socket
from pathlib import Path


class NotifyListener:
    """Bound at ``path``; :meth:`receive` waits for one message, :meth:`drain` takes what is there."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def receive(self, timeout: float = 20.0) -> str:
        """The next datagram, waiting at most ``timeout`` s (socket.timeout if none comes)."""
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def fields(self, timeout: float = 20.0) -> dict[str, str]:
        """The next datagram as ``KEY=value`` fields."""
        return dict(line.split("=", 1) for line in self.receive(timeout).split("\n"))

    def drain(self) -> list[str]:
        """Every datagram already waiting, without blocking."""
        self.sock.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return messages

    def close(self) -> None:
        self.sock.close()
