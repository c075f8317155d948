"""Sample results and constants shared by the printer, audit and privacy tests."""

from __future__ import annotations

from datetime import timedelta, timezone

from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

CST = timezone(timedelta(hours=8))
AT = 1_800_000_000.0          # 2027-01-15 16:00:00 +08:00
SECRET = bytes(range(32))


def credential(serial: bytes = b"\x01" * 16, *, name: str = "张*三", tail: str = "1234",
               ctype: str = "insurance", status: str | None = None) -> Credential:
    return Credential(format="native", type=ctype, issuer="CN-HI", key_id="a1b2c3d4",
                      serial=serial, issued_at=int(AT) - 30, not_before=int(AT) - 30,
                      expires=int(AT) + 90, status=status, masked_name=name, id_tail=tail)


def sample_results() -> dict[str, Result]:
    return {
        "pass": Result(Decision.PASS, Reason.OK, "native", credential()),
        "deny": Result(Decision.DENY, Reason.REVOKED, "native", credential(b"\x02" * 16)),
        "check": Result(Decision.CHECK, Reason.STATUS_YELLOW, "native",
                        credential(b"\x03" * 16, ctype="health", status="yellow", tail="")),
    }
