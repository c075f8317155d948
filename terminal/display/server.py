"""Running the display: uvicorn on a socket bound here, in the foreground or a background thread.

Binding first (rather than letting uvicorn bind) turns a busy or forbidden address into one clear
error before anything starts, and lets tests and the demo ask for port 0 and read the real port.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import uvicorn

from terminal.clock import SYSTEM, Clock
from terminal.config import Config, check_listen
from terminal.display.app import SimView, create_app
from terminal.display.feed import Feed
from terminal.errors import ScanpointError

log = logging.getLogger("scanpoint.display")


class DisplayError(ScanpointError, OSError):
    """The display cannot listen where it was asked to (address in use, not on this machine)."""


def hello(config: Config, *, sim: bool = False) -> dict[str, Any]:
    """What every browser is told first: the screen's settings (no personal data)."""
    return {"idle_s": config.display.idle_s, "terminal": config.terminal.id,
            "site": config.terminal.site_name, "sim": sim}


def build_feed(config: Config, *, sim: bool = False, clock: Clock = SYSTEM) -> Feed:
    """The feed reading the scanner's socket for ``config``."""
    path = config.display.socket_path(config.terminal.state_dir)
    return Feed(path, hello=hello(config, sim=sim), clock=clock)


class DisplayServer:
    """The display app served by uvicorn on ``listen`` (``HOST:PORT``; port 0 picks one)."""

    def __init__(self, config: Config, *, listen: str | None = None, sim: SimView | None = None,
                 clock: Clock = SYSTEM) -> None:
        host, port = check_listen(listen or config.display.listen, config.display.allow,
                                  "display listen address")
        self.clock = clock
        self.feed = build_feed(config, sim=sim is not None, clock=clock)
        self.app = create_app(config, self.feed, sim=sim, clock=clock)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(64)
        except OSError as exc:
            sock.close()
            raise DisplayError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                               "(another program on that port? use --listen HOST:PORT)") from exc
        self.socket = sock
        self.host, self.port = host, sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="on",
            timeout_graceful_shutdown=1, timeout_keep_alive=5))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM (in the main thread) or :meth:`stop`."""
        log.info("event=display_listening url=%s socket=%s", self.url, self.feed.path)
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()

    def start(self, timeout: float = 10.0) -> DisplayServer:
        """Serve in a background thread; returns once uvicorn is accepting connections."""
        self._thread = threading.Thread(target=self.serve, name="scanpoint-display", daemon=True)
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if not self._thread.is_alive() or waited > timeout:
                raise DisplayError(f"the display did not start on {self.url}")
            self.clock.sleep(0.01)
            waited += 0.01
        return self

    def stop(self) -> None:
        """Stop serving (open event streams are closed) and wait for the thread."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def __enter__(self) -> DisplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
