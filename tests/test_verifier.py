"""The verifier: trust freshness, revocation hook, site policy, and config wiring."""

from __future__ import annotations

import logging

import pytest

from terminal import config
from terminal.errors import ConfigError
from terminal.lists.revocation import RevocationCheck, RevocationStore, serial_hash
from terminal.lists.trust import TrustStore
from terminal.reasons import Decision, Reason
from terminal.result import Credential
from terminal.verify.policy import Policy
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit
from tests.support.credentials import NOW

GREEN = kit.credential()
YELLOW = kit.credential(kit.claims(status="yellow"))
RED = kit.credential(kit.claims(status="red"))
INSURANCE = kit.credential(kit.claims(type="insurance"))


def revocation(tmp_path, revoked=(), *, listed=True, clock_off=False, deny=()):
    """The real revocation hook on a real store file: ``revoked`` serials listed, or no list at
    all (``listed=False``: LIST_STALE), or a recorded clock far off the sync server's
    (CLOCK_UNTRUSTED); ``deny`` is the site's [lists] ... = "deny" set."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "revocation.db"
    if listed:
        with RevocationStore(db) as store:
            store.apply_snapshot(1, NOW - 60, NOW + 3600,
                                 b"".join(sorted(serial_hash(s) for s in revoked)))
            if clock_off:
                store.set_state("clock", {"server_date": NOW, "local_time": NOW - 3 * 86400,
                                          "offset": 3 * 86400.0, "monotonic": 0.0,
                                          "boot_id": None})
    return RevocationCheck(db, deny_reasons=frozenset(deny))


class Watched(RevocationCheck):
    """The real hook, noting each credential it is asked about."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.seen: list[Credential] = []

    def check(self, credential, now):
        self.seen.append(credential)
        return super().check(credential, now)


def decide(text, *, trust=None, policy=None, revocation=None, now=NOW, skew=30):
    v = Verifier(kit.trust_list() if trust is None else trust, policy, skew=skew,
                 revocation=revocation)
    r = v.verify(text, now)
    return r.decision, r.reason


SERIAL = bytes(range(16))          # the serial of kit.claims()


def test_green_passes_and_hook_sees_the_credential(tmp_path):
    revocation(tmp_path, [b"\x09" * 16])
    hook = Watched(tmp_path / "revocation.db")
    assert decide(GREEN, revocation=hook) == (Decision.PASS, Reason.OK)
    assert [c.serial for c in hook.seen] == [SERIAL]


def test_revoked_is_denied(tmp_path):
    assert decide(GREEN, revocation=revocation(tmp_path, [SERIAL])) == (Decision.DENY,
                                                                       Reason.REVOKED)


@pytest.mark.parametrize("answer", [Reason.LIST_STALE, Reason.CLOCK_UNTRUSTED])
def test_revocation_doubt_is_check(tmp_path, answer):
    hook = (revocation(tmp_path, listed=False) if answer is Reason.LIST_STALE
            else revocation(tmp_path, clock_off=True))
    assert decide(GREEN, revocation=hook) == (Decision.CHECK, answer)


def test_hook_deny_reasons_are_denied(tmp_path):
    """LIST_STALE denies where the hook lists it in deny_reasons (a site's [lists] stale = "deny")."""
    hook = revocation(tmp_path, listed=False, deny={Reason.LIST_STALE})
    assert decide(GREEN, revocation=hook) == (Decision.DENY, Reason.LIST_STALE)


def test_deny_wins_over_earlier_check(tmp_path):
    stale = kit.trust_list(valid_until=NOW - 1)
    assert decide(RED, trust=stale) == (Decision.DENY, Reason.STATUS_RED)
    assert decide(GREEN, trust=stale, revocation=revocation(tmp_path / "a", [SERIAL])) == (
        Decision.DENY, Reason.REVOKED)
    assert decide(RED, revocation=revocation(tmp_path / "b", listed=False)) == (
        Decision.DENY, Reason.STATUS_RED)


def test_stale_trust_list_is_check():
    assert decide(GREEN, trust=kit.trust_list(valid_until=NOW - 1)) == (Decision.CHECK,
                                                                        Reason.LIST_STALE)


def test_first_check_wins():
    stale = kit.trust_list(valid_until=NOW - 1)
    assert decide(YELLOW, trust=stale) == (Decision.CHECK, Reason.LIST_STALE)


def test_revocation_not_asked_for_refused_credentials(tmp_path):
    revocation(tmp_path)
    hook = Watched(tmp_path / "revocation.db")
    assert decide(GREEN, revocation=hook, now=NOW + 3600)[1] is Reason.EXPIRED
    assert hook.seen == []


def test_policy_yellow_deny_and_accept_override():
    strict = Policy.preset("checkpoint", yellow="deny")
    assert decide(YELLOW, policy=strict) == (Decision.DENY, Reason.STATUS_YELLOW)
    assert decide(YELLOW) == (Decision.CHECK, Reason.STATUS_YELLOW)
    pharmacy = Policy.preset("pharmacy")
    assert decide(INSURANCE, policy=pharmacy) == (Decision.PASS, Reason.OK)
    assert decide(GREEN, policy=pharmacy) == (Decision.DENY, Reason.TYPE_NOT_ACCEPTED)
    both = Policy.preset("pharmacy", accept=["insurance", "health"])
    assert decide(GREEN, policy=both) == (Decision.PASS, Reason.OK)


