"""What a pharmacy slip says, built from a :class:`~terminal.result.Result` (pure: no hardware).

A :class:`~terminal.counter.paper.Slip` is a list of styled lines already wrapped to the paper
width, plus the optional QR content. It holds only what may be printed: the masked name (through
:func:`terminal.formats.names.shown_name`), at most the last four characters of an ID, and a
verification code (a prefix of the keyed serial hash) — never a payload, a full name or an ID.
Printer drivers turn it into ESC/POS bytes; the demo prints ``Slip.to_text()``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from terminal.counter.paper import Line, Slip, wrap
from terminal.counter.secret import keyed_serial_hash, verification_code
from terminal.formats.names import shown_name
from terminal.reasons import REASON_ZH, Decision, Reason
from terminal.result import Result

DECISION_ZH = {Decision.PASS: "通过", Decision.DENY: "拒绝", Decision.CHECK: "人工核验"}
DECISION_EN = {Decision.PASS: "PASS", Decision.DENY: "DENY", Decision.CHECK: "CHECK"}

TYPE_ZH = {
    "health": "健康码",
    "insurance": "医保凭证",
    "social-security": "社保卡",
    "dcc-vaccination": "欧盟疫苗证书",
    "dcc-test": "欧盟检测证书",
    "dcc-recovery": "欧盟康复证书",
}


def id_tail(tail: str | None) -> str | None:
    """At most the last four characters of an ID, shown as ``****1234``."""
    if not tail:
        return None
    return "****" + tail[-4:]


def reason_zh(reason: Reason) -> str:
    """The Chinese text of a reason; the English one if a newer reason has no translation yet."""
    return REASON_ZH.get(reason, reason.text)


def build_slip(result: Result, *, site: str, terminal_id: str, secret: bytes, at: float,
               width: int = 32, tz: tzinfo | None = None, qr: bool = True) -> Slip:
    """The slip for one decision.

    ``secret`` is the terminal secret (see :mod:`terminal.counter.secret`); the verification code is the
    first 8 Base32 characters of HMAC-SM3(secret, serial), the same hash the audit log keeps, so
    the code a clerk reads over the phone finds the audit row.
    """
    decision = Decision(result.decision)
    reason = Reason(result.reason)
    stamp = datetime.fromtimestamp(at, tz).strftime("%Y-%m-%d %H:%M:%S")   # tz None: local time
    lines: list[Line] = []

    def add(text: str, **style: Any) -> None:
        size = int(style.get("size", 1))
        for part in wrap(text, width // size):
            lines.append(Line(part, **style))

    rule = "=" * width
    add(rule)
    add(site, bold=True, align="center")
    add(f"终端 Terminal: {terminal_id}")
    add(f"时间 Time: {stamp}")
    add("-" * width)
    add(f"{DECISION_ZH[decision]} {DECISION_EN[decision]}", bold=True, size=2, align="center")
    add(f"原因: {reason_zh(reason)}")
    add(f"Reason: {reason.text}")
    code = None
    cred = result.credential
    if cred is not None:
        type_text = TYPE_ZH.get(cred.type)
        add(f"类型 Type: {type_text + ' ' if type_text else ''}{cred.type}")
        if cred.status:
            add(f"状态 Status: {cred.status}")
        if cred.masked_name:
            add(f"姓名 Name: {shown_name(cred.masked_name, cred.format)}")
        tail = id_tail(cred.id_tail)
        if tail:
            add(f"证件 ID: {tail}")
        if cred.serial:
            code = verification_code(keyed_serial_hash(secret, cred.serial))
            add(f"核验码 Code: {code[:4]}-{code[4:]}", bold=True)
    elif result.format:
        add(f"格式 Format: {result.format}")
    return Slip(width=width, lines=tuple(lines), footer=(Line(rule),), code=code,
                qr=code if (qr and code) else None,
                decision=decision.value, created=float(at))
