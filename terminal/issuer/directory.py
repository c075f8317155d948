"""Issuer side of the native format: key files, a new issuer directory, credentials, signed lists.

An issuer directory (``scanpoint issuer init DIR``) holds::

    root.key             root private key, 64 hex digits (mode 0600): signs trust and revocation lists
    root.pub             root public key, hex (pinned in every terminal's [trust] root_key)
    issuer.key           issuer private key, key id, issuer name and holder-hash secret (0600)
    trust-list.cose      signed trust list (kind "trust") naming the issuer key
    revocation-list.cose signed revocation list (kind "revocation", version 1, no entries)
    public/lists/        what terminals fetch (`issuer publish`): serve DIR/public, never DIR
    terminal.toml        a terminal config that trusts this root and syncs from DIR/public

Private keys are never printed or logged. Signing uses the project's SM2 code with a nonce from
:mod:`secrets` (never gmssl's signer, whose nonce comes from Mersenne Twister).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from terminal.crypto import sm2, sm3
from terminal.errors import IssuerError
from terminal.formats import base45, cbor, cose
from terminal.formats import native
from terminal.lists.signedlist import ALG_SM2_SM3, key_id, sign_list

log = logging.getLogger(__name__)

ROOT_KEY = "root.key"
ROOT_PUB = "root.pub"
ISSUER_KEY = "issuer.key"
TRUST_LIST = "trust-list.cose"
REVOCATION_LIST = "revocation-list.cose"
TERMINAL_CONFIG = "terminal.toml"

TYPES = ("health", "insurance", "social-security")
MIN_TTL, MAX_TTL, DEFAULT_TTL = 30, native.MAX_LIFETIME, 60
KEY_DAYS = 365
LIST_DAYS = 30
DAY = 86400
_KEY_FILE_KIND = "scanpoint-sm2-private-key"


# --- credentials -------------------------------------------------------------------------------

def holder_hash(holder_key: bytes, holder_id: str) -> bytes:
    """The 16-byte keyed hash of a holder ID: HMAC-SM3(key, UTF-8(upper(strip(ID))))[0:16]."""
    return sm3.hmac_sm3(holder_key, holder_id.strip().upper().encode("utf-8"))[:native.HOLDER_HASH_LENGTH]


def encode_credential(claims: dict, private_key: int, *, protected: dict | None = None,
                      unprotected: dict | None = None, prefix: str = native.PREFIX,
                      k: int | None = None) -> str:
    """Sign a claims map and wrap it (COSE_Sign1 → zlib → Base45 → prefix) into QR text.

    ``protected`` defaults to alg SM2/SM3 and the signer's key id. Low level on purpose: the test
    vector generator uses it to build malformed credentials too.
    """
    import zlib

    if protected is None:
        protected = {cose.HEADER_ALG: ALG_SM2_SM3,
                     cose.HEADER_KID: key_id(sm2.public_key_of(private_key))}
    payload = cbor.dumps(claims)
    signature = sm2.sign(private_key, cose.to_be_signed(protected, payload), k=k)
    sign1 = cose.encode_sign1(protected, unprotected or {}, payload, signature)
    return prefix + base45.encode(zlib.compress(sign1, 9))


def credential_claims(*, issuer: str, kid: bytes, type: str, name: str, holder_id: str,
                      holder_key: bytes, now: int, ttl: int = DEFAULT_TTL,
                      status: str | None = None, serial: bytes | None = None,
                      id_tail: bool | None = None) -> dict:
    """The claims map of a new credential: masked name, hashed holder ID, random serial.

    ``id_tail`` (default: only for insurance and social-security) adds the ID's last 4 characters.
    """
    claims = {
        native.ISSUER: issuer,
        native.KID: kid,
        native.IAT: now,
        native.NBF: now,
        native.EXP: now + ttl,
        native.SERIAL: serial if serial is not None else secrets.token_bytes(native.SERIAL_LENGTH),
        native.TYPE: type,
        native.NAME_CLAIM: native.mask_name(name),
        native.HOLDER: holder_hash(holder_key, holder_id),
    }
    if status is not None:
        claims[native.STATUS] = status
    if id_tail is None:
        id_tail = type in ("insurance", "social-security")
    if id_tail and holder_id.strip():
        claims[native.ID_TAIL] = holder_id.strip().upper()[-native.MAX_ID_TAIL:]
    return claims


# --- lists ---------------------------------------------------------------------------------------

def trust_entry(public_key: bytes, issuer: str, valid_from: int, valid_to: int,
                types: tuple[str, ...] | list[str], alg: int = ALG_SM2_SM3,
                kid: bytes | None = None) -> dict:
    """One trust-list entry for an issuer key (``kid`` defaults to the key's derived id)."""
    return {"kid": kid if kid is not None else key_id(public_key), "issuer": issuer, "alg": alg,
            "valid_from": valid_from, "valid_to": valid_to, "types": list(types),
            "public_key": bytes(public_key)}


def sign_trust_list(entries: list[dict], version: int, issued: int, valid_until: int,
                    root_private_key: int) -> bytes:
    """A signed trust list (kind ``trust``) holding ``entries``."""
    return sign_list("trust", version, issued, valid_until, {"keys": entries}, root_private_key)


def sign_revocation_list(hashes: bytes, version: int, issued: int, valid_until: int,
                         root_private_key: int) -> bytes:
    """A signed revocation snapshot (kind ``revocation``) in the sync part's format."""
    from terminal.lists import listfiles

    return listfiles.sign_snapshot(version, issued, valid_until, hashes, root_private_key)


# --- key files -----------------------------------------------------------------------------------

def write_private_key(path: Path, private_key: int, **info) -> None:
    """Write a private key file readable by its owner only (created 0600, never world-readable).

    A bare key (the root) is one line of 64 hex digits; a key with ``info`` (the issuer's name,
    key id, holder-hash secret) is a small JSON object.
    """
    if info:
        text = json.dumps({"kind": _KEY_FILE_KIND, "d": f"{private_key:064x}", **info}, indent=1)
    else:
        text = f"{private_key:064x}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


def read_private_key(path: Path) -> dict:
    """Read a key file; refuse one that others can read, like ssh does. ``d`` comes back as int."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise IssuerError(f"key file {path} not found: run 'scanpoint issuer init' first") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IssuerError(f"key file {path} is readable by others (mode {stat.S_IMODE(mode):o}): "
                          f"run 'chmod 600 {path}'")
    try:
        text = path.read_text(encoding="utf-8").strip()
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
              ttl: int = DEFAULT_TTL, now: int | None = None) -> str:
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
                                   now=int(time.time()) if now is None else int(now),
                                   ttl=ttl, status=status)
        log.info("event=issued type=%s kid=%s", type, key.kid.hex())
        return encode_credential(claims, key.private_key)


def init(path: str | os.PathLike, *, issuer: str = "Scanpoint Demo Issuer",
         types: tuple[str, ...] = TYPES, site: str = "checkpoint", force: bool = False,
         now: int | None = None, key_days: int = KEY_DAYS, list_days: int = LIST_DAYS) -> IssuerDir:
    """Create an issuer directory: root and issuer keys, signed lists and a terminal config.

    Refuses to overwrite existing keys unless ``force``.
    """
    d = IssuerDir(path)
    now = int(time.time()) if now is None else int(now)
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
    d.file(ROOT_PUB).write_text(root_pub.hex() + "\n", encoding="ascii")

    entry = trust_entry(signer_pub, issuer, now - 60, now + key_days * DAY, types)
    valid_until = now + list_days * DAY
    _write(d.trust_list_path, sign_trust_list([entry], 1, now, valid_until, root))
    _write(d.revocation_list_path, sign_revocation_list(b"", 1, now, valid_until, root))
    d.config_path.write_text(terminal_toml(root_pub, site), encoding="utf-8")
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


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
