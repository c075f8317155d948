"""A virtual keyboard-wedge (USB HID) code reader: text -> HID keyboard reports -> Linux input
events, written where the terminal's evdev driver reads them.

Two layers, each written from its own specification (not from the driver's key table, so a wrong
entry there shows up as a failed test rather than agreeing with itself):

- :func:`hid_reports`: what the reader's firmware sends over USB for a text with the US layout —
  8-byte boot-protocol keyboard reports (modifier bits, reserved byte, six usage IDs from the HID
  Usage Tables' keyboard page), one press and one release per character, Enter as the suffix;
- :func:`report_events`: what the kernel's ``hid-input`` makes of those reports — for every key
  whose state changed, an ``EV_MSC/MSC_SCAN`` with the usage and an ``EV_KEY`` press or release,
  then ``EV_SYN/SYN_REPORT`` — packed as ``struct input_event`` records by :func:`pack_events`.

Where ``/dev/uinput`` exists, :func:`uinput_device` creates a real input device from the events;
elsewhere :class:`VirtualWedge` writes the same byte stream into a FIFO the driver reads with
python-evdev (``evdev:`` + the FIFO path, accepted on simulated hardware), and closing the
writer looks to the driver like an unplug.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
SYN_REPORT, SYN_DROPPED = 0, 3
MSC_SCAN = 0x04
INPUT_EVENT = struct.Struct("@llHHi")     # struct input_event: timeval, type, code, value
KEYBOARD_PAGE = 0x70000                   # HID usage page 0x07 in MSC_SCAN values

LEFT_CTRL, LEFT_SHIFT, LEFT_ALT, RIGHT_SHIFT = 0x01, 0x02, 0x04, 0x20    # modifier byte bits

# HID Usage Tables, keyboard/keypad page (0x07): character -> (usage ID, shift needed), US layout
_HID_US: dict[str, tuple[int, bool]] = {}
for _i, _ch in enumerate("abcdefghijklmnopqrstuvwxyz"):
    _HID_US[_ch] = (0x04 + _i, False)
    _HID_US[_ch.upper()] = (0x04 + _i, True)
for _i, (_ch, _up) in enumerate(zip("1234567890", "!@#$%^&*()", strict=True)):
    _HID_US[_ch] = (0x1E + _i, False)
    _HID_US[_up] = (0x1E + _i, True)
_HID_US[" "] = (0x2C, False)
for _usage, _ch, _shifted in ((0x2D, "-", "_"), (0x2E, "=", "+"),
                              (0x2F, "[", "{"), (0x30, "]", "}"), (0x31, "\\", "|"),
                              (0x33, ";", ":"), (0x34, "'", '"'), (0x35, "`", "~"),
                              (0x36, ",", "<"), (0x37, ".", ">"), (0x38, "/", "?")):
    _HID_US[_ch] = (_usage, False)
    _HID_US[_shifted] = (_usage, True)
HID_ENTER, HID_KP_ENTER = 0x28, 0x58
#: the keypad keys a reader in "numeric keypad" mode sends for digits and + - * / .
HID_KEYPAD = {"/": 0x54, "*": 0x55, "-": 0x56, "+": 0x57, "1": 0x59, "2": 0x5A, "3": 0x5B,
              "4": 0x5C, "5": 0x5D, "6": 0x5E, "7": 0x5F, "8": 0x60, "9": 0x61, "0": 0x62,
              ".": 0x63}

# hid-input's keyboard table (drivers/hid/hid-input.c, hid_keyboard[]): usage -> key name
_USAGE_KEY: dict[int, str] = {0x04 + i: f"KEY_{c}" for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}
_USAGE_KEY.update({0x1E + i: f"KEY_{c}" for i, c in enumerate("1234567890")})
_USAGE_KEY.update({
    0x28: "KEY_ENTER", 0x29: "KEY_ESC", 0x2A: "KEY_BACKSPACE", 0x2B: "KEY_TAB", 0x2C: "KEY_SPACE",
    0x2D: "KEY_MINUS", 0x2E: "KEY_EQUAL", 0x2F: "KEY_LEFTBRACE", 0x30: "KEY_RIGHTBRACE",
    0x31: "KEY_BACKSLASH", 0x32: "KEY_BACKSLASH", 0x33: "KEY_SEMICOLON", 0x34: "KEY_APOSTROPHE",
    0x35: "KEY_GRAVE", 0x36: "KEY_COMMA", 0x37: "KEY_DOT", 0x38: "KEY_SLASH", 0x39: "KEY_CAPSLOCK",
    0x53: "KEY_NUMLOCK", 0x54: "KEY_KPSLASH", 0x55: "KEY_KPASTERISK", 0x56: "KEY_KPMINUS",
    0x57: "KEY_KPPLUS", 0x58: "KEY_KPENTER", 0x62: "KEY_KP0", 0x63: "KEY_KPDOT",
    0x64: "KEY_102ND",
    0xE0: "KEY_LEFTCTRL", 0xE1: "KEY_LEFTSHIFT", 0xE2: "KEY_LEFTALT", 0xE3: "KEY_LEFTMETA",
    0xE4: "KEY_RIGHTCTRL", 0xE5: "KEY_RIGHTSHIFT", 0xE6: "KEY_RIGHTALT", 0xE7: "KEY_RIGHTMETA",
})
_USAGE_KEY.update({0x59 + i: f"KEY_KP{i + 1}" for i in range(9)})
_USAGE_KEY.update({0x3A + i: f"KEY_F{i + 1}" for i in range(12)})


def key_code(usage: int) -> int:
    """The Linux key code hid-input reports for a keyboard-page usage (python-evdev's ecodes)."""
    from evdev import ecodes

    code: int = ecodes.ecodes[_USAGE_KEY[usage]]
    return code


def _report(modifiers: int, *usages: int) -> bytes:
    keys = list(usages) + [0] * (6 - len(usages))
    return bytes([modifiers, 0, *keys])


def hid_reports(text: str, *, enter: bool = True, keypad: bool = False,
                shift: int = LEFT_SHIFT, separate_shift: bool = False) -> list[bytes]:
    """The boot keyboard reports a US-layout wedge reader sends for ``text`` (+ Enter).

    ``keypad`` sends digits and ``+ - * / .`` as keypad keys; ``shift`` picks the Shift key
    (``LEFT_SHIFT`` or ``RIGHT_SHIFT``); ``separate_shift`` sends Shift in a report of its own
    before and after the key, as some readers do. Raises KeyError for a character with no key.
    """
    reports: list[bytes] = []
    for ch in text:
        if keypad and ch in HID_KEYPAD:
            usage, shifted = HID_KEYPAD[ch], False
        else:
            usage, shifted = _HID_US[ch]
        modifiers = shift if shifted else 0
        if shifted and separate_shift:
            reports += [_report(modifiers), _report(modifiers, usage), _report(modifiers),
                        _report(0)]
        else:
            reports += [_report(modifiers, usage), _report(0)]
    if enter:
        reports += [_report(0, HID_KP_ENTER if keypad else HID_ENTER), _report(0)]
    return reports


def report_events(reports: Iterable[bytes]) -> list[tuple[int, int, int]]:
    """``(type, code, value)`` input events hid-input emits for boot keyboard ``reports``: for
    each changed modifier, then each released and each newly pressed key, an MSC_SCAN and an
    EV_KEY; a SYN_REPORT closes each report."""
    events: list[tuple[int, int, int]] = []
    previous_mods, previous_keys = 0, list[int]()
    for report in reports:
        if len(report) != 8:
            raise ValueError(f"a boot keyboard report is 8 bytes, not {len(report)}")
        mods, keys = report[0], [k for k in report[2:] if k]
        for bit in range(8):
            was, now = (previous_mods >> bit) & 1, (mods >> bit) & 1
            if was != now:
                events += [(EV_MSC, MSC_SCAN, KEYBOARD_PAGE | (0xE0 + bit)),
                           (EV_KEY, key_code(0xE0 + bit), now)]
        for usage in previous_keys:
            if usage not in keys:
                events += [(EV_MSC, MSC_SCAN, KEYBOARD_PAGE | usage), (EV_KEY, key_code(usage), 0)]
        for usage in keys:
            if usage not in previous_keys:
                events += [(EV_MSC, MSC_SCAN, KEYBOARD_PAGE | usage), (EV_KEY, key_code(usage), 1)]
        events.append((EV_SYN, SYN_REPORT, 0))
        previous_mods, previous_keys = mods, keys
    return events


def pack_events(events: Iterable[tuple[int, int, int]], when: float | None = None) -> bytes:
    """``events`` as the byte stream ``read()`` on ``/dev/input/eventN`` returns."""
    when = time.time() if when is None else when
    sec, usec = int(when), int((when % 1) * 1_000_000)
    return b"".join(INPUT_EVENT.pack(sec, usec, t, c, v) for t, c, v in events)


def uinput_device(name: str = "scanpoint virtual wedge reader") -> Any:
    """A real input device through ``/dev/uinput`` (python-evdev's ``UInput``) with every key a
    wedge reader types; ``device.device.path`` is its ``/dev/input/eventN``. Needs ``/dev/uinput``."""
    from evdev import UInput, ecodes

    keys = sorted({key_code(u) for u in _USAGE_KEY})
    return UInput({ecodes.EV_KEY: keys, ecodes.EV_MSC: [ecodes.MSC_SCAN]}, name=name)


class VirtualWedge:
    """Writes a wedge reader's input events into a FIFO at ``path`` (created here), which the
    terminal opens as ``evdev:PATH``. :meth:`unplug` closes and removes it; :meth:`plug` makes it
    again (then :meth:`connect` once the terminal has reopened it)."""

    CHUNK = (4096 // INPUT_EVENT.size) * INPUT_EVENT.size    # whole events, one atomic write

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = -1
        self.plug()

    def plug(self) -> None:
        if not self.path.exists():
            os.mkfifo(self.path, 0o600)

    def connect(self, timeout: float = 10.0) -> bool:
        """Wait until the terminal has the FIFO open for reading, then connect as its writer."""
        if self._fd >= 0:
            return True
        deadline = time.monotonic() + timeout
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno not in (errno.ENXIO, errno.ENOENT) or time.monotonic() > deadline:
                    return False
                time.sleep(0.005)
                continue
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
            self._fd = fd
            return True

    def type(self, text: str, **options: Any) -> None:
        """Type ``text`` (+ Enter) as the reader does; ``options`` as :func:`hid_reports`."""
        self.send_reports(hid_reports(text, **options))

    def send_reports(self, reports: Iterable[bytes]) -> None:
        self.send_events(report_events(reports))

    def send_events(self, events: Iterable[tuple[int, int, int]]) -> None:
        self.send_bytes(pack_events(events))

    def send_bytes(self, data: bytes) -> None:
        """Raw ``struct input_event`` records, written in whole-event chunks."""
        if self._fd < 0:
            raise OSError(errno.EPIPE, "virtual wedge reader is not connected")
        for start in range(0, len(data), self.CHUNK):
            os.write(self._fd, data[start:start + self.CHUNK])

    def unplug(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> VirtualWedge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
