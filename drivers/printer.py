"""ESC/POS receipt printer over pyserial.

As in python-escpos, the protocol lives in one class (:class:`EscPos`, slip -> bytes) and backends
only move bytes (:class:`SerialBackend` for anything ``serial.serial_for_url`` opens —
``/dev/ttyUSB0``, ``rfc2217://host:port``, ``loop://``, the simulator's pty — and
:class:`DummyBackend`, which collects the stream for tests). :class:`EscPosPrinter` joins them and
is what the print queue drives: ``status()`` asks the paper sensor in real time (DLE EOT) and
``print_slip()`` sends a slip and confirms it with an in-order status request (GS r) answered only
after the printer has processed the cut.

Chinese text is sent as GB18030 inside the printer's Chinese mode (FS & ... FS .); other text uses
the configured code page (ESC t n).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Protocol

from terminal.counter.paper import Line, Slip
from terminal.interfaces import PrinterStatus, PrintOutcome

log = logging.getLogger(__name__)

ESC, GS, FS, DLE, EOT, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\n"

INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
CUT = GS + b"V\x42\x00"            # feed to the cutter and cut (partial)
STATUS_PRINTER = DLE + EOT + b"\x01"
STATUS_PAPER = DLE + EOT + b"\x04"
STATUS_IN_ORDER = GS + b"r\x01"    # paper sensor, answered after all earlier bytes are processed

#: ESC t n code pages and the Python codecs that match them. hw_sim.printer.CODECS is a
#: deliberate separate copy: the virtual printer decodes with its own table, so a wrong entry
#: here shows up as garbled slips in the tests instead of agreeing with itself. Keep both in step.
CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}

_ALIGN = {"left": 0, "center": 1, "right": 2}


def align(how: str) -> bytes:
    """ESC a n: justification."""
    return ESC + b"a" + bytes([_ALIGN.get(how, 0)])


def bold(on: bool) -> bytes:
    """ESC E n: emphasised."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def size(factor: int) -> bytes:
    """GS ! n: character size; ``factor`` 1..8 for both width and height."""
    factor = min(max(int(factor), 1), 8) - 1
    return GS + b"!" + bytes([(factor << 4) | factor])


def code_page(n: int) -> bytes:
    """ESC t n: character code table for single-byte text."""
    return ESC + b"t" + bytes([n & 0xFF])


def qr(data: str, module: int = 6, ec: str = "M") -> bytes:
    """GS ( k: select model 2, module size, error correction, store ``data``, print it."""
    payload = data.encode("ascii")
    if len(payload) > 7089:
        raise ValueError("QR data too long for ESC/POS")
    level = {"L": 48, "M": 49, "Q": 50, "H": 51}[ec]
    store_len = len(payload) + 3
    return b"".join([
        GS + b"(k\x04\x00\x31\x41\x32\x00",                       # fn 165: model 2
        GS + b"(k\x03\x00\x31\x43" + bytes([min(max(module, 1), 16)]),  # fn 167: module size
        GS + b"(k\x03\x00\x31\x45" + bytes([level]),               # fn 169: error correction
        GS + b"(k" + bytes([store_len & 0xFF, store_len >> 8]) + b"\x31\x50\x30" + payload,
        GS + b"(k\x03\x00\x31\x51\x30",                            # fn 181: print stored
    ])


class EscPos:
    """The ESC/POS protocol for slips: turns a :class:`Slip` into the bytes a printer needs."""

    def __init__(self, *, code_page: int = 0, chinese: bool = True, qr_module: int = 6) -> None:
        self.code_page = code_page
        self.chinese = chinese
        self.qr_module = qr_module
        self._codec = CODE_PAGES.get(code_page, "cp437")

    def text(self, text: str) -> bytes:
        """One line's text: GB18030 in Chinese mode if it has non-ASCII and Chinese is on."""
        if text.isascii():
            return text.encode("ascii")
        if self.chinese:
            return CHINESE_ON + text.encode("gb18030") + CHINESE_OFF
        return text.encode(self._codec, errors="replace")

    def line(self, line: Line) -> bytes:
        return (align(line.align) + bold(line.bold) + size(line.size) + self.text(line.text) + LF
                + bold(False) + size(1))

    def slip(self, slip: Slip) -> bytes:
        """Init, code page, every line, the QR, footer, feed and cut."""
        out = [INIT, code_page(self.code_page)]
        out += [self.line(line) for line in slip.lines]
        if slip.qr:
            out += [align("center"), qr(slip.qr, self.qr_module), LF, align("left")]
        out += [self.line(line) for line in slip.footer]
        out += [ESC + b"d\x03", CUT]
        return b"".join(out)


class Backend(Protocol):
    """Moves bytes to and from a printer; knows nothing of ESC/POS."""

    def write(self, data: bytes) -> None: ...

    def read(self, count: int, timeout: float) -> bytes: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


