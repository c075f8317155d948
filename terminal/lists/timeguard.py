"""Clock trust and list staleness: can the terminal believe its own clock and its lists right now?

A Raspberry Pi has no RTC and device clocks get set back to revive expired codes. So on every sync
the client compares the server's HTTP ``Date`` with the local clock and records the offset (with the
boot id and monotonic time, so later checks can project the server's time forward), and the terminal
never accepts a local time earlier than the newest signed list it holds (lists carry their issue
time). Past a list's valid-until, or with an untrusted clock, decisions that depend on it become
``check`` -- or ``deny`` where a site configures that (:func:`decision_for`).
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from terminal.reasons import Decision, Reason

log = logging.getLogger("scanpoint.timeguard")

CLOCK_STATE = "clock"          # sync_state key holding the last server-date observation
LAST_SYNC = "last_sync"        # sync_state key holding the last sync result


def boot_id() -> str | None:
    """This boot's id (Linux); monotonic readings are comparable only within one boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def parse_http_date(value: str | None) -> float | None:
    """Unix seconds of an HTTP ``Date`` header, or None if absent or unparseable."""
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None or dt.tzinfo is None:
        return None
    return dt.timestamp()


def clock_observation(server_date: float, local_time: float, *,
                      monotonic: float | None = None) -> dict:
    """What a sync records: the server's time, ours, their offset, and where we were in this boot."""
    return {
        "server_date": float(server_date),
        "local_time": float(local_time),
        "offset": float(server_date) - float(local_time),   # > 0: local clock is behind
        "monotonic": float(time.monotonic() if monotonic is None else monotonic),
        "boot_id": boot_id(),
    }


@dataclass
class TimeGuard:
    """Judges clock trust and list freshness from held list metadata and the last clock observation.

    ``max_offset``: how far (s) the local clock may be from the server's before it is untrusted
    (default 2 h). ``issued_tolerance``: how far before a held list's issue time the local clock may
    read before it is untrusted (publisher clocks drift a little).
    """

    max_offset: float = 7200.0
    issued_tolerance: float = 600.0

    @classmethod
    def from_config(cls, config: Any) -> "TimeGuard":
        """The guard a terminal config describes (``[lists] max_clock_offset``, ``issued_tolerance``)."""
        return cls(float(config.lists.max_clock_offset), float(config.lists.issued_tolerance))

    def clock_reason(self, now: float, meta: Mapping[str, Any],
                     state: Mapping[str, Any], *, mono_now: float | None = None) -> str | None:
        """Why the clock is untrusted (a sentence for logs and status), or None if it is trusted."""
        newest = max((m.issued for m in meta.values()), default=None)
        if newest is not None and now < newest - self.issued_tolerance:
            return (f"local clock {int(now)} is before the newest signed list's issue time "
                    f"{int(newest)}")
        obs = state.get(CLOCK_STATE)
        if obs:
            bid = boot_id()
            if obs.get("boot_id") and obs.get("boot_id") == bid:
                # Same boot: project the server's time with the monotonic clock, which no one can set.
                mono = time.monotonic() if mono_now is None else mono_now
                expected = obs["server_date"] + (mono - obs["monotonic"])
                off = expected - now
            else:
                off = obs["offset"]
            if abs(off) > self.max_offset:
                return (f"local clock is {off:+.0f} s off the sync server's time "
                        f"(allowed ±{self.max_offset:.0f} s)")
        return None

    def assess(self, now: float, meta: Mapping[str, Any], state: Mapping[str, Any], *,
               required: Iterable[str] = ()) -> Reason | None:
        """CLOCK_UNTRUSTED, LIST_STALE (a required list missing or past valid-until) or None."""
        if self.clock_reason(now, meta, state) is not None:
            return Reason.CLOCK_UNTRUSTED
        for kind in required:
            m = meta.get(kind)
            if m is None or now > m.valid_until:
                return Reason.LIST_STALE
        return None


def decision_for(reason: Reason, *, stale: str = "check", untrusted_clock: str = "check") -> Decision:
    """The decision a site wants for a list/clock reason (``check`` by default, or ``deny``)."""
    if reason is Reason.LIST_STALE:
        return Decision(stale)
    if reason is Reason.CLOCK_UNTRUSTED:
        return Decision(untrusted_clock)
    return Decision.DENY


def describe(meta: Mapping[str, Any], state: Mapping[str, Any], now: float,
             guard: TimeGuard | None = None) -> dict:
    """The status of held lists, the clock and the last sync as a JSON-able dict."""
    guard = guard or TimeGuard()
    lists = {}
    for kind, m in sorted(meta.items()):
        lists[kind] = {
            "version": m.version,
            "issued": m.issued,
            "valid_until": m.valid_until,
            "age_s": int(now - m.issued),
            "stale": now > m.valid_until,
            "entries": m.entries,
        }
    obs = state.get(CLOCK_STATE) or {}
    clock_problem = guard.clock_reason(now, meta, state)
    parts = []
    for kind in ("revocation", "trust"):
        m = meta.get(kind)
        if m is None:
            parts.append(f"{kind}: none held")
            continue
        left = (m.valid_until - now) / 3600
        state_txt = f"STALE {-left:.1f} h" if left < 0 else f"valid {left:.1f} h more"
        n = f", {m.entries} entries" if m.entries is not None else ""
        parts.append(f"{kind} v{m.version}{n}, {_age(now - m.issued)} old, {state_txt}")
    parts.append("clock trusted" if clock_problem is None else f"CLOCK UNTRUSTED: {clock_problem}")
    last = state.get(LAST_SYNC)
    if last:
        parts.append(f"last sync {'ok' if last.get('ok') else 'FAILED'} {last.get('code')} "
                     f"{_age(now - last.get('at', now))} ago")
    return {
        "summary": "; ".join(parts),
        "lists": lists,
        "clock": {
            "trusted": clock_problem is None,
            "problem": clock_problem,
            "offset_s": obs.get("offset"),
            "observed_at": obs.get("local_time"),
        },
        "last_sync": state.get(LAST_SYNC),
    }


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def status_section(config: Any) -> dict:
    """The ``sync`` part of ``scanpoint status [--json]``: list versions, ages, clock, last sync.

    ``config`` is the terminal config (``[lists]`` and ``[terminal] state_dir``); never raises for
    a missing or unreadable store -- it is reported as such.
    """
    from terminal.lists.revocation import read_lists, store_path
    db = store_path(config)
    guard = TimeGuard.from_config(config)
    now = time.time()
    if not db.exists():
        return {"store": str(db), "error": "no revocation store yet: run `scanpoint sync --once`",
                "lists": {}, "clock": {"trusted": None}, "last_sync": None}
    try:
        meta, state = read_lists(db)
    except Exception as exc:  # report, never crash the status screen
        return {"store": str(db), "error": f"revocation store unreadable: {exc}",
                "lists": {}, "clock": {"trusted": None}, "last_sync": None}
    out = describe(meta, state, now, guard)
    out["store"] = str(db)
    return out
