"""Shared fixtures: where the shared test data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.testdata import find_testdata


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared test data folder; tests that need it skip, saying so, where it is absent."""
    path = find_testdata()
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
