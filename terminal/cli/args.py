"""Value types for ``scanpoint`` arguments: every path and every checked value is read here.

Each is an argparse ``type=``: it runs while the command line is parsed, so a missing file, a
folder where a file belongs, a file this user may not read, a config that is not UTF-8, a file
name that is not UTF-8 (OpenCV crashes on one) or a time nobody can parse is reported before any
work starts — as one line naming the argument and the value, exit status 2 — the same way in
every command. Work that fails later (disk full, device gone) is the command's own failure.

The path types keep the text as given (a ``str``), so messages and output show what the user
typed. Each type carries ``kind`` (what the contract test feeds it) and a readable ``__name__``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import stat
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

#: a config file bigger than this is not a config file (the loader reads it whole)
MAX_TEXT_BYTES = 1 << 20


def shown(path: str) -> str:
    """``path`` printable on any terminal: bytes that are not UTF-8 appear as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def quoted(path: str) -> str:
    """``path`` in single quotes for a message, printable as :func:`shown`."""
    return f"'{shown(path)}'"


def _name_problem(path: str) -> str | None:
    """Why ``path`` cannot be used as a file name, or None."""
    if not path:
        return "an empty file name"
    if "\0" in path:
        return f"file name {quoted(path)} holds a NUL byte"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return f"file name {quoted(path)} is not valid UTF-8: rename it"
    return None


