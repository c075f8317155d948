"""A non-finite time anywhere never turns into a pass.

Every comparison with NaN is false, so ``now = nan`` once made an expired credential look current
(``scanpoint verify --at nan`` passed it) and ``issued_tolerance = nan`` switched the clock guard
off; an infinite ``valid_until`` in a damaged store would make a list never stale. Each entry below
puts one value into one time input of a real verification — the verifier's ``now`` and skew, the
config, the time guard, the clocks the pipeline reads, a frame's arrival, the stored clock
observation and list metadata (in a real SQLite store), and the signed list and credential fields —
and answers the decision, or None when the value is refused outright. The property: with any
non-finite value the answer is never ``pass``; with the ordinary value it is ``pass`` (so every
entry can fail).
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal import config as config_mod
from terminal.clock import FixedClock
from terminal.config import PipelineSection
from terminal.daemon.pipeline import Pipeline
from terminal.errors import ConfigError, TrustListError
from terminal.formats import native
from terminal.formats.chain import VerifyContext
from terminal.interfaces import Frame
from terminal.lists import timeguard
from terminal.lists.revocation import REVOCATION, RevocationCheck, RevocationStore
from terminal.lists.signedlist import SignedList
from terminal.lists.timeguard import TimeGuard
from terminal.reasons import Decision
from terminal.verify.policy import Policy
from terminal.verify.verifier import Verifier
from tests.support import credentials as kit

NOW = float(kit.NOW)
TEXT = kit.credential()                         # valid at NOW for 60 s
TRUST = kit.trust_list()


def _nan(sign: int, payload: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", sign << 63 | 0x7FF << 52 | payload))[0]


def nonfinite() -> st.SearchStrategy[float]:
    """NaN (with any payload and sign) and both infinities."""
    nans = st.builds(_nan, st.integers(0, 1), st.integers(1, (1 << 52) - 1))
    return st.one_of(st.sampled_from([math.inf, -math.inf]), nans)


class Store:
    """A real revocation store with a current list and a fresh clock observation at NOW."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "revocation.db"
        self.path.unlink(missing_ok=True)
        with RevocationStore(self.path, clock=FixedClock(NOW)) as store:
            store.apply_snapshot(1, int(NOW) - 3600, int(NOW) + 86400, b"")
            store.set_state(timeguard.CLOCK_STATE, self.observation())

    @staticmethod
    def observation(**changes: float) -> dict:
        obs = {"server_date": NOW, "local_time": NOW, "offset": 0.0, "monotonic": 0.0,
               "boot_id": timeguard.boot_id()}     # this boot: the monotonic projection is used
        obs.update(changes)
        return obs

    def write_raw(self, sql: str, *params: object) -> None:
        con = sqlite3.connect(self.path)
        with con:
            con.execute(sql, params)
        con.close()


def decide(folder: Path, *, now: float = NOW, skew: float = 30.0,
           guard: TimeGuard | None = None, trust=TRUST, text: str = TEXT,
           store_edit: Callable[[Store], None] | None = None) -> Decision | None:
    store = Store(folder)
    if store_edit is not None:
        store_edit(store)
    try:
        check = RevocationCheck(store.path, guard or TimeGuard(clock=FixedClock(NOW)))
        verifier = Verifier(trust, Policy(), skew=skew, revocation=check)
    except (ValueError, TrustListError):
        return None
    try:
        return verifier.verify(text, now).decision
    finally:
        check.close()


def from_config(folder: Path, section: str, key: str, value: float) -> Decision | None:
    try:
        cfg = config_mod.loads(f"[{section}]\n{key} = {value!r}\n")
    except ConfigError:
        return None
    guard = TimeGuard.from_config(cfg, clock=FixedClock(NOW))
    return decide(folder, skew=cfg.policy.skew, guard=guard)


class Texts:
    def decode(self, image):
        return list(image)


class Shown:
    def __init__(self) -> None:
        self.shown: list[Decision] = []

    def show(self, decision):
        self.shown.append(decision)

    def fault(self, active):
        pass

    def off(self):
        pass

    def close(self):
        pass


