"""Base45 (RFC 9285): the QR-alphanumeric-friendly text encoding used by the credential chain."""

from __future__ import annotations

from terminal.errors import CredentialError
from terminal.reasons import Reason

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


class Base45Error(CredentialError):
    """The text is not valid Base45."""

    reason = Reason.BASE45_INVALID


def encode(data: bytes) -> str:
    """Base45-encode ``data``."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, rest = divmod(n, 45 * 45)
        d, c = divmod(rest, 45)
        out += (ALPHABET[c], ALPHABET[d], ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (ALPHABET[c], ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """Decode Base45 text; any character outside the alphabet, a dangling character or a group
    whose value does not fit its bytes raises :class:`Base45Error`."""
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as exc:
        raise Base45Error(f"character {exc.args[0]!r} is not Base45") from None
    if len(values) % 3 == 1:
        raise Base45Error("Base45 text has a dangling character (length leaves 1 over 3)")
    out = bytearray()
    full = len(values) - len(values) % 3
    for i in range(0, full, 3):
        n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if n > 0xFFFF:
            raise Base45Error("Base45 group value exceeds two bytes")
        out.append(n >> 8)
        out.append(n & 0xFF)
    if full != len(values):
        n = values[full] + values[full + 1] * 45
        if n > 0xFF:
            raise Base45Error("Base45 final pair value exceeds one byte")
        out.append(n)
    return bytes(out)
