"""Standard output for commands whose reader may stop reading (``... | head -1``).

:func:`terminal.cli.main.main` runs every command with :class:`QuietStdout` in place of
``sys.stdout``; a command that prints a summary on stderr asks :func:`stdout_gone` first, so a
reader that left early gets no noise either.
"""

from __future__ import annotations

import os
import select
import sys
from typing import Any


class QuietStdout:
    """Standard output whose reader may stop reading (``scanpoint audit export | head -1``).

    The first write that finds the pipe closed points the descriptor at /dev/null; the command
    then runs on, quietly, to the exit status it would have had anyway — the same whether the
    reader left before or after the last byte — instead of dying half-way with a traceback.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop()
        except (OSError, ValueError):   # closed or detached by the command: nothing to flush
            pass

    def _drop(self) -> None:
        self.gone = True
        to_devnull(self._stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def reader_gone(stream: Any) -> bool:
    """Whether ``stream`` is a pipe whose reader has closed it (poll reports POLLERR)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, 0)             # POLLERR and POLLHUP are always reported
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def to_devnull(stream: Any) -> None:
    """Point ``stream``'s descriptor at /dev/null, so what is still buffered goes nowhere
    quietly (also the interpreter's own flush at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):   # no descriptor (captured in tests)
        pass


def stdout_gone() -> bool:
    """Whether the reader of standard output has gone away during this command."""
    return isinstance(sys.stdout, QuietStdout) and sys.stdout.gone
