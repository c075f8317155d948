"""What a 2D code reader sends, turned into code texts: framing, cleaning and the US key map.

Pure logic shared by the serial and keyboard-wedge readers in :mod:`drivers.reader` (no device
I/O here, so every rule is tested byte for byte):

- :class:`Framer` cuts a byte stream into codes at the configured terminator (CR, LF, CRLF) or,
  for readers that send no suffix, after ``gap_s`` of silence. Bytes left without a terminator
  for ``gap_s`` are a half-sent code and dropped; a code longer than :data:`MAX_CODE_BYTES` is
  dropped and the rest of it skipped up to its terminator, so its tail never becomes a code.
- :func:`clean_code` strips the reader's optional prefix and AIM symbology identifier (``]Q1`` …,
  ISO/IEC 15424) and refuses binary garbage (invalid UTF-8, control characters).
- :class:`KeyDecoder` turns Linux key events from a keyboard-wedge reader into those same bytes
  with the US layout (shift, caps lock, the numeric keypad), Enter becoming CR.

Every dropped input is counted by kind (:data:`DROP_KINDS`); nothing here raises on bad input.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from terminal.config import READER_LAYOUTS, READER_TERMINATORS

MAX_CODE_BYTES = 4096
"""Longest code accepted (a version-40 QR holds at most 4,296 alphanumeric characters; our
credentials are well under 1 KiB). Longer input without a terminator is garbage or a stuck stream."""

TERMINATORS = READER_TERMINATORS
LAYOUTS = READER_LAYOUTS

GARBAGE = "garbage"      # invalid UTF-8, control characters, keys with no US-layout character
OVERSIZE = "oversize"    # more than MAX_CODE_BYTES without a terminator
PARTIAL = "partial"      # cut off before its terminator, then silence
DROP_KINDS = (GARBAGE, OVERSIZE, PARTIAL)

CR, LF = 0x0D, 0x0A
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")


@dataclass(frozen=True)
class Framing:
    """How the reader frames its codes (from ``[reader]``): ``terminator`` one of
    :data:`TERMINATORS`, ``gap_s`` the silence that ends a code (``timeout``) or drops a
    half-sent one (the others), an optional ``prefix`` and AIM identifier to strip."""

    terminator: str = "cr"
    gap_s: float = 0.1
    prefix: str = ""
    strip_aim: bool = True
    max_bytes: int = MAX_CODE_BYTES

    def __post_init__(self) -> None:
        if self.terminator not in TERMINATORS:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATORS)}, "
                             f"not {self.terminator!r}")
        if not self.gap_s > 0:
            raise ValueError("the gap that ends or drops a code must be more than 0 s")
        if self.max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")


def clean_code(raw: bytes, framing: Framing) -> tuple[str | None, str | None]:
    """``(text, None)`` for a usable code, ``(None, kind)`` for one to drop, ``(None, None)``
    for an empty line (the LF of a CRLF in CR mode, a reader's keep-alive) — silently ignored.

    Order follows the readers' own output, ``[prefix][AIM id]data``: the configured prefix is
    stripped first (when present), then one AIM identifier.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, GARBAGE
    if framing.prefix and text.startswith(framing.prefix):
        text = text[len(framing.prefix):]
    if framing.strip_aim and _AIM.match(text):
        text = text[3:]
    if not text:
        return None, None
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        return None, GARBAGE
    return text, None


class Framer:
    """Cuts a reader's byte stream into code texts (see the module docstring).

    ``feed(data, now)`` takes bytes as they arrive and returns the codes completed by them;
    ``expire(now)`` is called when no byte came and ends (``timeout``) or drops (otherwise) the
    code in progress once ``gap_s`` has passed; ``deadline()`` says when that will be.
    ``dropped`` counts the inputs refused, by kind.
    """

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self.dropped: Counter[str] = Counter()
        self._buf = bytearray()
        self._skipping = False          # inside an oversize code: discard up to its end
        self._last = 0.0                # arrival of the newest byte of the code in progress
        mode = framing.terminator
        self._end = None if mode == "timeout" else (CR if mode == "cr" else LF)
        self._ignore = {"cr": LF, "lf": CR}.get(mode)     # the other line-end byte: skipped
        self._strip_cr = mode == "crlf"

    @property
    def pending(self) -> bool:
        """True while a code is in progress (or an oversize one is being skipped)."""
        return bool(self._buf) or self._skipping

    def deadline(self) -> float | None:
        """When :meth:`expire` must run to end or drop the code in progress (None: idle)."""
        return self._last + self.framing.gap_s if self.pending else None

    def feed(self, data: bytes, now: float) -> list[str]:
        """Take ``data`` received at ``now``; return the codes it completed, in order."""
        codes: list[str] = []
        if not data:
            return codes
        if self.pending and now - self._last >= self.framing.gap_s:
            codes += self.expire(now)   # the previous burst went silent before this one
        self._last = now
        if self._ignore is not None:
            data = data.replace(bytes([self._ignore]), b"")
        while data:
            cut = data.find(self._end) if self._end is not None else -1
            part, data = (data, b"") if cut < 0 else (data[:cut], data[cut + 1:])
            if self._skipping:                      # the tail of an oversize code
                self._skipping = cut < 0
                continue
            if len(self._buf) + len(part) > self.framing.max_bytes:
                self.dropped[OVERSIZE] += 1
                self._buf.clear()
                self._skipping = cut < 0            # skip on to its terminator
                continue
            self._buf += part
            if cut >= 0:
                self._finish(codes)
        return codes

    def expire(self, now: float) -> list[str]:
        """After ``gap_s`` without a byte: end the code (``timeout`` mode) or drop it as
        half-sent. Returns the codes completed (at most one)."""
        codes: list[str] = []
        if not self.pending or now - self._last < self.framing.gap_s:
            return codes
        if self._skipping:
            self._skipping = False
        elif self._end is None:
            self._finish(codes)
        else:
            self.dropped[PARTIAL] += 1
        self._buf.clear()
        return codes

    def _finish(self, codes: list[str]) -> None:
        raw = bytes(self._buf)
        self._buf.clear()
        if self._strip_cr and raw.endswith(b"\r"):
            raw = raw[:-1]
        text, dropped = clean_code(raw, self.framing)
        if text is not None:
            codes.append(text)
        elif dropped is not None:
            self.dropped[dropped] += 1


# -- keyboard wedge: Linux key codes (linux/input-event-codes.h) to US-layout characters ---------
EV_SYN, EV_KEY = 0x00, 0x01
SYN_DROPPED = 3
KEY_UP, KEY_DOWN = 0, 1           # event values; 2 is autorepeat (a held key, never a scanner)

#: key code -> (unshifted, shifted) character on a US keyboard. Numbers from the kernel's
#: input-event-codes.h (a test checks each against python-evdev's ecodes).
US_KEYS: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"), 7: ("6", "^"),
    8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"), 12: ("-", "_"), 13: ("=", "+"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"),
    21: ("y", "Y"), 22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"),
    26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"),
    35: ("h", "H"), 36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"), 39: (";", ":"),
    40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"),
    49: ("n", "N"), 50: ("m", "M"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"),
    57: (" ", " "),
    # the numeric keypad (readers set to send digits as keypad keys); NumLock assumed on
    55: ("*", "*"), 71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"),
    75: ("4", "4"), 76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"),
    80: ("2", "2"), 81: ("3", "3"), 82: ("0", "0"), 83: (".", "."), 98: ("/", "/"),
}
KEY_NAMES = {
    "KEY_ENTER": 28, "KEY_KPENTER": 96, "KEY_LEFTSHIFT": 42, "KEY_RIGHTSHIFT": 54,
    "KEY_CAPSLOCK": 58, "KEY_NUMLOCK": 69, "KEY_LEFTCTRL": 29, "KEY_RIGHTCTRL": 97,
    "KEY_LEFTALT": 56, "KEY_RIGHTALT": 100, "KEY_LEFTMETA": 125, "KEY_RIGHTMETA": 126,
}
ENTER_KEYS = frozenset({KEY_NAMES["KEY_ENTER"], KEY_NAMES["KEY_KPENTER"]})
SHIFT_KEYS = frozenset({KEY_NAMES["KEY_LEFTSHIFT"], KEY_NAMES["KEY_RIGHTSHIFT"]})
#: held, these make a key a shortcut, not text (Ctrl-J, Alt-keypad codes of other layouts)
CHORD_KEYS = frozenset({KEY_NAMES[n] for n in ("KEY_LEFTCTRL", "KEY_RIGHTCTRL", "KEY_LEFTALT",
                                                "KEY_RIGHTALT", "KEY_LEFTMETA", "KEY_RIGHTMETA")})
