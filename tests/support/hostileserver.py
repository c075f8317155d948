"""A list server that misbehaves on purpose: slow bodies, Retry-After, redirects, lying dates.

Builds on :mod:`listserver` (a real HTTP server on loopback); the faults are set per path in
``faults`` as tuples:

``("slow", seconds_per_byte)``        send the file one byte at a time (a trickling server)
``("busy", n, retry_after)``          answer 503 with ``Retry-After`` the first ``n`` times
``("redirect", url)``                 answer 302 to ``url``
``("garbage", data)``                 answer 200 with ``data`` instead of the file

``date_offset`` (seconds, in :class:`listserver.ListServer`) shifts every ``Date`` header.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.listserver import ListHandler, ListServer


class HostileHandler(ListHandler):
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        fault = self.server.faults.get(path)
        if not isinstance(fault, tuple) or fault[0] not in ("slow", "busy", "redirect", "garbage"):
            return super().do_GET()
        self.server.requests.append((path, dict(self.headers)))
        kind = fault[0]
        if kind == "busy":
            _, left, retry_after = fault
            if left <= 0:
                self.server.faults.pop(path)
                self.server.requests.pop()
                return super().do_GET()
            self.server.faults[path] = ("busy", left - 1, retry_after)
            self.send_response(503)
            self.send_header("Retry-After", str(retry_after))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", fault[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        body = fault[1] if kind == "garbage" else Path(self.translate_path(path)).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "garbage":
            self.wfile.write(body)
            return None
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(fault[1])
        except OSError:          # the client gave up: that is the point
            pass
        self.close_connection = True
        return None


class HostileServer(ListServer):
    """:class:`listserver.ListServer` with the faults above (same attributes, other handler)."""

    handler = HostileHandler
