"""The display's ASGI app: kiosk screen, status, metrics, events and the simulator view.

Routes (all ``GET`` except the simulator's buttons):

- ``/`` the kiosk screen, live by Server-Sent Events from ``/events``;
- ``/status`` (HTML) and ``/status.json``: what ``scanpoint status --json`` reports, plus today's
  counts by decision and reason and the display's own counters;
- ``/metrics``: Prometheus exposition (:mod:`.metrics`);
- ``/sim`` and ``/sim/...``: only when a :class:`SimView` is given, i.e. when the simulated scanner
  runs in this process (``scanpoint demo --ui``). Its buttons present a scene to the simulated
  camera — the path a person holding a phone takes; nothing here drives an output.

Every response carries a strict Content-Security-Policy (pages load only their own files), and
:class:`Guard` admits loopback clients plus the ``[display] allow`` networks, and only requests
whose ``Host`` is an address or ``localhost`` (a DNS-rebinding page cannot read the terminal).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from terminal.clock import SYSTEM, Clock
from terminal.config import Config
from terminal.display.feed import Feed
from terminal.display.metrics import exposition

log = logging.getLogger("scanpoint.display.app")

MAX_BROWSERS = 16
PAGES = {"/": "index.html", "/status": "status.html", "/sim": "sim.html"}
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; "
                                 b"img-src 'self'; connect-src 'self'; base-uri 'none'; "
                                 b"form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
SIM_HEADER = "x-scanpoint-sim"   # the buttons' requests carry it: a cross-site form cannot

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


class SimView(Protocol):
    """The simulator seen from the display (``hw_sim.live.SimView``): buttons, pins, frame, slips."""

    def actions(self) -> list[dict[str, str]]: ...

    def present(self, action: str) -> str: ...

    def state(self, since: float) -> dict[str, Any]: ...

    def frame_jpeg(self) -> bytes: ...

    def slip_png(self, number: int) -> bytes | None: ...


def load_assets() -> dict[str, bytes]:
    """The page files shipped as package data (``terminal/display/static``), by file name."""
    folder = resources.files("terminal.display") / "static"
    return {item.name: item.read_bytes() for item in folder.iterdir()
            if item.is_file() and "." + item.name.rsplit(".", 1)[-1] in TYPES}


def _asset(assets: dict[str, bytes], name: str) -> Response:
    return Response(assets[name], media_type=TYPES["." + name.rsplit(".", 1)[-1]])


class Guard:
    """ASGI middleware: refuse clients outside loopback and ``allow`` and hosts that are names;
    add the security headers to every response."""

    def __init__(self, app: ASGIApp, allow: list[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in allow]

    def client_allowed(self, host: str | None) -> bool:
        if host is None:
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if address.is_loopback:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
            if address.is_loopback:
                return True
        return any(address in network for network in self.networks)

    @staticmethod
    def host_allowed(host_header: str | None) -> bool:
        """True for an IP literal or ``localhost`` (with or without a port)."""
        if not host_header:
            return False
        host = host_header.strip().lower()
        if host.startswith("["):
            host = host[1:].split("]", 1)[0]
        elif host.count(":") == 1:
            host = host.split(":", 1)[0]
        if host == "localhost":
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.client_allowed(client[0] if client else None) or not self.host_allowed(host):
            response = Response("not allowed: see [display] allow\n", status_code=403,
                                media_type="text/plain")
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Callable[[Message], Awaitable[None]]
                      ) -> Callable[[Message], Awaitable[None]]:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)
        return wrapped


def today_start(now: float) -> float:
    """Unix time of the last local midnight before ``now``."""
    local = datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def status_document(config: Config, feed: Feed, clock: Clock = SYSTEM) -> dict[str, Any]:
    """``/status.json``: exactly what ``scanpoint status --json`` collects, plus ``today`` (counts
    by decision and reason since local midnight, from the audit log) and ``display`` (this
    display's view of the scanner). Reads files only: run it in a worker thread."""
    from terminal.cli.commands.status import collect
    from terminal.counter.audit import summary_since

    report = collect(config)
    since = today_start(clock.time())
    try:
        today = summary_since(config, since)
    except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
        today = {"error": f"{type(exc).__name__}: {exc}"}
    if today is not None:
        today = {key: today[key] for key in ("events", "by_decision", "by_reason") if key in today}
    report["today"] = today
    report["display"] = {"connected": feed.connected, "screen": feed.screen_status(),
                         "printer": feed.printer, "received": feed.received,
                         "malformed": feed.malformed, "browsers": feed.browsers,
                         "browser_drops": feed.browser_drops,
                         "decisions_seen": feed.totals.decisions}
    return report


def create_app(config: Config, feed: Feed, *, sim: SimView | None = None,
               clock: Clock = SYSTEM, allow: list[str] | None = None) -> Guard:
    """The display app for ``config``, reading ``feed`` (started with the app's lifespan)."""
    assets = load_assets()

    async def page(request: Request) -> Response:
        return _asset(assets, PAGES[request.url.path])

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets or name.endswith(".html"):
            return Response("not found\n", status_code=404, media_type="text/plain")
        return _asset(assets, name)

    async def events(request: Request) -> Response:
        if feed.browsers >= MAX_BROWSERS:
            return Response("too many screens\n", status_code=503, media_type="text/plain")
        queue = feed.subscribe()
        return StreamingResponse(feed.stream(queue), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})

    async def status_json(request: Request) -> Response:
        document = await run_in_threadpool(status_document, config, feed, clock)
        return JSONResponse(document)

    async def metrics(request: Request) -> Response:
        from terminal.counter.printqueue import status_section as printer_section
        from terminal.lists.status import status_section as sync_section

        def sections() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, section in (("sync", sync_section), ("printer", printer_section)):
                try:
                    out[key] = section(config)
                except Exception as exc:  # noqa: BLE001 - the other metrics still go out
                    log.warning("event=metrics_section_failed part=%s error=%r", key, exc)
            return out

        body = exposition(feed, await run_in_threadpool(sections))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [Route("/", page), Route("/status", page), Route("/status.json", status_json),
              Route("/metrics", metrics), Route("/events", events),
              Route("/static/{name}", static)]
    if sim is not None:
        routes += sim_routes(sim, assets)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feed.start()
        try:
            yield
        finally:
            await feed.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    return Guard(app, list(allow if allow is not None else config.display.allow))


