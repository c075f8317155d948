"""Shared fixtures: the shared test data, a virtual printer, sample results, a notify socket.

The helpers they are built on live in ``tests/support`` (one module per kind of thing).
"""

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


@pytest.fixture
def results():
    """One pass, one deny and one check result (``tests.support.results.sample_results``)."""
    from tests.support.results import sample_results

    return sample_results()


@pytest.fixture
def vprinter(tmp_path):
    """A virtual ESC/POS printer on a real pty, writing its slips to ``tmp_path/slips``."""
    from hw_sim.printer import VirtualPrinter

    with VirtualPrinter(tmp_path / "slips") as printer:
        yield printer


@pytest.fixture
def notify_socket(tmp_path):
    """A listening systemd notify socket (``NOTIFY_SOCKET``) in ``tmp_path``."""
    from tests.support.notify import NotifyListener

    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def pytest_collection_modifyitems(config, items):
    """Soak runs (``-m soak``: long crash-cut and kill campaigns) are opt-in."""
    if "soak" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="soak run: opt in with -m soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
