"""Keyboard-wedge readers: the US key map, HID reports -> Linux input events -> text, and the evdev
driver reading a real ``struct input_event`` stream (a FIFO here; ``/dev/uinput`` where it exists).
"""

from __future__ import annotations

import os
import string
import time

import pytest
from reader_fixtures import ALL_BASE45, HID, SAMPLE

from drivers.reader import WedgeReader, open_wedge
from drivers.readerframing import US_KEYS, Framer, Framing, KeyDecoder
from hw_sim import wedge
from terminal.errors import ConfigError, ReaderError, ReaderMissing

ecodes = pytest.importorskip("evdev.ecodes")

#: the key (python-evdev's name, from the kernel headers) for each character, US layout
US_NAMES = {**{c: f"KEY_{c.upper()}" for c in string.ascii_lowercase},
            **{c: f"KEY_{c}" for c in string.digits},
            " ": "KEY_SPACE", "-": "KEY_MINUS", "=": "KEY_EQUAL", "[": "KEY_LEFTBRACE",
            "]": "KEY_RIGHTBRACE", "\\": "KEY_BACKSLASH", ";": "KEY_SEMICOLON",
            "'": "KEY_APOSTROPHE", "`": "KEY_GRAVE", ",": "KEY_COMMA", ".": "KEY_DOT",
            "/": "KEY_SLASH"}
SHIFTED = dict(zip("!@#$%^&*()_+{}|:\"~<>?", "1234567890-=[]\\;'`,./", strict=True))


def test_driver_key_table_matches_the_kernel_key_codes():
    for char, name in US_NAMES.items():
        assert US_KEYS[ecodes.ecodes[name]][0] == char, name
    for char, base in SHIFTED.items():
        assert US_KEYS[ecodes.ecodes[US_NAMES[base]]][1] == char, char
    for letter in string.ascii_lowercase:
        assert US_KEYS[ecodes.ecodes[US_NAMES[letter]]][1] == letter.upper()
    for name, char in (("KEY_KP0", "0"), ("KEY_KP9", "9"), ("KEY_KPDOT", "."),
                       ("KEY_KPASTERISK", "*"), ("KEY_KPPLUS", "+"), ("KEY_KPMINUS", "-"),
                       ("KEY_KPSLASH", "/")):
        assert US_KEYS[ecodes.ecodes[name]] == (char, char), name


def decode(events) -> tuple[list[str], dict[str, int]]:
    framer, keys = Framer(Framing()), KeyDecoder()
    typed = b"".join(keys.event(*event) for event in events)
    return framer.feed(typed, 0.0), dict(framer.dropped)


@pytest.mark.parametrize("name,reports,expected", HID, ids=[h[0] for h in HID])
def test_hid_reports_decode_to_the_expected_text(name, reports, expected):
    codes, drops = decode(wedge.report_events(reports))
    if expected is None:
        assert codes == [] and drops == {"garbage": 1}
    else:
        assert codes == [expected] and drops == {}


def test_simulator_sends_the_same_reports_as_the_fixtures():
    by_name = {h[0]: h for h in HID}
    assert wedge.hid_reports("SP1:") == by_name["'SP1:' + Enter, shifted letters and colon with "
                                                 "Left Shift"][1]
    assert wedge.hid_reports("HC1:", shift=wedge.RIGHT_SHIFT) == by_name["'HC1:' with Right Shift"][1]
    assert wedge.hid_reports("H0", separate_shift=True) == \
        by_name["Shift in reports of its own around the key"][1]
    assert wedge.hid_reports("12.5", keypad=True) == \
        by_name["digits and '.' on the numeric keypad, keypad Enter"][1]


def test_every_printable_ascii_character_round_trips():
    text = "".join(chr(c) for c in range(0x20, 0x7F))
    assert decode(wedge.report_events(wedge.hid_reports(text)))[0] == [text]
    assert decode(wedge.report_events(wedge.hid_reports(ALL_BASE45, keypad=True)))[0] == [ALL_BASE45]


def test_caps_lock_inverts_letters_only():
    caps = [bytes([0, 0, 0x39, 0, 0, 0, 0, 0]), bytes(8)]      # Caps Lock pressed, released
    reports = caps + wedge.hid_reports("sP1:", enter=True)
    assert decode(wedge.report_events(reports))[0] == ["Sp1:"]


