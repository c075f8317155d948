"""Bounded zlib inflation: one QR code can inflate to megabytes, so stop at a cap.

The stream is inflated with ``max_length`` just above the cap: a bomb is refused after producing
at most ``limit + 1`` bytes, without inflating the rest.
"""

from __future__ import annotations

import zlib

from terminal.errors import CredentialError
from terminal.reasons import Reason

DEFAULT_LIMIT = 64 * 1024


class DecompressionError(CredentialError):
    """The zlib stream is damaged, truncated, or followed by stray bytes."""

    reason = Reason.DECOMPRESSION_FAILED


class PayloadTooLarge(CredentialError):
    """The data inflates beyond the allowed size."""

    reason = Reason.PAYLOAD_TOO_LARGE


def inflate(data: bytes, limit: int = DEFAULT_LIMIT) -> bytes:
    """Inflate a complete zlib stream to at most ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise DecompressionError(f"zlib data is damaged: {exc}") from None
    if len(out) > limit or (inflater.unconsumed_tail and not inflater.eof):
        raise PayloadTooLarge(f"data inflates beyond {limit} bytes")
    if not inflater.eof:
        raise DecompressionError("zlib data is truncated")
    if inflater.unused_data:
        raise DecompressionError(f"{len(inflater.unused_data)} stray bytes after the zlib data")
    return out
