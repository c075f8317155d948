"""How a configuration section is declared and checked: the machinery under :mod:`terminal.config`.

A section is a dataclass whose fields use :func:`setting` (a default, a one-line description, and
for paths and numbers how to read and bound them); :func:`build_section` turns a parsed TOML table
into one, refusing unknown keys, wrong types, non-finite floats and numbers out of range with one
line that names the key. :func:`toml_value` writes a value back as TOML.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import field
from pathlib import Path
from typing import Any

from terminal.errors import ConfigError

DEFAULT_FLOAT_RANGE = (0.0, 1e9)
"""The range of a float setting that declares none: the floats here are durations and amounts."""


def setting(default: Any, doc: str, *, path: bool = False, words: tuple[str, ...] = (),
            low: float | None = None, high: float | None = None) -> Any:
    """A config field with a default and a one-line description.

    ``path=True`` resolves a relative value against the config file's folder, except the
    ``words`` that name something other than a file (``[camera] source = "auto"``). ``low`` and
    ``high`` bound a number (inclusive); a float without them gets :data:`DEFAULT_FLOAT_RANGE`.
    """
    metadata = {"doc": doc, "path": path, "words": words, "low": low, "high": high}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def value_range(section: Any, key: str) -> tuple[float | None, float | None]:
    """The inclusive (low, high) a number setting of ``section`` (a section or its class) must
    lie in; None: unbounded."""
    cls = section if isinstance(section, type) else type(section)
    f = {f.name: f for f in dataclasses.fields(cls)}[key]
    low, high = f.metadata.get("low"), f.metadata.get("high")
    if typing.get_type_hints(cls)[key] is float:
        low = DEFAULT_FLOAT_RANGE[0] if low is None else low
        high = DEFAULT_FLOAT_RANGE[1] if high is None else high
    return low, high


def type_ok(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return isinstance(value, list) and all(type_ok(v, item) for v in value)
    if origin is dict:
        k, v = typing.get_args(annotation) or (Any, Any)
        return isinstance(value, dict) and all(
            type_ok(a, k) and type_ok(b, v) for a, b in value.items())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def build_section(cls: type, name: str, raw: Any, where: str, base: Path | None) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in [{name}]; "
                          f"known keys: {', '.join(sorted(fields))}")
    values = {}
    for key, value in raw.items():
        if not type_ok(value, hints[key]):
            raise ConfigError(f"{where}: [{name}] {key} = {value!r} has the wrong type "
                              f"(expected {type_name(hints[key])})")
        meta = fields[key].metadata
        if (meta.get("path") and isinstance(value, str) and value and base
                and value not in meta.get("words", ())):
            value = str((base / value).resolve()) if not Path(value).is_absolute() else value
        if hints[key] is float:
            value = float(value)
        if hints[key] in (float, int):
            check_number(cls, name, key, value, where)
        values[key] = value
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [{name}]: {exc}") from None


def check_number(cls: type, name: str, key: str, value: float, where: str) -> None:
    """A float must be finite and every number within its setting's range (one-line error)."""
    if not math.isfinite(value):
        raise ConfigError(f"{where}: [{name}] {key} = {value!r} is not a finite number")
    low, high = value_range(cls, key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{where}: [{name}] {key} = {value!r} is out of range: give "
                          f"{bounds(low, high)}")


def bounds(low: float | None, high: float | None) -> str:
    if low is None:
        return f"at most {number_text(high)}"
    if high is None:
        return f"at least {number_text(low)}"
    return f"a number from {number_text(low)} to {number_text(high)}"


def number_text(value: float | None) -> str:
    """``1000000000`` rather than ``1e+09`` for a whole number."""
    if value is not None and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
