"""What ``scanpoint status`` shows of the lists: versions, ages, validity, clock trust, last sync.

Read from the revocation store without creating or changing it; the rules (stale, clock trusted)
are :class:`~terminal.lists.timeguard.TimeGuard`'s, so the status screen and the scanner agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.lists.revocation import read_lists, store_path
from terminal.lists.timeguard import CLOCK_STATE, LAST_SYNC, LAST_SYNC_OK, TimeGuard, same_boot


def describe(meta: Mapping[str, Any], state: Mapping[str, Any], now: float,
             guard: TimeGuard | None = None) -> dict[str, Any]:
    """The status of held lists, the clock and the last sync as a JSON-able dict."""
    guard = guard or TimeGuard()
    lists = {}
    for kind, m in sorted(meta.items()):
        lists[kind] = {
            "version": m.version,
            "issued": m.issued,
            "valid_until": m.valid_until,
            "age_s": _seconds(now - m.issued),
            "stale": not now <= m.valid_until,
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
        try:
            left = (m.valid_until - now) / 3600
        except TypeError:
            left = math.nan
        if not math.isfinite(left):
            parts.append(f"{kind} v{m.version}: DAMAGED validity")
            continue
        state_txt = f"STALE {-left:.1f} h" if left < 0 else f"valid {left:.1f} h more"
        n = f", {m.entries} entries" if m.entries is not None else ""
        parts.append(f"{kind} v{m.version}{n}, {_age(now - m.issued)} old, {state_txt}")
    parts.append("clock trusted" if clock_problem is None else f"CLOCK UNTRUSTED: {clock_problem}")
    source = clock_source(obs, now)
    parts.append(f"clock trust from {source}")
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
            "source": source,
            "offset_s": obs.get("offset"),
            "observed_at": obs.get("local_time"),
        },
        "last_sync": state.get(LAST_SYNC),
        "last_success": _last_success(state),
    }


def _last_success(state: Mapping[str, Any]) -> int | None:
    """Unix time of the last sync that succeeded (a store from before this was recorded: the
    last sync's, if it succeeded)."""
    ok = state.get(LAST_SYNC_OK)
    if isinstance(ok, dict) and isinstance(ok.get("at"), int):
        return ok["at"]
    last = state.get(LAST_SYNC)
    if isinstance(last, dict) and last.get("ok") and isinstance(last.get("at"), int):
        return last["at"]
    return None


def clock_source(obs: Mapping[str, Any], now: float) -> str:
    """Where the clock's trust comes from, in words: the ``Date`` of which verified index, how
    long ago, and whether it is still projected with this boot's monotonic clock."""
    if not obs:
        return ("the held lists' issue times only (no verified server Date yet: run "
                "`scanpoint sync --once`)")
    index = obs.get("index_version")
    what = f"the Date of verified index v{index}" if index is not None else "a server Date"
    where = f" from {obs['source']}" if obs.get("source") else ""
    boot = ("projected with this boot's monotonic clock" if same_boot(obs.get("boot_id"))
            else "recorded in another boot: its offset only")
    at = obs.get("local_time")
    ago = _age(now - at) if isinstance(at, (int, float)) else "an unknown time"
    return f"{what}{where}, {ago} ago, {boot}"


def _seconds(value: Any) -> int | None:
    """Whole seconds, or None for a value that is not a finite number (a damaged store)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _age(seconds: float) -> str:
    seconds = max(0, _seconds(seconds) or 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def status_section(config: Any, *, clock: Clock = SYSTEM) -> dict[str, Any]:
    """The ``sync`` part of ``scanpoint status [--json]``: list versions, ages, clock, last sync.

    ``config`` is the terminal config (``[lists]`` and ``[terminal] state_dir``); never raises for
    a missing or unreadable store -- it is reported as such.
    """
    db = store_path(config)
    guard = TimeGuard.from_config(config, clock=clock)
    now = clock.time()
    if not db.exists():
        return {"store": str(db), "error": "no revocation store yet: run `scanpoint sync --once`",
                "lists": {}, "clock": {"trusted": None}, "last_sync": None}
    try:
        meta, state = read_lists(db)
        out = describe(meta, state, now, guard)
    except Exception as exc:  # noqa: BLE001 - report, never crash the status screen
        return {"store": str(db), "error": f"revocation store unreadable: {exc}",
                "lists": {}, "clock": {"trusted": None}, "last_sync": None}
    out["store"] = str(db)
    return out
