"""The documents the scanner publishes for screens, and the checks a screen applies to them.

A decision document says what staff need to see and nothing more: decision, reason code, the
staff sentence in Chinese and English, format, credential type, the masked name (always through
:func:`terminal.formats.names.shown_name`), expiry, latency, sequence, time and source. It never
holds a payload, a serial, a code hash, a holder hash, an ID or an ID tail. The display re-checks
every received document field by field (:func:`screen_decision`), so a field this module does not
know never reaches a browser.

:class:`Totals` are the scanner's own counters (decisions by decision, reason and format, and a
latency histogram): sent with every status, so ``/metrics`` stays exact when an event was dropped
on the way to a slow screen.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from terminal.counter.slip import DECISION_EN, DECISION_ZH, TYPE_ZH
from terminal.formats.names import shown_name
from terminal.interfaces import DecisionEvent
from terminal.reasons import Decision, Reason

MAX_MESSAGE = 65536
"""Largest document on the socket, in bytes (a status is a few KiB, a decision under one)."""

DECISION = "decision"
STATUS = "status"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds (seconds) of the frame-to-LED latency histogram."""

_DECISIONS = {d.value: d for d in Decision}
_REASONS = {r.value: r for r in Reason}
_WORD = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
_NAME_CHARS = 40


class MessageError(ValueError):
    """A document on the socket that is not valid JSON of a known kind, or too large."""


def decision_document(event: DecisionEvent) -> dict[str, Any]:
    """What a screen may know of one decision (see the module docstring)."""
    result = event.result
    credential = result.credential
    name = None
    if credential is not None and credential.masked_name:
        name = shown_name(credential.masked_name, credential.format)
    ctype = credential.type if credential is not None else None
    return {
        "kind": DECISION,
        "seq": event.sequence,
        "time": round(event.wall, 3),
        "decision": result.decision.value,
        "reason": result.reason.value,
        "format": result.format,
        "type": ctype,
        "status": credential.status if credential is not None else None,
        "name": name,
        "expires": credential.expires if credential is not None else None,
        "latency_ms": None if event.latency is None else round(event.latency * 1000, 2),
        "source": event.source,
        "terminal": event.terminal_id,
        "site": event.site,
    }


def encode(document: Mapping[str, Any]) -> bytes:
    """One socket message; :class:`MessageError` if it exceeds :data:`MAX_MESSAGE`."""
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"{document.get('kind')} document of {len(data)} bytes exceeds "
                           f"{MAX_MESSAGE}")
    return data


def decode(data: bytes) -> dict[str, Any]:
    """A received message as a dict with a known ``kind``; :class:`MessageError` otherwise."""
    if len(data) > MAX_MESSAGE:
        raise MessageError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MessageError(f"message is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("kind") not in (DECISION, STATUS):
        raise MessageError("message is not a decision or status document")
    return document


def _word(value: Any) -> str | None:
    return value if isinstance(value, str) and _WORD.match(value) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def screen_decision(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """A received decision document as the browser gets it, or None when it is malformed.

    Only known fields pass, each of its expected type; words come from this terminal's own
    tables (reason sentences, decision words, type names); the name is masked again.
    """
    decision = _DECISIONS.get(document.get("decision"))  # type: ignore[arg-type]
    reason = _REASONS.get(document.get("reason"))  # type: ignore[arg-type]
    seq = document.get("seq")
    when = _number(document.get("time"))
    if decision is None or reason is None or not isinstance(seq, int) or when is None:
        return None
    ctype = _word(document.get("type"))
    fmt = _word(document.get("format"))
    raw_name = document.get("name")
    name = (shown_name(raw_name[:_NAME_CHARS], fmt or "native")
            if isinstance(raw_name, str) and raw_name.strip() else None)
    source = document.get("source")
    return {
        "seq": seq,
        "time": when,
        "decision": decision.value,
        "word_zh": DECISION_ZH[decision],
        "word_en": DECISION_EN[decision],
        "reason": reason.value,
        "reason_zh": reason.zh,
        "reason_en": reason.text,
        "format": fmt,
        "type": ctype,
        "type_zh": TYPE_ZH.get(ctype or ""),
        "status": _word(document.get("status")),
        "name": name,
        "expires": _number(document.get("expires")),
        "latency_ms": _number(document.get("latency_ms")),
        "source": source if source in ("camera", "reader") else "camera",
    }


def _key(decision: str, reason: str, fmt: str | None) -> tuple[str, str, str]:
    return decision, reason, fmt or "none"


class Totals:
    """Decisions by (decision, reason, format) and a frame-to-LED latency histogram.

    The scanner records into one; the display mirrors it (:meth:`load` from each status, then
    :meth:`record_document` for each decision until the next status).
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, str], int] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)   # the last one is +Inf
        self.latency_sum = 0.0
        self.latency_count = 0

    def record(self, decision: str, reason: str, fmt: str | None, latency: float | None) -> None:
        """Count one decision (``latency`` in seconds, None when signalling failed)."""
        key = _key(decision, reason, fmt)
        self.counts[key] = self.counts.get(key, 0) + 1
        if latency is not None and latency >= 0:
            index = 0
            while index < len(LATENCY_BUCKETS) and latency > LATENCY_BUCKETS[index]:
                index += 1
            self.buckets[index] += 1
            self.latency_sum += latency
            self.latency_count += 1

    def record_event(self, event: DecisionEvent) -> None:
        result = event.result
        self.record(result.decision.value, result.reason.value, result.format, event.latency)

    def record_document(self, document: Mapping[str, Any]) -> None:
        """Count a decision document received from the scanner (the display's mirror)."""
        latency = _number(document.get("latency_ms"))
        self.record(str(document.get("decision")), str(document.get("reason")),
                    _word(document.get("format")), None if latency is None else latency / 1000)

    @property
    def decisions(self) -> int:
        return sum(self.counts.values())

    def document(self) -> dict[str, Any]:
        """JSON-safe form, sent with every status."""
        return {"counts": [[d, r, f, n] for (d, r, f), n in sorted(self.counts.items())],
                "buckets": list(self.buckets), "sum": round(self.latency_sum, 6),
                "count": self.latency_count}

    def load(self, document: Any) -> bool:
        """Replace these totals with a received :meth:`document`; False (unchanged) if malformed."""
        if not isinstance(document, dict):
            return False
        counts: dict[tuple[str, str, str], int] = {}
        for row in document.get("counts", ()):
            if not (isinstance(row, list) and len(row) == 4 and isinstance(row[3], int)):
                return False
            decision, reason, fmt = (str(part) for part in row[:3])
            if decision not in _DECISIONS or reason not in _REASONS or _word(fmt) is None:
                return False
            counts[(decision, reason, fmt)] = row[3]
        buckets = document.get("buckets")
        if (not isinstance(buckets, list) or len(buckets) != len(self.buckets)
                or not all(isinstance(b, int) for b in buckets)):
            return False
        total = _number(document.get("sum"))
        count = document.get("count")
        if total is None or not isinstance(count, int):
            return False
        self.counts, self.buckets = counts, list(buckets)
        self.latency_sum, self.latency_count = total, count
        return True
