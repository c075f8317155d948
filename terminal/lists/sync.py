"""The sync client: fetch signed lists from an HTTP(S) URL or a folder and apply them safely.

One sync: fetch the signed index, verify it against the pinned root key, then for the revocation
list fetch a delta from the held version when the index offers one (else the full snapshot) and
for the trust list its new file. Each download is bounded (bytes, one deadline per file), resumable
(HTTP Range into a partial file), checked against the size and SHA-256 the index names, then its
signature is verified -- before anything is applied (:mod:`terminal.lists.fetch` does the
fetching). Versions only go up; an older or equal list is refused with a logged reason.

The clock check counts the ``Date`` of the index answer only once that index verified and is not
a rollback, so an unauthenticated responder (or a redirect target serving garbage) cannot mark the
clock untrusted; the index is asked for conditionally (ETag) only while the held clock observation
is from this boot, so each boot gets a fresh, counted ``Date``.

A sync ends ``ok`` only if the lists it leaves held are current: a source serving lists already
past their valid-until is applied (newer revocations only add safety) but the run fails as
``stale-source``. A store that was deleted is rebuilt from the source (the held trust-list file
stays the version floor), and a full disk or a broken store is one failed result, recorded for
``scanpoint status`` when the store can still take the record.

Runs in its own process (``scanpoint sync``, its own systemd unit): the scanner only reads the
database, so a sync never blocks scanning.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import random
import sqlite3
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.crypto import keytables
from terminal.errors import ConfigError, TrustListError
from terminal.lists import listfiles, timeguard
from terminal.lists.fetch import Fetched, Progress, Source, SyncFailed, http_date_note
from terminal.lists.listfiles import FileRef, Index, RevocationFiles
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

STALE_SOURCE = "stale-source"
"""The result code of a sync whose source serves lists already past their valid-until."""

__all__ = ["STALE_SOURCE", "Fetched", "Progress", "Source", "SyncClient", "SyncFailed",
           "SyncResult", "SyncSettings", "run_forever"]


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
    deadline: float = 900.0
    redirect_hosts: tuple[str, ...] = ()

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
            ca_file=config.sync.ca_file, max_clock_offset=config.lists.max_clock_offset,
            deadline=config.sync.deadline, redirect_hosts=tuple(config.sync.redirect_hosts))

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
    """What a sync did: ``ok`` and ``code`` ("updated", "current", or a failure code such as
    "stale-source", "disk-full", "deadline", "rollback") and a line."""

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
        raise SyncFailed(exc.code, str(exc)) from None


def storage_failure(exc: BaseException, db: Path) -> SyncResult:
    """The result for a store or disk failure: ``disk-full`` when the disk is, else
    ``store-error``; the update in progress was rolled back either way."""
    full = (getattr(exc, "errno", None) == errno.ENOSPC
            or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(exc))
    if full:
        return SyncResult(False, "disk-full", f"the disk holding {db} is full; the update in "
                          "progress was rolled back and the held lists stay in use: free some "
                          "space and sync again")
    return SyncResult(False, "store-error", f"revocation store {db}: {exc}")


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
        with contextlib.ExitStack() as stack:
            try:
                self.s.db.parent.mkdir(parents=True, exist_ok=True)
                lock = stack.enter_context(open(str(self.s.db) + ".sync-lock", "a"))
            except OSError as exc:
                return self._logged(storage_failure(exc, self.s.db))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return SyncResult(False, "busy", "another sync of this store is running")
            return self._run_locked()

    def _run_locked(self) -> SyncResult:
        try:
            store = RevocationStore(self.s.db, clock=self.clock)
        except (sqlite3.Error, OSError) as exc:        # StorageError is an OSError
            return self._logged(storage_failure(exc, self.s.db))
        try:
            try:
                # marked first: if the run is killed or its result cannot be written (a full
                # disk), status shows an unfinished sync instead of the last good one
                self._record(store, SyncResult(False, "unfinished", "a sync started and has not "
                                               "finished (still running, killed, or its result "
                                               "could not be written)"), strict=True)
                result = self._sync(store, Source(self.s, progress=self.progress,
                                                  clock=self.clock))
                if result.ok:
                    result = self._stale_check(store, result)
            except SyncFailed as exc:
                result = SyncResult(False, exc.code, exc.message)
            except TrustListError as exc:
                result = SyncResult(False, exc.code, str(exc))
            except (sqlite3.Error, OSError) as exc:
                result = storage_failure(exc, self.s.db)
            self._record(store, result)
            if result.ok:
                try:
                    store.set_state(timeguard.LAST_SYNC_OK, {"at": int(self.clock.time())})
                except (sqlite3.Error, OSError) as exc:
                    log.error("event=sync_success_unrecorded error=%s", exc)
            return self._logged(result)
        finally:
            store.close()

    def _record(self, store: RevocationStore, result: SyncResult, *, strict: bool = False) -> None:
        """Fill in the held versions and save the result for ``scanpoint status``."""
        try:
            rev = store.meta(REVOCATION)
            trust = store.meta(TRUST)
            result.revocation_version = rev.version if rev else None
            result.trust_version = trust.version if trust else None
            store.set_state(timeguard.LAST_SYNC, {
                "at": int(self.clock.time()), "ok": result.ok, "code": result.code,
                "message": result.message[:300], "source": self.s.source})
        except (sqlite3.Error, OSError) as exc:
            if strict:
                raise
            log.error("event=sync_result_unrecorded code=%s error=%s", result.code, exc)

    @staticmethod
    def _logged(result: SyncResult) -> SyncResult:
        """Log the result at INFO: the caller reports it (``sync --once`` prints its one line,
        :func:`run_forever` logs a failure as a warning)."""
        log.info("event=sync ok=%s code=%s revocation=%s trust=%s detail=%r", result.ok,
                 result.code, result.revocation_version, result.trust_version, result.message)
        return result

    def _sync(self, store: RevocationStore, source: Source) -> SyncResult:
        held_index = store.meta(listfiles.KIND_INDEX)
        # conditional only while the held clock observation is from this boot: after a reboot
        # (a Pi has no RTC) the whole index is fetched so its Date is counted again
        etag = held_index.etag if held_index and self._observed_this_boot(store) else None
        fetched = source.fetch(listfiles.INDEX_NAME, self.s.max_index_bytes, etag=etag)
        if fetched.status == 304 and held_index is not None:
            # a 304 proves nothing about who answered: its Date is not counted
            return SyncResult(True, "current", f"index unchanged (version {held_index.version})")
        idx = self._read_index(fetched.data)
        if held_index is not None and idx.version < held_index.version:
            raise SyncFailed("rollback", f"index version {idx.version} is older than held "
                             f"version {held_index.version} (replayed or rolled back)")
        self._observe(store, fetched, idx)
        applied: list[str] = []
        if idx.revocation is not None:
            applied += self._sync_revocation(store, source, idx.revocation)
        if idx.trust is not None and self.s.trust_file is not None:
            applied += self._sync_trust(store, source, idx.trust.file, idx.trust.version)
        if held_index is None or idx.version > held_index.version:
            store.record_list(listfiles.KIND_INDEX, idx.version, idx.issued, idx.valid_until,
                              etag=fetched.etag)
        if not applied:
            return SyncResult(True, "current", f"lists current (index {idx.version})")
        return SyncResult(True, "updated", "applied " + ", ".join(applied), applied=applied)

    @staticmethod
    def _observed_this_boot(store: RevocationStore) -> bool:
        row = store.con.execute("SELECT value FROM sync_state WHERE key = ?",
                                (timeguard.CLOCK_STATE,)).fetchone()
        if row is None:
            return False
        try:
            obs = json.loads(row[0])
        except ValueError:
            return False
        return isinstance(obs, dict) and timeguard.same_boot(obs.get("boot_id"))

    def _observe(self, store: RevocationStore, fetched: Fetched, idx: Index) -> None:
        """Record the clock check from the ``Date`` of a verified, current index answer."""
        if fetched.date is None:
            return
        try:
            obs = timeguard.clock_observation(fetched.date, self.clock)
        except ValueError as exc:
            log.warning("event=clock_observation_skipped error=%s", exc)
            return
        obs.update(index_version=idx.version, source=http_date_note(fetched))
        store.set_state(timeguard.CLOCK_STATE, obs)
        if abs(obs["offset"]) > self.s.max_clock_offset:   # the scanner's own limit
            log.warning("event=clock_offset offset=%.0f allowed=%.0f", obs["offset"],
                        self.s.max_clock_offset)

    def _stale_check(self, store: RevocationStore, result: SyncResult) -> SyncResult:
        """``result``, or ``stale-source`` when a list held after it is past its valid-until."""
        now = self.clock.time()
        kinds = [listfiles.KIND_INDEX, REVOCATION] + ([TRUST] if self.s.trust_file else [])
        for kind in kinds:
            m = store.meta(kind)
            if m is None or not now > m.valid_until:
                continue
            applied = f"; applied all the same: {', '.join(result.applied)}" if result.applied else ""
            return SyncResult(False, STALE_SOURCE, f"the source's {kind} list version {m.version} "
                              f"expired {(now - m.valid_until) / 3600:.1f} h ago: its publisher "
                              f"has stopped publishing{applied}", applied=result.applied)
        return result

    def _read_index(self, data: bytes) -> Index:
        try:
            return listfiles.read_index(data, self.s.root_public_key,
                                        max_bytes=self.s.max_index_bytes)
        except TrustListError as exc:
            raise SyncFailed(exc.code, f"index refused: {exc}") from None

    def _sync_revocation(self, store: RevocationStore, source: Source,
                         files: RevocationFiles) -> list[str]:
        held = store.meta(REVOCATION)
        snapshot, target = files.snapshot, files.version
        if held is not None and target < held.version:
            raise SyncFailed("rollback", f"revocation list version {target} is older than held "
                             f"version {held.version} (rolled back)")
        if held is not None and target == held.version:
            return []
        delta = files.deltas.get(held.version) if held is not None else None
        if held is not None and delta is not None and (delta.size < snapshot.size
                                                       or delta.size <= 4096):
            try:
                self._apply_file(store, source, delta, listfiles.KIND_DELTA, target)
                return [f"revocation delta {held.version}->{target}"]
            except (DeltaMismatch, SyncFailed) as exc:
                if isinstance(exc, SyncFailed) and exc.code == "rollback":
                    raise
                log.warning("event=delta_refused reason=%r fallback=snapshot", str(exc))
        self._apply_file(store, source, snapshot, listfiles.KIND_SNAPSHOT, target)
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

    def _sync_trust(self, store: RevocationStore, source: Source, ref: FileRef,
                    version: int) -> list[str]:
        held = store.meta(TRUST)
        if held is not None and version < held.version:
            raise SyncFailed("rollback", f"trust list version {version} is older than "
                             f"held version {held.version} (rolled back)")
        if held is not None and version == held.version:
            return []
        # the sync only checks the list: no SM2 tables are built for its keys in this process
        trust_store = TrustStore(self.s.root_public_key, self.s.trust_file,
                                 max_bytes=MAX_LIST_BYTES,
                                 tables=keytables.KeyTables(background=False))
        try:
            in_file = trust_store.load()             # the file the scanner holds now, if any
        except TrustListError as exc:
            # its version is the floor: without it an older list could replace a newer one
            log.warning("event=held_trust_list_unreadable path=%s error=%s", self.s.trust_file, exc)
            raise SyncFailed("held-trust-unreadable",
                             f"held trust list {self.s.trust_file} cannot be read ({exc}); not "
                             "replacing it: check or remove the file, then sync again") from None
        if held is None and in_file is not None and in_file.version == version:
            # a new or reset store beside a held file of the very version offered: the file
            # (verified just now) is the list, so record it instead of refusing it as a replay
            self._record_trust(store, in_file, ref.sha256)
            log.info("event=trust_list_adopted version=%d path=%s", in_file.version,
                     self.s.trust_file)
            return []
        # the scanner reads trust lists up to MAX_LIST_BYTES: a bigger one would be refused there
        data = self._download(source, ref, MAX_LIST_BYTES)
        try:
            # verifies signature and every key entry, refuses a version not above the held file,
            # then replaces the file atomically; the record below follows the file (a crash in
            # between makes the next sync redo it, never a recorded version without its file)
            lst = trust_store.update(data)
        except TrustListError as exc:
            raise SyncFailed(exc.code, str(exc)) from None
        source.done_with(ref.path)
        if lst.version != version:
            raise SyncFailed("malformed", f"trust file holds version {lst.version}, index says "
                             f"{version}")
        self._record_trust(store, lst, ref.sha256)
        return [f"trust list {lst.version}"]

    @staticmethod
    def _record_trust(store: RevocationStore, lst: Any, etag: str) -> None:
        try:
            store.record_list(TRUST, lst.version, lst.issued, lst.valid_until, etag=etag,
                              entries=None)
        except ListRollback as exc:
            raise SyncFailed("rollback", str(exc)) from None


def run_forever(client: SyncClient, interval: float, *, stop: Callable[[], bool] = lambda: False) -> None:
    """Sync every ``interval`` seconds (with jitter) until ``stop()``; failures are logged, not fatal."""
    while not stop():
        result = client.run_once()
        if not result.ok:
            log.warning("event=sync_failed code=%s detail=%r", result.code, result.message)
        client.clock.sleep(interval * random.uniform(0.9, 1.1))
