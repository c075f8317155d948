"""The small interfaces at every seam: devices (real in ``drivers``, fake in ``hw_sim``) and the
parts the daemon plugs together.

Like gpiozero's pin factories: the pipeline never touches hardware, it asks one of these. Each is a
:class:`typing.Protocol`, so a part is checked by its shape (mypy), never probed at run time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from terminal.counter.paper import Slip
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result


@dataclass(frozen=True)
class Frame:
    """One grayscale camera frame (a 2-D uint8 numpy array) and its arrival time (monotonic s)."""

    image: Any
    arrived: float


@runtime_checkable
class Camera(Protocol):
    """A source of frames. ``read`` returns the newest frame, or None if none is ready yet.

    Raises :class:`terminal.errors.CameraError` (or a subclass) when the camera is gone or busy.
    """

    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScannedCode:
    """One code text a reader delivered, and when its last byte arrived (monotonic s)."""

    text: str
    arrived: float


@runtime_checkable
class Reader(Protocol):
    """A 2D code reader (serial port or keyboard wedge) that decodes codes itself.

    ``read`` waits at most ``timeout`` seconds and returns the whole codes received (often none);
    it raises :class:`terminal.errors.ReaderError` (or a subclass) when the reader is gone.
    ``drops`` counts input dropped without a decision (garbage, oversize, partial) since opened.
    """

    def read(self, timeout: float) -> list[ScannedCode]: ...

    def drops(self) -> dict[str, int]: ...

    def close(self) -> None: ...


@runtime_checkable
class Decoder(Protocol):
    """Finds QR codes in a grayscale frame and returns their texts (empty list when none)."""

    def decode(self, image: Any) -> list[str]: ...


@runtime_checkable
class Signals(Protocol):
    """LEDs, buzzer and gate relay. ``show`` starts a decision's pattern, cutting any running one."""

    def show(self, decision: Decision) -> None: ...

    def fault(self, active: bool) -> None: ...

    def off(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said when asked. ``ready`` means online with paper."""

    online: bool
    paper: bool
    near_end: bool = False
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.online and self.paper


class PrintOutcome(str, enum.Enum):
    """What happened to one slip sent to a printer."""

    PRINTED = "printed"          # confirmed whole
    NOT_SENT = "not_sent"        # nothing reached the printer (port would not open)
    TORN = "torn"                # the printer answered: paper ran out before the cut
    UNCONFIRMED = "unconfirmed"  # sent, no answer: it may or may not have printed


@runtime_checkable
class Printer(Protocol):
    """A slip printer (``drivers.printer.EscPosPrinter``; the print queue drives it)."""

    def status(self) -> PrinterStatus: ...

    def print_slip(self, slip: Slip) -> PrintOutcome: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class DecisionEvent:
    """What observers (audit log, slip printer) receive after a decision was signalled.

    Times are the clock's monotonic seconds except ``wall`` (Unix seconds). ``frame_arrived`` is
    when the camera frame (or, for ``source = "reader"``, the reader's code) arrived; ``latency``
    is from then to the LED change in seconds, or None when signalling failed. Holds no raw QR text.
    """

    sequence: int
    result: Result
    terminal_id: str
    site: str
    wall: float
    frame_arrived: float
    decided: float
    signalled: float | None
    latency: float | None
    code_hash: str          # keyed per-process hash of the QR text: equal codes, equal hash, this run only
    source: str = "camera"  # where the code came from: "camera" or "reader" (a 2D scanner)


@runtime_checkable
class Observer(Protocol):
    """Receives every decision after it was signalled (audit log, slip printer). ``on_decision``
    must return quickly and should not raise; ``close`` is called once when the daemon stops."""

    def on_decision(self, event: DecisionEvent) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class TextVerifier(Protocol):
    """Decides one QR text at wall time ``now``; never raises (:class:`terminal.verify.verifier.Verifier`)."""

    def verify(self, text: str, now: float) -> Result: ...


@runtime_checkable
class RevocationLookup(Protocol):
    """The verifier's revocation hook (:class:`terminal.lists.revocation.RevocationCheck`).

    ``check`` answers REVOKED, LIST_STALE, CLOCK_UNTRUSTED or None. REVOKED always denies; the
    others check, unless they are in ``deny_reasons`` (a site's ``[lists] stale = "deny"``).
    """

    deny_reasons: frozenset[Reason]

    def check(self, credential: Credential, now: float) -> Reason | None: ...