def test_trust_store_updates_take_effect_at_once():
    store = TrustStore(kit.ROOT_PUB)
    v = Verifier(store, skew=30)
    assert v.verify(GREEN, NOW).reason is Reason.TRUST_LIST_MISSING
    store.update(kit.trust_bytes(version=2))
    assert v.verify(GREEN, NOW).decision is Decision.PASS


@pytest.mark.parametrize("thing", [None, b"SP1:", 12, "", "\x00" * 10])
def test_never_raises_on_odd_input(thing):
    r = Verifier(kit.trust_list()).verify(thing, NOW)
    assert r.decision is Decision.DENY


def test_hook_failure_is_internal_error_not_crash(tmp_path, caplog):
    class Broken(RevocationCheck):
        """The real hook never raises; a failure is injected to test the verifier's guard."""

        def check(self, credential, now):
            raise OSError("database is locked")

    with caplog.at_level(logging.ERROR):
        assert decide(GREEN, revocation=Broken(tmp_path / "r.db")) == (Decision.CHECK,
                                                                      Reason.INTERNAL_ERROR)
    assert "OSError" in caplog.text and GREEN[4:30] not in caplog.text


# --- configuration -------------------------------------------------------------------------------

def write_config(tmp_path, body: str):
    (tmp_path / "trust.cose").write_bytes(kit.trust_bytes())
    path = tmp_path / "terminal.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_from_config_reads_trust_and_policy(tmp_path):
    path = write_config(tmp_path, f'[trust]\nroot_key = "{kit.ROOT_PUB.hex()}"\n'
                                  'list = "trust.cose"\n[policy]\nsite = "pharmacy"\nskew = 0\n')
    cfg = config.load(path)
    assert cfg.trust.list == str(tmp_path / "trust.cose")
    v = Verifier.from_config(cfg)
    assert v.verify(INSURANCE, NOW).decision is Decision.PASS
    assert v.verify(GREEN, NOW).reason is Reason.TYPE_NOT_ACCEPTED
    assert v.skew == 0.0


def test_from_config_with_foreign_root_degrades_to_check(tmp_path, caplog):
    other = kit.sm2.public_key_of(kit.STRANGER).hex()
    path = write_config(tmp_path, f'[trust]\nroot_key = "{other}"\nlist = "trust.cose"\n')
    with caplog.at_level(logging.ERROR):
        v = Verifier.from_config(config.load(path))
    assert "trust_list_refused" in caplog.text
    assert v.verify(GREEN, NOW).reason is Reason.TRUST_LIST_MISSING


@pytest.mark.parametrize("body, why", [
    ('[trust]\nroot_key = "zz"\n', "hex digits"),
    ('[trust]\nroot_key = "' + "00" * 64 + '"\n', "not a valid SM2 public key"),
    ('[policy]\nsite = "airport"\n', "unknown site"),
    ('[policy]\nyellow = "pass"\n', "yellow must be"),
    ('[policy]\nskew = 3600\n', "skew"),
    ('[policy]\naccept = "health"\n', "wrong type"),
    ('[trust]\npinned = "x"\n', "unknown key"),
])
def test_bad_settings_are_config_errors(tmp_path, body, why):
    with pytest.raises(ConfigError, match=why):
        config.load(write_config(tmp_path, body))


def test_policy_defaults_are_the_checkpoint_preset():
    p = config.Config().policy.to_policy()
    assert p.site == "checkpoint" and p.yellow == "check"
    assert p.accept == {"health", "dcc-vaccination", "dcc-test", "dcc-recovery"}


def test_hook_deny_reasons_turn_an_untrusted_clock_into_deny(tmp_path):
    hook = revocation(tmp_path, clock_off=True, deny={Reason.CLOCK_UNTRUSTED})
    assert decide(GREEN, revocation=hook) == (Decision.DENY, Reason.CLOCK_UNTRUSTED)
    # a site that denies stale lists still only checks an untrusted clock
    lenient = revocation(tmp_path / "other", clock_off=True, deny={Reason.LIST_STALE})
    assert decide(GREEN, revocation=lenient) == (Decision.CHECK, Reason.CLOCK_UNTRUSTED)


def test_real_revocation_store_hook(tmp_path):
    db = tmp_path / "revocation.db"
    with RevocationStore(db) as store:
        store.apply_snapshot(1, NOW - 60, NOW + 3600, serial_hash(bytes(range(16))))
    hook = RevocationCheck(db)
    assert decide(GREEN, revocation=hook) == (Decision.DENY, Reason.REVOKED)
    assert decide(kit.credential(kit.claims(changes={6: b"\x07" * 16})), revocation=hook) == (
        Decision.PASS, Reason.OK)
    hook.close()
