"""A slip as paper sees it: styled lines wrapped to a width in printed columns (CJK counts two).

Pure text layout with no other scanpoint import, so the print-queue interface, the ESC/POS driver
and the virtual printer all share one :class:`Slip` type without depending on how slips are made
(:mod:`terminal.counter.slip`).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass

#: Characters per line for the usual paper widths (Font A, 12x24 dots).
WIDTH_CHARS = {58: 32, 80: 48}


@dataclass(frozen=True)
class Line:
    """One printed line: text plus style. ``size`` 2 is double width and height."""

    text: str = ""
    bold: bool = False
    size: int = 1
    align: str = "left"          # left | center | right


@dataclass(frozen=True)
class Slip:
    """A rendered slip: lines wrapped to ``width`` characters and an optional QR text."""

    width: int
    lines: tuple[Line, ...]
    footer: tuple[Line, ...] = ()  # printed after the QR
    code: str | None = None       # verification code (printed and optionally as QR)
    qr: str | None = None
    decision: str = ""
    created: float = 0.0
    reprint: bool = False

    def to_json(self) -> str:
        """JSON for the print queue (UTF-8 text, Chinese kept readable)."""
        data = asdict(self)
        data["lines"] = [asdict(line) for line in self.lines]
        data["footer"] = [asdict(line) for line in self.footer]
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Slip:
        data = json.loads(text)
        data["lines"] = tuple(Line(**line) for line in data["lines"])
        data["footer"] = tuple(Line(**line) for line in data["footer"])
        return cls(**data)

    def as_reprint(self) -> Slip:
        """The same slip marked as a reprint (printed again after an unconfirmed attempt)."""
        if self.reprint:
            return self
        marker = Line("** 重打 REPRINT **", bold=True, align="center")
        return Slip(self.width, (marker,) + self.lines, self.footer, self.code, self.qr,
                    self.decision, self.created, True)

    def to_text(self) -> str:
        """Plain text as it would look on paper (QR shown as a placeholder line)."""
        out = [self._line_text(line) for line in self.lines]
        if self.qr:
            out.append(align(f"[QR {self.qr}]", self.width, "center").rstrip())
            out.append("")                       # the line fed after the symbol
        out.extend(self._line_text(line) for line in self.footer)
        return "\n".join(out) + "\n"

    def _line_text(self, line: Line) -> str:
        text = spaced(line.text) if line.size == 2 else line.text
        return align(text, self.width, line.align).rstrip()


def char_width(ch: str) -> int:
    """Printed width of one character in columns: CJK full-width characters take two."""
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Printed width of ``text`` in columns."""
    return sum(char_width(c) for c in text)


def spaced(text: str) -> str:
    """Double-size text shown in plain text: each column doubled (a space after narrow chars)."""
    return "".join(c + (" " if char_width(c) == 1 else "  ") for c in text).rstrip()


def align(text: str, width: int, how: str) -> str:
    """Pad ``text`` to ``width`` columns (left, center or right)."""
    pad = max(0, width - text_width(text))
    if how == "center":
        return " " * (pad // 2) + text
    if how == "right":
        return " " * pad + text
    return text


def wrap(text: str, width: int) -> list[str]:
    """Wrap to ``width`` columns: at spaces where possible, between any CJK characters."""
    if width < 1:
        raise ValueError("width must be positive")
    lines: list[str] = []
    current = ""
    for word in _tokens(text):
        if text_width(current) + text_width(word) <= width:
            current += word
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = word.lstrip()
        while text_width(current) > width:      # a single token longer than the line
            cut, used = 0, 0
            while cut < len(current) and used + char_width(current[cut]) <= width:
                used += char_width(current[cut])
                cut += 1
            lines.append(current[:cut])
            current = current[cut:]
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their leading space; each CJK character is its own token."""
    tokens: list[str] = []
    buf = ""
    for ch in text:
        if char_width(ch) == 2:
            if buf:
                tokens.append(buf)
                buf = ""
            tokens.append(ch)
        elif ch == " ":
            if buf.strip():
                tokens.append(buf)
                buf = ""
            buf += ch
        else:
            buf += ch
    if buf:
        tokens.append(buf)
    return tokens
