"""ISO-8601 times for the command line and exports: one parser and one formatter.

Every command reads times the same way (naive = UTC, ``Z`` accepted) and writes them the same
way (UTC, whole seconds, ``Z``), so a time printed by one command can be pasted into another.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from terminal.clock import SYSTEM
from terminal.errors import TimeFormatError


def parse_iso(text: str) -> float:
    """Unix seconds of an ISO-8601 date or date-time (``2026-11-24``, ``2026-11-24T08:00:00Z``,
    ``...+08:00``); no zone means UTC. Raises :class:`TimeFormatError` (a ``ValueError``) for
    anything else."""
    try:
        moment = datetime.fromisoformat(text.strip())   # Python 3.11+ reads a trailing Z
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    except (ValueError, OverflowError):
        raise TimeFormatError(f"{text!r} is not an ISO-8601 date or time such as "
                              "2026-01-01T08:00:00Z") from None
    return in_range(seconds, text)


def in_range(seconds: float, text: str) -> float:
    """``seconds`` if it is a time :func:`iso` can write (years 1-9999), else
    :class:`TimeFormatError` quoting ``text`` — so a typo fails here, not in the output."""
    try:
        if not math.isfinite(seconds):
            raise ValueError
        datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise TimeFormatError(f"{text!r} is out of range: give a time between the years "
                              "1 and 9999") from None
    return seconds


def iso(seconds: float) -> str:
    """UTC ISO-8601 with whole seconds, e.g. ``2026-11-24T03:15:40Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_at(value: str | None) -> float:
    """Unix seconds for an ``--at`` option: ISO-8601 (see :func:`parse_iso`) or plain Unix
    seconds; now if None."""
    if value is None:
        return SYSTEM.time()
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return in_range(seconds, value)
    try:
        return parse_iso(text)
    except TimeFormatError:
        raise TimeFormatError(f"{value!r} is not an ISO-8601 time such as 2026-01-01T08:00:00Z "
                              "(no zone = UTC) nor Unix seconds") from None
