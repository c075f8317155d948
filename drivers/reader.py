"""2D code readers: serial (pyserial) and keyboard wedge (python-evdev).

Both implement :class:`terminal.interfaces.Reader`: ``read(timeout)`` waits on the device's file
descriptor — so a code is handled the moment its last byte arrives — and returns whole code
texts, framed and cleaned by :mod:`drivers.readerframing`.

- :class:`SerialReader` opens anything ``serial.serial_for_url`` opens: ``/dev/ttyACM0`` (USB-COM,
  CDC-ACM), ``/dev/ttyUSB0`` or ``/dev/ttyAMA0`` (RS-232/TTL), ``rfc2217://host:port``, the
  simulator's pty. Local ports are locked exclusively (``flock``), so a second program cannot
  steal half of each code.
- :class:`WedgeReader` reads a USB HID "keyboard" reader from ``/dev/input/event*`` and grabs it
  (``EVIOCGRAB``), so scans never type into a console or login prompt, then decodes its key events
  with the US layout. With ``allow_recorded`` (the simulator) the path may also be a FIFO carrying
  the same ``struct input_event`` stream, read by the same evdev code; the writer closing it is an
  unplug.

An unplugged reader raises :class:`ReaderMissing` from ``read``; the daemon closes it and reopens
it with backoff (:mod:`terminal.daemon.readers`).
"""

from __future__ import annotations

import errno
import logging
import os
import select
import stat
from typing import Any

from drivers.readerframing import LAYOUTS, Framer, Framing, KeyDecoder
from terminal.clock import SYSTEM, Clock
from terminal.errors import ConfigError, DeviceError, ReaderError, ReaderMissing
from terminal.interfaces import Reader, ScannedCode

log = logging.getLogger("scanpoint.reader")

READ_CHUNK = 4096
EVDEV_PREFIX = "evdev:"


class _Framed:
    """What both readers share: the framer, when to wake up for a silent gap, arrival stamps."""

    kind = ""

    def __init__(self, name: str, framing: Framing, clock: Clock) -> None:
        self.name = name
        self.framer = Framer(framing)
        self.clock = clock

    def drops(self) -> dict[str, int]:
        return dict(self.framer.dropped)

    def _wait_for(self, timeout: float) -> float:
        """How long to wait for input: ``timeout``, cut short when a code in progress would go
        silent for its gap before then."""
        deadline = self.framer.deadline()
        if deadline is None:
            return max(0.0, timeout)
        return max(0.0, min(timeout, deadline - self.clock.monotonic()))

    def _codes(self, data: bytes) -> list[ScannedCode]:
        now = self.clock.monotonic()
        texts = self.framer.feed(data, now) if data else self.framer.expire(now)
        return [ScannedCode(text, now) for text in texts]