def sim_routes(sim: SimView, assets: dict[str, bytes]) -> list[Route]:
    """The simulator view's routes (see the module docstring)."""

    async def page(request: Request) -> Response:
        return _asset(assets, "sim.html")

    async def actions(request: Request) -> Response:
        return JSONResponse(sim.actions())

    async def state(request: Request) -> Response:
        try:
            since = float(request.query_params.get("since", "-1"))
        except ValueError:
            since = -1.0
        return JSONResponse(await run_in_threadpool(sim.state, since))

    async def frame(request: Request) -> Response:
        return Response(await run_in_threadpool(sim.frame_jpeg), media_type="image/jpeg")

    async def slip(request: Request) -> Response:
        data = await run_in_threadpool(sim.slip_png, request.path_params["number"])
        if data is None:
            return Response("no such slip\n", status_code=404, media_type="text/plain")
        return Response(data, media_type="image/png")

    async def present(request: Request) -> Response:
        if request.headers.get(SIM_HEADER) != "1":
            return JSONResponse({"ok": False, "message": f"missing {SIM_HEADER} header"},
                                status_code=403)
        action = request.path_params["action"]
        try:
            message = await run_in_threadpool(sim.present, action)
        except KeyError:
            return JSONResponse({"ok": False, "message": f"no action {action!r}"}, status_code=404)
        return JSONResponse({"ok": True, "message": message})

    return [Route("/sim", page), Route("/sim/actions.json", actions),
            Route("/sim/state.json", state), Route("/sim/frame.jpg", frame),
            Route("/sim/slip/{number:int}.png", slip),
            Route("/sim/present/{action}", present, methods=["POST"])]
