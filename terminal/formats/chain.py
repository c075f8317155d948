"""The verification chain every credential format runs: small stages in order, one refusal.

As in hcert-kotlin, a format is a list of named stages — prefix → Base45 → inflate → COSE → key →
signature → claims → time — each a plain function from the previous stages' artefacts to its own
(kept in the format's :class:`Decoded`), or it raises
:class:`~terminal.errors.CredentialError` with one :class:`~terminal.reasons.Reason`. :class:`Steps`
stops at the first refusal and records which stage it was; it never hides anything else. Tools that
test one stage (the EU test-suite runner, the benchmarks) call the same stage functions.

**Internal errors.** Only a stage's refusal is an answer here. An unexpected exception is a bug: it
passes through to the one boundary that turns it into a decision,
:meth:`terminal.verify.verifier.Verifier.verify`, which answers ``check`` / ``INTERNAL_ERROR``
(:func:`terminal.result.internal_error`): never a pass, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from terminal.clock import finite_time
from terminal.errors import CredentialError
from terminal.lists.trust import TrustList
from terminal.reasons import Decision, Reason

if TYPE_CHECKING:       # the DCC stack (X.509) is loaded only when a DCC is read
    from terminal.formats.dsc import DscStore

MAX_TEXT_LENGTH = 4296
"""The most a QR code can hold (version 40-L, alphanumeric mode): longer text is not a QR code."""


@dataclass(frozen=True)
class VerifyContext:
    """What a format needs to judge a credential: the time, the skew allowance and the keys."""

    now: float
    skew: float = 0.0
    trust: TrustList | None = None   # native issuer keys, or None when no list is loaded
    dsc: DscStore | None = None      # DCC signer certificates, or None

    def __post_init__(self) -> None:
        # NaN compares false with every expiry: a context never holds one (ValueError)
        finite_time(self.now, "verification time")
        if finite_time(self.skew, "skew") < 0:
            raise ValueError(f"skew must not be negative, not {self.skew!r}")


@dataclass
class Decoded:
    """A chain's outcome: the artefacts each format adds (in a subclass), then the first refusal.

    ``stage`` names the stage that refused (None when every stage passed); ``decision`` is the
    refusal's (``deny``, or ``check`` where staff can still decide, e.g. no trust list yet).
    """

    reason: Reason = Reason.OK
    decision: Decision = Decision.PASS
    stage: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK


class Steps:
    """Runs a format's stages and records the first refusal in its :class:`Decoded`.

    Used as ``with Steps(decoded) as step:`` followed by ``step("name"); artefact = stage(...)``
    for each stage in order: a :class:`CredentialError` raised inside ends the block and is kept
    as the answer, with the name of the stage that raised it. Anything else propagates.
    """

    def __init__(self, decoded: Decoded) -> None:
        self.decoded = decoded
        self.current: str | None = None

    def __call__(self, name: str) -> None:
        self.current = name

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, kind: type[BaseException] | None, refusal: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if not isinstance(refusal, CredentialError):
            return False
        d = self.decoded
        d.reason, d.decision, d.stage, d.detail = (refusal.reason, refusal.decision,
                                                   self.current, str(refusal))
        return True
