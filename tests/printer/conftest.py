"""Fixtures for the printer tests: a virtual ESC/POS printer on a real pty, and sample results."""

from __future__ import annotations

import pytest

from hw_sim.printer import VirtualPrinter
from printer.samples import sample_results
from terminal.result import Result


@pytest.fixture
def results() -> dict[str, Result]:
    return sample_results()


@pytest.fixture
def vprinter(tmp_path):
    with VirtualPrinter(tmp_path / "slips") as printer:
        yield printer
