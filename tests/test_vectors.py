"""The committed native-format vectors: each one decided exactly as tests/vectors/native.json says.

One test per vector (≥ 30 malformed QR texts among them), each with its expected decision and
reason; the vectors are also the format's published conformance cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from terminal.lists.trust import TrustList
from terminal.reasons import Decision, Reason
from terminal.verify.policy import Policy
from terminal.verify.verifier import Verifier

DOC = json.loads(Path(__file__).with_name("vectors").joinpath("native.json")
                 .read_text(encoding="utf-8"))
CASES = DOC["cases"]
ROOT = bytes.fromhex(DOC["root_public_key"])
TRUST = {name: TrustList.from_bytes(bytes.fromhex(data), ROOT)
         for name, data in DOC["trust_lists"].items()}


def verifier_for(case: dict) -> Verifier:
    trust = None if case.get("trust") == "none" else TRUST[case.get("trust", "default")]
    return Verifier(trust, Policy.preset(case.get("site", DOC["default_site"])), skew=DOC["skew"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case):
    result = verifier_for(case).verify(case["text"], DOC["now"])
    assert (result.decision.value, result.reason.value) == (case["decision"], case["reason"]), \
        result.detail


def test_enough_malformed_vectors_with_distinct_reasons():
    bad = [c for c in CASES if c["decision"] == "deny" and c["reason"] not in
           ("STATUS_RED", "TYPE_NOT_ACCEPTED")]
    assert len(bad) >= 30
    assert len({c["reason"] for c in bad}) >= 15


def test_every_vector_expectation_is_a_known_decision_and_reason():
    for c in CASES:
        Decision(c["decision"])
        Reason(c["reason"])


def test_vector_texts_stay_in_qr_alphanumeric_mode_when_valid():
    alphabet = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    passing = [c for c in CASES if c["decision"] == "pass"]
    assert len(passing) >= 3
    for c in passing:
        assert set(c["text"]) <= alphabet, c["name"]
        assert len(c["text"]) < 400, c["name"]
