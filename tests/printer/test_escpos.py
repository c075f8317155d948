"""The ESC/POS byte stream: Chinese as GB18030 in Chinese mode, QR commands, status parsing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import serial

from drivers.printer import (
    CHINESE_OFF,
    CHINESE_ON,
    CUT,
    INIT,
    STATUS_IN_ORDER,
    STATUS_PAPER,
    STATUS_PRINTER,
    DummyBackend,
    EscPos,
    EscPosPrinter,
    SerialBackend,
    parse_paper_status,
    parse_printer_status,
    qr,
)
from terminal.counter.printqueue import PrintOutcome
from terminal.counter.slip import Line, Slip, build_slip
from tests.support.results import AT, CST, SECRET


def test_chinese_text_is_gb18030_inside_chinese_mode():
    data = EscPos().text("姓名 Name: 张*三")
    assert data == b"\x1c\x26" + "姓名 Name: 张*三".encode("gb18030") + b"\x1c\x2e"
    # the exact GB18030 (= GB2312 here) bytes of 张 and 三
    assert "张".encode("gb18030") == b"\xd5\xc5" and "三".encode("gb18030") == b"\xc8\xfd"
    assert b"\xd5\xc5*\xc8\xfd" in data


def test_ascii_lines_do_not_enter_chinese_mode():
    assert EscPos().text("Reason: Valid credential") == b"Reason: Valid credential"


def test_four_byte_gb18030_characters_survive():
    data = EscPos().text("𠀀")                   # outside GBK: a 4-byte GB18030 sequence
    assert data[2:-2] == "𠀀".encode("gb18030") and len(data[2:-2]) == 4


def test_without_chinese_mode_uses_the_code_page():
    data = EscPos(chinese=False, code_page=16).text("café 张")
    assert data == "café ?".encode("cp1252") and CHINESE_ON not in data


def test_slip_stream_structure(results):
    slip = build_slip(results["pass"], site="Renhe", terminal_id="T01", secret=SECRET, at=AT,
                      tz=CST)
    data = EscPos(code_page=0).slip(slip)
    assert data.startswith(INIT + b"\x1bt\x00")
    assert data.endswith(b"\x1bd\x03" + CUT)
    assert qr(slip.code) in data
    assert "通过".encode("gb18030") in data and "张*三".encode("gb18030") in data
    assert "张*三".encode() not in data
    assert data.count(CHINESE_ON) == data.count(CHINESE_OFF) > 0
    assert b"\x1d!\x11" in data                  # double width and height for the decision


def test_qr_store_command_layout():
    cmd = qr("ABCD2345", module=5, ec="Q")
    store = b"\x1d(k\x0b\x00\x31\x50\x30ABCD2345"   # pL = len + 3 = 11
    assert store in cmd
    assert b"\x1d(k\x03\x00\x31\x43\x05" in cmd and b"\x1d(k\x03\x00\x31\x45\x32" in cmd
    assert cmd.endswith(b"\x1d(k\x03\x00\x31\x51\x30")


@pytest.mark.parametrize("byte,expected", [(0x12, True), (0x1A, False), (0x00, None), (0xFF, None)])
def test_parse_printer_status(byte, expected):
    assert parse_printer_status(byte) is expected


@pytest.mark.parametrize("byte,expected", [(0x12, (True, False)), (0x1E, (True, True)),
                                           (0x72, (False, False)), (0x7E, (False, True)),
                                           (0x01, None)])
def test_parse_paper_status(byte, expected):
    assert parse_paper_status(byte) == expected


def test_status_and_confirmation_with_scripted_answers():
    backend = DummyBackend(replies=bytes([0x12, 0x72]))
    printer = EscPosPrinter(lambda: backend)
    status = printer.status()
    assert (status.online, status.paper, status.detail) == (True, False, "out of paper")
    assert backend.output == STATUS_PRINTER + STATUS_PAPER

    slip = Slip(width=32, lines=(Line("hello"),))
    backend.replies.extend([0x00])               # GS r 1: paper present after the cut
    assert printer.print_slip(slip) is PrintOutcome.PRINTED
    assert backend.output.endswith(CUT + STATUS_IN_ORDER)
    backend.replies.extend([0x0C])               # paper ended before the cut
    assert printer.print_slip(slip) is PrintOutcome.TORN
    assert printer.print_slip(slip) is PrintOutcome.UNCONFIRMED   # no answer at all


def test_loop_url_is_one_setting_away():
    """``loop://`` echoes what is sent: not a printer, so status answers are invalid -> offline."""
    printer = EscPosPrinter.from_url("loop://", reply_timeout=0.1)
    status = printer.status()
    assert not status.ready and "no answer" in status.detail
    printer.close()


def test_missing_port_is_offline_not_an_exception():
    printer = EscPosPrinter.from_url("/dev/ttyUSB-scanpoint-absent", reply_timeout=0.1)
    status = printer.status()
    assert not status.online and "cannot open" in status.detail
    assert printer.print_slip(Slip(width=32, lines=())) is PrintOutcome.NOT_SENT


def test_serial_backend_reads_with_timeout():
    backend = SerialBackend("loop://")
    backend.write(b"\x12")
    assert backend.read(1, 0.2) == b"\x12"
    assert backend.read(1, 0.05) == b""
    backend.close()
    with pytest.raises(serial.SerialException):
        SerialBackend("/dev/ttyUSB-scanpoint-absent")


def test_virtual_printer_answers_status_over_the_pty(vprinter):
    with EscPosPrinter.from_url(vprinter.port, reply_timeout=1.0) as printer:
        assert printer.status().ready
        vprinter.run_out_of_paper(after=2)
        assert printer.status().near_end
        vprinter.go_offline()
        asked = ThreadPoolExecutor(1).submit(printer.status)
        status = asked.result(timeout=30)    # it gives up on its own (reply_timeout) ...
        assert not status.online and "no answer" in status.detail   # ... and says why
        vprinter.come_online()
        assert printer.status().online


def test_jammed_printer_confirms_nothing_until_released(vprinter, results):
    """The simulator's jam (hold) that the queue and gate tests rely on: the slip's bytes are in,
    but it is neither printed nor confirmed until released."""
    slip = build_slip(results["pass"], site="Renhe", terminal_id="T01", secret=SECRET, at=AT,
                      tz=CST)
    vprinter.hold(after=1)
    with EscPosPrinter.from_url(vprinter.port, reply_timeout=0.3, print_timeout=1.0) as printer:
        assert printer.print_slip(slip) is PrintOutcome.PRINTED        # the one before the jam
        assert printer.print_slip(slip) is PrintOutcome.UNCONFIRMED    # stuck at the cut
        assert vprinter.wait_held(0) and len(vprinter.slips) == 1
        vprinter.release()
        assert vprinter.wait_for(2, 30)                                # the stuck one, finished
    assert [s.text for s in vprinter.slips] == [slip.to_text()] * 2
