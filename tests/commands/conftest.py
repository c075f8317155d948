"""Fixtures the setup tests share."""

from __future__ import annotations

import pytest

from terminal.lists import listfiles
from tests.commands.test_setup_command import issuer
from tests.support.listserver import ListServer


@pytest.fixture
def served(tmp_path):
    """An issuer folder made by ``scanpoint issuer init``, its lists served over loopback."""
    d = issuer(tmp_path)
    server = ListServer(listfiles.public_root(d))
    yield d, server
    server.close()
