"""The scanner's end of the event socket: publish decisions and status, never wait.

The scanner listens on a Unix ``SOCK_SEQPACKET`` socket in its runtime folder (one message per
document, no framing to get wrong). Screens connect; the scanner shuts the read direction of
every connection at once, so nothing a screen sends can ever reach it (a screen's send fails with
``EPIPE``). Every send is non-blocking: a screen that reads too slowly, or not at all, loses
that document (counted in ``dropped``) and the decision path goes on at once. New connections
are accepted, also without waiting, whenever there is something to publish — at least once a
second, with the status.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.display.events import STATUS, MessageError, Totals, decision_document, encode
from terminal.errors import ScanpointError
from terminal.interfaces import DecisionEvent

log = logging.getLogger("scanpoint.display.publisher")

_FLAGS = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL


class PublisherError(ScanpointError, OSError):
    """The event socket cannot be created (folder missing or not writable, path taken)."""


class Publisher:
    """Publishes to every connected screen (at most ``max_clients``); an :class:`Observer`.

    ``extra_status`` returns more JSON-safe status to send with the daemon's (the printer's last
    answer, for instance); it runs in the scanner's loop and must be quick.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock = SYSTEM, max_clients: int = 4,
                 extra_status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.path = Path(path)
        self.clock = clock
        self.max_clients = max_clients
        self.extra_status = extra_status
        self.totals = Totals()
        self.sent = 0            # documents delivered to one screen
        self.dropped = 0         # documents a screen was too slow for (its buffer was full)
        self.refused = 0         # connections beyond max_clients
        self.disconnected = 0    # screens that went away
        self._clients: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> Publisher:
        """Create the socket (replacing a stale one left by a killed scanner)."""
        try:
            self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            try:
                if stat.S_ISSOCK(self.path.lstat().st_mode):
                    self.path.unlink()
            except FileNotFoundError:
                pass
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                listener.bind(str(self.path))
                os.chmod(self.path, 0o660)       # the display's group may connect
                listener.listen(self.max_clients)
                listener.setblocking(False)
            except OSError:
                listener.close()
                raise
        except OSError as exc:
            raise PublisherError(f"cannot create the event socket {self.path}: {exc.strerror or exc}"
                                 " (check [display] socket and the folder's permissions)") from exc
        self._listener = listener
        log.info("event=publisher_started socket=%s", self.path)
        return self

    def close(self) -> None:
        """Close every connection and remove the socket file."""
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
                try:
                    self.path.unlink()
                except OSError:
                    pass

    def __enter__(self) -> Publisher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- publishing ----------------------------------------------------------------------------
    def on_decision(self, event: DecisionEvent) -> None:
        """Count the decision and send its document to every screen, without waiting."""
        with self._lock:
            self.totals.record_event(event)
            self._publish(encode(decision_document(event)))

    def publish_status(self, daemon: dict[str, Any]) -> None:
        """Send the daemon's status document (``Service.status()``) with the totals."""
        with self._lock:
            document: dict[str, Any] = {"kind": STATUS, "time": round(self.clock.time(), 3),
                                        "daemon": daemon, "totals": self.totals.document(),
                                        "publisher": self.counters()}
            if self.extra_status is not None:
                try:
                    document.update(self.extra_status())
                except Exception as exc:  # noqa: BLE001 - the status goes out without it
                    log.warning("event=status_extra_failed error=%r", exc)
            try:
                data = encode(document)
            except MessageError as exc:
                log.warning("event=status_not_published error=%s", exc)
                return
            self._publish(data)

    def counters(self) -> dict[str, int]:
        """Delivery counters (for the status and the benchmark)."""
        return {"clients": len(self._clients), "sent": self.sent, "dropped": self.dropped,
                "refused": self.refused, "disconnected": self.disconnected}

    @property
    def clients(self) -> int:
        return len(self._clients)

    def _publish(self, data: bytes) -> None:
        if self._listener is None:
            return
        self._accept()
        for client in list(self._clients):
            try:
                client.send(data, _FLAGS)
                self.sent += 1
            except BlockingIOError:
                self.dropped += 1          # a slow or stuck screen: its loss, not the gate's
            except OSError:
                self._clients.remove(client)
                client.close()
                self.disconnected += 1

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("event=publisher_accept_failed error=%r", exc)
                return
            if len(self._clients) >= self.max_clients:
                client.close()
                self.refused += 1
                continue
            client.setblocking(False)
            try:
                client.shutdown(socket.SHUT_RD)   # one way only: a screen cannot send us anything
            except OSError:
                client.close()
                continue
            self._clients.append(client)
            log.info("event=screen_connected clients=%d", len(self._clients))


def printer_status(queue: Any) -> Callable[[], dict[str, Any]]:
    """An ``extra_status`` giving the print queue's last printer answer (``PrintQueue``)."""

    def extra() -> dict[str, Any]:
        status = queue.last_status
        if status is None:
            return {"printer": {"known": False}}
        return {"printer": {"known": True, "online": status.online, "paper": status.paper,
                            "near_end": status.near_end, "detail": status.detail[:120]}}

    return extra
