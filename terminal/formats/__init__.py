"""Credential formats, one module each, chosen by the QR text's prefix.

A format module has ``NAME``, ``PREFIXES`` (upper-case text prefixes such as ``"HC1:"``) and
``read(text, ctx) -> Result``, which never raises. A format's ``pass`` means genuine and in date
only; :mod:`terminal.verify.verifier` then applies revocation and site policy.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from terminal.reasons import Reason
from terminal.result import Result, deny

log = logging.getLogger(__name__)

# Modules tried in order; each declares its own prefixes (``PREFIXES``), repeated here so that
# reading a code imports only its format: a native code never loads the DCC stack (X.509, ~15 ms
# of a one-shot ``scanpoint verify``). A test checks that the two agree.
FORMAT_MODULES = ("terminal.formats.native", "terminal.formats.dcc")
FORMAT_PREFIXES = {"terminal.formats.native": ("SP",), "terminal.formats.dcc": ("HC1:",)}

MAX_TEXT_LENGTH = 4296  # the most a QR code (version 40-L, alphanumeric) can hold


@dataclass(frozen=True)
class VerifyContext:
    """What a format needs to judge a credential: the time, the skew allowance and trust stores."""

    now: float
    skew: float = 0.0
    trust: Any = None   # native trust.TrustList, or None when none is loaded
    dsc: Any = None     # DCC signer-certificate store, or None


_loaded: list[ModuleType] | None = None


def formats() -> list[ModuleType]:
    """The format modules (imported once)."""
    global _loaded
    if _loaded is None:
        _loaded = [importlib.import_module(name) for name in FORMAT_MODULES]
    return _loaded


def detect(text: str) -> ModuleType | None:
    """The format module whose prefix starts ``text``, or None."""
    head = text[:8].upper()
    for name in FORMAT_MODULES:
        if any(head.startswith(prefix) for prefix in FORMAT_PREFIXES[name]):
            return importlib.import_module(name)
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
    try:
        return module.read(text, ctx)
    except Exception:  # a format must never raise; if one does, fail closed and say so
        log.exception("event=format_error format=%s", module.NAME)
        return deny(Reason.INTERNAL_ERROR, "internal error while reading the code", module.NAME)
