"""A pipeline observer that records every decision event, for tests that check what was decided."""

from __future__ import annotations

import threading

from terminal.interfaces import DecisionEvent


class Recorder:
    """Implements :class:`terminal.interfaces.Observer`: keeps each event, in order."""

    def __init__(self) -> None:
        self.events: list[DecisionEvent] = []
        self._lock = threading.Lock()

    def on_decision(self, event: DecisionEvent) -> None:
        with self._lock:
            self.events.append(event)

    def close(self) -> None:
        """Nothing to release (the daemon closes every observer when it stops)."""

    def decisions(self) -> list[tuple[str, str]]:
        """``(decision, reason)`` values of every event so far."""
        return [(e.result.decision.value, e.result.reason.value) for e in self.events]
