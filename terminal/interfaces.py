"""The small interfaces between the pure pipeline and devices (real in ``drivers``, fake in ``hw_sim``).

Like gpiozero's pin factories: the pipeline never touches hardware, it asks one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from terminal.reasons import Decision


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
