"""The per-terminal secret: a random key, mode 0600 in the state directory, never logged.

It keys every hash this terminal writes about a credential (the audit log's serial hash, the
slip's verification code), so a stolen audit file cannot be matched against serials seen
elsewhere without also stealing this key; and the same serial yields the same code on the slip
and in the audit log, so a clerk's code finds its audit row.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from pathlib import Path

from terminal.crypto.sm3 import hmac_sm3

log = logging.getLogger(__name__)

SECRET_FILE = "terminal.key"
SECRET_BYTES = 32


def load_or_create_secret(state_dir: str | os.PathLike) -> bytes:
    """Read ``state_dir/terminal.key``, creating it (32 random bytes, mode 0600) if absent.

    A key file readable by others is tightened to 0600 and a warning is logged; a key of the wrong
    length is refused (``ValueError``) rather than silently replaced, since replacing it would
    break every earlier audit hash.
    """
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        try:
            os.write(fd, secrets.token_bytes(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("event=secret_created path=%s", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("event=secret_mode_tightened path=%s old_mode=%o", path, mode)
    key = path.read_bytes()
    if len(key) != SECRET_BYTES:
        raise ValueError(f"terminal secret {path} has {len(key)} bytes, expected {SECRET_BYTES}: "
                         "restore it from backup or remove it to start a new audit identity")
    return key


def serial_hash(secret: bytes, serial: bytes) -> bytes:
    """HMAC-SM3 of a credential serial under the terminal secret (32 bytes)."""
    return hmac_sm3(secret, b"scanpoint-serial\x00" + bytes(serial))


def verification_code(digest: bytes, length: int = 8) -> str:
    """The first ``length`` Base32 characters of ``digest``: easy to read over the phone.

    Base32 (A-Z, 2-7) has no 0/O or 1/I pairs to confuse. 8 characters carry 40 bits.
    """
    return base64.b32encode(digest).decode("ascii")[:length]
