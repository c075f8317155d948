"""The trust list: which issuer keys may sign which credential types, and when.

It reaches the terminal as a signed list (kind ``trust``) signed by the root key pinned in the
terminal config. Every issuer key is validated (on sm2p256v1, not the identity, key id matches)
when the list is loaded, so a bad key refuses the whole list up front; the keys' SM2 tables are
then built in the background by :mod:`terminal.crypto.keytables` (all of them when they fit in
``[trust] key_tables_mib``, else the most used first), never during a scan. A key that stays in
a newer list keeps its tables. Versions only go up: :class:`TrustStore` refuses an
older or equal version. Past its ``valid_until`` the list is stale and the verifier answers
``check`` / ``LIST_STALE`` instead of ``pass``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from terminal.clock import SYSTEM, Clock
from terminal.config import Config
from terminal.crypto import keytables, sm2
from terminal.errors import KeyFormatError, TrustListError
from terminal.lists.signedlist import (
    ALG_SM2_SM3,
    KEY_ID_LENGTH,
    MAX_LIST_BYTES,
    SignedList,
    key_id,
    verify_list,
)
from terminal.storage import atomic_write

log = logging.getLogger(__name__)

KIND = "trust"
DEFAULT_FILE = "trust-list.cose"
"""The trust list's file name in STATE_DIR when ``[trust] list`` is empty."""
MAX_KEYS = 1024
MAX_ISSUER_LENGTH = 64
MAX_TYPE_LENGTH = 32
_ENTRY_FIELDS = {"kid", "issuer", "alg", "valid_from", "valid_to", "types", "public_key"}