class OddClock:
    """A clock that may report a non-finite wall or monotonic time (a broken time source)."""

    def __init__(self, wall: float = NOW, mono: float = 100.0) -> None:
        self.wall, self.mono = wall, mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        pass


def through_pipeline(folder: Path, *, wall: float = NOW, mono: float = 100.0,
                     arrived: float = 100.0) -> Decision | None:
    store = Store(folder)
    check = RevocationCheck(store.path, TimeGuard(clock=FixedClock(NOW)))
    signals = Shown()
    clock = OddClock(wall, mono)
    pipeline = Pipeline(Texts(), Verifier(TRUST, Policy(), revocation=check), signals,
                        clock=clock, settings=PipelineSection())
    try:
        for _ in range(2):      # the second presentation meets the anti-passback memory
            pipeline.process(Frame([TEXT], arrived))
            pipeline._in_view.clear()
        return signals.shown[0] if signals.shown else None
    finally:
        check.close()


def native_with_claim(claim: int, value: float) -> str:
    return kit.credential(kit.claims(changes={claim: value}))


def trust_with_key_validity(value: float):
    entries = kit.default_entries()
    entries[0]["valid_to"] = value
    try:
        return kit.trust_list(entries)
    except TrustListError:
        return None


def signed_list_field(name: str, value: float) -> SignedList | None:
    from terminal.lists.signedlist import verify_list

    fields = {"version": 1, "issued": kit.NOW - 60, "valid_until": kit.NOW + 86400}
    fields[name] = value
    from terminal.crypto import sm2
    from terminal.formats import cbor, cose
    from terminal.lists.signedlist import ALG_SM2_SM3, HEADER_ALG, HEADER_KID, key_id

    payload = cbor.dumps({"kind": "trust", **fields, "body": {"keys": []}})
    protected = {HEADER_ALG: ALG_SM2_SM3, HEADER_KID: key_id(kit.ROOT_PUB)}
    data = cose.encode_sign1(protected, {}, payload,
                             sm2.sign(kit.ROOT, cose.to_be_signed(protected, payload)))
    try:
        return verify_list(data, kit.ROOT_PUB, "trust")
    except TrustListError:
        return None


def stale_answer(value: float) -> Decision | None:
    lst = SignedList("trust", 1, kit.NOW - 60, kit.NOW + 86400, {})
    return Decision.CHECK if lst.stale(value) else Decision.PASS


TIME_INPUTS: dict[str, tuple[Callable[[Path, float], Decision | None], float]] = {
    "verifier now": (lambda d, v: decide(d, now=v), NOW),
    "verifier skew": (lambda d, v: decide(d, skew=v), 30.0),
    "chain context now": (lambda d, v: native.read(TEXT, VerifyContext(v, 30.0, TRUST)).decision,
                          NOW),
    "config [policy] skew": (lambda d, v: from_config(d, "policy", "skew", v), 30.0),
    "config [lists] issued_tolerance": (
        lambda d, v: from_config(d, "lists", "issued_tolerance", v), 600.0),
    "config [lists] max_clock_offset": (
        lambda d, v: from_config(d, "lists", "max_clock_offset", v), 7200.0),
    "guard max_offset": (lambda d, v: decide(d, guard=_guard(max_offset=v)), 7200.0),
    "guard issued_tolerance": (lambda d, v: decide(d, guard=_guard(issued_tolerance=v)), 600.0),
    "guard monotonic clock": (lambda d, v: decide(d, guard=TimeGuard(clock=OddClock(mono=v))),
                              0.0),
    "fixed clock wall": (lambda d, v: decide(d, now=_fixed_wall(v)), NOW),
    "fixed clock advance": (lambda d, v: decide(d, now=_advanced(v)), 0.0),
    "pipeline wall clock": (lambda d, v: through_pipeline(d, wall=v), NOW),
    "pipeline monotonic clock": (lambda d, v: through_pipeline(d, mono=v), 100.0),
    "frame arrival": (lambda d, v: through_pipeline(d, arrived=v), 100.0),
    "stored server_date": (lambda d, v: decide(d, store_edit=_observed(server_date=v)), NOW),
    "stored offset": (lambda d, v: decide(d, store_edit=_observed(offset=v)), 0.0),
    "stored local_time": (lambda d, v: decide(d, store_edit=_observed(local_time=v)), NOW),
    "stored monotonic": (lambda d, v: decide(d, store_edit=_observed(monotonic=v)), 0.0),
    "stored list valid_until": (lambda d, v: decide(d, store_edit=_list_field("valid_until", v)),
                                NOW + 86400),
    "stored list issued": (lambda d, v: decide(d, store_edit=_list_field("issued", v)),
                           NOW - 3600),
    "credential iat": (lambda d, v: decide(d, text=native_with_claim(native.IAT, v)), None),
    "credential nbf": (lambda d, v: decide(d, text=native_with_claim(native.NBF, v)), None),
    "credential exp": (lambda d, v: decide(d, text=native_with_claim(native.EXP, v)), None),
    "trust key valid_to": (lambda d, v: decide(d, trust=trust_with_key_validity(v)),
                           kit.NOW + 365 * kit.DAY),
    "signed list valid_until": (
        lambda d, v: None if signed_list_field("valid_until", v) is None else Decision.PASS,
        kit.NOW + 86400),
    "signed list issued": (
        lambda d, v: None if signed_list_field("issued", v) is None else Decision.PASS,
        kit.NOW - 60),
    "signed list stale(now)": (lambda d, v: stale_answer(v), NOW),
}


