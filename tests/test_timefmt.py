"""The one ISO-8601 parser and formatter the commands share."""

from __future__ import annotations

import time

import pytest

from terminal.timefmt import iso, parse_at, parse_iso

AT = 1_800_000_000          # 2027-01-15T08:00:00Z


def test_parse_iso_accepts_zones_naive_utc_and_dates():
    assert parse_iso("2027-01-15T08:00:00Z") == AT
    assert parse_iso("2027-01-15T16:00:00+08:00") == AT
    assert parse_iso(" 2027-01-15T08:00:00 ") == AT            # no zone = UTC
    assert parse_iso("2027-01-15") == AT - 8 * 3600
    with pytest.raises(ValueError):
        parse_iso("yesterday")


def test_iso_is_utc_whole_seconds_and_round_trips():
    assert iso(AT) == "2027-01-15T08:00:00Z"
    assert iso(AT + 0.9) == "2027-01-15T08:00:00Z"
    assert parse_iso(iso(AT)) == AT


def test_parse_at_takes_iso_or_unix_seconds_and_defaults_to_now():
    assert parse_at("2027-01-15T08:00:00Z") == AT
    assert parse_at(str(AT)) == AT
    before = time.time()
    now = parse_at(None)
    assert before <= now <= time.time()
    with pytest.raises(ValueError, match="'soon' is not an ISO-8601 time"):
        parse_at("soon")