class SerialReader(_Framed):
    """A reader on a serial port (see the module docstring). ``port`` is an open pyserial port."""

    kind = "serial"

    def __init__(self, port: Any, name: str, framing: Framing, *, clock: Clock = SYSTEM) -> None:
        super().__init__(name, framing, clock)
        self.port = port
        port.timeout = 0                       # reads return what has arrived, never wait
        try:
            self._fd: int | None = port.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None                    # rfc2217://, socket://: pyserial waits for us

    @classmethod
    def open(cls, url: str, *, baudrate: int = 9600, framing: Framing | None = None,
             clock: Clock = SYSTEM) -> SerialReader:
        """Open the reader at ``url``; :class:`ReaderMissing` if there is no such port."""
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0, exclusive=True)
        except ValueError as exc:
            raise ConfigError(f"[reader] url {url!r} or baudrate {baudrate} not usable: {exc}") \
                from exc
        except serial.SerialException as exc:
            if exc.errno == errno.ENOENT or "No such file" in str(exc):
                raise ReaderMissing(f"no reader at {url}: check the cable, and that [reader] url "
                                    "names its port (ls /dev/serial/by-id/)") from exc
            if "lock" in str(exc).lower():
                raise ReaderError(f"reader port {url} is held by another program (a terminal "
                                  f"program, ModemManager?): {exc}") from exc
            raise ReaderError(f"cannot open reader port {url}: {exc}") from exc
        reader = cls(port, url, framing or Framing(), clock=clock)
        log.info("event=reader_opened kind=serial port=%s", url)
        return reader

    def read(self, timeout: float) -> list[ScannedCode]:
        return self._codes(self._receive(self._wait_for(timeout)))

    def _receive(self, wait: float) -> bytes:
        import serial

        try:
            if self._fd is not None:
                ready, _, _ = select.select([self._fd], [], [], wait)
                if not ready:
                    return b""
                data = self.port.read(READ_CHUNK)
            else:
                self.port.timeout = wait
                data = self.port.read(1)
                self.port.timeout = 0
                if data and self.port.in_waiting:
                    data += self.port.read(min(READ_CHUNK, self.port.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise ReaderMissing(f"reader on {self.name} stopped answering ({exc}): "
                                "unplugged or powered off?") from exc
        return bytes(data)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception as exc:   # noqa: BLE001 - closing a vanished port may fail; it is gone
            log.debug("event=reader_close_failed port=%s error=%r", self.name, exc)


class RecordedInput:
    """A FIFO of Linux ``struct input_event`` records, read through python-evdev's own event
    reader (``EventIO.read``) — the simulator's stand-in for ``/dev/input/eventN`` where no
    ``/dev/uinput`` exists. Made by :func:`recorded_input`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def recorded_input(path: str) -> Any:
    """A :class:`RecordedInput` that also is an ``evdev.eventio.EventIO`` (so ``read`` is evdev's)."""
    from evdev.eventio import EventIO

    class _Recorded(RecordedInput, EventIO):
        pass

    return _Recorded(path)


class WedgeReader(_Framed):
    """A keyboard-wedge reader: ``device`` is a grabbed ``evdev.InputDevice`` (or a recorded
    input stream); key events are decoded with the US layout."""

    kind = "keyboard"

    def __init__(self, device: Any, name: str, framing: Framing, *, clock: Clock = SYSTEM,
                 grabbed: bool = False) -> None:
        if framing.terminator != "timeout":
            # a wedge ends a code with the Enter key, which the key decoder turns into CR
            framing = Framing("cr", framing.gap_s, framing.prefix, framing.strip_aim,
                              framing.max_bytes)
        super().__init__(name, framing, clock)
        self.device = device
        self.keys = KeyDecoder()
        self.grabbed = grabbed

    def read(self, timeout: float) -> list[ScannedCode]:
        wait = self._wait_for(timeout)
        try:
            ready, _, _ = select.select([self.device.fd], [], [], wait)
        except (OSError, ValueError) as exc:
            raise ReaderMissing(f"keyboard reader {self.name} is gone ({exc})") from exc
        data = b""
        if ready:
            try:
                events = list(self.device.read())
            except BlockingIOError:
                events = []
            except OSError as exc:        # ENODEV: unplugged
                raise ReaderMissing(f"keyboard reader {self.name} is gone ({exc}): unplugged?") \
                    from exc
            else:
                if not events:            # readable, nothing to read: end of stream (FIFO)
                    raise ReaderMissing(f"keyboard reader {self.name} is gone (end of input)")
            typed = bytearray()
            for event in events:
                typed += self.keys.event(event.type, event.code, event.value)
            data = bytes(typed)           # often empty: shift presses, SYN reports type nothing
        return self._codes(data)

    def close(self) -> None:
        device, self.device = self.device, None
        if device is None:
            return
        if self.grabbed:
            try:
                device.ungrab()
            except OSError:
                pass                       # unplugged devices cannot be released; no matter
        try:
            device.close()
        except OSError as exc:
            log.debug("event=reader_close_failed device=%s error=%r", self.name, exc)


def open_wedge(path: str, *, framing: Framing | None = None, layout: str = "us",
               clock: Clock = SYSTEM, allow_recorded: bool = False) -> WedgeReader:
    """Open and grab the keyboard-wedge reader at ``path`` (``/dev/input/by-id/...-event-kbd``).

    Refuses a layout other than US, a device that is not a keyboard, and one another program has
    grabbed, each with a message that says what to do. ``allow_recorded`` also accepts a FIFO of
    input events (simulator and tests).
    """
    if layout not in LAYOUTS:
        raise ConfigError(f"[reader] layout {layout!r} is not supported: set the reader's "
                          "keyboard country to USA and layout = 'us'")
    framing = framing or Framing()
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ReaderMissing(f"no keyboard reader at {path}: check the cable, and that [reader] "
                            "url names it (ls /dev/input/by-id/)") from None
    except OSError as exc:
        raise ReaderError(f"cannot look at {path}: {exc}") from exc
    if stat.S_ISFIFO(mode) and allow_recorded:
        try:
            device = recorded_input(path)
        except ImportError as exc:
            raise DeviceError(f"python-evdev is not installed ({exc}); pip install evdev") from exc
        return WedgeReader(device, path, framing, clock=clock)
    if not stat.S_ISCHR(mode):
        raise ReaderError(f"{path} is not an input device: a keyboard-wedge reader is "
                          "/dev/input/by-id/...-event-kbd")
    return WedgeReader(_grab(path), path, framing, clock=clock, grabbed=True)


def _grab(path: str) -> Any:
    try:
        import evdev
    except ImportError as exc:
        raise DeviceError(f"python-evdev is not installed ({exc}): pip install evdev, or on "
                          "Debian apt install python3-evdev") from exc
    try:
        device = evdev.InputDevice(path)
    except PermissionError as exc:
        raise ReaderError(f"no permission to read {path}: install the udev rule from the README "
                          "that gives the scanpoint user this reader only") from exc
    except OSError as exc:
        raise ReaderMissing(f"cannot open keyboard reader {path}: {exc}") from exc
    keys = set(device.capabilities().get(evdev.ecodes.EV_KEY, []))
    if not {evdev.ecodes.KEY_ENTER, evdev.ecodes.KEY_A} <= keys:
        device.close()
        raise ReaderError(f"{path} ({device.name}) is not a keyboard: a wedge reader types "
                          "letters and Enter")
    try:
        device.grab()
    except OSError as exc:
        device.close()
        raise ReaderError(f"{path} ({device.name}) is grabbed by another program: {exc}") \
            from exc
    log.info("event=reader_opened kind=keyboard device=%s name=%r", path, device.name)
    return device


def open_reader(url: str, *, baudrate: int = 9600, framing: Framing | None = None,
                layout: str = "us", clock: Clock = SYSTEM, allow_recorded: bool = False) -> Reader:
    """The reader ``[reader] url`` names: ``evdev:PATH`` a keyboard wedge, anything else serial."""
    if url.startswith(EVDEV_PREFIX):
        return open_wedge(url[len(EVDEV_PREFIX):], framing=framing, layout=layout, clock=clock,
                          allow_recorded=allow_recorded)
    return SerialReader.open(url, baudrate=baudrate, framing=framing, clock=clock)
