"""The one systemd unit-file parser the unit tests share.

``configparser`` keeps only the last of repeated keys, but systemd allows a key to repeat
(``DeviceAllow=`` lines add up), so this keeps every value in order.
"""

from __future__ import annotations

from pathlib import Path

UNITS = Path(__file__).resolve().parents[2] / "systemd"


def parse_unit(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value in order (continuation lines joined). A missing file or a
    setting outside a section is an error, so a test can never pass on an empty parse."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in Path(path).read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        if current is None:
            raise ValueError(f"{path}: setting outside a section: {raw!r}")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """The parsed unit ``name`` from the repository's ``systemd/`` folder."""
    return parse_unit(UNITS / name)


def last(section: dict[str, list[str]], key: str) -> str:
    """The value systemd uses for a single-valued ``key`` (the last one), failing if absent."""
    assert key in section, f"{key}= missing"
    return section[key][-1]
