"""A real static HTTP server on loopback for the sync tests, with ETag, Range and fault injection.

``http.server.SimpleHTTPRequestHandler`` serves the folder; this subclass adds what CDNs do
(strong ETags, If-None-Match -> 304, Range -> 206, If-Range) and, per path, the faults the tests
need: an error status, a body cut short, an endless body, failures for the first N requests, and a
``Date`` header shifted from the real time.
"""

from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ListHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean; requests are recorded instead
        pass

    def date_time_string(self, timestamp=None):
        ts = time.time() if timestamp is None else timestamp
        return email.utils.formatdate(ts + self.server.date_offset, usegmt=True)

    def do_GET(self):
        srv = self.server
        path = self.path.split("?", 1)[0]
        srv.requests.append((path, dict(self.headers)))
        fault = srv.faults.get(path)
        if isinstance(fault, tuple) and fault[0] == "fail":       # ("fail", n, status)
            if fault[1] > 0:
                srv.faults[path] = ("fail", fault[1] - 1, fault[2])
                return self._status(fault[2])
            srv.faults.pop(path)
            fault = None
        if isinstance(fault, int):
            return self._status(fault)
        file = Path(self.translate_path(path))
        if not file.is_file():
            return self._status(404)
        if fault == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            chunk = os.urandom(65536)
            try:
                for _ in range(100_000):                       # ~6 GB unless the client stops
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        data = file.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges and (self.headers.get("If-Range") in (None, etag)):
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                return self._status(416)
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("ETag", etag)
        if srv.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "truncate":                # promise everything, send half, hang up
            srv.faults.pop(path) if srv.truncate_once else None
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _status(self, code: int):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


class ListServer:
    """Serve ``root`` on 127.0.0.1 on a free port until :meth:`close`."""

    #: the request handler (a subclass may serve faults of its own)
    handler: type[ListHandler] = ListHandler

    def __init__(self, root: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(self.handler, directory=str(root)))
        self.httpd.daemon_threads = True
        self.httpd.requests = []
        self.httpd.faults = {}
        self.httpd.date_offset = 0.0
        self.httpd.ranges = True
        self.httpd.truncate_once = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requests(self):
        return self.httpd.requests

    @property
    def faults(self):
        return self.httpd.faults

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
