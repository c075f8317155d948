"""Names as a terminal may show them: masked, never whole.

A native credential carries a name its issuer masked (张三丰 → 张*丰, :func:`mask_name`); an EU DCC
carries the full structured name, of which the terminal keeps only initials (``M*** D***``,
:func:`initials`). Whatever a slip or screen shows passes :func:`shown_name` first: a name that does
not have its format's masked shape is masked again, so a full name is never shown even if a format
let one through.
"""

from __future__ import annotations

from typing import Any

NATIVE = "native"
DCC = "dcc"


def mask_name(name: str) -> str:
    """Keep the first and last character (of two, the first only): 张三丰 → 张*丰, 李四 → 李*."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def initials(nam: Any) -> str | None:
    """A DCC ``nam`` map as initials for staff to compare with an ID document, e.g. ``M*** D***``.

    One letter of the given and of the family name (transliterated where the primary is empty),
    each with a fixed three stars that hide the length; None when there is no usable name.
    """
    if not isinstance(nam, dict):
        return None
    parts = []
    for primary, transliterated in (("gn", "gnt"), ("fn", "fnt")):
        for value in (nam.get(primary), nam.get(transliterated)):
            if isinstance(value, str) and value.strip():
                parts.append(value.strip()[0].upper() + "***")
                break
    return " ".join(parts) or None


def is_masked(name: str, format: str = NATIVE) -> bool:
    """True if ``name`` has the masked shape of ``format`` (DCC initials; anything else: native)."""
    if format == DCC:
        parts = name.split(" ")
        return 1 <= len(parts) <= 2 and all(len(p) == 4 and p[1:] == "***" and p[0] != "*"
                                            for p in parts)
    if len(name) == 1:
        return name == "*"
    if len(name) == 2:
        return name[1] == "*"
    return set(name[1:-1]) == {"*"}


def shown_name(name: str, format: str = NATIVE) -> str:
    """The name as a slip or screen shows it: kept if masked for its format, else masked here.

    Merely containing ``*`` (张小*三丰) is not masked.
    """
    name = name.strip()
    return name if is_masked(name, format) else mask_name(name)
