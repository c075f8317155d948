"""What a slip says: exact content for pass, deny and check, printed through the virtual printer."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, hmac

from drivers.printer import EscPosPrinter
from terminal.counter.paper import Slip, text_width, wrap
from terminal.counter.slip import REASON_ZH, build_slip
from terminal.formats.names import shown_name
from terminal.interfaces import PrintOutcome
from terminal.reasons import Decision, Reason
from terminal.result import Result
from tests.support.results import AT, CST, SECRET

#: the codes, computed independently below: Base32(HMAC-SM3(SECRET, "scanpoint-serial\\0" + serial))[:8]
CODES = {"pass": "NNSW2K7N", "deny": "GAWCBKC4", "check": "QDTCRVLN"}

EXPECTED = {
    "pass": """\
================================
   仁和大药房 Renhe Pharmacy
终端 Terminal: T01
时间 Time: 2027-01-15 16:00:00
--------------------------------
       通  过    P A S S
原因: 凭证有效
Reason: Valid credential
类型 Type: 医保凭证 insurance
姓名 Name: 张*三
证件 ID: ****1234
核验码 Code: {code}
         [QR {qr}]

================================
""",
    "deny": """\
================================
   仁和大药房 Renhe Pharmacy
终端 Terminal: T01
时间 Time: 2027-01-15 16:00:00
--------------------------------
       拒  绝    D E N Y
原因: 凭证已被撤销
Reason: Credential has been
revoked
类型 Type: 医保凭证 insurance
姓名 Name: 张*三
证件 ID: ****1234
核验码 Code: {code}
         [QR {qr}]

================================
""",
    "check": """\
================================
   仁和大药房 Renhe Pharmacy
终端 Terminal: T01
时间 Time: 2027-01-15 16:00:00
--------------------------------
  人  工  核  验    C H E C K
原因: 健康状态：黄码
Reason: Health status yellow
类型 Type: 健康码 health
状态 Status: yellow
姓名 Name: 张*三
核验码 Code: {code}
         [QR {qr}]

