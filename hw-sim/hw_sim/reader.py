"""A virtual serial 2D code reader on a real pseudo-terminal, like a USB-COM scanner gun.

``VirtualReader().port`` is what the terminal opens (``[reader] url``): the slave side of an
``os.openpty()`` pair, or a stable symlink to it (``link``) — the way ``/dev/serial/by-id/…``
names a real reader, so a simulated unplug and replug (a new pty) keeps the same path. Each
:meth:`VirtualReader.scan` writes what a reader sends for one read: optional prefix, optional AIM
identifier, the text, the suffix (CR by default). :meth:`send` writes raw bytes (garbage, a
half-sent code), :meth:`unplug` closes the pty (the terminal's next read fails, reopening finds
nothing) and :meth:`plug` brings it back.

:class:`ScanFeeder` plays a scenario's ``scan`` steps on a reader along the scenario's timeline.

``python -m hw_sim.reader`` runs one standalone and prints its path; each line typed on standard
input (or each ``scan`` step of ``--scenario FILE``) is sent as a scan.
"""

from __future__ import annotations

import logging
import os
import threading
import tty
from pathlib import Path

from terminal.clock import SYSTEM, Clock

log = logging.getLogger(__name__)

SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "none": b""}


class Unplugged(OSError):
    """The virtual reader is unplugged: nothing can be sent."""


class VirtualReader:
    """A serial code reader on a pty (see the module docstring). A context manager."""

    def __init__(self, link: str | os.PathLike[str] | None = None, *, suffix: bytes = b"\r",
                 prefix: bytes = b"", aim: str = "") -> None:
        self.link = Path(link) if link is not None else None
        self.suffix = suffix
        self.prefix = prefix
        self.aim = aim
        self.scans = 0
        self._lock = threading.Lock()
        self._master = -1
        self._slave = -1
        self.tty = ""
        self.plug()

    @property
    def port(self) -> str:
        """The path the terminal opens: the symlink when there is one, else the pty itself."""
        return str(self.link) if self.link is not None else self.tty

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    def plug(self) -> None:
        """Connect (a fresh pty; the symlink, if any, is pointed at it)."""
        with self._lock:
            if self._master >= 0:
                return
            master, slave = os.openpty()
            tty.setraw(slave)               # no echo, no CR->NL: a serial line passes bytes as is
            self._master, self._slave = master, slave
            self.tty = os.ttyname(slave)
            if self.link is not None:
                self.link.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.link.with_name(self.link.name + ".new")
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(self.tty)
                os.replace(tmp, self.link)

    def unplug(self) -> None:
        """Disconnect: the terminal's open port hangs up and the path disappears."""
        with self._lock:
            if self._master < 0:
                return
            if self.link is not None:
                self.link.unlink(missing_ok=True)
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._master = self._slave = -1

    def frame(self, text: str) -> bytes:
        """The bytes a reader sends for one read of ``text``: prefix, AIM id, data, suffix."""
        return self.prefix + self.aim.encode("ascii") + text.encode("utf-8") + self.suffix

    def scan(self, text: str) -> None:
        """Send one read of ``text``, as the reader does when a code is held under it."""
        self.send(self.frame(text))
        self.scans += 1

    def send(self, data: bytes) -> None:
        """Write raw bytes to the terminal (blocks while the line's buffer is full)."""
        with self._lock:
            if self._master < 0:
                raise Unplugged("virtual reader is unplugged")
            view = memoryview(data)
            while view:
                written = os.write(self._master, view)
                view = view[written:]

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> VirtualReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ScanFeeder:
    """Sends ``scans`` — ``(seconds from the start, text)`` — to ``reader`` on ``clock``'s
    monotonic time, from :meth:`begin` on, in a thread (works with a simulated clock too: it
    polls the clock)."""

    def __init__(self, reader: VirtualReader, scans: list[tuple[float, str]], *,
                 clock: Clock = SYSTEM) -> None:
        self.reader = reader
        self.scans = sorted(scans, key=lambda item: item[0])
        self.clock = clock
        self.start: float | None = None
        self.sent = 0
        self.missed = 0              # scans due while the reader was unplugged
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """Start the timeline now (once)."""
        if self.start is not None:
            return
        self.start = self.clock.monotonic()
        self._thread = threading.Thread(target=self._run, name="scan-feeder", daemon=True)
        self._thread.start()

    def elapsed(self) -> float | None:
        return None if self.start is None else self.clock.monotonic() - self.start

    def _run(self) -> None:
        assert self.start is not None
        for offset, text in self.scans:
            while self.clock.monotonic() < self.start + offset:
                if self._stop.wait(0.0005):
                    return
            try:
                self.reader.scan(text)
                self.sent += 1
            except OSError:
                self.missed += 1

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every scan was sent (True) or ``timeout`` s passed (False)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    """``python -m hw_sim.reader [--link PATH] [--suffix cr|lf|crlf|none] [--aim ]Q1]
    [--scenario FILE]``: a virtual reader to point a terminal at (``[reader] url = "<path>"``)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m hw_sim.reader", description=main.__doc__)
    parser.add_argument("--link", help="also make this symlink to the pty (a stable path)")
    parser.add_argument("--suffix", choices=sorted(SUFFIXES), default="cr")
    parser.add_argument("--aim", default="", help="AIM identifier to send first, e.g. ]Q1")
    parser.add_argument("--scenario", help="play the scan steps of this scenario file, then "
                                           "read standard input")
    args = parser.parse_args(argv)
    with VirtualReader(args.link, suffix=SUFFIXES[args.suffix], aim=args.aim) as reader:
        print(f"virtual reader on {reader.port}; each line typed here is scanned; Ctrl-D stops",
              flush=True)
        feeder = None
        if args.scenario:
            from hw_sim.scenario import Scenario

            feeder = ScanFeeder(reader, Scenario.load(args.scenario).scan_times())
            feeder.begin()
        try:
            for line in sys.stdin:
                text = line.rstrip("\r\n")
                if text:
                    reader.scan(text)
            if feeder is not None:
                feeder.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if feeder is not None:
                feeder.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