def _guard(**kw: float) -> TimeGuard | None:
    return TimeGuard(clock=FixedClock(NOW), **kw)


def _fixed_wall(value: float) -> float:
    return FixedClock(value).time()


def _advanced(value: float) -> float:
    clock = FixedClock(NOW)
    clock.advance(value)
    return clock.time()


def _observed(**changes: float) -> Callable[[Store], None]:
    def edit(store: Store) -> None:
        store.write_raw("UPDATE sync_state SET value = ? WHERE key = ?",
                        json.dumps(Store.observation(**changes)), timeguard.CLOCK_STATE)
    return edit


def _list_field(name: str, value: float) -> Callable[[Store], None]:
    def edit(store: Store) -> None:
        # SQLite keeps ±inf as REAL; NaN becomes NULL, which the NOT NULL column refuses
        try:
            store.write_raw(f"UPDATE lists SET {name} = ? WHERE kind = ?", value, REVOCATION)
        except sqlite3.IntegrityError:
            store.write_raw(f"UPDATE lists SET {name} = 'nan' WHERE kind = ?", REVOCATION)
    return edit


def answer(name: str, folder: Path, value: float) -> Decision | None:
    """The decision with ``value`` in the input ``name``; None if the value was refused."""
    fn, _ = TIME_INPUTS[name]
    try:
        return fn(folder, value)
    except (ValueError, ConfigError, TrustListError):
        return None


@pytest.mark.parametrize("name", sorted(TIME_INPUTS))
def test_the_ordinary_value_passes(tmp_path, name):
    """Control: each entry really reaches a pass with its ordinary value."""
    fn, ordinary = TIME_INPUTS[name]
    if ordinary is None:          # a credential claim: the ordinary credential
        assert decide(tmp_path) is Decision.PASS
        return
    assert fn(tmp_path, ordinary) is Decision.PASS


@pytest.mark.parametrize("name", sorted(TIME_INPUTS))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_never_passes(tmp_path, name, value):
    assert answer(name, tmp_path, value) is not Decision.PASS, name


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(TIME_INPUTS)), value=nonfinite())
def test_property_no_non_finite_time_input_yields_pass(tmp_path, name, value):
    assert answer(name, tmp_path, value) is not Decision.PASS, (name, value)


def test_verify_at_nan_answers_clock_untrusted_not_internal_error(tmp_path):
    store = Store(tmp_path)
    check = RevocationCheck(store.path, TimeGuard(clock=FixedClock(NOW)))
    try:
        result = Verifier(TRUST, revocation=check).verify(TEXT, math.nan)
    finally:
        check.close()
    assert result.decision is Decision.CHECK
    assert result.reason.value == "CLOCK_UNTRUSTED"


def test_fixed_clock_refuses_to_advance_by_a_non_finite_time():
    clock = FixedClock(NOW)
    with pytest.raises(ValueError):
        clock.advance(math.inf)
    assert clock.time() == NOW