IGNORED_KEYS = frozenset({KEY_NAMES["KEY_NUMLOCK"]})
POISON = b"\x00"     # what a key with no character types: a control byte, so the code is garbage


class KeyDecoder:
    """Linux key events of a keyboard-wedge reader -> bytes for a :class:`Framer`, US layout.

    A key press gives its character (shifted while either Shift is held, letters inverted by
    Caps Lock); Enter gives CR. A key with no US character, a key pressed with Ctrl/Alt/Meta
    held, or events the kernel dropped (``SYN_DROPPED``) give a NUL byte: it poisons the code in
    progress, which the framer then drops as garbage rather than decide with characters missing.
    """

    def __init__(self) -> None:
        self._shift: set[int] = set()
        self._chord: set[int] = set()
        self._caps = False

    def event(self, ev_type: int, code: int, value: int) -> bytes:
        """One input event; returns the bytes it types (often none)."""
        if ev_type == EV_SYN:
            if code != SYN_DROPPED:
                return b""
            self._shift.clear()            # key states are unknown after lost events
            self._chord.clear()
            return POISON
        if ev_type != EV_KEY:
            return b""                     # EV_MSC scan codes, LEDs: not text
        if code in SHIFT_KEYS:
            (self._shift.add if value else self._shift.discard)(code)
            return b""
        if code in CHORD_KEYS:
            (self._chord.add if value else self._chord.discard)(code)
            return b""
        if value != KEY_DOWN:
            return b""                     # releases and autorepeat type nothing
        if code == KEY_NAMES["KEY_CAPSLOCK"]:
            self._caps = not self._caps
            return b""
        if code in IGNORED_KEYS:
            return b""
        if self._chord:
            return POISON
        if code in ENTER_KEYS:
            return b"\r"
        pair = US_KEYS.get(code)
        if pair is None:
            return POISON
        char = pair[1] if self._shift else pair[0]
        if self._caps and char.isalpha():
            char = char.swapcase()
        return char.encode("ascii")
