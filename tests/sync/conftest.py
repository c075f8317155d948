"""Soak runs (``-m soak``) are opt-in: skipped unless the marker expression asks for them."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "soak" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="soak run: opt in with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
