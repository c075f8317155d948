"""The verifier: one QR text in, one decision with one reason out — the one never-raise boundary.

It reads the text with the format its prefix names (genuine and in date), then judges the trust
list's freshness, revocation and site policy. A deny found at any step wins over a check found
earlier (a revoked credential under a stale list is denied); otherwise the first check wins.
Anything unexpected on the way becomes ``check`` / ``INTERNAL_ERROR`` (the rule in
:mod:`terminal.result`).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from terminal.clock import SYSTEM, Clock, finite_time
from terminal.config import Config
from terminal.errors import CertificateError
from terminal.formats import dispatch
from terminal.formats.chain import VerifyContext
from terminal.interfaces import RevocationLookup
from terminal.lists.trust import FixedTrust, TrustList, TrustListFile, TrustSource
from terminal.reasons import Decision, Reason
from terminal.result import Result, check, deny, internal_error
from terminal.verify.policy import Policy

if TYPE_CHECKING:       # the DCC stack (X.509) is loaded only where signer certificates are
    from terminal.formats.dsc import DscStore

log = logging.getLogger(__name__)

DEFAULT_SKEW = 30.0


class Verifier:
    """Decides pass / deny / check for QR texts against a trust list, revocation and a policy.

    ``trust`` is a :class:`~terminal.lists.trust.TrustSource` (its ``current`` list is used at each
    scan, so updates take effect at once), a fixed :class:`~terminal.lists.trust.TrustList`, or
    None (native credentials then get ``check`` / ``TRUST_LIST_MISSING``). ``dsc`` is the DCC
    signer store.
    """

    def __init__(self, trust: TrustSource | TrustList | None = None, policy: Policy | None = None,
                 *, skew: float = DEFAULT_SKEW, revocation: RevocationLookup | None = None,
                 dsc: DscStore | None = None) -> None:
        self.trust: TrustSource | None = FixedTrust(trust) if isinstance(trust, TrustList) else trust
        self.policy = policy if policy is not None else Policy()
        self.skew = finite_time(skew, "verifier skew")
        if self.skew < 0:
            raise ValueError(f"verifier skew must not be negative, not {skew!r}")
        self.revocation = revocation
        self.dsc = dsc

    @classmethod
    def from_config(cls, config: Config, *, revocation: RevocationLookup | None = None,
                    clock: Clock = SYSTEM) -> Verifier:
        """Build from a loaded config (``[trust]``, ``[policy]``, ``[dcc]``).

        The trust list is followed (:class:`~terminal.lists.trust.TrustListFile`, where
        ``scanpoint sync`` writes it): a newer list takes effect within a second, without a
        restart. A trust list or signer-certificate folder that cannot be loaded is logged and left
        out (its codes answer ``check`` or ``deny``), so a damaged file degrades the terminal
        instead of stopping it.
        """
        from terminal.formats.dsc import store_from_config

        dsc = None
        try:
            dsc = store_from_config(config.dcc)
        except CertificateError as exc:
            log.error("event=dsc_store_refused error=%s: EU DCCs are denied until it is fixed", exc)
        return cls(TrustListFile.from_config(config, clock=clock), config.policy.to_policy(),
                   skew=config.policy.skew, revocation=revocation, dsc=dsc)

    def verify(self, text: str, now: float) -> Result:
        """The decision for one QR text at wall time ``now`` (Unix seconds). Never raises.

        A ``now`` that is not a finite number (NaN compares false with every expiry) is a clock
        that cannot be trusted: ``check`` / ``CLOCK_UNTRUSTED``, whatever the code holds.
        """
        try:
            if not _finite(now):
                return check(Reason.CLOCK_UNTRUSTED, f"the time given is not a finite number "
                             f"({now!r})")
            return self._verify(text, float(now))
        except Exception as exc:  # noqa: BLE001 - the one never-raise boundary (terminal.result's rule)
            return internal_error("verifier", exc)

    def _verify(self, text: str, now: float) -> Result:
        trust = self.trust.current if self.trust is not None else None
        ctx = VerifyContext(now=float(now), skew=self.skew, trust=trust, dsc=self.dsc)
        result = dispatch.read(text, ctx)
        if result.decision is not Decision.PASS:
            return result
        credential, fmt = result.credential, result.format
        if credential is None:
            raise AssertionError(f"format {fmt} passed without a credential")
        checks: list[tuple[Reason, str]] = []
        if fmt == "native" and trust is not None and trust.stale(now):
            checks.append((Reason.LIST_STALE,
                           f"trust list version {trust.version} expired at {trust.valid_until}"))
        if self.revocation is not None:
            reason = self.revocation.check(credential, now)
            if reason is not None:
                if reason is Reason.REVOKED or reason in self.revocation.deny_reasons:
                    return deny(reason, "refused by the revocation check", fmt, credential)
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


def _finite(value: object) -> bool:
    """True for a real number that is neither NaN nor infinite (bool excluded)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