def _stat(path: str, what: str) -> os.stat_result | None:
    """``os.stat(path)``, None if it does not exist; ArgumentTypeError for any other refusal."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise argparse.ArgumentTypeError(_os_problem(exc, path, what)) from None


def _os_problem(exc: OSError, path: str, what: str) -> str:
    if exc.errno == errno.ENOTDIR:
        return f"{what} {quoted(path)}: a part of the path is a file, not a folder"
    return f"cannot use {what} {quoted(path)}: {exc.strerror or exc}"


class PathType:
    """Base of the path types: checks the name, then :meth:`check` the object on disk."""

    kind = "path"

    def __init__(self, what: str) -> None:
        self.what = what
        self.__name__ = what      # argparse names the type in some messages

    def __call__(self, value: str) -> str:
        problem = _name_problem(value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        self.check(value)
        return value

    def check(self, path: str) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.what!r})"


class InputFile(PathType):
    """An existing file this user can read; with ``text=True`` a regular file must also be UTF-8
    text of at most :data:`MAX_TEXT_BYTES` (a pipe or device is not read ahead)."""

    kind = "input-file"

    def __init__(self, what: str, *, text: bool = False) -> None:
        super().__init__(what)
        self.text = text

    def check(self, path: str) -> None:
        st = _stat(path, self.what)
        if st is None:
            raise argparse.ArgumentTypeError(f"{self.what} not found: {quoted(path)}")
        if stat.S_ISDIR(st.st_mode):
            raise argparse.ArgumentTypeError(f"{self.what} {quoted(path)} is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            # a pipe (--config <(...)) or a device: opening may block and reading would consume
            # what the command itself must read, so only the permission is checked
            if not _may(path, os.R_OK):
                raise argparse.ArgumentTypeError(
                    f"cannot use {self.what} {quoted(path)}: permission denied")
            return
        try:
            with open(path, "rb") as fh:
                head = fh.read(MAX_TEXT_BYTES + 1) if self.text else fh.read(0)
        except OSError as exc:
            raise argparse.ArgumentTypeError(_os_problem(exc, path, self.what)) from None
        if not self.text:
            return
        if len(head) > MAX_TEXT_BYTES:
            raise argparse.ArgumentTypeError(
                f"{self.what} {quoted(path)} is larger than {MAX_TEXT_BYTES} bytes")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = head[:exc.start].count(b"\n") + 1
            raise argparse.ArgumentTypeError(
                f"{self.what} {quoted(path)} is not UTF-8 text (byte {exc.start} on line "
                f"{line}): save it as UTF-8") from None


class InputPath(InputFile):
    """An existing file or folder this user can read (a folder is read file by file)."""

    kind = "input-path"

    def check(self, path: str) -> None:
        st = _stat(path, self.what)
        if st is None:
            raise argparse.ArgumentTypeError(f"{self.what} not found: {quoted(path)}")
        if stat.S_ISDIR(st.st_mode):
            try:
                os.listdir(path)
            except OSError as exc:
                raise argparse.ArgumentTypeError(_os_problem(exc, path, self.what)) from None
            return
        super().check(path)


class InputDir(PathType):
    """An existing folder this user can list."""

    kind = "input-dir"

    def check(self, path: str) -> None:
        st = _stat(path, self.what)
        if st is None:
            raise argparse.ArgumentTypeError(f"{self.what} not found: {quoted(path)}")
        if not stat.S_ISDIR(st.st_mode):
            raise argparse.ArgumentTypeError(f"{self.what} {quoted(path)} is a file, not a folder")
        try:
            os.listdir(path)
        except OSError as exc:
            raise argparse.ArgumentTypeError(_os_problem(exc, path, self.what)) from None


def _may(path: str, mode: int) -> bool:
    """``os.access`` for the effective user (the one the command's writes will run as)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def _check_parent(path: str, what: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    st = _stat(parent, what)
    if st is None:
        raise argparse.ArgumentTypeError(
            f"cannot create {what} {quoted(path)}: folder {quoted(parent)} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise argparse.ArgumentTypeError(
            f"cannot create {what} {quoted(path)}: {quoted(parent)} is a file, not a folder")
    if not _may(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"cannot create {what} {quoted(path)}: folder {quoted(parent)} is not writable")


class OutputFile(PathType):
    """A file to write: an existing file, or a new one in an existing folder; ``-`` (standard
    output) when ``dash`` is allowed."""

    kind = "output-file"

    def __init__(self, what: str, *, dash: bool = False) -> None:
        super().__init__(what)
        self.dash = dash

    def __call__(self, value: str) -> str:
        if self.dash and value == "-":
            return value
        return super().__call__(value)

    def check(self, path: str) -> None:
        st = _stat(path, self.what)
        if st is None:
            _check_parent(path, self.what)
        elif stat.S_ISDIR(st.st_mode):
            raise argparse.ArgumentTypeError(f"{self.what} {quoted(path)} is a folder, not a file")
        elif not _may(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"cannot write {self.what} {quoted(path)}: "
                                             "permission denied")


class OutputDir(PathType):
    """A folder to write into: an existing folder, or a new one in an existing folder."""

    kind = "output-dir"

    def check(self, path: str) -> None:
        st = _stat(path, self.what)
        if st is None:
            _check_parent(path, self.what)
        elif not stat.S_ISDIR(st.st_mode):
            raise argparse.ArgumentTypeError(f"{self.what} {quoted(path)} is a file, not a folder")
        elif not _may(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"cannot write into {self.what} {quoted(path)}: "
                                             "permission denied")


class UpdateFile(InputFile):
    """A file read if it is there and written afterwards (``scanpoint setup --config``): an
    existing file must be readable UTF-8 text, a new one needs an existing folder that this user
    may write into. Whether an existing file may be written is the command's to check, only when
    it writes: ``setup --check`` reads the root-owned config as the service user."""

    kind = "update-file"

    def __init__(self, what: str) -> None:
        super().__init__(what, text=True)

    def check(self, path: str) -> None:
        if _stat(path, self.what) is None:
            _check_parent(path, self.what)
        else:
            super().check(path)


# -- the path arguments of the commands ------------------------------------------------------
config_file = InputFile("config file", text=True)
config_to_update = UpdateFile("config file")
image_file = InputFile("image")
certificates = InputPath("certificate file or folder")
issuer_dir = InputDir("issuer folder")
new_issuer_dir = OutputDir("issuer folder")
work_dir = OutputDir("folder")
png_file = OutputFile("PNG file")
export_file = OutputFile("output file", dash=True)


@contextlib.contextmanager
def writing(path: str) -> Iterator[None]:
    """Name ``path`` in an ``OSError`` raised without a file name (a failed write or close, such
    as a full disk), so the one error line says which file."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = path
        raise


# -- the terminal config ----------------------------------------------------------------------
#: the config the installed terminal uses (systemd units pass it explicitly)
DEFAULT_CONFIG = "/etc/scanpoint/scanpoint.toml"


def read_config(path: str) -> Any:
    """``terminal.config.load(path)``: a config that is not UTF-8 (say, from a pipe the parser
    could not check ahead) is a :class:`~terminal.errors.ConfigError` naming the file there."""
    from terminal import config as config_mod

    return config_mod.load(path)


def load_config(path: str | None) -> Any:
    """The named config (already checked by :data:`config_file`), else the system one at
    :data:`DEFAULT_CONFIG` if present (checked the same way), else the built-in defaults."""
    from terminal import config as config_mod
    from terminal.errors import ConfigError

    if path is None:
        if not os.path.lexists(DEFAULT_CONFIG):
            return config_mod.Config()
        try:
            path = config_file(DEFAULT_CONFIG)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(str(exc)) from None
    return read_config(path)


# -- checked values --------------------------------------------------------------------------
def _value_type(name: str, parse: Callable[[str], object], kind: str, good: str,
                bad: tuple[str, ...]) -> Callable[[str], object]:
    """An argparse type from ``parse``: its ``ValueError`` message becomes the usage error.

    ``good_example`` and ``bad_examples`` document the type; the CLI contract test feeds them
    to every argument of that type.
    """

    def convert(value: str) -> object:
        try:
            return parse(value)
        except (ValueError, OverflowError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    convert.kind = kind                 # type: ignore[attr-defined]
    convert.good_example = good         # type: ignore[attr-defined]
    convert.bad_examples = bad          # type: ignore[attr-defined]
    return convert


def _at(value: str) -> float:
    from terminal.timefmt import parse_at

    return parse_at(value)


def _since(value: str) -> float:
    from terminal.counter.audit import parse_since

    return parse_since(value)


#: ``--at``: ISO-8601 or Unix seconds (see :func:`terminal.timefmt.parse_at`)
at_time = _value_type("time", _at, "time", "2026-01-01T08:00:00Z", ("yesterday", "nan", "1e300"))
#: ``--since``: ISO date/time or a span such as 7d (see :func:`terminal.counter.audit.parse_since`)
since_time = _value_type("time", _since, "time", "7d", ("yesterday", "99999999999d"))


def int_range(low: int, high: int, unit: str = "") -> Callable[[str], object]:
    """An integer from ``low`` to ``high`` inclusive."""
    suffix = f" {unit}" if unit else ""

    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"{number} is out of range: give {low}-{high}{suffix}")
        return number

    return _value_type("number", parse, "number", str(low), ("x", str(low - 1), str(high + 1)))


def hours(high: float) -> Callable[[str], object]:
    """A positive number of hours up to ``high``."""

    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number of hours") from None
        if not 0 < number <= high:        # also refuses nan
            raise ValueError(f"{value!r} is out of range: give more than 0 and at most "
                             f"{high:g} hours")
        return number

    return _value_type("hours", parse, "number", "1", ("x", "0", "-1", "nan", f"{high * 2:g}"))


def seconds(high: float) -> Callable[[str], object]:
    """A number of seconds from 0 to ``high``."""

    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a number of seconds") from None
        if not 0 <= number <= high:        # also refuses nan
            raise ValueError(f"{value!r} is out of range: give 0 to {high:g} seconds")
        return number

    return _value_type("seconds", parse, "number", "5", ("x", "-1", "nan", f"{high * 2:g}"))


def _listen(value: str) -> str:
    from terminal.config import parse_listen

    parse_listen(value, "address")
    return value


#: ``--listen``: HOST:PORT with a numeric address (whether the LAN is allowed is the config's say)
listen_address = _value_type("address", _listen, "address", "127.0.0.1:8080",
                             ("localhost", "127.0.0.1:99999", "127.0.0.1"))


def _list_source(value: str) -> str:
    if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{value!r} is not a URL: empty or holds control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{quoted(value)} is not valid UTF-8") from None
    scheme = urllib.parse.urlsplit(value).scheme
    if scheme and scheme not in ("http", "https", "file"):
        raise ValueError(f"{value!r}: lists are fetched from http://, https:// or file:// URLs "
                         "or from a folder")
    return value


#: ``issuer init --url``: where DIR/public is served (http, https, file) or a folder
list_source = _value_type("URL", _list_source, "url", "https://lists.example/site/",
                          ("ftp://example.org/", "a\nb", " "))

def _root_key(value: str) -> str:
    from terminal.crypto import sm2

    key = "".join(value.split()).lower()
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise ValueError(f"{value!r} is not hex digits: give the root public key as printed "
                         "in root.pub (128 hex digits, X||Y)") from None
    try:
        sm2.parse_public_key(raw)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid SM2 public key: {exc}") from None
    return key


#: ``setup --root-key``: an SM2 public key as hex (spaces and case ignored); returns lower-case hex
root_key = _value_type(
    "key", _root_key, "key",
    "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"   # the curve's generator
    "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0",
    ("zz", "00" * 64, "04" + "00" * 64))

_CODE = re.compile(r"[A-Z2-7]{8}")


def _code(value: str) -> str:
    code = value.replace("-", "").replace(" ", "").upper()
    if not _CODE.fullmatch(code):
        raise ValueError(f"{value!r} is not a verification code: 8 letters and digits 2-7 as "
                         "printed on the slip, e.g. WQ2H-W7VO")
    return code


#: ``audit find CODE``: the slip's verification code, dashes and case ignored; returns 8 chars
verification_code = _value_type("code", _code, "code", "WQ2H-W7VO",
                                ("x", "WQ2H-W7V0", "WQ2H-W7VO-XX"))


def serial_hex(length: int) -> Callable[[str], object]:
    """``issuer revoke --serial``: a credential serial of ``length`` bytes as hex digits."""

    def parse(value: str) -> bytes:
        try:
            serial = bytes.fromhex(value)
        except ValueError:
            serial = b""
        if len(serial) != length:
            # a typo must not print "revoked" while revoking a serial no credential has
            raise ValueError(f"must be the credential's {length}-byte serial as {2 * length} hex "
                             f"digits, got {value!r}; nothing revoked")
        return serial

    return _value_type("serial", parse, "serial", "00" * length, ("zz", "00" * (length - 1)))


__all__ = [
    "DEFAULT_CONFIG", "InputDir", "InputFile", "InputPath", "OutputDir", "OutputFile",
    "PathType", "UpdateFile", "at_time", "certificates", "config_file", "config_to_update",
    "export_file", "hours", "image_file", "int_range", "issuer_dir", "list_source",
    "load_config", "new_issuer_dir", "png_file", "quoted", "read_config", "root_key",
    "serial_hex", "shown", "since_time", "verification_code", "work_dir", "writing"]
