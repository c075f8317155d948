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
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock, finite_time
from terminal.reasons import Reason

log = logging.getLogger("scanpoint.timeguard")

CLOCK_STATE = "clock"          # sync_state key holding the last server-date observation
OBSERVED = ("server_date", "local_time", "offset", "monotonic")
"""The numbers of a clock observation; a damaged one (any of them not finite) is not trusted."""
LAST_SYNC = "last_sync"        # sync_state key holding the last sync result
LAST_SYNC_OK = "last_sync_ok"  # sync_state key holding the last successful sync (its time)


BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
BOOT_ID_ENV = "SCANPOINT_BOOT_ID"
"""Where a sandbox that hides ``/proc/sys`` passes the boot id in: the sync unit runs with
``ProcSubset=pid`` and sets ``Environment=SCANPOINT_BOOT_ID=%b`` (systemd's boot-id specifier)."""


def boot_id() -> str | None:
    """This boot's id (Linux), as 32 lower-case hex digits; None if it cannot be known.

    Monotonic readings are comparable only within one boot. Read from the kernel, or — where a
    sandbox hides ``/proc/sys`` (``ProcSubset=pid``) — from :data:`BOOT_ID_ENV`, which the unit
    fills from the same kernel value.
    """
    try:
        return _normal_id(BOOT_ID_FILE.read_text())
    except OSError:
        return _normal_id(os.environ.get(BOOT_ID_ENV, ""))


def _normal_id(text: str) -> str | None:
    """``text`` as 32 lower-case hex digits (the kernel writes dashes, systemd's %b none)."""
    digits = text.strip().replace("-", "").lower()
    if len(digits) != 32 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits


def same_boot(recorded: object) -> bool:
    """True if ``recorded`` (a stored observation's boot id, either spelling) is this boot's."""
    current = boot_id()
    return (current is not None and isinstance(recorded, str)
            and _normal_id(recorded) == current)


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
    """What a sync records: the server's time, ours, their offset, and where we were in this boot.

    Raises ValueError if any of them is not a finite number (a NaN stored here would read as
    "no offset" to every later check)."""
    server_date = finite_time(server_date, "server date")
    local_time = finite_time(clock.time(), "local clock")
    return {
        "server_date": server_date,
        "local_time": local_time,
        "offset": server_date - local_time,   # > 0: local clock is behind
        "monotonic": finite_time(clock.monotonic(), "monotonic clock"),
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

    def __post_init__(self) -> None:
        # a NaN limit would make every comparison false: the guard would trust any clock
        self.max_offset = finite_time(self.max_offset, "max_offset")
        self.issued_tolerance = finite_time(self.issued_tolerance, "issued_tolerance")
        if self.max_offset <= 0 or self.issued_tolerance < 0:
            raise ValueError("max_offset must be positive and issued_tolerance not negative")

    @classmethod
    def from_config(cls, config: Any, *, clock: Clock = SYSTEM) -> TimeGuard:
        """The guard a terminal config describes (``[lists] max_clock_offset``, ``issued_tolerance``)."""
        return cls(float(config.lists.max_clock_offset), float(config.lists.issued_tolerance),
                   clock)

    def clock_reason(self, now: float, meta: Mapping[str, Any],
                     state: Mapping[str, Any]) -> str | None:
        """Why the clock is untrusted (a sentence for logs and status), or None if it is trusted.

        Every test is written to fail closed: a time that is not a finite number — the clock's,
        a held list's, or one in the stored observation — makes the clock untrusted.
        """
        if not _finite(now):
            return f"local clock reads {now!r}, not a finite time"
        issued = [m.issued for m in meta.values()]
        if not all(_finite(t) for t in issued):
            return "a held list's issue time is damaged (not a finite number)"
        newest = max(issued, default=None)
        if newest is not None and not now >= newest - self.issued_tolerance:
            return (f"local clock {int(now)} is before the newest signed list's issue time "
                    f"{int(newest)}")
        obs = state.get(CLOCK_STATE)
        if obs:
            if not isinstance(obs, Mapping) or not all(_finite(obs.get(k)) for k in OBSERVED):
                return "the stored clock observation is damaged (not finite numbers)"
            if same_boot(obs.get("boot_id")):
                # Same boot: project the server's time with the monotonic clock, which no one can set.
                mono = self.clock.monotonic()
                if not _finite(mono):
                    return f"monotonic clock reads {mono!r}, not a finite time"
                expected = obs["server_date"] + (mono - obs["monotonic"])
                off = expected - now
            else:
                off = obs["offset"]
            if not abs(off) <= self.max_offset:
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
            if m is None or not _finite(m.valid_until) or not now <= m.valid_until:
                return Reason.LIST_STALE
        return None


def _finite(value: object) -> bool:
    """True for a real number that is neither NaN nor infinite (bool and text excluded)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
