"""The verifier: one QR text in, one decision with one reason out. It never raises.

It reads the text with the format its prefix names (genuine and in date), then judges the trust
list's freshness, revocation and site policy. A deny found at any step wins over a check found
earlier (a revoked credential under a stale list is denied); otherwise the first check wins.
"""

from __future__ import annotations

import logging
from typing import Protocol

from terminal import formats
from terminal.verify.policy import Policy
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result, check, deny

log = logging.getLogger(__name__)

DEFAULT_SKEW = 30.0
_DENY_REASONS = (Reason.REVOKED,)   # REPLAYED comes from the pipeline's anti-passback, not here


class RevocationCheck(Protocol):
    """The revocation hook (built by the sync part): REVOKED, LIST_STALE, CLOCK_UNTRUSTED or None.

    REVOKED denies; other reasons check, unless the hook lists them in an optional
    ``deny_reasons`` attribute (a site's ``[lists] stale = "deny"``).
    """

    def check(self, credential: Credential, now: float) -> Reason | None: ...


class Verifier:
    """Decides pass / deny / check for QR texts against a trust list, revocation and a policy.

    ``trust`` is a :class:`terminal.lists.trust.TrustList`, a :class:`terminal.lists.trust.TrustStore` or
    :class:`terminal.lists.trust.TrustListFile` (its ``current`` list is used at each scan, so updates
    take effect at once) or None (no list: native
    credentials get ``check`` / ``TRUST_LIST_MISSING``). ``dsc`` is the DCC signer store.
    """

    def __init__(self, trust=None, policy: Policy | None = None, *, skew: float = DEFAULT_SKEW,
                 revocation: RevocationCheck | None = None, dsc=None) -> None:
        self.trust = trust
        self.policy = policy if policy is not None else Policy()
        self.skew = float(skew)
        self.revocation = revocation
        self.dsc = dsc

    @classmethod
    def from_config(cls, config, *, revocation: RevocationCheck | None = None,
                    dsc=None) -> "Verifier":
        """Build from a loaded :class:`terminal.config.Config` (``[trust]`` and ``[policy]``).

        The trust list is followed (:class:`terminal.lists.trust.TrustListFile` on
        :func:`terminal.lists.trust.list_path`, where ``scanpoint sync`` writes it): a newer list takes
        effect within a second, without a restart. A list that cannot be loaded is logged and left
        out (scans answer ``check``), so a damaged list degrades the terminal instead of stopping it.
        """
        from terminal.lists.trust import TrustListFile

        trust = TrustListFile.from_config(config)
        return cls(trust, config.policy.to_policy(), skew=config.policy.skew,
                   revocation=revocation, dsc=dsc)

    def _trust_list(self):
        trust = self.trust
        return getattr(trust, "current", trust)

    def verify(self, text: str, now: float) -> Result:
        """The decision for one QR text at wall time ``now`` (Unix seconds). Never raises."""
        try:
            return self._verify(text, now)
        except Exception as exc:
            log.error("event=internal_error stage=verifier error=%s", type(exc).__name__)
            return deny(Reason.INTERNAL_ERROR, "internal error while verifying")

    def _verify(self, text: str, now: float) -> Result:
        trust = self._trust_list()
        ctx = formats.VerifyContext(now=float(now), skew=self.skew, trust=trust, dsc=self.dsc)
        result = formats.read(text, ctx)
        if result.decision is not Decision.PASS:
            return result
        credential, fmt = result.credential, result.format
        if credential is None:
            return deny(Reason.INTERNAL_ERROR, "format passed without a credential", fmt)
        checks: list[tuple[Reason, str]] = []
        if fmt == "native" and trust is not None and trust.stale(now):
            checks.append((Reason.LIST_STALE,
                           f"trust list version {trust.version} expired at {trust.valid_until}"))
        if self.revocation is not None:
            reason = self.revocation.check(credential, now)
            if reason in _DENY_REASONS or reason in getattr(self.revocation, "deny_reasons", ()):
                return deny(reason, "refused by the revocation check", fmt, credential)
            if reason is not None:
                checks.append((reason, "revocation list"))
        decision, reason = self.policy.decide(credential)
        if decision is Decision.DENY:
            return deny(reason, f"site policy {self.policy.site}", fmt, credential)
        if decision is Decision.CHECK:
            checks.append((reason, f"site policy {self.policy.site}"))
        if checks:
            reason, detail = checks[0]
            return check(reason, detail, fmt, credential)
        return Result(Decision.PASS, Reason.OK, fmt, credential)
