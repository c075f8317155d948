"""Which format reads a QR text: the one whose prefix starts it.

A format module has ``NAME``, ``PREFIXES`` (upper-case text prefixes such as ``"HC1:"``) and
``read(text, ctx) -> Result``. A format's ``pass`` means genuine and in date only;
:mod:`terminal.verify.verifier` then applies revocation and site policy.
"""

from __future__ import annotations

from types import ModuleType

from terminal.formats.chain import MAX_TEXT_LENGTH, VerifyContext
from terminal.reasons import Reason
from terminal.result import Result, deny

PREFIXES = {"native": ("SP",), "dcc": ("HC1:",)}
"""Each format's prefixes, tried in order. Repeated from the modules (a test checks they agree) so
that reading a code imports only its own format: a native code never loads the DCC stack (X.509
parsing, ~15 ms of a one-shot ``scanpoint verify``)."""


def format_module(name: str) -> ModuleType:
    """The module of format ``name`` (imported on first use)."""
    if name == "native":
        from terminal.formats import native

        return native
    from terminal.formats import dcc

    return dcc


def detect(text: str) -> ModuleType | None:
    """The format module whose prefix starts ``text``, or None."""
    head = text[:8].upper()
    for name, prefixes in PREFIXES.items():
        if any(head.startswith(prefix) for prefix in prefixes):
            return format_module(name)
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
