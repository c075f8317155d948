"""Which format reads a QR text: the one whose prefix starts it.

A format module has ``NAME``, ``PREFIXES`` (upper-case text prefixes such as ``"HC1:"``) and
``read(text, ctx) -> Result``. A format's ``pass`` means genuine and in date only;
:mod:`terminal.verify.verifier` then applies revocation and site policy.
"""

from __future__ import annotations

from types import ModuleType

from terminal.formats import dcc, native
from terminal.formats.chain import MAX_TEXT_LENGTH, VerifyContext
from terminal.reasons import Reason
from terminal.result import Result, deny

FORMATS: tuple[ModuleType, ...] = (native, dcc)
"""Tried in order; each declares its own prefixes."""


def detect(text: str) -> ModuleType | None:
    """The format module whose prefix starts ``text``, or None."""
    head = text[:8].upper()
    for module in FORMATS:
        if any(head.startswith(prefix) for prefix in module.PREFIXES):
            return module
    return None


def read(text: str, ctx: VerifyContext) -> Result:
    """Verify ``text`` with the format its prefix names; unknown or oversize text is denied."""
    if not isinstance(text, str):
        return deny(Reason.FORMAT_UNKNOWN, "QR content is not text")
    if len(text) > MAX_TEXT_LENGTH:
        return deny(Reason.PAYLOAD_TOO_LARGE, f"QR text of {len(text)} characters is too long")
    module = detect(text)
    if module is None:
        return deny(Reason.FORMAT_UNKNOWN, "QR text has no known credential prefix")
    result: Result = module.read(text, ctx)
    return result
