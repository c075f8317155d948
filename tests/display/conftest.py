"""Fixtures for the display tests: a live simulated terminal, and headless Chromium."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import Browser, missing
from live import LiveTerminal


@pytest.fixture(scope="module")
def terminal():
    # a short folder: the event socket's path must fit in 107 bytes
    work = Path(tempfile.mkdtemp(prefix="sp-display-"))
    live = LiveTerminal(work)
    try:
        yield live
    finally:
        live.close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    why = missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(why)
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def screens(tmp_path_factory) -> Path:
    """Where screenshots go: $SCANPOINT_SCREENS (e.g. docs/screens) or a temporary folder."""
    folder = Path(os.environ.get("SCANPOINT_SCREENS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
