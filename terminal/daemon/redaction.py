"""Log redaction: nothing that looks like a credential QR text reaches a log line.

The daemon and the command line install it once on the root logger (:func:`install_redaction`):
anything that looks like a credential payload is replaced before a line is written anywhere.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: A credential QR text: a short prefix such as ``SP1:`` (native, any version) or ``HC1:`` (EU
#: DCC) — two letters, a digit, a colon — then Base45. Case is ignored: a decoder may lower it.
_B45 = r"[0-9A-Z $%*+\-./:]"
_PAYLOAD = re.compile(r"\b([A-Z]{2}\d):" + _B45 + "{8,}", re.IGNORECASE)
_LONG_B45 = re.compile(r"[0-9A-Z$%*+\-./:]{60,}")   # an unprefixed Base45 run is as bad


def redact(text: str) -> str:
    """Replace QR-like payloads (``SP1:``/``HC1:`` + Base45, or long Base45 runs) with a marker."""
    if not text:
        return text
    text = _PAYLOAD.sub(lambda m: f"{m[1]}:<redacted {len(m[0])} chars>", text)
    return _LONG_B45.sub(lambda m: f"<redacted {len(m[0])} chars>", text)


class RedactingFilter(logging.Filter):
    """A filter that rewrites each record's message (and exception text) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep the template only
            message = str(record.msg)
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_installed: RedactingFilter | None = None


def install_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact every record logged anywhere: a record factory plus a filter on ``logger``'s handlers.

    Filters on a logger do not see records propagated from child loggers, so the redaction is
    applied where records are created (``logging.setLogRecordFactory``) and, for exception text,
    on each handler of ``logger`` (default: the root logger). Idempotent.
    """
    global _installed
    logger = logger or logging.getLogger()
    if _installed is None:
        _installed = redacting = RedactingFilter()
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redacting.filter(record)
            return record

        logging.setLogRecordFactory(factory)
    for handler in logger.handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed


