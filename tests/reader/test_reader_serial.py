"""The serial reader driver on a real pseudo-terminal (the virtual reader of hw-sim): fixtures
byte for byte, a half-sent code over real time, unplug and replug, the exclusive lock."""

from __future__ import annotations

import time

import pytest
import serial
from reader_fixtures import SAMPLE, SERIAL

from drivers.reader import SerialReader, open_reader
from drivers.readerframing import Framing
from hw_sim.reader import ScanFeeder, Unplugged, VirtualReader
from hw_sim.scenario import Scan, Scenario
from terminal.errors import ReaderError, ReaderMissing


def read_until(reader, count: int, timeout: float = 10.0, *, drops: int = 0) -> list[str]:
    codes: list[str] = []
    deadline = time.monotonic() + timeout
    while (len(codes) < count or sum(reader.drops().values()) < drops) \
            and time.monotonic() < deadline:
        codes += [c.text for c in reader.read(0.05)]
    return codes


def framing_for(settings: dict) -> Framing:
    return Framing(**{"gap_s": 0.2, **settings})


@pytest.fixture()
def virtual(tmp_path):
    with VirtualReader(tmp_path / "ttyACM-scanner") as reader:
        yield reader


@pytest.mark.parametrize("name,settings,wire,expected,drops", SERIAL, ids=[s[0] for s in SERIAL])
def test_fixture_bytes_through_a_pty(virtual, name, settings, wire, expected, drops):
    reader = SerialReader.open(virtual.port, framing=framing_for(settings))
    try:
        virtual.send(wire)
        codes = read_until(reader, len(expected), drops=sum(drops.values()))
        assert codes == expected
        assert {k: v for k, v in reader.drops().items() if v} == drops
    finally:
        reader.close()


def test_codes_are_stamped_when_their_terminator_arrives(virtual):
    reader = SerialReader.open(virtual.port)
    try:
        before = time.monotonic()
        virtual.scan(SAMPLE)
        codes = []
        while not codes and time.monotonic() < before + 10:
            codes = reader.read(0.05)
        assert [c.text for c in codes] == [SAMPLE]
        assert before <= codes[0].arrived <= time.monotonic()
    finally:
        reader.close()


def test_half_sent_code_then_silence_is_dropped_and_the_next_is_whole(virtual):
    reader = SerialReader.open(virtual.port, framing=Framing(gap_s=0.1))
    try:
        virtual.send(b"]Q1SP1:CUT-OFF-BEFORE-ITS-TERMIN")
        assert read_until(reader, 0, drops=1) == []
        assert reader.drops()["partial"] == 1
        virtual.scan(SAMPLE)
        assert read_until(reader, 1) == [SAMPLE]
    finally:
        reader.close()


def test_no_suffix_reader_in_timeout_mode(tmp_path):
    with VirtualReader(tmp_path / "tty", suffix=b"") as virtual:
        reader = SerialReader.open(virtual.port, framing=Framing("timeout", gap_s=0.05))
        try:
            virtual.scan(SAMPLE)
            assert read_until(reader, 1) == [SAMPLE]
        finally:
            reader.close()


def test_unplug_raises_reader_missing_and_replug_reopens(virtual):
    reader = SerialReader.open(virtual.port)
    virtual.unplug()
    with pytest.raises(ReaderMissing, match="stopped answering"):
        read_until(reader, 1)
    reader.close()
    with pytest.raises(ReaderMissing, match="no reader at"):
        SerialReader.open(virtual.port)
    with pytest.raises(Unplugged):
        virtual.scan(SAMPLE)
    virtual.plug()
    reader = SerialReader.open(virtual.port)
    try:
        virtual.scan(SAMPLE)
        assert read_until(reader, 1) == [SAMPLE]
    finally:
        reader.close()


def test_a_second_program_cannot_open_the_port(virtual):
    reader = SerialReader.open(virtual.port)
    try:
        with pytest.raises(ReaderError, match="another program"):
            SerialReader.open(virtual.port)
    finally:
        reader.close()


def test_ports_without_a_file_descriptor_are_read_through_pyserial():
    port = serial.serial_for_url("loop://", timeout=0)
    reader = SerialReader(port, "loop://", Framing())
    try:
        assert reader._fd is None
        port.write(b"]Q1" + SAMPLE.encode() + b"\r")
        assert read_until(reader, 1) == [SAMPLE]
    finally:
        reader.close()


def test_open_reader_picks_serial_for_a_port_path(virtual):
    reader = open_reader(virtual.port, baudrate=115200)
    try:
        assert reader.kind == "serial"
    finally:
        reader.close()


def test_scan_feeder_plays_scenario_scans_on_time(virtual):
    scenario = Scenario.from_list([{"nothing": 100}, {"scan": "ONE", "ms": 300, "repeat": 3,
                                                       "every_ms": 50}, {"scan": "TWO", "ms": 100}])
    times = scenario.scan_times()
    assert [text for _, text in times] == ["ONE", "ONE", "ONE", "TWO"]
    assert [t for t, _ in times] == pytest.approx([0.1, 0.15, 0.2, 0.4])
    assert isinstance(scenario.steps[1], Scan)
    reader = SerialReader.open(virtual.port)
    feeder = ScanFeeder(virtual, scenario.scan_times())
    try:
        feeder.begin()
        assert read_until(reader, 4) == ["ONE", "ONE", "ONE", "TWO"]
        assert feeder.wait(5) and feeder.sent == 4
    finally:
        feeder.close()
        reader.close()
