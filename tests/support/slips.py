"""Numbered slips for the print-queue tests, and the verification codes a printer printed."""

from __future__ import annotations

from hw_sim.printer import VirtualPrinter
from terminal.counter.slip import Slip, build_slip
from terminal.reasons import Decision, Reason
from terminal.result import Result
from tests.support.results import AT, CST, SECRET, credential


def make_slips(n: int) -> list[Slip]:
    """``n`` pass slips, serial and time counting up from 0, so their order is checkable."""
    out = []
    for i in range(n):
        result = Result(Decision.PASS, Reason.OK, "native", credential(i.to_bytes(16, "big")))
        out.append(build_slip(result, site="Renhe", terminal_id="T01", secret=SECRET,
                              at=AT + i, tz=CST))
    return out


def printed_codes(vp: VirtualPrinter) -> list[str]:
    """The verification code of every slip ``vp`` cut, in print order."""
    codes = []
    for slip in vp.slips:
        line = next(text for text in slip.text.splitlines() if text.startswith("核验码"))
        codes.append(line.split(": ")[1].replace("-", ""))
    return codes
