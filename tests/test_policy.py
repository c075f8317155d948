"""Site policy presets and their decisions."""

from __future__ import annotations

import pytest

from terminal.reasons import Decision, Reason
from terminal.result import Credential
from terminal.verify.policy import Policy


def cred(type="health", status="green"):
    return Credential(format="native", type=type, issuer="I", key_id="00", serial=b"\x00" * 16,
                      issued_at=0, not_before=0, expires=60, status=status)


@pytest.mark.parametrize("site, type, status, expected", [
    ("checkpoint", "health", "green", (Decision.PASS, Reason.OK)),
    ("checkpoint", "health", "yellow", (Decision.CHECK, Reason.STATUS_YELLOW)),
    ("checkpoint", "health", "red", (Decision.DENY, Reason.STATUS_RED)),
    ("checkpoint", "health", None, (Decision.DENY, Reason.POLICY_DENY)),
    ("checkpoint", "health", "purple", (Decision.DENY, Reason.POLICY_DENY)),
    ("checkpoint", "insurance", None, (Decision.DENY, Reason.TYPE_NOT_ACCEPTED)),
    ("pharmacy", "insurance", None, (Decision.PASS, Reason.OK)),
    ("pharmacy", "social-security", None, (Decision.PASS, Reason.OK)),
    ("pharmacy", "health", "green", (Decision.DENY, Reason.TYPE_NOT_ACCEPTED)),
    ("pharmacy", "dcc-vaccination", None, (Decision.DENY, Reason.TYPE_NOT_ACCEPTED)),
    ("checkpoint", "dcc-vaccination", None, (Decision.PASS, Reason.OK)),
    ("checkpoint", "dcc-test", None, (Decision.PASS, Reason.OK)),
])
def test_presets(site, type, status, expected):
    assert Policy.preset(site).decide(cred(type, status)) == expected


def test_overrides():
    p = Policy.preset("pharmacy", accept=["health", "insurance"], yellow="deny")
    assert p.decide(cred("health", "green")) == (Decision.PASS, Reason.OK)
    assert p.decide(cred("health", "yellow")) == (Decision.DENY, Reason.STATUS_YELLOW)
    assert p.decide(cred("health", "red")) == (Decision.DENY, Reason.STATUS_RED)


def test_unknown_site_and_yellow_choice_are_refused():
    with pytest.raises(ValueError, match="unknown site"):
        Policy.preset("airport")
    with pytest.raises(ValueError, match="yellow must be"):
        Policy.preset("checkpoint", yellow="pass")
