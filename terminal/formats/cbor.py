"""A strict CBOR (RFC 8949) reader for signed credentials, and a deterministic writer.

``cbor2`` is lenient where a verifier must not be: it ignores trailing bytes and silently merges
duplicate map keys, so two parsers could read different claims from one signed blob. This reader
refuses trailing bytes, duplicate keys, nesting deeper than ``max_depth``, map keys other than
int/text/bytes, reserved encodings, invalid UTF-8 and lengths that run past the data.
Indefinite-length items are accepted only when ``allow_indefinite`` is set (EU DCC encoders may
use them; the native format does not). Writing goes through cbor2 in canonical mode.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import cbor2

from terminal.errors import CredentialError
from terminal.reasons import Reason

MAX_DEPTH = 16


class CBORError(CredentialError):
    """The bytes are not one well-formed, unambiguous CBOR item."""

    reason = Reason.CBOR_INVALID


@dataclass(frozen=True)
class Tag:
    """A tagged item (e.g. tag 18 = COSE_Sign1)."""

    tag: int
    value: Any


_BREAK = object()
_SIMPLE = {20: False, 21: True, 22: None}


class _Reader:
    __slots__ = ("allow_indefinite", "data", "max_depth", "pos")

    def __init__(self, data: bytes, max_depth: int, allow_indefinite: bool) -> None:
        self.data = data
        self.pos = 0
        self.max_depth = max_depth
        self.allow_indefinite = allow_indefinite

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise CBORError(f"CBOR item runs past the end of the data (needs {n} bytes at "
                            f"offset {self.pos}, {len(self.data) - self.pos} left)")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def argument(self, info: int) -> int | None:
        if info < 24:
            return info
        if info == 24:
            return self.take(1)[0]
        if info == 25:
            return int.from_bytes(self.take(2), "big")
        if info == 26:
            return int.from_bytes(self.take(4), "big")
        if info == 27:
            return int.from_bytes(self.take(8), "big")
        if info == 31:
            return None
        raise CBORError(f"reserved CBOR additional information {info} at offset {self.pos - 1}")

    def item(self, depth: int) -> Any:
        if depth > self.max_depth:
            raise CBORError(f"CBOR nesting deeper than {self.max_depth}")
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self.simple(info)
        arg = self.argument(info)
        if major in (0, 1, 6):
            return self.number_or_tag(major, arg, depth)
        if arg is None and not self.allow_indefinite:
            raise CBORError("indefinite-length CBOR items are not allowed here")
        if major in (2, 3):
            raw = self.string(major, arg)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CBORError("CBOR text string is not valid UTF-8") from None
        if major == 4:
            return self.array(arg, depth)
        return self.map(arg, depth)

    def number_or_tag(self, major: int, arg: int | None, depth: int) -> Any:
        """An unsigned (0) or negative (1) integer, or a tag (6): never of indefinite length."""
        if arg is None:
            raise CBORError(f"indefinite length is not allowed for major type {major}")
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        return Tag(arg, self.item(depth + 1))

    def string(self, major: int, length: int | None) -> bytes:
        if length is not None:
            return self.take(length)
        chunks: list[bytes] = []
        while True:
            initial = self.take(1)[0]
            if initial == 0xFF:
                return b"".join(chunks)
            if initial >> 5 != major or initial & 0x1F == 31:
                raise CBORError("indefinite-length string holds a chunk of another type")
            size = self.argument(initial & 0x1F)
            if size is None:
                raise CBORError("indefinite-length string holds an indefinite chunk")
            chunks.append(self.take(size))

    def array(self, count: int | None, depth: int) -> list:
        if count is None:
            out = []
            while (value := self.item_or_break(depth + 1)) is not _BREAK:
                out.append(value)
            return out
        if count > len(self.data) - self.pos:
            raise CBORError(f"CBOR array claims {count} items, more than the data can hold")
        return [self.item(depth + 1) for _ in range(count)]

    def map(self, count: int | None, depth: int) -> dict:
        if count is not None and 2 * count > len(self.data) - self.pos:
            raise CBORError(f"CBOR map claims {count} pairs, more than the data can hold")
        out: dict = {}
        seen: set = set()
        n = 0
        while count is None or n < count:
            key = self.item_or_break(depth + 1) if count is None else self.item(depth + 1)
            if key is _BREAK:
                break
            if isinstance(key, bool) or not isinstance(key, (int, str, bytes)):
                raise CBORError(f"CBOR map key of type {type(key).__name__} is not allowed")
            marker = (type(key), key)
            if marker in seen:
                raise CBORError(f"duplicate CBOR map key {key!r}")
            seen.add(marker)
            out[key] = self.item(depth + 1)
            n += 1
        return out

    def item_or_break(self, depth: int) -> Any:
        if self.pos < len(self.data) and self.data[self.pos] == 0xFF:
            self.pos += 1
            return _BREAK
        return self.item(depth)

    def simple(self, info: int) -> Any:
        if info in _SIMPLE:
            return _SIMPLE[info]
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        if info == 31:
            raise CBORError("CBOR 'break' outside an indefinite-length item")
        raise CBORError(f"CBOR simple value {info} is not allowed")


def loads(data: bytes, max_depth: int = MAX_DEPTH, *, allow_indefinite: bool = False) -> Any:
    """Decode exactly one CBOR item from ``data``; anything doubtful raises :class:`CBORError`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CBORError("CBOR input must be bytes")
    reader = _Reader(bytes(data), max_depth, allow_indefinite)
    try:
        value = reader.item(0)
    except RecursionError:
        raise CBORError("CBOR nesting too deep") from None
    if reader.pos != len(reader.data):
        raise CBORError(f"{len(reader.data) - reader.pos} trailing bytes after the CBOR item")
    return value


def dumps(obj: Any) -> bytes:
    """Encode deterministically (RFC 8949 §4.2 core rules, via cbor2 canonical mode).

    :class:`Tag` values are written as CBOR tags.
    """
    return cbor2.dumps(_to_cbor2(obj), canonical=True)


def _to_cbor2(obj: Any) -> Any:
    if isinstance(obj, Tag):
        return cbor2.CBORTag(obj.tag, _to_cbor2(obj.value))
    if isinstance(obj, list):
        return [_to_cbor2(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_cbor2(v) for k, v in obj.items()}
    return obj
