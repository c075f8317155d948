"""What the verification chain returns: a decision, one reason, and what was read (never raw data).

**The rule for internal errors**, everywhere a decision is made: an unexpected exception (a bug, a
broken part) becomes ``check`` / ``INTERNAL_ERROR`` through :func:`internal_error` — never a pass
(fail closed), never a crash, and never a ``deny`` either, because the person in front of the
terminal did nothing wrong: staff check by hand and report it. It is logged with the exception's
type and the stage, never with the QR text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from terminal.reasons import Decision, Reason

log = logging.getLogger("scanpoint.result")


@dataclass(frozen=True)
class Credential:
    """The claims of a credential that passed parsing. Holds no raw ID and no full name.

    ``serial`` stays in memory (revocation and replay checks); anything written to disk or a log
    uses a keyed hash of it instead.
    """

    format: str                   # "native" or "dcc"
    type: str                     # e.g. "health", "insurance", "dcc-vaccination"
    issuer: str
    key_id: str                   # hex
    serial: bytes
    issued_at: int                # Unix seconds
    not_before: int
    expires: int
    status: str | None = None     # "green" / "yellow" / "red" for health passes
    masked_name: str | None = None  # e.g. "张*三"
    holder_hash: str | None = None  # hex keyed hash of the holder ID (native format)
    id_tail: str | None = None    # at most the last 4 characters of an ID, for slips


@dataclass(frozen=True)
class Result:
    """The outcome of verifying one QR text. ``detail`` is specific and safe to log."""

    decision: Decision
    reason: Reason
    format: str | None = None
    credential: Credential | None = None
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.decision is Decision.PASS


def deny(reason: Reason, detail: str = "", fmt: str | None = None,
         credential: Credential | None = None) -> Result:
    """A ``deny`` result."""
    return Result(Decision.DENY, reason, fmt, credential, detail)


def check(reason: Reason, detail: str = "", fmt: str | None = None,
          credential: Credential | None = None) -> Result:
    """A ``check`` result: staff must decide by hand."""
    return Result(Decision.CHECK, reason, fmt, credential, detail)


def internal_error(stage: str, exc: BaseException, fmt: str | None = None) -> Result:
    """The answer when ``stage`` failed unexpectedly (see the module docstring): ``check``."""
    log.error("event=internal_error stage=%s error=%s", stage, type(exc).__name__)
    return Result(Decision.CHECK, Reason.INTERNAL_ERROR, fmt,
                  detail=f"internal error in {stage}: {type(exc).__name__}")
