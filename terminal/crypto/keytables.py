"""SM2 key tables within a memory budget, built off the scan path, hottest keys first.

A verification with a key's comb table costs ~0.25 ms, but the table costs ~7 ms to build and
~0.7 MB to hold; a trust list of 1,000 issuer keys cannot have them all (0.7 GB) and must never
build one while a person waits at the gate (an 8.7 ms stall). So each key has three tiers:

* **comb table** (:func:`terminal.crypto.curve.comb_table_steps`, ~0.7 MB): for the keys that
  are used most, as many as the budget holds (``[trust] key_tables_mib``, default 64 MiB),
  least recently used dropped first when a hotter key needs the room;
* **split table** (:func:`terminal.crypto.curve.split_table_steps`, ~6 KB, ~0.45 ms a
  verification): for every key of a trust list, built soon after the list is loaded (and for
  any other key once it is used again);
* **none** (width-5 NAF, ~1 ms): a key met before its split table is ready.

Every table is built by one background thread (:class:`KeyTables`), in slices that hand the
interpreter back between them, so a verification never builds anything and never waits for more
than one slice. Keys are held weakly: a key dropped with its trust list frees its tables.

One manager serves the process (:func:`default`): the scanner's trust list and
:func:`terminal.crypto.sm2.verify` share the budget. :meth:`KeyTables.configure` sets it from
the config.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import weakref
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from terminal.clock import SYSTEM, Clock
from terminal.crypto import curve

log = logging.getLogger("scanpoint.keytables")

MIB = 1 << 20
DEFAULT_BUDGET = 64 * MIB
"""Memory for comb and split tables together (``[trust] key_tables_mib``)."""
MIN_USES = 2
"""Uses (without a comb table) before a key may get one: a key seen once may never return."""
AGE_EVERY = 512
"""Use counts halve every this many verifications, so a key hot an hour ago cools down."""
PAUSE_S = 0.0005
"""Pause between slices of a build: long enough for a waiting scan to take the interpreter."""
WORK_S = 0.0003
"""Work done between pauses (several small slices may make one)."""
REPLACE_EVERY_S = 1.0
"""With the budget full, at most one comb table is replaced this often — the least recently used
out, a key used at least twice as much in: under an even spread of many keys, churn would only
burn CPU."""


class TableKey(Protocol):
    """What the manager needs of a key (:class:`terminal.crypto.sm2.PublicKey`)."""

    x: int
    y: int

    @property
    def window(self) -> int:
        """The comb table's window (bits per digit)."""

    def set_comb(self, table: list[list] | None) -> None:
        """Give the key its comb table, or drop it (None)."""

    def set_split(self, table: list[list[tuple[int, int]]]) -> None:
        """Give the key its split table."""

    def tables(self) -> tuple[bool, bool]:
        """(has a comb table, has a split table)."""


def table_bytes(kind: str, window: int = 7) -> int:
    """Bytes a table of ``kind`` ("comb" of ``window``, or "split") holds: its lists, the point
    tuples and their 256-bit integers (:func:`deep_size` of a real one agrees within a few %)."""
    number = sys.getsizeof((1 << 255) + 1)
    point = sys.getsizeof((0, 0)) + 2 * number
    if kind == "split":
        count = 1 << (curve.SPLIT_WIDTH - 2)
        return (sys.getsizeof([None] * curve.SPLIT_PARTS)
                + curve.SPLIT_PARTS * (sys.getsizeof([None] * count) + count * point))
    rows = (257 + window - 1) // window
    half = 1 << (window - 1)
    negative = sys.getsizeof((0, 0)) + number          # −d·B shares d·B's x
    return sys.getsizeof([None] * rows) + rows * (sys.getsizeof([None] * 2 * half)
                                                  + half * point + (half - 1) * negative)


@dataclass
class _Entry:
    ref: weakref.ReferenceType[Any]
    uses: int = 0
    epoch: int = 0
    comb: bool = False
    split: bool = False
    preload: bool = False
    order: int = 0


@dataclass
class Stats:
    """What the manager holds and did (for status, tests and the benchmark)."""

    keys: int = 0
    comb_tables: int = 0
    split_tables: int = 0
    bytes: int = 0
    budget: int = 0
    built_comb: int = 0
    built_split: int = 0
    evicted: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def deep_size(obj: object) -> int:
    """Bytes of a table: its lists, tuples and integers (each counted once)."""
    seen: set[int] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