def test_lost_events_poison_the_code_in_progress():
    events = wedge.report_events(wedge.hid_reports("SP1:AB", enter=False))
    events += [(wedge.EV_SYN, wedge.SYN_DROPPED, 0)]
    events += wedge.report_events(wedge.hid_reports("CD"))
    events += wedge.report_events(wedge.hid_reports("NEXT"))
    assert decode(events) == (["NEXT"], {"garbage": 1})


def test_autorepeat_and_releases_type_nothing():
    a = ecodes.ecodes["KEY_A"]
    keys = KeyDecoder()
    assert keys.event(ecodes.EV_KEY, a, 1) == b"a"
    assert keys.event(ecodes.EV_KEY, a, 2) == b""
    assert keys.event(ecodes.EV_KEY, a, 0) == b""
    assert keys.event(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004) == b""


# -- the evdev driver on a real input_event byte stream ---------------------------------------------

def read_until(reader: WedgeReader, count: int, timeout: float = 10.0) -> list[str]:
    codes: list[str] = []
    deadline = time.monotonic() + timeout
    while len(codes) < count and time.monotonic() < deadline:
        codes += [c.text for c in reader.read(0.05)]
    return codes


@pytest.fixture()
def fifo_wedge(tmp_path):
    virtual = wedge.VirtualWedge(tmp_path / "event-kbd")
    reader = open_wedge(str(virtual.path), allow_recorded=True)
    assert virtual.connect()
    yield virtual, reader
    reader.close()
    virtual.close()


def test_wedge_driver_reads_fixture_reports_from_an_input_event_stream(fifo_wedge):
    virtual, reader = fifo_wedge
    wanted = [h[2] for h in HID if h[2] is not None] + ["END"]
    for _, reports, _ in HID:
        virtual.send_reports(reports)
    virtual.type("END")                         # read after every fixture before it
    assert read_until(reader, len(wanted)) == wanted
    assert reader.drops() == {"garbage": 2}


def test_wedge_driver_reads_a_whole_credential_typed_key_by_key(fifo_wedge):
    virtual, reader = fifo_wedge
    virtual.type("]Q1" + SAMPLE)
    assert read_until(reader, 1) == [SAMPLE]
    assert reader.kind == "keyboard" and not reader.grabbed


def test_wedge_half_typed_code_is_dropped_after_silence(fifo_wedge):
    virtual, reader = fifo_wedge
    virtual.type("SP1:HALF-TYPED", enter=False)
    deadline = time.monotonic() + 10
    while not reader.drops() and time.monotonic() < deadline:
        assert reader.read(0.05) == []
    assert reader.drops() == {"partial": 1}
    virtual.type(SAMPLE)
    assert read_until(reader, 1) == [SAMPLE]


def test_wedge_writer_gone_is_an_unplug(fifo_wedge):
    virtual, reader = fifo_wedge
    virtual.unplug()
    with pytest.raises(ReaderMissing, match="gone"):
        read_until(reader, 1)
    with pytest.raises(ReaderMissing, match="no keyboard reader"):
        open_wedge(str(virtual.path), allow_recorded=True)


def test_wedge_refuses_other_layouts_and_non_devices(tmp_path):
    with pytest.raises(ConfigError, match="USA"):
        open_wedge("/dev/null", layout="de")
    path = tmp_path / "events"
    os.mkfifo(path)
    with pytest.raises(ReaderError, match="not an input device"):
        open_wedge(str(path))                  # a FIFO only on simulated hardware
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    with pytest.raises(ReaderError, match="not an input device"):
        open_wedge(str(plain), allow_recorded=True)


@pytest.mark.skipif(not os.path.exists("/dev/uinput"), reason="no /dev/uinput on this machine: "
                    "the same input_event stream is read from a FIFO in the tests above")
def test_wedge_driver_on_a_real_uinput_device():
    device = wedge.uinput_device()
    try:
        time.sleep(0.2)                        # udev makes the node
        reader = open_wedge(device.device.path)
        try:
            assert reader.grabbed
            for event in wedge.report_events(wedge.hid_reports(SAMPLE)):
                device.write(*event)
            assert read_until(reader, 1) == [SAMPLE]
        finally:
            reader.close()
    finally:
        device.close()
