"""Clock trust and list staleness: can the terminal believe its own clock and its lists right now?

A Raspberry Pi has no RTC and device clocks get set back to revive expired codes. So on every sync
the client compares the server's HTTP ``Date`` with the local clock and records the offset (with the
boot id and monotonic time, so later checks can project the server's time forward), and the terminal
never accepts a local time earlier than the newest signed list it holds (lists carry their issue
time). Past a list's valid-until, or with an untrusted clock, decisions that depend on it become
``check`` -- or ``deny`` where a site's ``[lists]`` settings say so.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.reasons import Reason

log = logging.getLogger("scanpoint.timeguard")

CLOCK_STATE = "clock"          # sync_state key holding the last server-date observation
LAST_SYNC = "last_sync"        # sync_state key holding the last sync result
LAST_SYNC_OK = "last_sync_ok"  # sync_state key holding the last successful sync (its time)


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


def clock_observation(server_date: float, clock: Clock) -> dict[str, Any]:
    """What a sync records: the server's time, ours, their offset, and where we were in this boot."""
    local_time = clock.time()
    return {
        "server_date": float(server_date),
        "local_time": float(local_time),
        "offset": float(server_date) - float(local_time),   # > 0: local clock is behind
        "monotonic": float(clock.monotonic()),
        "boot_id": boot_id(),
    }


@dataclass
class TimeGuard:
    """Judges clock trust and list freshness from held list metadata and the last clock observation.

    ``max_offset``: how far (s) the local clock may be from the server's before it is untrusted
    (default 2 h). ``issued_tolerance``: how far before a held list's issue time the local clock may
    read before it is untrusted (publisher clocks drift a little). ``clock`` supplies the monotonic
    time that projects the server's time forward within one boot.
    """

    max_offset: float = 7200.0
    issued_tolerance: float = 600.0
    clock: Clock = field(default=SYSTEM, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: Any, *, clock: Clock = SYSTEM) -> TimeGuard:
        """The guard a terminal config describes (``[lists] max_clock_offset``, ``issued_tolerance``)."""
        return cls(float(config.lists.max_clock_offset), float(config.lists.issued_tolerance),
                   clock)

    def clock_reason(self, now: float, meta: Mapping[str, Any],
                     state: Mapping[str, Any]) -> str | None:
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
                expected = obs["server_date"] + (self.clock.monotonic() - obs["monotonic"])
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
