"""Fetching the files of a published list folder, over HTTP(S) or from a local folder, bounded.

Everything a server says is untrusted until the signed index verifies, so this module bounds what
a server can do to a sync: every file has a byte cap and **one wall-clock deadline** (``[sync]
deadline``, retries included — a per-read timeout alone lets a server sending one byte a second
hold a sync forever); failures are retried with exponential backoff and jitter, and a
``Retry-After`` is honoured (up to ``[sync] backoff_max``; longer ends the run: the next timer run
tries again); a redirect may lead only to the source's own host or one named in ``[sync]
redirect_hosts``, never from https to http. A server that stops sending altogether is noticed by
the per-read ``[sync] timeout``, so a download ends at most that long after its deadline. Each
answer carries its ``Date`` header; the sync client counts it only for an index that verified
(:mod:`terminal.lists.sync`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TextIO

from terminal.clock import SYSTEM, Clock
from terminal.errors import SyncError
from terminal.lists import listfiles, timeguard
from terminal.lists.listfiles import FileRef

log = logging.getLogger("scanpoint.sync")

USER_AGENT = "scanpoint-sync/1"
CHUNK = 65536


class SyncFailed(SyncError):
    """A sync step failed or its result was refused; ``code`` is short and stable for status/logs.

    ``retry`` says whether trying again later may help (network trouble) or not (a refusal);
    ``retry_after`` is the wait a server asked for (seconds), if it asked.
    """

    def __init__(self, code: str, message: str, *, retry: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry = retry
        self.retry_after = retry_after


@dataclass
class Fetched:
    """One file as a server answered it: ``status`` 200, 206 (resumed) or 304 (not modified),
    the bytes, its ETag, the URL it finally came from and the answer's ``Date`` (Unix s)."""

    status: int
    data: bytes
    etag: str | None
    url: str = ""
    date: float | None = None


class Progress:
    """A one-line progress display on a TTY (silent otherwise), at most a few updates a second."""

    def __init__(self, stream: TextIO | None = None, *, clock: Clock = SYSTEM) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.clock = clock
        self._last = 0.0

    def update(self, name: str, done: int, total: int | None, final: bool = False) -> None:
        if not self.tty:
            return
        now = self.clock.monotonic()
        if not final and now - self._last < 0.25:
            return
        self._last = now
        mib = done / 1048576
        if total:
            text = f"\r{name}: {mib:.1f}/{total / 1048576:.1f} MiB {100 * done // total:3d}%"
        else:
            text = f"\r{name}: {mib:.1f} MiB"
        self.stream.write(text + ("\n" if final else ""))
        self.stream.flush()


