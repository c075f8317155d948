"""Power-cut simulation: the store survives random, reordered, torn loss of unsynced writes.

SIGKILL cannot tell a safe SQLite setting from an unsafe one (the OS still writes the page cache),
so these tests cut power through a VFS shim (see ``powercut.py``). The same shim shows that
``synchronous=NORMAL`` loses acknowledged versions and ``OFF`` corrupts the file: evidence that the
shim can fail, so its zero for ``FULL`` means something.
"""

from __future__ import annotations

import pytest

from tests.support.cutrun import campaign

CUTS = 300


def test_full_sync_survives_300_power_cuts():
    out = campaign(CUTS, "FULL", seed=1)
    assert out.corrupt == 0, out
    assert out.lost == 0, out
    assert out.mixed == 0, out
    assert out.ok == CUTS
    # the cuts really landed inside updates: some found the in-flight version, most did not
    assert 0 < out.at_new < CUTS


def test_shim_catches_normal_losing_acknowledged_commits():
    out = campaign(100, "NORMAL", seed=2)
    assert out.lost > 0, out


def test_shim_catches_off_corrupting_the_file():
    out = campaign(100, "OFF", seed=3)
    assert out.corrupt > 0, out


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(10, 20))
def test_soak_full_sync_power_cuts(seed):
    out = campaign(2000, "FULL", seed=seed)
    assert (out.corrupt, out.lost, out.mixed) == (0, 0, 0), out