class SerialBackend:
    """Any port ``serial.serial_for_url`` opens. Raises ``serial.SerialException`` on failure."""

    def __init__(self, url: str, *, baudrate: int = 19200, write_timeout: float = 5.0) -> None:
        import serial  # hardware library: imported here, in drivers/, only

        self.url = url
        self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.5,
                                           write_timeout=write_timeout)

    def write(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    def read(self, count: int, timeout: float) -> bytes:
        self._port.timeout = timeout
        return self._port.read(count)

    def discard_input(self) -> None:
        self._port.reset_input_buffer()

    def close(self) -> None:
        self._port.close()


class DummyBackend:
    """Collects every byte written (``output``) and answers reads from scripted ``replies``."""

    def __init__(self, replies: bytes = b"") -> None:
        self.output = bytearray()
        self.replies: deque[int] = deque(replies)

    def write(self, data: bytes) -> None:
        self.output += data

    def read(self, count: int, timeout: float) -> bytes:
        out = bytearray()
        while self.replies and len(out) < count:
            out.append(self.replies.popleft())
        return bytes(out)

    def discard_input(self) -> None:
        pass

    def close(self) -> None:
        pass


def parse_printer_status(b: int) -> bool | None:
    """DLE EOT 1 answer -> online? (None if the byte is not a valid answer)."""
    if b & 0x93 != 0x12:
        return None
    return not b & 0x08


def parse_paper_status(b: int) -> tuple[bool, bool] | None:
    """DLE EOT 4 answer -> (paper present, near end), or None if not a valid answer."""
    if b & 0x93 != 0x12:
        return None
    return (not b & 0x60, bool(b & 0x0C))


def parse_in_order_paper(b: int) -> tuple[bool, bool] | None:
    """GS r 1 answer -> (paper present, near end), or None if not a valid answer."""
    if b & 0x90:
        return None
    return (not b & 0x0C, bool(b & 0x03))


class EscPosPrinter:
    """A slip printer: opens its backend lazily, reconnects after errors, never hangs.

    ``backend_factory`` returns a fresh :class:`Backend` (normally ``SerialBackend(url)``);
    an exception from it or from the port counts as *offline*, to be retried later.
    """

    def __init__(self, backend_factory, *, escpos: EscPos | None = None,
                 reply_timeout: float = 0.5, print_timeout: float = 15.0,
                 name: str = "printer") -> None:
        self._factory = backend_factory
        self.escpos = escpos or EscPos()
        self.reply_timeout = reply_timeout
        self.print_timeout = print_timeout
        self.name = name
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, baudrate: int = 19200, **kwargs) -> EscPosPrinter:
        """A printer on ``url`` (``/dev/ttyUSB0``, ``rfc2217://…``, ``loop://``, a pty path)."""
        return cls(lambda: SerialBackend(url, baudrate=baudrate), name=url, **kwargs)

    def _connect(self) -> Backend:
        if self._backend is None:
            self._backend = self._factory()
            log.info("event=printer_open printer=%s", self.name)
        return self._backend

    def _drop(self, exc: BaseException) -> None:
        log.warning("event=printer_io_error printer=%s error=%s", self.name, type(exc).__name__)
        if self._backend is not None:
            try:
                self._backend.close()
            except Exception:  # noqa: BLE001 - closing a broken port may fail too
                pass
        self._backend = None

    def _ask(self, backend: Backend, command: bytes, timeout: float) -> int | None:
        backend.discard_input()
        backend.write(command)
        answer = backend.read(1, timeout)
        return answer[0] if answer else None

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1 and 4). No answer within ``reply_timeout`` means offline."""
        with self._lock:
            try:
                backend = self._connect()
                online = self._ask(backend, STATUS_PRINTER, self.reply_timeout)
                if online is None or parse_printer_status(online) is None:
                    return PrinterStatus(False, False, False, "no answer (offline or unplugged)")
                paper = self._ask(backend, STATUS_PAPER, self.reply_timeout)
                parsed = parse_paper_status(paper) if paper is not None else None
                if parsed is None:
                    return PrinterStatus(False, False, False, "no valid paper status answer")
                present, near_end = parsed
                is_online = bool(parse_printer_status(online))
                if not present:
                    detail = "out of paper"
                elif not is_online:
                    detail = "printer reports offline (cover open or error)"
                else:
                    detail = "paper near end" if near_end else "ok"
                return PrinterStatus(is_online, present, near_end, detail)
            except Exception as exc:  # noqa: BLE001 - any port failure means offline
                self._drop(exc)
                return PrinterStatus(False, False, False,
                                     f"cannot open or use port: {type(exc).__name__}")

    def print_slip(self, slip: Slip) -> PrintOutcome:
        """Send one slip and confirm it: PRINTED only if the printer reports it went through whole.

        The confirmation (GS r 1) is processed after the cut, so a "paper present" answer means
        the slip was printed with paper all the way. Paper end is TORN, no (valid) answer is
        UNCONFIRMED, a port that will not open is NOT_SENT.
        """
        data = self.escpos.slip(slip)
        with self._lock:
            try:
                backend = self._connect()
            except Exception as exc:  # noqa: BLE001 - nothing was sent
                self._drop(exc)
                return PrintOutcome.NOT_SENT
            try:
                backend.discard_input()
                backend.write(data)
                start = time.monotonic()
                backend.write(STATUS_IN_ORDER)
                answer = backend.read(1, self.print_timeout)
            except Exception as exc:  # noqa: BLE001 - port failed mid-way: fate unknown
                self._drop(exc)
                return PrintOutcome.UNCONFIRMED
            if not answer:
                log.warning("event=slip_unconfirmed printer=%s why=no_answer waited_s=%.1f",
                            self.name, time.monotonic() - start)
                return PrintOutcome.UNCONFIRMED
            parsed = parse_in_order_paper(answer[0])
            if parsed is None:
                log.warning("event=slip_unconfirmed printer=%s why=bad_answer answer=0x%02x",
                            self.name, answer[0])
                return PrintOutcome.UNCONFIRMED
            if not parsed[0]:
                log.warning("event=slip_torn printer=%s why=paper_end", self.name)
                return PrintOutcome.TORN
            return PrintOutcome.PRINTED

    def close(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None

    def __enter__(self) -> EscPosPrinter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
