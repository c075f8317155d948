"""Waiting for something to happen in another thread or process, with a generous deadline.

The deadline is a safety net for a hung test, never a speed requirement: on a loaded machine a
condition may take long, and the test still passes as long as it comes true.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DEADLINE_S = 20.0


def wait_until(predicate: Callable[[], object], timeout: float = DEADLINE_S,
               interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` s pass (its last answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
