"""The published list files: what their signed bodies hold, and the one place envelopes are made.

Layout under a published folder (any static HTTP server or CDN can serve it)::

    lists/index.sl                       kind "index": which files hold the newest lists
    lists/revocation-<V>.snap            kind "revocation": every entry of version V
    lists/revocation-<B>-<V>.delta       kind "revocation-delta": from version B to V
    lists/trust-<V>.sl                   kind "trust": the trust list, republished

Revocation bodies are compact: ``hashes``/``add``/``remove`` are concatenated 16-byte entries in
ascending order (16 bytes an entry on the wire), with the resulting ``count`` so a delta that does
not fit the held list is caught. Every call of :mod:`terminal.lists.signedlist` is in this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.errors import TrustListError
from terminal.lists import signedlist

LISTS_DIR = "lists"
PUBLIC_DIR = "public"
"""The folder of an issuer directory to serve (it holds ``lists/``); the private keys sit beside
it, never inside, so a static HTTP server pointed at it cannot hand them out."""


def public_root(issuer_dir: str | Path) -> Path:
    """The folder under an issuer directory that is served at the terminals' ``[sync] source``."""
    return Path(issuer_dir) / PUBLIC_DIR
INDEX_NAME = "index.sl"
KIND_INDEX = "index"
KIND_SNAPSHOT = "revocation"
KIND_DELTA = "revocation-delta"
KIND_TRUST = "trust"
FORMAT = 1


def snapshot_name(version: int) -> str:
    return f"revocation-{version}.snap"


def delta_name(base: int, version: int) -> str:
    return f"revocation-{base}-{version}.delta"


def trust_name(version: int) -> str:
    return f"trust-{version}.sl"


@dataclass(frozen=True)
class FileRef:
    """A published file as the index names it: relative path, exact size and SHA-256."""

    path: str
    size: int
    sha256: str

    def to_body(self) -> dict:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_body(cls, raw: Any) -> FileRef:
        if not isinstance(raw, dict):
            raise TrustListError("index: file entry is not a map")
        path, size, digest = raw.get("path"), raw.get("size"), raw.get("sha256")
        if (not isinstance(path, str) or "/" in path or path.startswith(".") or not path
                or not isinstance(size, int) or size < 0 or not isinstance(digest, str)
                or len(digest) != 64):
            raise TrustListError(f"index: bad file entry {raw!r}")
        return cls(path, size, digest)


@dataclass(frozen=True)
class RevocationFiles:
    """Where the index says the newest revocation list is: a full snapshot, and deltas to it."""

    version: int
    snapshot: FileRef
    deltas: dict[int, FileRef]          # base version -> delta file to ``version``


@dataclass(frozen=True)
class TrustFile:
    """Where the index says the newest trust list is."""

    version: int
    file: FileRef


@dataclass(frozen=True)
class Index:
    """The signed index: the newest revocation list and trust list, each present or not."""

    version: int
    issued: int
    valid_until: int
    revocation: RevocationFiles | None
    trust: TrustFile | None


# -- signing (publisher) ------------------------------------------------------------------------
def sign_snapshot(version: int, issued: int, valid_until: int, hashes: bytes, key: int) -> bytes:
    return signedlist.sign_list(KIND_SNAPSHOT, version, issued, valid_until,
                                {"format": FORMAT, "hashes": hashes,
                                 "count": len(hashes) // 16}, key)


def sign_delta(base: int, version: int, issued: int, valid_until: int, add: bytes, remove: bytes,
               count: int, key: int) -> bytes:
    return signedlist.sign_list(KIND_DELTA, version, issued, valid_until,
                                {"format": FORMAT, "base": base, "add": add, "remove": remove,
                                 "count": count}, key)


def sign_index(version: int, issued: int, valid_until: int, revocation_version: int | None,
               snapshot: FileRef | None, deltas: dict[int, FileRef], trust_version: int | None,
               trust: FileRef | None, key: int) -> bytes:
    body: dict = {"format": FORMAT}
    if snapshot is not None:
        body["revocation"] = {"version": revocation_version, "snapshot": snapshot.to_body(),
                              "deltas": {str(b): r.to_body() for b, r in sorted(deltas.items())}}
    if trust is not None:
        body["trust"] = {"version": trust_version, "file": trust.to_body()}
    return signedlist.sign_list(KIND_INDEX, version, issued, valid_until, body, key)


def sign_list(kind: str, version: int, issued: int, valid_until: int, body: dict, key: int) -> bytes:
    """Pass-through for other kinds (the trust list republished by ``issuer publish``)."""
    return signedlist.sign_list(kind, version, issued, valid_until, body, key)


# -- verifying (terminal) -----------------------------------------------------------------------
def verify(data: bytes, root_public_key: bytes, kind: str, *, max_bytes: int) -> Any:
    """Verify an envelope of ``kind`` against the pinned root key (raises TrustListError)."""
    return signedlist.verify_list(data, root_public_key, kind, max_bytes=max_bytes)


def refusal_code(exc: Exception) -> str:
    """A short, stable code for why a signed list was refused (for logs, status and exit lines):
    the ``code`` the refusal was raised with (:class:`TrustListError`), never a guess from the
    words of its message (a garbage index saying "not allowed" is ``malformed``)."""
    return getattr(exc, "code", None) or "malformed"


def read_index(data: bytes, root_public_key: bytes, *, max_bytes: int) -> Index:
    """Verify and parse the signed index."""
    lst = verify(data, root_public_key, KIND_INDEX, max_bytes=max_bytes)
    body = lst.body
    revocation = trust = None
    rev = body.get("revocation")
    if rev is not None:
        if not isinstance(rev, dict) or not isinstance(rev.get("version"), int):
            raise TrustListError("index: revocation entry malformed")
        raw_deltas = rev.get("deltas", {})
        if not isinstance(raw_deltas, dict):
            raise TrustListError("index: deltas malformed")
        deltas: dict[int, FileRef] = {}
        for b, ref in raw_deltas.items():
            try:
                deltas[int(b)] = FileRef.from_body(ref)
            except ValueError:
                raise TrustListError(f"index: delta base {b!r} is not a version") from None
        revocation = RevocationFiles(rev["version"], FileRef.from_body(rev.get("snapshot")), deltas)
    tr = body.get("trust")
    if tr is not None:
        if not isinstance(tr, dict) or not isinstance(tr.get("version"), int):
            raise TrustListError("index: trust entry malformed")
        trust = TrustFile(tr["version"], FileRef.from_body(tr.get("file")))
    return Index(lst.version, lst.issued, lst.valid_until, revocation, trust)
