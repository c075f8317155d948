"""The per-terminal secret: a random key, mode 0600 in the state directory, never logged.

It keys every hash this terminal writes about a credential (the audit log's serial hash, the
slip's verification code), so a stolen audit file cannot be matched against serials seen
elsewhere without also stealing this key; and the same serial yields the same code on the slip
and in the audit log, so a clerk's code finds its audit row.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from terminal.crypto.sm3 import hmac_sm3
from terminal.errors import ConfigError
from terminal.storage import atomic_write

log = logging.getLogger(__name__)

SECRET_FILE = "terminal.key"
SECRET_BYTES = 32


def load_or_create_secret(state_dir: str | os.PathLike[str]) -> bytes:
    """Read ``state_dir/terminal.key``, creating it (32 random bytes, mode 0600) if absent.

    The key appears atomically: it is written to a private temporary file, fsynced, and
    hard-linked into place, so a crash never leaves a partial key and of two terminal processes
    starting at once exactly one key wins (the other reads it). An *empty* key file — what an
    older version left when it crashed between creating and writing the key — is regenerated:
    nothing was ever keyed with it (a key of the wrong length is always refused), so no audit
    hash is lost. Any other wrong length is refused (:class:`ConfigError`) rather than replaced,
    since it may be a damaged real key whose backup would keep earlier audit codes findable. A
    key file others can read or write is refused like ``ssh`` and the issuer's keys are, rather
    than quietly tightened: it may already have been copied, so the operator must decide.
    """
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / SECRET_FILE
    _create_if_absent(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"terminal secret {path} is accessible by others (mode {mode:o}): "
                          f"run 'chmod 600 {path}' if no one else could have read it, "
                          "otherwise remove it to start a new audit identity")
    key = path.read_bytes()
    if len(key) != SECRET_BYTES:
        raise ConfigError(f"terminal secret {path} has {len(key)} bytes, expected {SECRET_BYTES}: "
                          "restore it from backup or remove it to start a new audit identity")
    return key


def _create_if_absent(path: Path) -> None:
    """Put a fresh key at ``path`` unless a non-empty one is there; never a partial one."""
    try:
        if path.stat().st_size > 0:
            return
        empty = True
    except FileNotFoundError:
        empty = False
    key = secrets.token_bytes(SECRET_BYTES)
    if empty:
        # replace the empty file only while it is still empty; a racing starter that already
        # put a real key there is left alone (its key wins)
        with _dir_lock(path.parent):
            if path.stat().st_size > 0:
                return
            atomic_write(path, key, mode=0o600)
    else:
        try:
            atomic_write(path, key, mode=0o600, overwrite=False)
        except FileExistsError:                   # another starter got there first
            return
    log.info("event=secret_created path=%s replaced_empty=%s", path, empty)


@contextlib.contextmanager
def _dir_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``directory`` (serialises starters replacing a key)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def keyed_serial_hash(secret: bytes, serial: bytes) -> bytes:
    """HMAC-SM3 of a credential serial under the terminal secret (32 bytes).

    Not :func:`terminal.lists.revocation.serial_hash`, the unkeyed, published hash revocation lists use:
    this one is private to the terminal, so its audit rows match nothing outside it.
    """
    return hmac_sm3(secret, b"scanpoint-serial\x00" + bytes(serial))


def verification_code(digest: bytes, length: int = 8) -> str:
    """The first ``length`` Base32 characters of ``digest``: easy to read over the phone.

    Base32 (A-Z, 2-7) has no 0/O or 1/I pairs to confuse. 8 characters carry 40 bits.
    """
    return base64.b32encode(digest).decode("ascii")[:length]
