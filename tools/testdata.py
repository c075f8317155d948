"""Where the shared test data lives: ``$SCANPOINT_TESTDATA``, else ``../shared/testdata``.

One rule for the tests, the benchmarks and the tools; callers skip (saying so) when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def find_testdata() -> Path | None:
    """The shared test data folder, or None where it is absent (as in a user's own clone)."""
    env = os.environ.get("SCANPOINT_TESTDATA")
    path = Path(env) if env else REPO.parent / "shared" / "testdata"
    return path if path.is_dir() else None
