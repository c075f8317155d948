"""The display's end of the event socket: read the scanner, keep its latest state, fan out.

:class:`Feed` runs in the display's event loop. It connects to the scanner's socket (again and
again, with a short backoff, while the scanner is away), decodes each document, keeps the latest
status and a mirror of the scanner's totals for ``/metrics``, and hands every browser connected
to ``/events`` its own bounded queue of Server-Sent Events. A browser that stops reading loses
its oldest events (counted); it never holds up the feed or the scanner.

The feed never writes to the socket: the scanner has shut that direction anyway.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.display.events import (
    DECISION,
    MAX_MESSAGE,
    STATUS,
    MessageError,
    Totals,
    decode,
    screen_decision,
)

log = logging.getLogger("scanpoint.display.feed")

QUEUE_SIZE = 64             # events kept for a browser that reads slowly
STALE_STATUS_S = 5.0        # no status for this long: the scanner is not answering
KEEPALIVE_S = 15.0          # an SSE comment this often keeps proxies and browsers connected


def sse(event: str, data: Any, *, event_id: int | None = None) -> bytes:
    """One Server-Sent Event (JSON data on one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


class Feed:
    """What the display knows of the scanner; see the module docstring.

    ``hello`` is sent to every new browser first (the screen's settings: idle time, terminal id).
    """

    def __init__(self, path: str | os.PathLike[str], *, hello: dict[str, Any] | None = None,
                 clock: Clock = SYSTEM, retry_initial_s: float = 0.1,
                 retry_max_s: float = 2.0) -> None:
        self.path = Path(path)
        self.clock = clock
        self.hello = dict(hello or {})
        self.retry_initial_s, self.retry_max_s = retry_initial_s, retry_max_s
        self.totals = Totals()
        self.status: dict[str, Any] | None = None
        self.printer: dict[str, Any] | None = None
        self.connected = False
        self.received = 0
        self.malformed = 0
        self.browser_drops = 0
        self.last_decision: dict[str, Any] | None = None
        self._status_at: float | None = None
        self._screen: dict[str, Any] | None = None
        self._queues: set[asyncio.Queue[bytes]] = set()
        self._task: asyncio.Task[None] | None = None

    # -- life cycle (inside the event loop) ----------------------------------------------------
    def start(self) -> None:
        """Start reading the socket in the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def run(self) -> None:
        """Connect, read until the scanner goes away, wait, repeat — until cancelled."""
        delay = self.retry_initial_s
        while True:
            try:
                await self._read_once()
                delay = self.retry_initial_s
            except OSError as exc:
                if delay == self.retry_initial_s:
                    log.info("event=scanner_unreachable socket=%s error=%s", self.path,
                             exc.strerror or exc)
            self._set_connected(False)
            await asyncio.sleep(delay)
            delay = min(self.retry_max_s, delay * 2)

    async def _read_once(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, str(self.path))
            self._set_connected(True)
            log.info("event=scanner_connected socket=%s", self.path)
            while True:
                data = await loop.sock_recv(sock, MAX_MESSAGE + 1)
                if not data:
                    return
                self.handle(data)
        finally:
            sock.close()

    # -- documents -----------------------------------------------------------------------------
    def handle(self, data: bytes) -> None:
        """Take one message from the scanner (malformed ones are counted and dropped)."""
        try:
            document = decode(data)
        except MessageError as exc:
            self.malformed += 1
            log.warning("event=bad_message error=%s", exc)
            return
        self.received += 1
        if document["kind"] == DECISION:
            screen = screen_decision(document)
            if screen is None:
                self.malformed += 1
                return
            self.totals.record_document(document)
            self.last_decision = screen
            self._broadcast(sse("decision", screen, event_id=screen["seq"]))
        elif document["kind"] == STATUS:
            daemon = document.get("daemon")
            self.status = daemon if isinstance(daemon, dict) else None
            printer = document.get("printer")
            self.printer = printer if isinstance(printer, dict) else None
            if not self.totals.load(document.get("totals")):
                self.malformed += 1
            self._status_at = self.clock.monotonic()
            self._screen_changed()

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            if not connected:
                self.status = None
            self._screen_changed()

    def _screen_changed(self) -> None:
        """Tell the browsers the screen status, only when it changed."""
        screen = self.screen_status()
        if screen != self._screen:
            self._screen = screen
            self._broadcast(sse("screen", screen))

    def fresh(self) -> bool:
        """True while connected and the last status is recent (the scanner's loop is turning)."""
        if not self.connected or self._status_at is None or self.status is None:
            return False
        return self.clock.monotonic() - self._status_at <= STALE_STATUS_S

    def camera_state(self) -> str | None:
        camera = (self.status or {}).get("camera")
        return camera.get("state") if isinstance(camera, dict) else None

    def screen_status(self) -> dict[str, Any]:
        """What the kiosk shows about the terminal itself (no personal data, few words)."""
        fresh = self.fresh()
        if not self.connected:
            scanner = "offline"
        elif not fresh and self.status is not None:
            scanner = "stalled"
        else:
            scanner = str((self.status or {}).get("state", "starting"))
        printer = self.printer or {}
        return {"scanner": scanner, "camera": self.camera_state(),
                "printer": (None if not printer.get("known")
                            else "ok" if printer.get("online") and printer.get("paper")
                            else "no-paper" if printer.get("online") else "offline")}

    # -- browsers ------------------------------------------------------------------------------
    def subscribe(self) -> asyncio.Queue[bytes]:
        """A queue of SSE messages for one browser, starting with hello and the screen status."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        queue.put_nowait(sse("hello", self.hello))
        queue.put_nowait(sse("screen", self.screen_status()))
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[bytes]) -> None:
        self._queues.discard(queue)

    @property
    def browsers(self) -> int:
        return len(self._queues)

    def _broadcast(self, message: bytes) -> None:
        for queue in list(self._queues):
            if queue.full():
                try:
                    queue.get_nowait()       # the oldest goes: a stuck tab sees the newest
                except asyncio.QueueEmpty:
                    pass
                self.browser_drops += 1
            queue.put_nowait(message)

    async def stream(self, queue: asyncio.Queue[bytes]) -> AsyncIterator[bytes]:
        """The SSE body for one browser: its queue's messages, a comment every
        :data:`KEEPALIVE_S`; ends (unsubscribing) when the browser goes."""
        try:
            yield b"retry: 1000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    message = b": keep-alive\n\n"
                yield message
        finally:
            self.unsubscribe(queue)
