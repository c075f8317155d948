"""The sync client: fetch signed lists from an HTTP(S) URL or a folder and apply them safely.

One sync: fetch the signed index (conditional on its ETag), verify it against the pinned root key,
then for the revocation list fetch a delta from the held version when the index offers one (else the
full snapshot) and for the trust list its new file. Each download is capped in bytes, resumable
(HTTP Range into a partial file), checked against the size and SHA-256 the index names, then its
signature is verified -- before anything is applied. Versions only go up; an older or equal list is
refused with a logged reason. Network failures and server errors are retried with exponential
backoff and jitter. Every HTTP answer's ``Date`` is compared with the local clock (timeguard).

Runs in its own process (``scanpoint sync``, its own systemd unit): the scanner only reads the
database, so a sync never blocks scanning.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import random
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from terminal.clock import SYSTEM, Clock
from terminal.errors import ConfigError, SyncError, TrustListError
from terminal.lists import listfiles, timeguard
from terminal.lists.listfiles import FileRef, Index, RevocationFiles, TrustFile
from terminal.lists.revocation import (
    REVOCATION,
    TRUST,
    DeltaMismatch,
    ListRollback,
    RevocationStore,
    store_path,
)
from terminal.lists.signedlist import MAX_LIST_BYTES
from terminal.lists.trust import TrustStore, list_path

log = logging.getLogger("scanpoint.sync")

USER_AGENT = "scanpoint-sync/1"
CHUNK = 65536


class SyncFailed(SyncError):
    """A sync step failed or its result was refused; ``code`` is short and stable for status/logs.

    ``retry`` says whether trying again later may help (network trouble) or not (a refusal).
    """

    def __init__(self, code: str, message: str, *, retry: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry = retry


@dataclass
class SyncSettings:
    """Everything one sync needs (built from the config's [sync] and [lists] sections)."""

    source: str
    db: Path
    root_public_key: bytes
    trust_file: Path | None = None
    partial_dir: Path | None = None
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 2.0
    backoff_max: float = 300.0
    max_index_bytes: int = 65536
    max_list_bytes: int = 268435456
    max_entries: int = 20_000_000
    ca_file: str = ""
    max_clock_offset: float = 7200.0

    @classmethod
    def from_config(cls, config: Any, root_public_key: bytes,
                    trust_file: Path | None = None) -> SyncSettings:
        """Settings from a loaded :class:`terminal.config.Config`."""
        state = Path(config.terminal.state_dir)
        source = config.sync.source
        if source and not _is_url(source) and not Path(source).is_absolute() and config.source:
            source = str((Path(config.source).resolve().parent / source).resolve())
        return cls(
            source=source, db=store_path(config),
            root_public_key=root_public_key, trust_file=trust_file,
            partial_dir=Path(config.sync.partial_dir or state / "partial"),
            timeout=config.sync.timeout, retries=config.sync.retries,
            backoff=config.sync.backoff, backoff_max=config.sync.backoff_max,
            max_index_bytes=config.sync.max_index_bytes,
            max_list_bytes=config.sync.max_list_bytes, max_entries=config.lists.max_entries,
            ca_file=config.sync.ca_file, max_clock_offset=config.lists.max_clock_offset)

    @classmethod
    def for_terminal(cls, config: Any) -> SyncSettings:
        """Settings for a terminal config as ``scanpoint sync`` runs it: lists from ``[sync]
        source``, verified with the pinned ``[trust] root_key``, the trust list written where the
        scanner reads it (:func:`terminal.lists.trust.list_path`).

        Raises :class:`ConfigError` naming the key when the source or the root key is empty:
        without them there is nothing to fetch, or nothing could be verified.
        """
        if not config.sync.source:
            raise ConfigError("[sync] source is empty: set the URL or folder lists are "
                              "published at")
        root_key = config.trust.root_public_key
        if not root_key:
            raise ConfigError("[trust] root_key is empty: cannot verify any list, so sync "
                              "refuses to run")
        return cls.from_config(config, root_key, list_path(config))


@dataclass
class SyncResult:
    """What a sync did: ``ok`` and ``code`` ("updated", "current", or a failure code) and a line."""

    ok: bool
    code: str
    message: str
    revocation_version: int | None = None
    trust_version: int | None = None
    applied: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"sync {'ok' if self.ok else 'failed'}: {self.code}: {self.message}"


def _is_url(source: str) -> bool:
    return urllib.parse.urlsplit(source).scheme in ("http", "https", "file")


# -- fetching -------------------------------------------------------------------------------------
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


@dataclass
class Fetched:
    status: int                  # 200, 206 (resumed), 304 (not modified)
    data: bytes
    etag: str | None


class Source:
    """Reads files of a published folder over HTTP(S) or from a local folder."""

    def __init__(self, settings: SyncSettings, *, progress: Progress | None = None,
                 clock: Clock = SYSTEM) -> None:
        self.s = settings
        self.progress = progress or Progress(clock=clock)
        self.clock = clock
        src = settings.source
        if not src:
            raise SyncFailed("no-source", "no [sync] source configured")
        self.http = urllib.parse.urlsplit(src).scheme in ("http", "https")
        if self.http:
            self.base = src if src.endswith("/") else src + "/"
        else:
            path = urllib.parse.urlsplit(src).path if src.startswith("file:") else src
            self.folder = Path(path)
        self.dates: list[float] = []
        self._ctx = None
        if self.http and settings.ca_file:
            self._ctx = ssl.create_default_context(cafile=settings.ca_file)

    # -- one file, with retries ----------------------------------------------------------------
    def fetch(self, rel: str, cap: int, *, etag: str | None = None, expect: FileRef | None = None,
              resumable: bool = False) -> Fetched:
        """Fetch ``lists/<rel>`` within ``cap`` bytes, retrying transient failures with backoff."""
        attempt = 0
        while True:
            try:
                if self.http:
                    return self._fetch_http(rel, cap, etag=etag, expect=expect, resumable=resumable)
                return self._fetch_dir(rel, cap)
            except SyncFailed as exc:
                if not exc.retry or attempt >= self.s.retries:
                    raise
                delay = min(self.s.backoff_max, self.s.backoff * (2 ** attempt))
                delay *= random.uniform(0.5, 1.5)            # jitter: terminals don't stampede
                log.warning("event=sync_retry file=%s attempt=%d delay=%.2f reason=%s",
                            rel, attempt + 1, delay, exc)
                self.clock.sleep(delay)
                attempt += 1

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
        return Fetched(200, data, None)

    def _partial(self, rel: str) -> tuple[Path, Path] | None:
        if self.s.partial_dir is None:
            return None
        self.s.partial_dir.mkdir(parents=True, exist_ok=True)
        part = self.s.partial_dir / f"{rel}.part"
        return part, part.with_name(part.name + ".json")

    def _fetch_http(self, rel: str, cap: int, *, etag: str | None, expect: FileRef | None,
                    resumable: bool) -> Fetched:
        url = urllib.parse.urljoin(self.base, f"{listfiles.LISTS_DIR}/{rel}")
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if etag:
            headers["If-None-Match"] = etag
        part = self._partial(rel) if resumable and expect is not None else None
        have = 0
        if part is not None and expect is not None:
            part_path, meta_path = part
            try:
                meta = json.loads(meta_path.read_text())
                if meta.get("sha256") == expect.sha256 and part_path.exists():
                    have = part_path.stat().st_size
                    if have >= expect.size:
                        have = 0
                    elif have:
                        headers["Range"] = f"bytes={have}-"
                        if meta.get("etag"):
                            headers["If-Range"] = meta["etag"]
            except (OSError, ValueError):
                have = 0
        req = urllib.request.Request(url, headers=headers)
        try:
            resp = urllib.request.urlopen(req, timeout=self.s.timeout, context=self._ctx)
        except urllib.error.HTTPError as exc:
            self._note_date(exc.headers.get("Date") if exc.headers else None)
            if exc.code == 304:
                return Fetched(304, b"", etag)
            if exc.code == 416 and part is not None:
                part[0].unlink(missing_ok=True)
                raise SyncFailed("range-refused", f"{rel}: server refused the resume range",
                                 retry=True) from None
            retry = exc.code >= 500 or exc.code in (408, 429)
            raise SyncFailed(f"http-{exc.code}", f"{url} answered {exc.code} {exc.reason}",
                             retry=retry) from None
        except urllib.error.URLError as exc:
            raise SyncFailed("unreachable", f"{url}: {exc.reason}", retry=True) from None
        except OSError as exc:
            raise SyncFailed("unreachable", f"{url}: {exc}", retry=True) from None
        with resp:
            self._note_date(resp.headers.get("Date"))
            status = resp.status
            new_etag = resp.headers.get("ETag")
            length = resp.headers.get("Content-Length")
            if status == 206 and have:
                crange = resp.headers.get("Content-Range", "")
                if not crange.startswith(f"bytes {have}-"):
                    raise SyncFailed("range-mismatch", f"{rel}: server sent {crange!r}", retry=True)
            else:
                have = 0
            total = (have + int(length)) if length and length.isdigit() else None
            if total is not None and total > cap:
                raise SyncFailed("too-large", f"{rel} is {total} bytes, over the cap of {cap}")
            if part is not None and expect is not None:
                part_path, meta_path = part
                meta_path.write_text(json.dumps({"sha256": expect.sha256, "etag": new_etag}))
                out = open(part_path, "ab" if have else "wb")  # noqa: SIM115 - fsynced, closed below
            else:
                out = None
            buf = bytearray()
            got = have
            try:
                while True:
                    try:
                        chunk = resp.read(CHUNK)
                    except (OSError, ValueError) as exc:     # includes IncompleteRead, timeouts
                        raise SyncFailed("truncated", f"{rel}: connection broke after {got} bytes "
                                         f"({exc.__class__.__name__})", retry=True) from None
                    if not chunk:
                        break
                    got += len(chunk)
                    if got > cap:
                        raise SyncFailed("too-large", f"{rel} passed the cap of {cap} bytes")
                    if out is not None:
                        out.write(chunk)
                    else:
                        buf += chunk
                    self.progress.update(rel, got, total or (expect.size if expect else None))
            finally:
                if out is not None:
                    out.flush()
                    os.fsync(out.fileno())
                    out.close()
            if total is not None and got < total:
                raise SyncFailed("truncated", f"{rel}: got {got} of {total} bytes", retry=True)
            if got > 50 * CHUNK:
                self.progress.update(rel, got, total, final=True)
            data = part[0].read_bytes() if part is not None else bytes(buf)
            return Fetched(206 if have else 200, data, new_etag)

    def _note_date(self, value: str | None) -> None:
        parsed = timeguard.parse_http_date(value)
        if parsed is not None:
            self.dates.append(parsed)

    def done_with(self, rel: str) -> None:
        """Drop the partial file of ``rel`` (after it was applied or definitively refused)."""
        part = self._partial(rel) if self.http else None
        if part is not None:
            for p in part:
                p.unlink(missing_ok=True)


def _check_ref(rel: str, data: bytes, ref: FileRef) -> None:
    if len(data) != ref.size:
        raise SyncFailed("truncated" if len(data) < ref.size else "size-mismatch",
                         f"{rel} is {len(data)} bytes, the index says {ref.size}", retry=True)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise SyncFailed("digest-mismatch", f"{rel} does not match the digest in the signed index",
                         retry=True)


def _verify(data: bytes, settings: SyncSettings, kind: str, cap: int) -> Any:
    try:
        return listfiles.verify(data, settings.root_public_key, kind, max_bytes=cap)
    except TrustListError as exc:
        raise SyncFailed(listfiles.refusal_code(exc), str(exc)) from None


# -- one sync ---------------------------------------------------------------------------------
class SyncClient:
    """Runs syncs against one source into one store."""

    def __init__(self, settings: SyncSettings, *, clock: Clock = SYSTEM,
                 progress: Progress | None = None) -> None:
        self.s = settings
        self.clock = clock
        self.progress = progress

    def run_once(self) -> SyncResult:
        """One sync; never raises for expected failures -- they come back as a failed result."""
        self.s.db.parent.mkdir(parents=True, exist_ok=True)
        with open(str(self.s.db) + ".sync-lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return SyncResult(False, "busy", "another sync of this store is running")
            return self._run_locked()

    def _run_locked(self) -> SyncResult:
        store = RevocationStore(self.s.db)
        source = None
        try:
            try:
                source = Source(self.s, progress=self.progress, clock=self.clock)
                result = self._sync(store, source)
            except SyncFailed as exc:
                result = SyncResult(False, exc.code, exc.message)
            except (TrustListError, OSError) as exc:
                result = SyncResult(False, "error", str(exc))
            if source is not None and source.dates:
                # the clock check: server Date vs the local clock, on every sync that reached it
                obs = timeguard.clock_observation(source.dates[-1], self.clock)
                store.set_state(timeguard.CLOCK_STATE, obs)
                if abs(obs["offset"]) > self.s.max_clock_offset:   # the scanner's own limit
                    log.warning("event=clock_offset offset=%.0f allowed=%.0f", obs["offset"],
                                self.s.max_clock_offset)
            rev = store.meta(REVOCATION)
            trust = store.meta(TRUST)
            result.revocation_version = rev.version if rev else None
            result.trust_version = trust.version if trust else None
            store.set_state(timeguard.LAST_SYNC, {
                "at": int(self.clock.time()), "ok": result.ok, "code": result.code,
                "message": result.message[:300], "source": self.s.source})
            if result.ok:
                store.set_state(timeguard.LAST_SYNC_OK, {"at": int(self.clock.time())})
            level = logging.INFO if result.ok else logging.WARNING
            log.log(level, "event=sync ok=%s code=%s revocation=%s trust=%s detail=%r",
                    result.ok, result.code, result.revocation_version, result.trust_version,
                    result.message)
            return result
        finally:
            store.close()

    def _sync(self, store: RevocationStore, source: Source) -> SyncResult:
        held_index = store.meta(listfiles.KIND_INDEX)
        etag = held_index.etag if held_index else None
        fetched = source.fetch(listfiles.INDEX_NAME, self.s.max_index_bytes, etag=etag)
        if fetched.status == 304 and held_index is not None:   # only a held index has an ETag
            return SyncResult(True, "current", f"index unchanged (version {held_index.version})")
        idx = self._read_index(fetched.data)
        if held_index is not None and idx.version < held_index.version:
            raise SyncFailed("rollback", f"index version {idx.version} is older than held "
                             f"version {held_index.version} (replayed or rolled back)")
        applied: list[str] = []
        if idx.revocation is not None:
            applied += self._sync_revocation(store, source, idx.revocation)
        if idx.trust is not None and self.s.trust_file is not None:
            applied += self._sync_trust(store, source, idx.trust, self.s.trust_file)
        if held_index is None or idx.version > held_index.version:
            store.record_list(listfiles.KIND_INDEX, idx.version, idx.issued, idx.valid_until,
                              etag=fetched.etag)
        if not applied:
            return SyncResult(True, "current", f"lists current (index {idx.version})")
        return SyncResult(True, "updated", "applied " + ", ".join(applied), applied=applied)

    def _read_index(self, data: bytes) -> Index:
        try:
            return listfiles.read_index(data, self.s.root_public_key,
                                        max_bytes=self.s.max_index_bytes)
        except TrustListError as exc:
            raise SyncFailed(listfiles.refusal_code(exc), f"index refused: {exc}") from None

    def _sync_revocation(self, store: RevocationStore, source: Source,
                         files: RevocationFiles) -> list[str]:
        held = store.meta(REVOCATION)
        target = files.version
        if held is not None and target < held.version:
            raise SyncFailed("rollback", f"revocation list version {target} is older than held "
                             f"version {held.version} (rolled back)")
        if held is not None and target == held.version:
            return []
        delta = files.deltas.get(held.version) if held is not None else None
        if held is not None and delta is not None and (delta.size < files.snapshot.size
                                                       or delta.size <= 4096):
            try:
                self._apply_file(store, source, delta, listfiles.KIND_DELTA, target)
                return [f"revocation delta {held.version}->{target}"]
            except (DeltaMismatch, SyncFailed) as exc:
                if isinstance(exc, SyncFailed) and exc.code == "rollback":
                    raise
                log.warning("event=delta_refused reason=%r fallback=snapshot", str(exc))
        self._apply_file(store, source, files.snapshot, listfiles.KIND_SNAPSHOT, target)
        return [f"revocation snapshot {target}"]

    def _download(self, source: Source, ref: FileRef, limit: int | None = None) -> bytes:
        """Fetch ``ref`` within ``limit`` bytes (default ``max_list_bytes``) and check it."""
        limit = self.s.max_list_bytes if limit is None else limit
        cap = min(ref.size, limit)
        if ref.size > limit:
            raise SyncFailed("too-large", f"{ref.path} is {ref.size} bytes, over the cap of "
                             f"{limit}")
        tries = 0
        while True:
            fetched = source.fetch(ref.path, cap, expect=ref, resumable=True)
            try:
                _check_ref(ref.path, fetched.data, ref)
                return fetched.data
            except SyncFailed as exc:
                source.done_with(ref.path)          # a bad partial must not be resumed again
                tries += 1
                if tries > 1 or not exc.retry:
                    raise

    def _apply_file(self, store: RevocationStore, source: Source, ref: FileRef, kind: str,
                    target: int) -> None:
        data = self._download(source, ref)
        lst = _verify(data, self.s, kind, min(ref.size, self.s.max_list_bytes))
        source.done_with(ref.path)
        if lst.version != target:
            raise SyncFailed("malformed", f"{ref.path} holds version {lst.version}, index says {target}")
        body = lst.body
        try:
            if kind == listfiles.KIND_SNAPSHOT:
                store.apply_snapshot(lst.version, lst.issued, lst.valid_until, body["hashes"],
                                     etag=ref.sha256, max_entries=self.s.max_entries)
            else:
                store.apply_delta(int(body["base"]), lst.version, lst.issued, lst.valid_until,
                                  body["add"], body["remove"], int(body["count"]),
                                  etag=ref.sha256, max_entries=self.s.max_entries)
        except DeltaMismatch:
            raise
        except ListRollback as exc:
            raise SyncFailed("rollback", str(exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise SyncFailed("malformed", f"{ref.path}: {exc}") from None
        log.info("event=applied kind=%s version=%d file=%s", kind, lst.version, ref.path)

    def _sync_trust(self, store: RevocationStore, source: Source, listed: TrustFile,
                    trust_file: Path) -> list[str]:
        held = store.meta(TRUST)
        if held is not None and listed.version < held.version:
            raise SyncFailed("rollback", f"trust list version {listed.version} is older than "
                             f"held version {held.version} (rolled back)")
        if held is not None and listed.version == held.version:
            return []
        # the scanner reads trust lists up to MAX_LIST_BYTES: a bigger one would be refused there
        data = self._download(source, listed.file, MAX_LIST_BYTES)
        trust_store = TrustStore(self.s.root_public_key, trust_file, max_bytes=MAX_LIST_BYTES)
        try:
            trust_store.load()                       # the file the scanner holds now, if any
        except TrustListError as exc:
            # its version is the floor: without it an older list could replace a newer one
            log.warning("event=held_trust_list_unreadable path=%s error=%s", trust_file, exc)
            raise SyncFailed("held-trust-unreadable",
                             f"held trust list {trust_file} cannot be read ({exc}); not "
                             "replacing it: check or remove the file, then sync again") from None
        try:
            # verifies signature and every key entry, refuses a version not above the held file,
            # then replaces the file atomically; the record below follows the file (a crash in
            # between makes the next sync redo it, never a recorded version without its file)
            lst = trust_store.update(data)
        except TrustListError as exc:
            raise SyncFailed(listfiles.refusal_code(exc), str(exc)) from None
        source.done_with(listed.file.path)
        if lst.version != listed.version:
            raise SyncFailed("malformed", f"trust file holds version {lst.version}, index says "
                             f"{listed.version}")
        try:
            store.record_list(TRUST, lst.version, lst.issued, lst.valid_until,
                              etag=listed.file.sha256, entries=None)
        except ListRollback as exc:
            raise SyncFailed("rollback", str(exc)) from None
        return [f"trust list {lst.version}"]


def run_forever(client: SyncClient, interval: float, *, stop: Callable[[], bool] = lambda: False) -> None:
    """Sync every ``interval`` seconds (with jitter) until ``stop()``; failures are logged, not fatal."""
    while not stop():
        client.run_once()
        client.clock.sleep(interval * random.uniform(0.9, 1.1))