@dataclass(frozen=True)
class IssuerKey:
    """One trust-list entry. ``verifier`` is the precomputed key (None if ``alg`` is unsupported)."""

    kid: bytes
    issuer: str
    alg: int
    valid_from: int
    valid_to: int
    types: frozenset[str]
    public_key: bytes
    verifier: sm2.PublicKey | None = None

    @property
    def supported(self) -> bool:
        """True if the terminal can verify signatures of this key's algorithm."""
        return self.verifier is not None

    def valid_at(self, t: int) -> bool:
        """True if the key may sign credentials issued at ``t``."""
        return self.valid_from <= t <= self.valid_to

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Check an SM2/SM3 signature with the pinned signer ID; False for unsupported keys."""
        if self.verifier is None:
            return False
        return self.verifier.verify(message, signature)


class TrustList:
    """A verified, parsed trust list. Build it with :meth:`from_bytes` or :meth:`load`."""

    def __init__(self, signed: SignedList, keys: dict[bytes, IssuerKey]) -> None:
        self.signed = signed
        self.keys = keys

    @property
    def version(self) -> int:
        return self.signed.version

    @property
    def issued(self) -> int:
        return self.signed.issued

    @property
    def valid_until(self) -> int:
        return self.signed.valid_until

    def key(self, kid: bytes) -> IssuerKey | None:
        """The entry for ``kid``, or None if the key is not trusted."""
        return self.keys.get(bytes(kid))

    def stale(self, now: float) -> bool:
        """True once ``now`` is past the list's own ``valid_until``."""
        return self.signed.stale(now)

    def __repr__(self) -> str:
        return (f"TrustList(version={self.version}, keys={len(self.keys)}, "
                f"valid_until={self.valid_until})")

    @classmethod
    def from_bytes(cls, data: bytes, root_public_key: bytes, *,
                   max_bytes: int = MAX_LIST_BYTES,
                   tables: keytables.KeyTables | None = None) -> TrustList:
        """Verify a signed trust list against the pinned root and load every key; or raise.

        The keys' tables are left to ``tables`` (default: the process's manager)."""
        signed = verify_list(data, root_public_key, KIND, max_bytes=max_bytes)
        entries = signed.body.get("keys")
        if set(signed.body) != {"keys"} or not isinstance(entries, list):
            raise TrustListError("trust list body must be a map with only 'keys': a list")
        if len(entries) > MAX_KEYS:
            raise TrustListError(f"trust list has {len(entries)} keys, more than {MAX_KEYS}")
        keys: dict[bytes, IssuerKey] = {}
        for index, entry in enumerate(entries):
            key = _entry(index, entry, tables)
            if key.kid in keys:
                raise TrustListError(f"trust list entry {index}: key id {key.kid.hex()} is listed twice")
            keys[key.kid] = key
        verifiers = [k.verifier for k in keys.values() if k.verifier is not None]
        (tables or keytables.default()).register(verifiers)
        log.info("trust list loaded version=%d keys=%d valid_until=%d",
                 signed.version, len(keys), signed.valid_until)
        return cls(signed, keys)

    @classmethod
    def load(cls, path: str | os.PathLike, root_public_key: bytes, *,
             max_bytes: int = MAX_LIST_BYTES,
             tables: keytables.KeyTables | None = None) -> TrustList:
        """Read and verify a trust list file (reading at most ``max_bytes`` + 1 bytes)."""
        try:
            with open(path, "rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as exc:
            raise TrustListError(f"cannot read trust list {path}: {exc.strerror or exc}") from None
        return cls.from_bytes(data, root_public_key, max_bytes=max_bytes, tables=tables)


def _entry(index: int, entry: object, tables: keytables.KeyTables | None = None) -> IssuerKey:
    where = f"trust list entry {index}"
    if not isinstance(entry, dict) or set(entry) != _ENTRY_FIELDS:
        raise TrustListError(f"{where} must be a map with exactly {', '.join(sorted(_ENTRY_FIELDS))}")
    kid, issuer, alg = entry["kid"], entry["issuer"], entry["alg"]
    valid_from, valid_to, types, public_key = (entry["valid_from"], entry["valid_to"],
                                               entry["types"], entry["public_key"])
    if not isinstance(kid, bytes) or len(kid) != KEY_ID_LENGTH:
        raise TrustListError(f"{where}: kid must be {KEY_ID_LENGTH} bytes")
    where = f"trust list key {kid.hex()}"
    if not isinstance(issuer, str) or not 1 <= len(issuer) <= MAX_ISSUER_LENGTH:
        raise TrustListError(f"{where}: issuer must be 1-{MAX_ISSUER_LENGTH} characters")
    if type(alg) is not int:
        raise TrustListError(f"{where}: alg must be an integer")
    if type(valid_from) is not int or type(valid_to) is not int or not 0 <= valid_from <= valid_to:
        raise TrustListError(f"{where}: need integer valid_from <= valid_to")
    if (not isinstance(types, list) or not types
            or not all(isinstance(t, str) and 1 <= len(t) <= MAX_TYPE_LENGTH for t in types)):
        raise TrustListError(f"{where}: types must be a non-empty list of short strings")
    if not isinstance(public_key, bytes):
        raise TrustListError(f"{where}: public_key must be bytes")
    verifier = None
    if alg == ALG_SM2_SM3:
        try:
            verifier = sm2.load_public_key(public_key, lazy=True, tables=tables)
            derived = key_id(public_key)
        except KeyFormatError as exc:
            raise TrustListError(f"{where}: public key refused: {exc}") from None
        if derived != kid:
            raise TrustListError(f"{where}: kid does not match its public key (derives to {derived.hex()})")
        public_key = public_key[-64:]
    else:
        log.warning("trust list key kid=%s alg=%d unsupported: its credentials will be refused",
                    kid.hex(), alg)
    return IssuerKey(kid, issuer, alg, valid_from, valid_to, frozenset(types), public_key, verifier)


class TrustSource(Protocol):
    """Where the verifier finds the trust list in force at each scan (None: none loaded yet)."""

    @property
    def current(self) -> TrustList | None: ...


class FixedTrust:
    """A trust list that does not change while the process runs (``scanpoint verify``, tools)."""

    def __init__(self, trust: TrustList) -> None:
        self._trust = trust

    @property
    def current(self) -> TrustList:
        return self._trust


def list_path(config: Config) -> Path:
    """The trust-list file of a terminal config: ``[trust] list``, else STATE_DIR/trust-list.cose.

    The one rule for where ``scanpoint sync`` writes the list and the scanner reads it.
    """
    if config.trust.list:
        return Path(config.trust.list)
    return Path(config.terminal.state_dir) / DEFAULT_FILE


def use_budget(config: Config) -> None:
    """Set the process's SM2 table budget from ``[trust] key_tables_mib``."""
    keytables.default().configure(int(config.trust.key_tables_mib * keytables.MIB))


def load_configured(config: Config, *, one_shot: bool = False) -> TrustList | None:
    """The trust list a config names, loaded once (``scanpoint verify``); None if there is none.

    ``one_shot``: the process checks a code or two and ends, so its keys get no tables at all (a
    table manager with no background builder) and the verifications do without.

    None without a root key, or when ``[trust] list`` is empty and STATE_DIR holds no list yet;
    :class:`TrustListError` if the list is refused (or set without a root key to verify it).
    """
    root = config.trust.root_public_key
    if not root:
        if config.trust.list:
            raise TrustListError("[trust] list is set but root_key is empty: cannot verify it")
        return None
    path = list_path(config)
    if not config.trust.list and not path.exists():
        return None
    if one_shot:
        return TrustList.load(path, root, tables=keytables.KeyTables(background=False))
    use_budget(config)
    return TrustList.load(path, root)


class TrustListFile:
    """The scanner's trust list: a file that ``scanpoint sync`` replaces, followed while running.

    :attr:`current` re-stats the file at most once every ``interval`` seconds and reloads it when
    it changed (mtime, size or inode -- the sync replaces it atomically), so a key withdrawn by a
    newer list stops passing and a renewed list ends ``LIST_STALE`` without a restart. A version
    lower than the held one is refused (rollback), as is a file that does not verify; either way
    the held list stays in force and the refusal is logged once per change of the file.
    """

    def __init__(self, path: str | os.PathLike[str], root_public_key: bytes, *,
                 max_bytes: int = MAX_LIST_BYTES, interval: float = 1.0,
                 clock: Clock = SYSTEM) -> None:
        self.path = Path(path)
        self.root_public_key = bytes(root_public_key)
        self.max_bytes = max_bytes
        self.interval = float(interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._held: TrustList | None = None
        self._seen: tuple[int, int, int] | None = None   # (mtime_ns, size, inode) last read
        self._next = self._clock.monotonic() + self.interval
        self._refresh()
        if self._held is None and self._seen is None:
            log.warning("event=trust_list_missing path=%s: native credentials answer check "
                        "until `scanpoint sync` writes a list there", self.path)

    @classmethod
    def from_config(cls, config: Config, *, clock: Clock = SYSTEM) -> TrustListFile | None:
        """The followed list of a terminal config (:func:`list_path`); None without a root key.
        Sets the process's SM2 table budget from the config (:func:`use_budget`)."""
        use_budget(config)
        root = config.trust.root_public_key
        if not root:
            if config.trust.list:
                log.error("event=trust_list_refused error=[trust] list is set but root_key is "
                          "empty: cannot verify it")
            return None
        return cls(list_path(config), root, clock=clock)

    @property
    def current(self) -> TrustList | None:
        """The list in force (None until a valid list file exists); may reload it first."""
        now = self._clock.monotonic()
        if now >= self._next and self._lock.acquire(blocking=False):
            try:
                self._next = now + self.interval
                self._refresh()
            finally:
                self._lock.release()
        return self._held

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._seen is not None and self._held is not None:
                log.warning("event=trust_list_missing path=%s held_version=%d: keeping the held "
                            "list", self.path, self._held.version)
            self._seen = None
            return
        except OSError as exc:
            log.error("event=trust_list_unreadable path=%s error=%s", self.path, exc)
            return
        seen = (st.st_mtime_ns, st.st_size, st.st_ino)
        if seen == self._seen:
            return
        self._seen = seen
        held = self._held
        try:
            new = TrustList.load(self.path, self.root_public_key, max_bytes=self.max_bytes)
        except TrustListError as exc:
            log.error("event=trust_list_refused path=%s held_version=%s error=%s", self.path,
                      held.version if held else None, exc)
            return
        if held is not None and new.version < held.version:
            log.error("event=trust_list_refused path=%s held_version=%d error=version %d is older "
                      "(versions only go up)", self.path, held.version, new.version)
            return
        if held is not None and new.version == held.version:
            return
        self._held = new
        log.info("event=trust_list_in_force path=%s version=%d previous=%s", self.path,
                 new.version, held.version if held else None)


class TrustStore:
    """Holds the trust list in force and accepts only newer versions.

    ``path`` (optional) is where the held list is kept, so a restart cannot be fooled into an
    older list: :meth:`update` writes the accepted bytes there atomically.
    """

    def __init__(self, root_public_key: bytes, path: str | os.PathLike[str] | None = None, *,
                 max_bytes: int = MAX_LIST_BYTES,
                 tables: keytables.KeyTables | None = None) -> None:
        self.root_public_key = bytes(root_public_key)
        self.path = Path(path) if path is not None else None
        self.max_bytes = max_bytes
        self.tables = tables
        self.current: TrustList | None = None

    def load(self) -> TrustList | None:
        """Load the held list from ``path``; None (and nothing held) if there is no file yet."""
        if self.path is None or not self.path.exists():
            return None
        self.current = TrustList.load(self.path, self.root_public_key, max_bytes=self.max_bytes,
                                      tables=self.tables)
        return self.current

    def update(self, data: bytes) -> TrustList:
        """Verify ``data``; accept it only if its version is higher than the held one."""
        new = TrustList.from_bytes(data, self.root_public_key, max_bytes=self.max_bytes,
                                   tables=self.tables)
        held = self.current
        if held is not None and new.version <= held.version:
            raise TrustListError(
                f"trust list version {new.version} refused: version {held.version} is already held "
                "(versions only go up)", code="rollback")
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, bytes(data))
        self.current = new
        log.info("trust list accepted version=%d", new.version)
        return new
