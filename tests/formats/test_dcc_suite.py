"""The EU DCC test suite (dgc-testdata): scanpoint must agree with every expected flag.

Runs :mod:`tools.dcc_suite` over ``testdata/dcc``; ``pytest -s`` prints the agreement table.
Only rows of ``known_issues.csv`` may be skipped (none of them concern the flags checked here in
this copy of the data); five cases set EXPECTEDPICTUREDECODE without holding a picture and are
counted as "no input", which this test pins so a new gap cannot hide there.
"""

from __future__ import annotations

import pytest

from tools import dcc_suite


@pytest.fixture(scope="module")
def dcc_dir(testdata):
    path = testdata / "dcc"
    if not path.is_dir():
        pytest.skip("shared test data lacks dcc/ (the EU DCC test suite)")
    return path


@pytest.fixture(scope="module")
def table(dcc_dir):
    decoder = dcc_suite.default_picture_decoder()
    table = dcc_suite.run(dcc_dir, decoder)
    print(f"\nEU DCC test suite, agreement per flag (QR decoder: {decoder.name}):\n" + table.format())
    return table


def test_every_flag_agrees(table):
    assert table.disagreements == [], "\n".join(
        f"{o.case} {o.flag} expected={o.expected}: {o.detail}" for o in table.disagreements)


def test_every_flag_was_exercised(table):
    """All eight flags and the end-to-end check ran, with both expected-true and -false cases
    where the suite has them, so a loader bug cannot make the test vacuous."""
    for flag in dcc_suite.FLAGS:
        _, total, _, _ = table.rows[flag]
        assert total >= 350, flag
        assert any(not o.expected for o in table.outcomes if o.flag == flag), flag
    assert table.rows[dcc_suite.END_TO_END][1] >= 360


def test_only_pictureless_cases_lack_input(table, dcc_dir):
    assert sorted(table.missing) == [
        ("IE/2DCode/Raw/1.json", "EXPECTEDPICTUREDECODE"),
        ("IE/2DCode/Raw/2.json", "EXPECTEDPICTUREDECODE"),
        ("IE/2DCode/Raw/3.json", "EXPECTEDPICTUREDECODE"),
        ("IE/2DCode/Raw/4.json", "EXPECTEDPICTUREDECODE"),
        ("common/2DCode/raw/B1.json", "EXPECTEDPICTUREDECODE"),
    ]
    for case in dcc_suite.load_cases(dcc_dir):
        if (case.name, "EXPECTEDPICTUREDECODE") in table.missing:
            assert "2DCODE" not in case.data


def test_quirks_are_normalised(dcc_dir):
    """The misspelt EXPTECTEDEXPIRED flag counts as the expiration check, ``_2DCODE`` as the
    picture, and a nested EXPECTEDRESULTS is merged."""
    cases = {c.name: c for c in dcc_suite.load_cases(dcc_dir)}
    assert cases["BG/2DCode/raw/1.json"].expected["EXPECTEDEXPIRATIONCHECK"] is True
    assert "2DCODE" in cases["LV/2DCode/raw/1.json"].data
    nested = dcc_suite._expected({"EXPECTEDRESULTS": {"EXPECTEDRESULTS": {"EXPECTEDVERIFY": False},
                                                      "EXPECTEDDECODE": True}})
    assert nested == {"EXPECTEDVERIFY": False, "EXPECTEDDECODE": True}


def test_known_issue_rows_match_by_test_country_and_file():
    known = {("test_verification_check", "ES", "401"), ("test_expiration_check", "FI", "")}
    es = dcc_suite.Case(path=None, name="ES/2DCode/raw/401.json", country="ES", test_set="401",  # type: ignore[arg-type]
                        data={}, expected={}, clock=0.0, certificate=None)
    fi = dcc_suite.Case(path=None, name="FI/2DCode/raw/7.json", country="FI", test_set="7",  # type: ignore[arg-type]
                        data={}, expected={}, clock=0.0, certificate=None)
    assert dcc_suite.is_known_issue(known, "EXPECTEDVERIFY", es)
    assert not dcc_suite.is_known_issue(known, "EXPECTEDDECODE", es)
    assert dcc_suite.is_known_issue(known, "EXPECTEDEXPIRATIONCHECK", fi)
    assert not dcc_suite.is_known_issue(known, "EXPECTEDVERIFY", fi)
