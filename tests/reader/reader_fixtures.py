"""Byte-exact fixtures of what 2D code readers send, written from their documented formats.

Sources (programming/integration guides of the readers; the formats are common to all three
makers and to ISO/IEC 15424 for the AIM identifiers):

- Zebra DS-series product reference guides, "Transmit Code ID Character" and table "AIM Code
  Modifier Characters": a QR code is ``]Q`` + modifier (``0`` model 1, ``1`` model 2 without ECI,
  ``2`` model 2 with ECI, ``3``-``6`` with FNC1); Aztec ``]z0``; PDF417 ``]L2``. "Scan Data
  Transmission Format" ``<DATA> <SUFFIX 1>`` with suffix CR (Enter in HID mode).
- Newland integration guides, "Data formatting": ``[Code ID] + [Custom Prefix] + [AIM ID] + [DATA]
  + [Custom Suffix] + [Terminating Character]`` (or Custom Prefix before Code ID, the default);
  terminating character CR, CRLF, or none.
- Honeywell user guides: prefix, Code I.D./AIM I.D., data, suffix; "Add CR Suffix".
- USB HID Usage Tables, keyboard/keypad page 0x07 (the usage IDs below), and the boot protocol
  keyboard report: byte 0 modifier bits (0x02 Left Shift, 0x20 Right Shift, 0x04 Left Alt),
  byte 1 reserved, bytes 2-7 usage IDs of the keys down.

These are constructed from those documents, not captured from a physical reader.
"""

from __future__ import annotations

ALL_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
#: a native-format-looking text that uses every Base45 character
SAMPLE = "SP1:NCF" + ALL_BASE45 + "6BF 9$%Q*+-./:Z0"
HC1 = "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA"

S = SAMPLE.encode("ascii")

#: (name, [reader] settings, bytes on the wire, codes expected, drops expected)
SERIAL = [
    ("USB-COM, suffix CR (the usual 'add CR suffix')", {"terminator": "cr"},
     S + b"\r", [SAMPLE], {}),
    ("suffix CRLF", {"terminator": "crlf"},
     S + b"\r\n", [SAMPLE], {}),
    ("suffix CRLF read by a terminal set to CR: the LF is skipped", {"terminator": "cr"},
     S + b"\r\n" + S + b"\r\n", [SAMPLE, SAMPLE], {}),
    ("suffix LF", {"terminator": "lf"},
     S + b"\n", [SAMPLE], {}),
    ("AIM ]Q1 (QR model 2, no ECI) before the data", {"terminator": "cr"},
     b"]Q1" + S + b"\r", [SAMPLE], {}),
    ("AIM ]Q2 (QR model 2 with ECI), CRLF", {"terminator": "crlf"},
     b"]Q2" + S + b"\r\n", [SAMPLE], {}),
    ("AIM ]Q1 kept when strip_aim = false", {"terminator": "cr", "strip_aim": False},
     b"]Q1" + S + b"\r", ["]Q1" + SAMPLE], {}),
    ("Newland default order: custom prefix STX, AIM id, data, CR", {"prefix": "\x02"},
     b"\x02]Q1" + S + b"\r", [SAMPLE], {}),
    ("EU DCC in an Aztec code (]z0), as on printed tickets", {"terminator": "cr"},
     b"]z0" + HC1.encode() + b"\r", [HC1], {}),
    ("continuous mode: the same code resent", {"terminator": "cr"},
     (b"]Q1" + S + b"\r") * 3, [SAMPLE] * 3, {}),
    ("a UTF-8 text code (not a credential: the verifier says FORMAT_UNKNOWN)", {},
     "你好，扫码".encode() + b"\r", ["你好，扫码"], {}),
    ("binary garbage: 9600 baud read at 115200", {},
     b"\x80\xf8\x00x\xe6\x06\x80\xfe\x98\x1e\r", [], {"garbage": 1}),
    ("invalid UTF-8 inside a code", {},
     b"SP1:AB\xc3(CD\r", [], {"garbage": 1}),
    ("a control byte inside a code", {},
     b"SP1:AB\x1bCD\r", [], {"garbage": 1}),
    ("garbage line, then a good code: only the good one", {},
     b"\x00\x00\xff\r]Q1" + S + b"\r", [SAMPLE], {"garbage": 1}),
    ("over 4 KiB without a terminator, then a good code", {},
     b"A" * 5000 + b"\r" + S + b"\r", [SAMPLE], {"oversize": 1}),
    ("empty lines (a reader's keep-alive) are ignored", {},
     b"\r\r" + S + b"\r\r", [SAMPLE], {}),
]


def _r(mods: int, *usages: int) -> bytes:
    return bytes([mods, 0, *usages, *([0] * (6 - len(usages)))])


UP = _r(0)
L_SHIFT, R_SHIFT, L_ALT = 0x02, 0x20, 0x04

#: (name, boot keyboard reports the reader sends, text expected; None: dropped as garbage)
HID = [
    ("'SP1:' + Enter, shifted letters and colon with Left Shift",
     [_r(L_SHIFT, 0x16), UP, _r(L_SHIFT, 0x13), UP, _r(0, 0x1E), UP, _r(L_SHIFT, 0x33), UP,
      _r(0, 0x28), UP], "SP1:"),
    ("every Base45 symbol: space $ % * + - . / :",
     [_r(0, 0x2C), UP, _r(L_SHIFT, 0x21), UP, _r(L_SHIFT, 0x22), UP, _r(L_SHIFT, 0x25), UP,
      _r(L_SHIFT, 0x2E), UP, _r(0, 0x2D), UP, _r(0, 0x37), UP, _r(0, 0x38), UP,
      _r(L_SHIFT, 0x33), UP, _r(0, 0x28), UP], " $%*+-./:"),
    ("'HC1:' with Right Shift",
     [_r(R_SHIFT, 0x0B), UP, _r(R_SHIFT, 0x06), UP, _r(0, 0x1E), UP, _r(R_SHIFT, 0x33), UP,
      _r(0, 0x28), UP], "HC1:"),
    ("Shift in reports of its own around the key",
     [_r(L_SHIFT), _r(L_SHIFT, 0x0B), _r(L_SHIFT), UP, _r(0, 0x27), UP, _r(0, 0x28), UP], "H0"),
    ("digits and '.' on the numeric keypad, keypad Enter",
     [_r(0, 0x59), UP, _r(0, 0x5A), UP, _r(0, 0x63), UP, _r(0, 0x5D), UP, _r(0, 0x58), UP],
     "12.5"),
    ("AIM id typed before the data: ]Q1 stripped",
     [_r(0, 0x30), UP, _r(L_SHIFT, 0x14), UP, _r(0, 0x1E), UP, _r(L_SHIFT, 0x04), UP,
      _r(0, 0x28), UP], "A"),
    ("a German-layout reader types ':' as Shift+'.', read as '>' (hence layout = 'us')",
     [_r(L_SHIFT, 0x16), UP, _r(L_SHIFT, 0x13), UP, _r(0, 0x1E), UP, _r(L_SHIFT, 0x37), UP,
      _r(0, 0x28), UP], "SP1>"),
    ("Alt + keypad digits (a non-US 'Alt code' mode): dropped",
     [_r(L_ALT), _r(L_ALT, 0x59), _r(L_ALT), UP, _r(0, 0x28), UP], None),
    ("a key with no character (F1) inside a code: dropped",
     [_r(0, 0x04), UP, _r(0, 0x3A), UP, _r(0, 0x05), UP, _r(0, 0x28), UP], None),
]
