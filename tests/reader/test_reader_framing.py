"""Reader framing: byte-exact reader output -> code texts, however the bytes are split on arrival,
and every kind of bad input dropped with a count, never a code."""

from __future__ import annotations

import random

import pytest
from reader_fixtures import SAMPLE, SERIAL

from drivers.readerframing import MAX_CODE_BYTES, Framer, Framing, clean_code


def framing(**settings) -> Framing:
    gap = settings.pop("gap_s", 0.1)
    return Framing(gap_s=gap, **settings)


def run(framer: Framer, data: bytes, chunks: list[int], t: float = 0.0) -> list[str]:
    """Feed ``data`` in chunks of the given sizes, 1 ms apart (a burst)."""
    codes, pos = [], 0
    for size in chunks:
        codes += framer.feed(data[pos:pos + size], t)
        pos += size
        t += 0.001
    assert pos >= len(data)
    return codes


def splits(data: bytes, rng: random.Random) -> list[list[int]]:
    """Whole, byte by byte, and a few random chunkings."""
    out = [[len(data)], [1] * len(data)]
    for _ in range(5):
        sizes, left = [], len(data)
        while left:
            size = min(left, rng.randint(1, 70))
            sizes.append(size)
            left -= size
        out.append(sizes)
    return out


@pytest.mark.parametrize("name,settings,wire,expected,drops", SERIAL, ids=[s[0] for s in SERIAL])
def test_reader_output_gives_exactly_the_expected_codes(name, settings, wire, expected, drops):
    rng = random.Random(name)
    for chunks in splits(wire, rng):
        framer = Framer(framing(**settings))
        assert run(framer, wire, chunks) == expected, chunks[:5]
        assert dict(framer.dropped) == drops
        assert not framer.pending


def test_no_suffix_reader_ends_a_code_after_the_gap():
    framer = Framer(framing(terminator="timeout", gap_s=0.05))
    assert framer.feed(b"]Q1" + SAMPLE.encode(), 10.0) == []
    assert framer.deadline() == pytest.approx(10.05)
    assert framer.expire(10.02) == []                       # not silent long enough yet
    assert framer.expire(10.06) == [SAMPLE]
    assert framer.deadline() is None and not framer.dropped


def test_two_codes_a_gap_apart_in_timeout_mode_are_two_codes():
    framer = Framer(framing(terminator="timeout", gap_s=0.05))
    assert framer.feed(b"FIRST", 1.0) == []
    assert framer.feed(b"SECOND", 1.2) == ["FIRST"]          # the silence ended the first
    assert framer.expire(1.3) == ["SECOND"]


def test_half_sent_code_is_dropped_and_does_not_stick_to_the_next():
    framer = Framer(framing(gap_s=0.1))
    assert framer.feed(b"SP1:CUT-OFF-HALF", 5.0) == []
    assert framer.expire(5.2) == []
    assert framer.dropped["partial"] == 1
    assert framer.feed(SAMPLE.encode() + b"\r", 6.0) == [SAMPLE]


def test_half_sent_code_dropped_even_when_the_next_arrives_before_expire_is_called():
    framer = Framer(framing(gap_s=0.1))
    framer.feed(b"SP1:CUT-OFF", 5.0)
    assert framer.feed(SAMPLE.encode() + b"\r", 5.5) == [SAMPLE]
    assert framer.dropped["partial"] == 1


def test_oversize_code_skips_its_own_tail_up_to_the_terminator():
    framer = Framer(framing())
    head = b"X" * (MAX_CODE_BYTES + 1)
    assert framer.feed(head, 1.0) == []
    assert framer.dropped["oversize"] == 1 and framer.pending
    # the rest of the same runaway code must not become a code of its own
    assert framer.feed(b"SP1:TAIL-OF-THE-SAME-CODE\r", 1.001) == []
    assert framer.feed(SAMPLE.encode() + b"\r", 1.002) == [SAMPLE]
    assert dict(framer.dropped) == {"oversize": 1}


def test_oversize_code_without_any_terminator_ends_with_silence():
    framer = Framer(framing(gap_s=0.1))
    framer.feed(b"\x00" * 10_000, 1.0)
    assert framer.expire(1.5) == []
    assert framer.feed(SAMPLE.encode() + b"\r", 2.0) == [SAMPLE]
    assert dict(framer.dropped) == {"oversize": 1}


def test_exactly_4_kib_is_accepted():
    text = "A" * MAX_CODE_BYTES
    assert Framer(framing()).feed(text.encode() + b"\r", 0.0) == [text]


@pytest.mark.parametrize("raw,expected", [
    (b"]Q1SP1:X", "SP1:X"), (b"]d2HC1:X", "HC1:X"), (b"]L2ABCD", "ABCD"),
    (b"]Q", "]Q"),                       # too short to be an identifier: data
    (b"]1QSP1:X", "]1QSP1:X"),           # a digit is no symbology character
    (b"SP1:]Q1X", "SP1:]Q1X"),           # only at the start
])
def test_aim_identifier_stripped_only_where_one_is(raw, expected):
    assert clean_code(raw, Framing()) == (expected, None)


def test_prefix_stripped_when_present_and_before_the_aim_id():
    settings = Framing(prefix="#S#")
    assert clean_code(b"#S#]Q1SP1:X", settings) == ("SP1:X", None)
    assert clean_code(b"SP1:X", settings) == ("SP1:X", None)


@pytest.mark.parametrize("raw", [b"SP1:\x7fX", b"SP1:\x00", "SP1:\u0085".encode(), b"\xff\xfe",
                                 b"SP1:\xed\xa0\x80"])   # DEL, NUL, C1 NEL, not UTF-8, surrogate
def test_binary_garbage_is_refused(raw):
    assert clean_code(raw, Framing()) == (None, "garbage")


def test_random_bytes_never_raise_and_never_give_control_characters():
    rng = random.Random(13)
    framer = Framer(framing())
    t = 0.0
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        t += rng.choice([0.001, 0.001, 0.5])
        for code in framer.feed(data, t) + framer.expire(t):
            assert code and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in code)
            assert len(code.encode()) <= MAX_CODE_BYTES
    assert sum(framer.dropped.values()) > 0


def test_bad_framing_settings_are_refused():
    with pytest.raises(ValueError, match="terminator"):
        Framing(terminator="etx")
    with pytest.raises(ValueError, match="gap"):
        Framing(gap_s=0)