def host_of(url: str) -> str:
    """``host:port`` of an http(s) URL, the port made explicit (80 or 443 by default)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def retry_after(value: str | None, server_date: float | None, clock: Clock) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date, taken
    against the answer's own ``Date`` when it has one); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = timeguard.parse_http_date(value)
    if when is None:
        return None
    return max(0.0, when - (server_date if server_date is not None else clock.time()))


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowed host (and never from https to http)."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if new.scheme not in ("http", "https") or (old.scheme == "https" and new.scheme != "https"):
            raise SyncFailed("redirect-refused", f"{req.full_url} redirects to {newurl}: only "
                             "http(s), and never from https to http")
        if not self.source.host_allowed(newurl):
            raise SyncFailed("redirect-refused", f"{req.full_url} redirects to another host "
                             f"({host_of(newurl)}); refused: name it in [sync] redirect_hosts "
                             "to allow it")
        self.source.current_url = newurl
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Source:
    """Reads files of a published folder over HTTP(S) or from a local folder.

    ``settings`` is a :class:`terminal.lists.sync.SyncSettings` (source, caps, timeouts, retries,
    deadline, redirect hosts, CA file, partial-download folder).
    """

    def __init__(self, settings: Any, *, progress: Progress | None = None,
                 clock: Clock = SYSTEM) -> None:
        self.s = settings
        self.progress = progress or Progress(clock=clock)
        self.clock = clock
        src = settings.source
        if not src:
            raise SyncFailed("no-source", "no [sync] source configured")
        self.http = urllib.parse.urlsplit(src).scheme in ("http", "https")
        self.current_url = ""
        if self.http:
            self.base = src if src.endswith("/") else src + "/"
            allowed = [host_of(self.base)]
            for entry in getattr(settings, "redirect_hosts", ()) or ():
                entry = str(entry).lower()
                allowed.append(entry if ":" in entry else entry + ":*")
            self._allowed = allowed
            context = ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file else None
            self._opener = urllib.request.build_opener(
                _Redirects(self), urllib.request.HTTPSHandler(context=context))
        else:
            path = urllib.parse.urlsplit(src).path if src.startswith("file:") else src
            self.folder = Path(path)

    def host_allowed(self, url: str) -> bool:
        """True if a redirect may lead to ``url``'s host (the source's own, or a configured one)."""
        host = host_of(url)
        name = host.rsplit(":", 1)[0]
        return any(a == host or a == f"{name}:*" for a in self._allowed)

    # -- one file, with retries, within one deadline ------------------------------------------
    def fetch(self, rel: str, cap: int, *, etag: str | None = None, expect: FileRef | None = None,
              resumable: bool = False) -> Fetched:
        """Fetch ``lists/<rel>`` within ``cap`` bytes and ``[sync] deadline`` seconds in all,
        retrying transient failures with backoff (or the server's ``Retry-After``)."""
        deadline = float(getattr(self.s, "deadline", 900.0))
        end = self.clock.monotonic() + deadline
        attempt = 0
        while True:
            try:
                if self.http:
                    return self._fetch_http(rel, cap, etag=etag, expect=expect,
                                            resumable=resumable, end=end, deadline=deadline)
                return self._fetch_dir(rel, cap)
            except SyncFailed as exc:
                if not exc.retry or attempt >= self.s.retries:
                    raise
                delay = min(self.s.backoff_max, self.s.backoff * (2 ** attempt))
                delay *= random.uniform(0.5, 1.5)            # jitter: terminals don't stampede
                if exc.retry_after is not None:
                    if exc.retry_after > self.s.backoff_max:
                        raise SyncFailed("retry-later", f"{exc.message}; the server asks to retry "
                                         f"after {exc.retry_after:.0f} s, more than [sync] "
                                         f"backoff_max ({self.s.backoff_max:g} s): the next run "
                                         "tries again") from None
                    delay = max(delay, exc.retry_after)
                if self.clock.monotonic() + delay >= end:
                    raise self._late(rel, deadline, exc.message) from None
                log.warning("event=sync_retry file=%s attempt=%d delay=%.2f reason=%s",
                            rel, attempt + 1, delay, exc)
                self.clock.sleep(delay)
                attempt += 1

    @staticmethod
    def _late(rel: str, deadline: float, why: str = "") -> SyncFailed:
        return SyncFailed("deadline", f"{rel} not complete within the [sync] deadline of "
                          f"{deadline:g} s" + (f" (last: {why})" if why else "") + "; the server "
                          "is too slow or keeps failing")

    def _fetch_dir(self, rel: str, cap: int) -> Fetched:
        path = self.folder / listfiles.LISTS_DIR / rel
        try:
            size = path.stat().st_size
            if size > cap:
                raise SyncFailed("too-large", f"{rel} is {size} bytes, over the cap of {cap}")
            with open(path, "rb") as fh:
                data = fh.read(cap + 1)
        except FileNotFoundError:
            raise SyncFailed("not-found", f"{path} does not exist") from None
        except OSError as exc:
            raise SyncFailed("unreadable", f"{path}: {exc.strerror}") from None
        if len(data) > cap:
            raise SyncFailed("too-large", f"{rel} grew past the cap of {cap} bytes")
        return Fetched(200, data, None, str(path))

    def _partial(self, rel: str) -> tuple[Path, Path] | None:
        if self.s.partial_dir is None:
            return None
        self.s.partial_dir.mkdir(parents=True, exist_ok=True)
        part = self.s.partial_dir / f"{rel}.part"
        return part, part.with_name(part.name + ".json")

    def _resume_headers(self, part: tuple[Path, Path] | None, expect: FileRef | None,
                        headers: dict[str, str]) -> int:
        """Bytes already held of a resumable download (adding Range/If-Range), else 0."""
        if part is None or expect is None:
            return 0
        part_path, meta_path = part
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("sha256") != expect.sha256 or not part_path.exists():
                return 0
            have = part_path.stat().st_size
        except (OSError, ValueError):
            return 0
        if have >= expect.size or not have:
            return 0
        headers["Range"] = f"bytes={have}-"
        if meta.get("etag"):
            headers["If-Range"] = meta["etag"]
        return have

    def _fetch_http(self, rel: str, cap: int, *, etag: str | None, expect: FileRef | None,
                    resumable: bool, end: float, deadline: float) -> Fetched:
        url = urllib.parse.urljoin(self.base, f"{listfiles.LISTS_DIR}/{rel}")
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if etag:
            headers["If-None-Match"] = etag
        part = self._partial(rel) if resumable and expect is not None else None
        have = self._resume_headers(part, expect, headers)
        self.current_url = url
        left = end - self.clock.monotonic()
        if left <= 0:
            raise self._late(rel, deadline)
        try:
            resp = self._opener.open(urllib.request.Request(url, headers=headers),
                                     timeout=min(self.s.timeout, left))
        except urllib.error.HTTPError as exc:
            where = exc.url or self.current_url
            if exc.code == 304:
                return Fetched(304, b"", etag, where)
            if exc.code == 416 and part is not None:
                part[0].unlink(missing_ok=True)
                raise SyncFailed("range-refused", f"{rel}: server refused the resume range",
                                 retry=True) from None
            retry = exc.code >= 500 or exc.code in (408, 429)
            wait = None
            if retry and exc.headers is not None:
                wait = retry_after(exc.headers.get("Retry-After"),
                                   timeguard.parse_http_date(exc.headers.get("Date")), self.clock)
            raise SyncFailed(f"http-{exc.code}", f"{where} answered {exc.code} {exc.reason}",
                             retry=retry, retry_after=wait) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, PermissionError):
                raise SyncFailed("not-permitted", not_permitted(self.current_url)) from None
            raise SyncFailed("unreachable", f"{self.current_url}: {exc.reason}",
                             retry=True) from None
        except OSError as exc:
            raise SyncFailed("unreachable", f"{self.current_url}: {exc}", retry=True) from None
        with resp:
            return self._read_body(resp, rel, cap, expect, part, have, end, deadline)

    def _read_body(self, resp: Any, rel: str, cap: int, expect: FileRef | None,
                   part: tuple[Path, Path] | None, have: int, end: float,
                   deadline: float) -> Fetched:
        date = timeguard.parse_http_date(resp.headers.get("Date"))
        new_etag = resp.headers.get("ETag")
        length = resp.headers.get("Content-Length")
        if resp.status == 206 and have:
            crange = resp.headers.get("Content-Range", "")
            if not crange.startswith(f"bytes {have}-"):
                raise SyncFailed("range-mismatch", f"{rel}: server sent {crange!r}", retry=True)
        else:
            have = 0
        total = (have + int(length)) if length and length.isdigit() else None
        if total is not None and total > cap:
            raise SyncFailed("too-large", f"{rel} is {total} bytes, over the cap of {cap}")
        with contextlib.ExitStack() as stack:
            out = None
            if part is not None and expect is not None:
                part_path, meta_path = part
                meta_path.write_text(json.dumps({"sha256": expect.sha256, "etag": new_etag}))
                out = stack.enter_context(open(part_path, "ab" if have else "wb"))
                stack.callback(_flush_to_disk, out)          # runs before the file is closed
            got, buf = self._copy(resp, out, rel, cap, have, total, expect, end, deadline)
        if total is not None and got < total:
            raise SyncFailed("truncated", f"{rel}: got {got} of {total} bytes", retry=True)
        if got > 50 * CHUNK:
            self.progress.update(rel, got, total, final=True)
        data = part[0].read_bytes() if part is not None else bytes(buf)
        return Fetched(206 if have else 200, data, new_etag, self.current_url, date)

    def _copy(self, resp: Any, out: IO[bytes] | None, rel: str, cap: int, have: int,
              total: int | None, expect: FileRef | None, end: float,
              deadline: float) -> tuple[int, bytearray]:
        """Read the body into ``out`` (or memory) within ``cap`` and the deadline: the byte
        count, and the body when it was kept in memory."""
        buf = bytearray()
        got = have
        while True:
            if self.clock.monotonic() >= end:
                raise self._late(rel, deadline, f"{got} bytes so far")
            try:
                # read1: whatever has arrived, so a trickle returns often and meets the deadline
                chunk = resp.read1(CHUNK)
            except (OSError, ValueError) as exc:     # includes IncompleteRead, timeouts
                raise SyncFailed("truncated", f"{rel}: connection broke after {got} bytes "
                                 f"({exc.__class__.__name__})", retry=True) from None
            if not chunk:
                return got, buf
            got += len(chunk)
            if got > cap:
                raise SyncFailed("too-large", f"{rel} passed the cap of {cap} bytes")
            if out is not None:
                out.write(chunk)
            else:
                buf += chunk
            self.progress.update(rel, got, total or (expect.size if expect else None))

    def done_with(self, rel: str) -> None:
        """Drop the partial file of ``rel`` (after it was applied or definitively refused)."""
        part = self._partial(rel) if self.http else None
        if part is not None:
            for p in part:
                p.unlink(missing_ok=True)


def not_permitted(url: str) -> str:
    """The message for a connection the system refused (EPERM): in the sync unit that is its
    ``IPAddressAllow=`` list, so it names the addresses to add."""
    parts = urllib.parse.urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
        addresses = " ".join(sorted({str(info[4][0]) for info in found}))
    except OSError:
        addresses = ""
    return (f"{url}: connecting was not permitted by this system; in scanpoint-sync.service "
            f"allow the list server: `systemctl edit scanpoint-sync`, then [Service] "
            f"IPAddressAllow={addresses or '<its addresses>'}")


def _flush_to_disk(out: IO[bytes]) -> None:
    out.flush()
    os.fsync(out.fileno())


def http_date_note(fetched: Fetched) -> str:
    """Where a counted ``Date`` came from, for the clock observation (host only, no path)."""
    return host_of(fetched.url) if fetched.url.startswith(("http:", "https:")) else "folder"


__all__ = ["CHUNK", "USER_AGENT", "Fetched", "Progress", "Source", "SyncFailed", "host_of",
           "http_date_note", "retry_after"]
