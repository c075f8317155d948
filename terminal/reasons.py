"""The three decisions a terminal can give and the one flat list of reasons behind them.

Every decision carries exactly one :class:`Reason`; its ``text`` is what staff read on a slip or
the status screen, so it says what happened and, where it helps, what to do.
"""

from __future__ import annotations

from enum import Enum


class Decision(str, Enum):
    """What the terminal shows: ``pass`` (green), ``deny`` (red) or ``check`` (amber, staff decide)."""

    PASS = "pass"
    DENY = "deny"
    CHECK = "check"

    def __str__(self) -> str:
        return self.value


class Reason(str, Enum):
    """Why a decision was taken. Values are stable identifiers (they go into audit logs)."""

    OK = "OK"
    # reading the code
    FORMAT_UNKNOWN = "FORMAT_UNKNOWN"
    PREFIX_INVALID = "PREFIX_INVALID"
    BASE45_INVALID = "BASE45_INVALID"
    DECOMPRESSION_FAILED = "DECOMPRESSION_FAILED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    CBOR_INVALID = "CBOR_INVALID"
    COSE_INVALID = "COSE_INVALID"
    CRITICAL_HEADER_UNKNOWN = "CRITICAL_HEADER_UNKNOWN"
    CLAIMS_INVALID = "CLAIMS_INVALID"
    # trusting the signer
    ALGORITHM_UNSUPPORTED = "ALGORITHM_UNSUPPORTED"
    KEY_UNKNOWN = "KEY_UNKNOWN"
    KEY_NOT_VALID = "KEY_NOT_VALID"
    KEY_USAGE_INVALID = "KEY_USAGE_INVALID"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    TRUST_LIST_MISSING = "TRUST_LIST_MISSING"
    # time and state
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    REVOKED = "REVOKED"
    REPLAYED = "REPLAYED"
    LIST_STALE = "LIST_STALE"
    CLOCK_UNTRUSTED = "CLOCK_UNTRUSTED"
    # site policy
    TYPE_NOT_ACCEPTED = "TYPE_NOT_ACCEPTED"
    STATUS_YELLOW = "STATUS_YELLOW"
    STATUS_RED = "STATUS_RED"
    POLICY_DENY = "POLICY_DENY"
    # the terminal itself
    INTERNAL_ERROR = "INTERNAL_ERROR"

    def __str__(self) -> str:
        return self.value

    @property
    def text(self) -> str:
        """A short sentence for staff (receipt, status screen)."""
        return _TEXT[self]


_TEXT: dict[Reason, str] = {
    Reason.OK: "Valid credential",
    Reason.FORMAT_UNKNOWN: "Not a credential this terminal knows",
    Reason.PREFIX_INVALID: "Code prefix or version not recognised",
    Reason.BASE45_INVALID: "Code text is damaged (Base45)",
    Reason.DECOMPRESSION_FAILED: "Code data is damaged (compression)",
    Reason.PAYLOAD_TOO_LARGE: "Code data is too large to be genuine",
    Reason.CBOR_INVALID: "Code data is malformed (CBOR)",
    Reason.COSE_INVALID: "Signature envelope is malformed",
    Reason.CRITICAL_HEADER_UNKNOWN: "Code demands a feature this terminal lacks",
    Reason.CLAIMS_INVALID: "Credential fields are missing or wrong",
    Reason.ALGORITHM_UNSUPPORTED: "Signature algorithm not accepted",
    Reason.KEY_UNKNOWN: "Issuer key not in the trust list",
    Reason.KEY_NOT_VALID: "Issuer key not valid at this time",
    Reason.KEY_USAGE_INVALID: "Issuer key may not sign this credential type",
    Reason.SIGNATURE_INVALID: "Signature does not match: forged or altered",
    Reason.TRUST_LIST_MISSING: "No trust list loaded: sync the terminal",
    Reason.EXPIRED: "Credential has expired: ask for a fresh code",
    Reason.NOT_YET_VALID: "Credential not valid yet (check the clock)",
    Reason.REVOKED: "Credential has been revoked",
    Reason.REPLAYED: "Credential already used here (anti-passback)",
    Reason.LIST_STALE: "Trust or revocation list out of date: check by hand, sync the terminal",
    Reason.CLOCK_UNTRUSTED: "Terminal clock cannot be trusted: check by hand",
    Reason.TYPE_NOT_ACCEPTED: "Credential type not accepted at this site",
    Reason.STATUS_YELLOW: "Health status yellow",
    Reason.STATUS_RED: "Health status red",
    Reason.POLICY_DENY: "Refused by site policy",
    Reason.INTERNAL_ERROR: "Terminal error: check by hand and report it",
}
