"""An issuer directory: key files, the signed lists and a terminal config, made by :func:`init`.

An issuer directory (``scanpoint issuer init DIR``) holds::

    root.key             root private key, 64 hex digits (mode 0600): signs trust and revocation lists
    root.pub             root public key, hex (pinned in every terminal's [trust] root_key)
    issuer.key           issuer private key, key id, issuer name and holder-hash secret (0600)
    trust-list.cose      signed trust list (kind "trust") naming the issuer key
    revocation-list.cose signed revocation list (kind "revocation", version 1, no entries)
    public/lists/        what terminals fetch (`issuer publish`): serve DIR/public, never DIR
    terminal.toml        a terminal config that trusts this root and syncs from DIR/public

Private keys are never printed or logged; key files are created mode 0600 before they hold a
key (:func:`terminal.storage.atomic_write`) and refused when others can read them, like ssh does.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.clock import SYSTEM, Clock
from terminal.crypto import sm2
from terminal.errors import IssuerError
from terminal.formats import native
from terminal.issuer.credentials import (
    DEFAULT_TTL,
    credential_claims,
    encode_credential,
    sign_revocation_list,
    sign_trust_list,
    trust_entry,
)
from terminal.lists.signedlist import key_id
from terminal.storage import atomic_write

log = logging.getLogger(__name__)

ROOT_KEY = "root.key"
ROOT_PUB = "root.pub"
ISSUER_KEY = "issuer.key"
TRUST_LIST = "trust-list.cose"
REVOCATION_LIST = "revocation-list.cose"
TERMINAL_CONFIG = "terminal.toml"

TYPES = ("health", "insurance", "social-security")
MIN_TTL, MAX_TTL = 30, native.MAX_LIFETIME
KEY_DAYS = 365
LIST_DAYS = 30
DAY = 86400
_KEY_FILE_KIND = "scanpoint-sm2-private-key"


# --- key files -----------------------------------------------------------------------------------

def write_private_key(path: Path, private_key: int, **info: Any) -> None:
    """Write a private key file readable by its owner only (created 0600, never world-readable).

    A bare key (the root) is one line of 64 hex digits; a key with ``info`` (the issuer's name,
    key id, holder-hash secret) is a small JSON object.
    """
    if info:
        text = json.dumps({"kind": _KEY_FILE_KIND, "d": f"{private_key:064x}", **info}, indent=1)
    else:
        text = f"{private_key:064x}"
    atomic_write(path, text + "\n", mode=0o600, overwrite=False)


def read_private_key(path: Path) -> dict[str, Any]:
    """Read a key file; refuse one that others can read, like ssh does. ``d`` comes back as int."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise IssuerError(f"key file {path} not found: run 'scanpoint issuer init' first") from None
    except OSError as exc:
        raise IssuerError(f"cannot use key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise IssuerError(f"key file {path} is {kind}, not a key file: restore it from the "
                          "issuer's backup")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IssuerError(f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}): "
                          f"run 'chmod 600 {path}'")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IssuerError(f"cannot read key file {path}: {exc.strerror} (run as the user that "
                          "owns the issuer folder)") from None
    try:
        text = raw.decode("utf-8").strip()
        if text.startswith("{"):
            record = json.loads(text)
            if record.get("kind") != _KEY_FILE_KIND:
                raise ValueError("not a scanpoint key file")
        else:
            record = {"d": text}
        record["d"] = int(record["d"], 16)
        sm2.public_key_of(record["d"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IssuerError(f"key file {path} is damaged ({type(exc).__name__})") from None
    return record


@dataclass(frozen=True)
class IssuerKeyFile:
    """The issuer's signing key and what goes with it."""

    private_key: int
    kid: bytes
    issuer: str
    holder_key: bytes
    types: tuple[str, ...]


class IssuerDir:
    """An issuer directory made by :func:`init`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def trust_list_path(self) -> Path:
        return self.path / TRUST_LIST

    @property
    def revocation_list_path(self) -> Path:
        return self.path / REVOCATION_LIST

    @property
    def config_path(self) -> Path:
        return self.path / TERMINAL_CONFIG

    def root_private_key(self) -> int:
        """The root private scalar (signs trust and revocation lists)."""
        return read_private_key(self.file(ROOT_KEY))["d"]

    def root_public_key(self) -> bytes:
        """The root public key (64 bytes X‖Y), from root.pub."""
        try:
            return bytes.fromhex(self.file(ROOT_PUB).read_text(encoding="ascii").strip())
        except (OSError, ValueError) as exc:
            raise IssuerError(f"cannot read {self.file(ROOT_PUB)}: {exc}") from None

    def issuer_key(self) -> IssuerKeyFile:
        """The issuer signing key and its metadata."""
        r = read_private_key(self.file(ISSUER_KEY))
        try:
            return IssuerKeyFile(r["d"], bytes.fromhex(r["kid"]), r["issuer"],
                                 bytes.fromhex(r["holder_key"]), tuple(r["types"]))
        except (KeyError, ValueError, TypeError):
            raise IssuerError(f"key file {self.file(ISSUER_KEY)} is missing issuer fields") from None

    def issue(self, type: str, name: str, holder_id: str, *, status: str | None = None,
              ttl: int = DEFAULT_TTL, now: int | None = None, clock: Clock = SYSTEM) -> str:
        """A new credential's QR text, signed by this directory's issuer key."""
        if type not in TYPES:
            raise ValueError(f"type must be one of {', '.join(TYPES)}")
        if (type == "health") != (status is not None):
            raise ValueError("a health credential needs --status; other types take none")
        if status is not None and status not in native.STATUSES:
            raise ValueError(f"status must be one of {', '.join(native.STATUSES)}")
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise ValueError(f"ttl must be {MIN_TTL}-{MAX_TTL} seconds (dynamic codes)")
        if not name.strip() or len(name.strip()) > native.MAX_NAME:
            raise ValueError(f"name must be 1-{native.MAX_NAME} characters")
        if not holder_id.strip():
            raise ValueError("holder ID must not be empty")
        key = self.issuer_key()
        if type not in key.types:
            raise ValueError(f"this issuer key may not sign type {type!r}")
        claims = credential_claims(issuer=key.issuer, kid=key.kid, type=type, name=name,
                                   holder_id=holder_id, holder_key=key.holder_key,
                                   now=int(clock.time()) if now is None else int(now),
                                   ttl=ttl, status=status)
        log.info("event=issued type=%s kid=%s", type, key.kid.hex())
        return encode_credential(claims, key.private_key)


def init(path: str | os.PathLike, *, issuer: str = "Scanpoint Demo Issuer",
         types: tuple[str, ...] = TYPES, site: str = "checkpoint", force: bool = False,
         now: int | None = None, key_days: int = KEY_DAYS, list_days: int = LIST_DAYS,
         clock: Clock = SYSTEM) -> IssuerDir:
    """Create an issuer directory: root and issuer keys, signed lists and a terminal config.

    Refuses to overwrite existing keys unless ``force``.
    """
    d = IssuerDir(path)
    now = int(clock.time()) if now is None else int(now)
    existing = [n for n in (ROOT_KEY, ISSUER_KEY) if d.file(n).exists()]
    if existing and not force:
        raise IssuerError(f"{d.path} already holds {', '.join(existing)}; "
                          "use --force to replace its keys (terminals trusting them stop passing)")
    d.path.mkdir(parents=True, exist_ok=True)
    for name in (ROOT_KEY, ISSUER_KEY):
        d.file(name).unlink(missing_ok=True)

    root = sm2.generate_private_key()
    root_pub = sm2.public_key_of(root)
    signer = sm2.generate_private_key()
    signer_pub = sm2.public_key_of(signer)
    kid = key_id(signer_pub)
    write_private_key(d.file(ROOT_KEY), root)
    write_private_key(d.file(ISSUER_KEY), signer, role="issuer", issuer=issuer, kid=kid.hex(),
                      holder_key=secrets.token_bytes(32).hex(), types=list(types))
    atomic_write(d.file(ROOT_PUB), root_pub.hex() + "\n")

    entry = trust_entry(signer_pub, issuer, now - 60, now + key_days * DAY, types)
    valid_until = now + list_days * DAY
    atomic_write(d.trust_list_path, sign_trust_list([entry], 1, now, valid_until, root))
    atomic_write(d.revocation_list_path, sign_revocation_list(b"", 1, now, valid_until, root))
    atomic_write(d.config_path, terminal_toml(root_pub, site))
    log.info("event=issuer_init kid=%s", kid.hex())
    return d


def terminal_toml(root_public_key: bytes, site: str = "checkpoint") -> str:
    """A terminal config trusting ``root_public_key`` and reading the lists beside it."""
    return (
        "# Terminal configuration written by 'scanpoint issuer init'.\n"
        "# Paths are relative to this file. Revocation list: " + REVOCATION_LIST + "\n\n"
        "[terminal]\n"
        'state_dir = "state"\n\n'
        "[trust]\n"
        f'root_key = "{root_public_key.hex()}"\n'
        f'list = "{TRUST_LIST}"\n\n'
        "[policy]\n"
        f'site = "{site}"\n'
    )
