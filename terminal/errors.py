"""Exceptions of scanpoint: one root, and every leaf is also the matching standard exception.

Following gpiozero (``class BadPinFactory(GPIOZeroError, ImportError)``), callers may catch either
``ScanpointError`` or the standard type. Messages are written for the person who must act on them.
"""

from __future__ import annotations

from terminal.reasons import Decision, Reason


class ScanpointError(Exception):
    """Root of every scanpoint exception."""


class UsageError(ScanpointError, ValueError):
    """The command line is wrong: an option missing, conflicting or out of range; the message
    names the option and the value, and the command exits with the usage status (2)."""


class TimeFormatError(ScanpointError, ValueError):
    """A time given as text is not one of the accepted forms (or is out of range); the message
    quotes it and shows a form that works."""


class ConfigError(ScanpointError, ValueError):
    """The configuration file is missing, unreadable, or has an unknown or invalid setting."""


class KeyFormatError(ScanpointError, ValueError):
    """A public or private key is malformed: wrong length, not on the curve, or the identity."""


class CredentialError(ScanpointError, ValueError):
    """A credential could not be read or trusted; ``reason`` says which stage refused it.

    Raised inside the verification chain only (:mod:`terminal.formats.chain` turns it into the
    chain's answer). ``decision`` is ``deny`` unless staff can still decide by hand (``check``).
    """

    reason: Reason = Reason.FORMAT_UNKNOWN
    decision: Decision = Decision.DENY

    def __init__(self, message: str, reason: Reason | None = None, *,
                 decision: Decision | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        if decision is not None:
            self.decision = decision


class TrustListError(ScanpointError, ValueError):
    """A signed trust or revocation list was refused (bad signature, rollback, expired, malformed).

    ``code`` says why in a short, stable word for status and logs (``malformed``, ``too-large``,
    ``wrong-signer``, ``bad-signature``, ``rollback``...): set where the refusal is decided, never
    guessed from the message's words.
    """

    code: str = "malformed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DeviceError(ScanpointError, OSError):
    """A device (camera, GPIO, printer) failed; the terminal degrades that part and reports it."""


class CameraError(DeviceError):
    """The camera could not be opened or stopped delivering frames."""


class CameraBusy(CameraError):
    """Another process holds the camera."""


class CameraMissing(CameraError):
    """No camera is connected (or it was unplugged)."""


class ReaderError(DeviceError):
    """A 2D code reader (serial or keyboard wedge) cannot be opened or stopped answering."""


class ReaderMissing(ReaderError):
    """No reader at the configured port or input device (unplugged, or the wrong path)."""


class PrinterError(DeviceError):
    """The receipt printer is offline, out of paper, or not answering."""


class StorageError(ScanpointError, OSError):
    """A database or state file cannot be opened, upgraded or written (disk full, permissions,
    a file written by a newer scanpoint); the part that needs it degrades and reports it."""


class SyncError(ScanpointError, RuntimeError):
    """A list sync failed or its result was refused; the previous lists stay in use."""


class IssuerError(ScanpointError, RuntimeError):
    """An issuer directory is missing, incomplete, unsafe (key file readable by others) or would
    be overwritten; the message says which file and what to do."""


class CertificateError(ConfigError):
    """A signer-certificate file (DCC DSC) is missing, unreadable, or holds no usable certificate."""


class DecoderUnavailable(ScanpointError, ImportError):
    """The QR decoder library the configuration asks for is not installed (e.g. libzbar0)."""
