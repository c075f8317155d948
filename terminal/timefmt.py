"""ISO-8601 times for the command line and exports: one parser and one formatter.

Every command reads times the same way (naive = UTC, ``Z`` accepted) and writes them the same
way (UTC, whole seconds, ``Z``), so a time printed by one command can be pasted into another.
"""

from __future__ import annotations

from datetime import datetime, timezone

from terminal.clock import SYSTEM


def parse_iso(text: str) -> float:
    """Unix seconds of an ISO-8601 date or date-time (``2026-11-24``, ``2026-11-24T08:00:00Z``,
    ``...+08:00``); no zone means UTC. Raises ``ValueError`` for anything else."""
    moment = datetime.fromisoformat(text.strip())   # Python 3.11+ reads a trailing Z
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(seconds: float) -> str:
    """UTC ISO-8601 with whole seconds, e.g. ``2026-11-24T03:15:40Z``."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_at(value: str | None) -> float:
    """Unix seconds for an ``--at`` option: ISO-8601 (see :func:`parse_iso`) or plain Unix
    seconds; now if None."""
    if value is None:
        return SYSTEM.time()
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_iso(text)
    except ValueError:
        raise ValueError(f"--at {value!r} is not an ISO-8601 time such as 2026-01-01T08:00:00Z") from None
