"""Shared fixtures: where the shared test data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def testdata_dir() -> Path | None:
    """``$SCANPOINT_TESTDATA``, else ``../shared/testdata`` beside the repository; None if absent."""
    env = os.environ.get("SCANPOINT_TESTDATA")
    path = Path(env) if env else REPO.parent / "shared" / "testdata"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test data folder; tests that need it skip, saying so, where it is absent."""
    path = testdata_dir()
    if path is None:
        pytest.skip("shared test data not found: set SCANPOINT_TESTDATA or place it at ../shared/testdata")
    return path


def pytest_collection_modifyitems(config, items):
    """Soak runs (``-m soak``: long crash-cut and kill campaigns) are opt-in."""
    if "soak" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="soak run: opt in with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
