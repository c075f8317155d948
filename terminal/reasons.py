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

    @property
    def zh(self) -> str:
        """The sentence in Chinese; the English one if a newer reason has no translation yet."""
        return REASON_ZH.get(self, _TEXT[self])


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

#: The same sentences in Chinese, for slips and the staff screen.
REASON_ZH: dict[Reason, str] = {
    Reason.OK: "凭证有效",
    Reason.FORMAT_UNKNOWN: "无法识别的凭证",
    Reason.PREFIX_INVALID: "码前缀或版本无法识别",
    Reason.BASE45_INVALID: "码内容已损坏",
    Reason.DECOMPRESSION_FAILED: "码数据已损坏（压缩）",
    Reason.PAYLOAD_TOO_LARGE: "码数据过大，疑似伪造",
    Reason.CBOR_INVALID: "码数据格式错误",
    Reason.COSE_INVALID: "签名封装格式错误",
    Reason.CRITICAL_HEADER_UNKNOWN: "码要求本终端不支持的功能",
    Reason.CLAIMS_INVALID: "凭证字段缺失或错误",
    Reason.ALGORITHM_UNSUPPORTED: "签名算法不被接受",
    Reason.KEY_UNKNOWN: "签发密钥不在信任列表中",
    Reason.KEY_NOT_VALID: "签发密钥当前无效",
    Reason.KEY_USAGE_INVALID: "签发密钥无权签发此类凭证",
    Reason.SIGNATURE_INVALID: "签名不符：伪造或被篡改",
    Reason.TRUST_LIST_MISSING: "未加载信任列表：请同步终端",
    Reason.EXPIRED: "凭证已过期：请刷新二维码",
    Reason.NOT_YET_VALID: "凭证尚未生效（请检查时钟）",
    Reason.REVOKED: "凭证已被撤销",
    Reason.REPLAYED: "凭证已在此使用过",
    Reason.LIST_STALE: "信任或撤销列表已过期：请人工核验并同步终端",
    Reason.CLOCK_UNTRUSTED: "终端时钟不可信：请人工核验",
    Reason.TYPE_NOT_ACCEPTED: "本点不接受此类凭证",
    Reason.STATUS_YELLOW: "健康状态：黄码",
    Reason.STATUS_RED: "健康状态：红码",
    Reason.POLICY_DENY: "站点规则拒绝",
    Reason.INTERNAL_ERROR: "终端故障：请人工核验并报告",
}