================================
""",
}


def slip_for(result: Result, **kw) -> Slip:
    return build_slip(result, site="仁和大药房 Renhe Pharmacy", terminal_id="T01", secret=SECRET,
                      at=AT, tz=CST, **kw)


@pytest.mark.parametrize("decision", ["pass", "deny", "check"])
def test_exact_slip_content_through_virtual_printer(vprinter, results, decision):
    slip = slip_for(results[decision])
    assert slip.code == CODES[decision]
    expected = EXPECTED[decision].format(code=f"{slip.code[:4]}-{slip.code[4:]}", qr=slip.code)
    assert slip.to_text() == expected
    with EscPosPrinter.from_url(vprinter.port, reply_timeout=1.0, print_timeout=5.0) as printer:
        assert printer.print_slip(slip) is PrintOutcome.PRINTED
    assert vprinter.wait_for(1, 5)
    printed = vprinter.slips[0]
    assert printed.text == expected
    # what crossed the pty: Chinese as GB18030 inside FS & ... FS ., never UTF-8
    assert b"\x1c&" + "姓名 Name: 张*三".encode("gb18030") + b"\x1c." in printed.raw
    assert "张*三".encode() not in printed.raw
    assert printed.txt_path.read_text(encoding="utf-8") == expected
    assert printed.png_path.exists() and printed.png_path.stat().st_size > 1000
    # the big decision line is bold and double size on paper
    decision_line = next(line for line in printed.lines
                         if any(s.text.endswith(("PASS", "DENY", "CHECK")) for s in line.segments))
    assert decision_line.align == "center"
    assert all(s.bold and s.size == 2 for s in decision_line.segments)


@pytest.mark.parametrize("decision", ["pass", "deny", "check"])
def test_code_is_hmac_sm3_of_the_serial(results, decision):
    mac = hmac.HMAC(SECRET, hashes.SM3())
    mac.update(b"scanpoint-serial\x00" + results[decision].credential.serial)
    assert base64.b32encode(mac.finalize()).decode()[:8] == CODES[decision]


def test_code_is_stable_and_depends_on_secret_and_serial(results):
    a = slip_for(results["pass"]).code
    assert a == slip_for(results["pass"]).code
    assert a != slip_for(results["deny"]).code
    other = build_slip(results["pass"], site="s", terminal_id="t", secret=b"x" * 32, at=AT, tz=CST)
    assert other.code != a
    assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_unreadable_code_slip_has_no_credential_lines():
    slip = slip_for(Result(Decision.DENY, Reason.BASE45_INVALID, "native"))
    text = slip.to_text()
    assert "码内容已损坏" in text and "Code text is damaged\n(Base45)" in text
    assert "核验码" not in text and slip.qr is None and "Name" not in text
    assert "格式 Format: native" in text


def test_full_names_and_long_ids_never_reach_a_slip(results):
    from dataclasses import replace
    cred = replace(results["pass"].credential, masked_name="张小三", id_tail="110101199003071234")
    text = slip_for(Result(Decision.PASS, Reason.OK, "native", cred)).to_text()
    assert "张小三" not in text and "张*三" in text
    assert "1990" not in text and "****1234" in text


def test_80mm_paper_is_48_columns(results):
    slip = slip_for(results["check"], width=48)
    assert all(text_width(line) <= 48 for line in slip.to_text().splitlines())
    assert slip.to_text().splitlines()[0] == "=" * 48


def test_no_qr_when_disabled(results):
    slip = slip_for(results["pass"], qr=False)
    assert slip.qr is None and "[QR" not in slip.to_text() and slip.code


def test_every_reason_has_chinese_text():
    missing = [r.value for r in Reason if r not in REASON_ZH]
    assert not missing, f"add Chinese slip texts for {missing} in terminal/slip.py"


def test_every_line_fits_the_paper_width(results):
    long_reason = Result(Decision.CHECK, Reason.LIST_STALE, "native", results["pass"].credential)
    for width in (32, 48):
        slip = slip_for(long_reason, width=width)
        for line in slip.lines:
            assert text_width(line.text) * line.size <= width, line


@pytest.mark.parametrize("name,masked", [("张三", "张*"), ("张小三", "张*三"), ("欧阳小明", "欧**明"),
                                         ("李", "*"), ("王*明", "王*明")])
def test_shown_name(name, masked):
    assert shown_name(name) == masked


@pytest.mark.parametrize("fmt,name,printed,hidden", [
    ("native", "张小*三丰", "张***丰", "小"),        # holds a star, yet is not masked
    ("native", "Marie Dupont", "M**********t", "Dupont"),
    ("dcc", "Marie Dupont", "M**********t", "Dupont"),
    ("dcc", "Ma** D***", "M*******", "Ma"),
])
def test_unmasked_name_never_prints(results, fmt, name, printed, hidden):
    from dataclasses import replace
    cred = replace(results["pass"].credential, format=fmt, masked_name=name)
    text = slip_for(Result(Decision.PASS, Reason.OK, fmt, cred)).to_text()
    assert f"Name: {printed}" in text
    assert hidden not in text


def test_masked_names_of_each_format_print_as_given(results):
    from dataclasses import replace
    for fmt, name in (("native", "欧**明"), ("dcc", "M*** D***"), ("dcc", "M***")):
        cred = replace(results["pass"].credential, format=fmt, masked_name=name)
        assert f"Name: {name}\n" in slip_for(Result(Decision.PASS, Reason.OK, fmt, cred)).to_text()


def test_wrap_breaks_words_and_cjk():
    assert wrap("hello world again", 11) == ["hello world", "again"]
    assert wrap("信任或撤销列表已过期", 8) == ["信任或撤", "销列表已", "过期"]
    assert wrap("x" * 10, 4) == ["xxxx", "xxxx", "xx"]


def test_slip_json_round_trip(results):
    slip = slip_for(results["check"])
    assert Slip.from_json(slip.to_json()) == slip
    assert "张*三" in slip.to_json()          # readable UTF-8, so privacy greps are meaningful
    reprint = slip.as_reprint()
    assert reprint.to_text().splitlines()[0].strip() == "** 重打 REPRINT **"
    assert reprint.as_reprint() == reprint


def test_png_without_a_cjk_font_falls_back_and_says_so(tmp_path, results):
    from hw_sim.printer import VirtualPrinter

    with VirtualPrinter(tmp_path / "slips", font="") as vp:
        assert "no CJK font" in vp.png_note
        with EscPosPrinter.from_url(vp.port) as printer:
            assert printer.print_slip(slip_for(results["pass"])) is PrintOutcome.PRINTED
        assert vp.wait_for(1, 5)
    assert "张*三" in vp.slips[0].text                   # the text keeps the Chinese
    assert vp.slips[0].png_path.stat().st_size > 1000     # the PNG is still drawn