class KeyTables:
    """Builds and frees keys' tables within ``budget_bytes`` (see the module docstring).

    ``background=False`` builds nothing by itself: :meth:`build_pending` does the work in the
    caller's thread (tests). :meth:`note_use` is the scan path's only call: a few dictionary
    operations under a lock, never a build.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, *, clock: Clock = SYSTEM,
                 background: bool = True, min_uses: int = MIN_USES,
                 replace_every: float = REPLACE_EVERY_S) -> None:
        self.budget_bytes = int(budget_bytes)
        self.clock = clock
        self.background = background
        self.min_uses = min_uses
        self.replace_every = replace_every
        self._replaced_at = -float("inf")
        self._quiet_until = -float("inf")    # full budget: no comb work to look for until then
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._entries: dict[int, _Entry] = {}
        self._lru: collections.OrderedDict[int, None] = collections.OrderedDict()   # comb holders
        self._candidates: set[int] = set()       # used without a comb table since last looked at
        self._need_split: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._dead: collections.deque[int] = collections.deque()
        self._bytes = 0
        self._uses = 0
        self._order = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.stats = Stats(budget=self.budget_bytes)

    # -- settings ------------------------------------------------------------------------------
    def configure(self, budget_bytes: int) -> None:
        """Set the budget (bytes); tables over a smaller one are dropped, least recent first."""
        with self._lock:
            self.budget_bytes = int(budget_bytes)
            self.stats.budget = self.budget_bytes
            while self._bytes > self.budget_bytes and self._lru:
                self._evict_lru()
            self._work.notify()

    # -- what the keys tell the manager ---------------------------------------------------------
    def register(self, keys: Iterable[TableKey], *, preload: bool | None = None) -> None:
        """Track ``keys`` (a trust list's): each gets a split table soon, and a comb table too
        when all of them fit in the budget (``preload``; default: decided from the count)."""
        keys = list(keys)
        with self._lock:
            if preload is None:
                preload = (len(keys) * (self._size("comb") + self._size("split"))
                           <= self.budget_bytes - self._bytes)
            for key in keys:
                entry = self._entry(key)
                entry.preload = entry.preload or preload
                if not entry.split:
                    self._need_split[id(key)] = None
                if entry.preload and not entry.comb:
                    self._candidates.add(id(key))
            self._wake()

    def note_use(self, key: TableKey) -> None:
        """A verification used ``key``: count it, refresh its comb table's place in the LRU
        order, or ask for the tables it lacks. Cheap; never builds."""
        with self._lock:
            entry = self._entry(key)
            self._uses += 1
            epoch = self._uses // AGE_EVERY
            entry.uses = (entry.uses >> min(63, epoch - entry.epoch)) + 1
            entry.epoch = epoch
            kid = id(key)
            if entry.comb:                           # held (or being built)
                if kid in self._lru:
                    self._lru.move_to_end(kid)
                return
            if not entry.split and (entry.uses >= self.min_uses or kid in self._need_split):
                self._need_split[kid] = None                        # used: split it first
                self._need_split.move_to_end(kid, last=False)
            if (entry.uses >= self.min_uses or entry.preload) and kid not in self._candidates:
                self._candidates.add(kid)
                self._wake()

    # -- building ------------------------------------------------------------------------------
    def build_pending(self, limit: int | None = None) -> int:
        """Build what is wanted now, in this thread (without pauses); the number of tables."""
        done = 0
        while limit is None or done < limit:
            job = self._next_job()
            if job is None:
                return done
            self._build(*job, pause=False)
            done += 1
        return done

    def close(self) -> None:
        """Stop the background builder (tables already built stay with their keys)."""
        with self._lock:
            self._closed = True
            self._work.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def snapshot(self) -> Stats:
        """Counts and bytes now (a copy)."""
        with self._lock:
            self._reap()
            s = self.stats
            return Stats(len(self._entries), len(self._lru),
                         sum(1 for e in self._entries.values() if e.split), self._bytes,
                         self.budget_bytes, s.built_comb, s.built_split, s.evicted)

    # -- inside ----------------------------------------------------------------------------------
    def _entry(self, key: TableKey) -> _Entry:
        kid = id(key)
        entry = self._entries.get(kid)
        if entry is not None and entry.ref() is not key:
            self._forget(kid, entry)             # a dead key whose id was given to this one
            entry = None
        if entry is None:
            entry = _Entry(weakref.ref(key, _on_death(self._dead, kid)))
            self._order += 1
            entry.order = self._order
            comb, split = key.tables()
            entry.comb, entry.split = comb, split
            if comb:
                self._lru[kid] = None
                self._bytes += self._size("comb")
            if split:
                self._bytes += self._size("split")
            self._entries[kid] = entry
        return entry

    def _wake(self) -> None:
        """Have the builder look for work (not while the budget is full and it is quiet, unless
        a split table is wanted: looking means walking every candidate)."""
        if not self.background or self._closed:
            return
        if not self._need_split and self.clock.monotonic() < self._quiet_until:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sm2-key-tables", daemon=True)
            self._thread.start()
        self._work.notify()

    @staticmethod
    def _size(kind: str) -> int:
        """Bytes of one table of ``kind`` (the key's window is :data:`sm2.KEY_WINDOW`'s 7)."""
        return _SIZES[kind]

    def _reap(self) -> None:
        """Forget keys that were dropped (their tables went with them)."""
        while self._dead:
            kid = self._dead.popleft()
            entry = self._entries.get(kid)
            if entry is not None and entry.ref() is None:
                self._forget(kid, entry)

    def _forget(self, kid: int, entry: _Entry) -> None:
        del self._entries[kid]
        if entry.comb:
            self._bytes -= self._size("comb")
            self._lru.pop(kid, None)
        if entry.split:
            self._bytes -= self._size("split")
        self._candidates.discard(kid)
        self._need_split.pop(kid, None)

    def _evict_lru(self) -> None:
        kid, _ = self._lru.popitem(last=False)
        entry = self._entries[kid]
        key = entry.ref()
        entry.comb = False
        entry.uses = 0
        self._bytes -= self._size("comb")
        self.stats.evicted += 1
        if key is not None:
            key.set_comb(None)

    def _next_job(self) -> tuple[TableKey, str] | None:
        """The next (key, "split" | "comb") to build, or None; evicts to make room."""
        with self._lock:
            self._reap()
            while self._need_split:
                kid, _ = self._need_split.popitem(last=False)
                entry = self._entries.get(kid)
                key = entry.ref() if entry is not None else None
                if entry is not None and key is not None and not entry.split:
                    return key, "split"
            need = self._size("comb")
            full = self._bytes + need > self.budget_bytes and bool(self._lru)
            now = self.clock.monotonic()
            if full and now < max(self._quiet_until, self._replaced_at + self.replace_every):
                return None                  # full: one replacement per interval at most
            best = None
            for kid in list(self._candidates):
                entry = self._entries.get(kid)
                if entry is None or entry.comb or entry.ref() is None:
                    self._candidates.discard(kid)
                    continue
                rank = (entry.preload, self._heat(entry), -entry.order)
                if best is None or rank > best[0]:
                    best = (rank, kid, entry)
            if best is None:
                return None
            _, kid, entry = best
            self._candidates.discard(kid)
            if full:
                victim = self._entries[next(iter(self._lru))]
                if self._heat(entry) < 2 * max(1, self._heat(victim)):
                    # not clearly hotter than the least recent: keep it, look again later
                    self._quiet_until = now + self.replace_every
                    return None
                self._replaced_at = now
                while self._bytes + need > self.budget_bytes and self._lru:
                    self._evict_lru()
            key = entry.ref()
            if key is None or self._bytes + need > self.budget_bytes:
                return None
            self._bytes += need              # reserved while it is built
            entry.comb = True                # (given back if the key dies first)
            return key, "comb"

    def _heat(self, entry: _Entry) -> int:
        return entry.uses >> min(63, self._uses // AGE_EVERY - entry.epoch)

    def _drain(self, steps: Generator[None, None, Any], *, pause: bool) -> Any:
        """Run a table's build to its end, pausing between slices when ``pause``."""
        worked_from = self.clock.monotonic()
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value
            if pause and self.clock.monotonic() - worked_from >= WORK_S:
                self.clock.sleep(PAUSE_S)
                worked_from = self.clock.monotonic()

    def _build_generator(self) -> None:
        """The generator's comb table, first of all: every verification walks it (until then a
        verification does without, slower but never waiting for a build)."""
        if curve.built_g_table() is None:
            curve.install_g_table(self._drain(curve.g_table_steps(), pause=True))

    def _build(self, key: TableKey, kind: str, *, pause: bool) -> None:
        steps: Generator[None, None, Any]
        if kind == "split":
            steps = curve.split_table_steps(key.x, key.y)
        else:
            steps = curve.comb_table_steps(key.x, key.y, key.window)
        table = self._drain(steps, pause=pause)
        with self._lock:
            kid = id(key)
            entry = self._entries.get(kid)
            if entry is None or entry.ref() is not key:
                if kind == "comb":
                    self._bytes -= self._size("comb")
                return
            if kind == "split":
                entry.split = True
                self._bytes += self._size("split")
                self.stats.built_split += 1
                key.set_split(table)
            else:
                self._lru[kid] = None
                self.stats.built_comb += 1
                key.set_comb(table)

    def _run(self) -> None:
        failures = 0
        try:
            self._build_generator()
        except Exception:
            log.exception("event=generator_table_build_failed")
        while True:
            with self._lock:
                if self._closed:
                    return
            try:
                job = self._next_job()
                if job is not None:
                    self._build(*job, pause=True)
                    continue
            except Exception:       # a bug here must not stop scanning: log it, slow down
                failures += 1
                if failures <= 3:
                    log.exception("event=key_table_build_failed")
            with self._lock:
                if self._closed:
                    return
                self._work.wait(timeout=1.0)


def _on_death(dead: collections.deque[int], kid: int) -> Callable[[object], None]:
    """A weakref callback that only queues the key's id: it may run in any thread, even inside
    the manager's own locked section, so it takes no lock (the queue is reaped later)."""
    return lambda _ref: dead.append(kid)


_SIZES = {"comb": table_bytes("comb"), "split": table_bytes("split")}

_DEFAULT: KeyTables | None = None
_DEFAULT_LOCK = threading.Lock()


def default() -> KeyTables:
    """The process's manager (created on first use with :data:`DEFAULT_BUDGET`)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = KeyTables()
    return _DEFAULT
