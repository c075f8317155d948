"""The systemd notification protocol (``sd_notify``), spoken directly over ``$NOTIFY_SOCKET``.

The protocol is one ``KEY=VALUE`` line per setting sent as a single datagram to an AF_UNIX socket
(path, or abstract namespace when it starts with ``@``). It is a dozen lines, so we implement it
here rather than depend on a C binding (python-systemd needs libsystemd headers to build, which a
Pi image need not have). Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("scanpoint.sdnotify")


class Notifier:
    """Sends state changes and watchdog pings to the service manager, if there is one.

    ``env`` defaults to :data:`os.environ`; tests pass their own mapping.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog = _watchdog_interval(env)
        self._sock: socket.socket | None = None
        self.errors = 0

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (``$NOTIFY_SOCKET`` is set)."""
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """``WatchdogSec`` in seconds when systemd enabled the watchdog for this process, else None."""
        return self._watchdog

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` fields (e.g. ``READY=1``, ``STATUS=...``); False if it could not be sent.

        Never raises: losing a notification must not stop the terminal (systemd will notice a
        missing ``READY``/``WATCHDOG`` by itself).
        """
        if self._address is None or not fields:
            return False
        message = "\n".join(f"{key}={_clean(value)}" for key, value in fields.items()).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message, self._address)
            return True
        except OSError as exc:
            self.errors += 1
            if self.errors <= 3 or self.errors % 100 == 0:
                log.warning("sd_notify failed error=%r count=%d", exc, self.errors)
            return False

    def ready(self, status: str = "") -> bool:
        """Tell systemd start-up is complete (``Type=notify``)."""
        return self.notify(READY=1, STATUS=status) if status else self.notify(READY=1)

    def status(self, text: str) -> bool:
        """Set the one-line status ``systemctl status`` shows."""
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        """Ping the watchdog. Call only after a real health check of the frame loop."""
        return self.notify(WATCHDOG=1)

    def stopping(self, status: str = "") -> bool:
        """Tell systemd a clean stop has begun."""
        return self.notify(STOPPING=1, STATUS=status) if status else self.notify(STOPPING=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()   # abstract namespace socket
    if value.startswith("/"):
        return value
    log.warning("ignoring NOTIFY_SOCKET that is neither a path nor abstract value=%r", value)
    return None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None   # meant for another process (e.g. our parent)
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


def _clean(value: str | int) -> str:
    # One field per line: a newline inside a value would forge another field.
    return str(value).replace("\n", " ").replace("\r", " ")
