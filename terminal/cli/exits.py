"""The exit status of every ``scanpoint`` command: one table, used by every command.

Sites' scripts branch on these numbers, so they never change meaning:

====  ============  ===========================================================================
code  name          meaning
====  ============  ===========================================================================
0     OK            success; for ``verify``: pass
1     DENY          ``verify``: deny (with several codes, any deny); ``audit find``: no such row
2     USAGE         usage or configuration error: a bad flag or value, an invalid config, or a
                    file or folder that is missing, of the wrong kind, not UTF-8 text, or that
                    this user may not read or write — fix the command line or the config
3     CHECK         ``verify``: check (staff decide by hand)
4     FAILURE       other failure: the command was right but its work failed (an image with no
                    readable QR code, daemon not running, sync refused, printer not ready, I/O)
5     STALE_SOURCE  ``sync``: lists applied, but the source serves them already past their
                    valid-until (``stale-source``): its publisher has stopped publishing
6     NOT_SET_UP    ``setup --check``: this terminal is not set up yet (no root key or list
                    source); ``scanpoint-sync.service`` uses it as its ``ExecCondition``, which
                    skips the sync, not fails it, for any status from 1 to 254
130   INTERRUPTED   interrupted by Ctrl-C
====  ============  ===========================================================================

Every failure is reported as one line on standard error, ``scanpoint COMMAND: what went wrong``.
A reader that closes the pipe early (``scanpoint audit export ... | head -1``) is not a failure:
the rest of the output is dropped quietly and the command ends with the status it would have had
anyway (``scanpoint status --json | head -c1`` is still 4 when the daemon is not running).

This module imports nothing of the command line, so commands can use it without a cycle.
"""

from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    """Process exit status of a ``scanpoint`` command (see the module table)."""

    OK = 0
    DENY = 1
    USAGE = 2
    CHECK = 3
    FAILURE = 4
    STALE_SOURCE = 5
    NOT_SET_UP = 6
    INTERRUPTED = 130


#: the table as ``scanpoint --help`` shows it (its RawDescriptionHelpFormatter keeps the lines)
HELP = """exit status:
  0    success; verify: pass
  1    verify: deny; audit find: no such row
  2    usage or configuration error (bad flag or value, invalid config, a file or
       folder that is missing, of the wrong kind, not UTF-8 or not permitted)
  3    verify: check (staff decide by hand)
  4    other failure (no readable QR code, daemon not running, sync refused,
       printer not ready, I/O error)
  5    sync: lists applied, but the source serves them past their valid-until
  6    setup --check: not set up yet (no root key or list source)
  130  interrupted"""
