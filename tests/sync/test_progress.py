"""Progress is shown on a terminal (a real pseudo-terminal here) and nowhere else."""

from __future__ import annotations

import io
import os

from terminal.lists.sync import Progress


def test_progress_on_a_pty():
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        p = Progress(tty)
        assert p.tty
        p.update("revocation-9.snap", 8 * 1048576, 16 * 1048576, final=True)
    out = os.read(master, 4096).decode()
    os.close(master)
    assert "revocation-9.snap: 8.0/16.0 MiB  50%" in out


def test_no_progress_when_not_a_terminal():
    buf = io.StringIO()
    Progress(buf).update("x", 1, 2, final=True)
    assert buf.getvalue() == ""
