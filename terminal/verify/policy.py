"""Site policy: which credential types a site accepts and what a health status means here.

Applied after a credential has been found genuine, in date and not revoked. Two presets match the
two places a terminal stands: ``checkpoint`` (health passes and EU DCCs; yellow → staff check) and
``pharmacy`` (insurance and social-security cards). Both can be overridden in ``[policy]``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from terminal.reasons import Decision, Reason
from terminal.result import Credential

YELLOW_CHOICES = ("check", "deny")
NATIVE_TYPES = ("health", "insurance", "social-security")
"""The native credential types (docs/credential-format.md §3, claim 7)."""
DCC_TYPES = ("dcc-vaccination", "dcc-test", "dcc-recovery")
"""EU DCC certificate types (terminal.formats.dcc): foreign health credentials, mutually recognised."""
KNOWN_TYPES = NATIVE_TYPES + DCC_TYPES
"""Every type a site may accept: a misspelt one (``"helth"``) would never match and is refused."""

PRESETS: dict[str, dict] = {
    "checkpoint": {"accept": ("health", *DCC_TYPES), "yellow": "check"},
    "pharmacy": {"accept": ("insurance", "social-security"), "yellow": "check"},
}
"""Per-site defaults; ``[policy] accept`` and ``yellow`` override them."""


@dataclass(frozen=True)
class Policy:
    """What a site accepts. ``yellow`` is ``check`` (staff decide) or ``deny``; red always denies."""

    site: str = "checkpoint"
    accept: frozenset[str] = frozenset(PRESETS["checkpoint"]["accept"])
    yellow: str = "check"

    @classmethod
    def preset(cls, site: str, accept: list[str] | tuple[str, ...] | None = None,
               yellow: str | None = None) -> Policy:
        """The policy of a named site, with optional overrides; ValueError for an unknown site."""
        if site not in PRESETS:
            raise ValueError(f"unknown site {site!r}: choose one of {', '.join(sorted(PRESETS))}")
        base = PRESETS[site]
        yellow = base["yellow"] if yellow is None else yellow
        if yellow not in YELLOW_CHOICES:
            raise ValueError(f"yellow must be one of {', '.join(YELLOW_CHOICES)}, not {yellow!r}")
        accept = base["accept"] if accept is None else accept
        unknown = [t for t in accept if t not in KNOWN_TYPES]
        if unknown:
            hint = difflib.get_close_matches(str(unknown[0]), KNOWN_TYPES, n=1)
            raise ValueError(f"accept has unknown credential type {unknown[0]!r}"
                             + (f" (did you mean {hint[0]!r}?)" if hint else "")
                             + f"; known types: {', '.join(KNOWN_TYPES)}")
        return cls(site, frozenset(accept), yellow)

    def decide(self, credential: Credential) -> tuple[Decision, Reason]:
        """The site's answer for a genuine, current credential: pass, deny or check with a reason."""
        if credential.type not in self.accept:
            return Decision.DENY, Reason.TYPE_NOT_ACCEPTED
        if credential.type == "health":
            if credential.status == "green":
                return Decision.PASS, Reason.OK
            if credential.status == "yellow":
                decision = Decision.CHECK if self.yellow == "check" else Decision.DENY
                return decision, Reason.STATUS_YELLOW
            if credential.status == "red":
                return Decision.DENY, Reason.STATUS_RED
            return Decision.DENY, Reason.POLICY_DENY  # no or unknown status: fail closed
        return Decision.PASS, Reason.OK
