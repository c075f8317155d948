"""What ``scanpoint status`` shows of the lists: versions, ages, validity, clock trust, last sync.

Read from the revocation store without creating or changing it; the rules (stale, clock trusted)
are :class:`~terminal.lists.timeguard.TimeGuard`'s, so the status screen and the scanner agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.lists.revocation import read_lists, store_path
from terminal.lists.timeguard import CLOCK_STATE, LAST_SYNC, LAST_SYNC_OK, TimeGuard


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


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
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
    except Exception as exc:  # noqa: BLE001 - report, never crash the status screen
        return {"store": str(db), "error": f"revocation store unreadable: {exc}",
                "lists": {}, "clock": {"trusted": None}, "last_sync": None}
    out = describe(meta, state, now, guard)
    out["store"] = str(db)
    return out
