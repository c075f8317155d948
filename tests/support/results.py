"""Sample results, credentials and decision events shared by the printer, audit and privacy tests.

:func:`decision_event` builds the pipeline's real :class:`~terminal.interfaces.DecisionEvent`,
so observers are tested against the type they receive in the daemon, not a re-declared copy.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from terminal.interfaces import DecisionEvent
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

CST = timezone(timedelta(hours=8))
AT = 1_800_000_000.0          # 2027-01-15 16:00:00 +08:00
SECRET = bytes(range(32))


def credential(serial: bytes = b"\x01" * 16, *, name: str = "张*三", tail: str = "1234",
               ctype: str = "insurance", status: str | None = None) -> Credential:
    """An already-masked credential as the verifier hands it on (masked name, ID tail only)."""
    return Credential(format="native", type=ctype, issuer="CN-HI", key_id="a1b2c3d4",
                      serial=serial, issued_at=int(AT) - 30, not_before=int(AT) - 30,
                      expires=int(AT) + 90, status=status, masked_name=name, id_tail=tail)


def sample_results() -> dict[str, Result]:
    """One pass, one deny (revoked) and one check (yellow) with distinct serials."""
    return {
        "pass": Result(Decision.PASS, Reason.OK, "native", credential()),
        "deny": Result(Decision.DENY, Reason.REVOKED, "native", credential(b"\x02" * 16)),
        "check": Result(Decision.CHECK, Reason.STATUS_YELLOW, "native",
                        credential(b"\x03" * 16, ctype="health", status="yellow", tail="")),
    }


def decision_event(result: Result, *, wall: float = AT, sequence: int = 1,
                   latency: float | None = 0.01, site: str = "Renhe",
                   terminal_id: str = "T01") -> DecisionEvent:
    """The event the pipeline hands its observers for ``result``, decided at ``wall``."""
    arrived = 1000.0
    return DecisionEvent(sequence=sequence, result=result, terminal_id=terminal_id, site=site,
                         wall=wall, frame_arrived=arrived, decided=arrived,
                         signalled=None if latency is None else arrived + latency,
                         latency=latency, code_hash="00" * 16)
