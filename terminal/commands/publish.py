"""``scanpoint issuer revoke DIR --serial S | --text QR`` and ``scanpoint issuer publish DIR``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from terminal.errors import ConfigError, TrustListError


def issuer_private_key(directory: Path) -> int:
    """The issuer folder's root signing key (written by ``scanpoint issuer init``)."""
    for name in ("root.key", "root_key.hex", "keys/root.key"):
        path = directory / name
        if path.exists():
            text = path.read_text().strip()
            try:
                return int(text, 16)
            except ValueError:
                raise ConfigError(f"{path} does not hold a hex private key") from None
    raise ConfigError(f"no root signing key found in {directory}: run `scanpoint issuer init`")


def serial_from_text(text: str, directory: Path) -> bytes:
    """Read a QR text through the verification chain and return its credential's serial."""
    from terminal import formats
    ctx = formats.VerifyContext(now=time.time(), skew=0.0, trust=_trust_of(directory))
    result = formats.read(text, ctx)
    if result.credential is None or not result.credential.serial:
        raise TrustListError(f"no serial could be read from that code ({result.reason}: "
                             f"{result.reason.text})")
    return result.credential.serial


def _trust_of(directory: Path):
    return None


def revoke(args: argparse.Namespace) -> int:
    from terminal.publish import Publisher
    directory = Path(args.dir)
    if args.serial:
        try:
            serial = bytes.fromhex(args.serial)
        except ValueError:
            print("scanpoint: --serial must be hex (the credential's 16-byte serial)", file=sys.stderr)
            return 2
    else:
        serial = serial_from_text(args.text.strip(), directory)
    with Publisher(directory) as pub:
        new = pub.revoke_serial(serial)
        pending = pub.pending()
    print(f"{'revoked' if new else 'already revoked'}; {pending} pending until "
          f"`scanpoint issuer publish {directory}`")
    return 0


def publish(args: argparse.Namespace) -> int:
    from terminal.publish import Publisher
    directory = Path(args.dir)
    key = issuer_private_key(directory)
    with Publisher(directory, keep_deltas=args.keep_deltas) as pub:
        res = pub.publish(key, revocation_validity=int(args.validity * 3600),
                          trust_validity=int(args.trust_validity * 3600), min_revocation_version=1)
    print(f"published index {res.index_version}: revocation list {res.revocation_version} "
          f"({res.entries} entries, {res.added} new, deltas from {res.deltas or 'none'})"
          + (f", trust list {res.trust_version}" if res.trust_version else ""))
    return 0


def register(commands, issuer) -> None:
    p = issuer.add_parser("revoke", help="revoke a credential (pending until `issuer publish`)")
    p.add_argument("dir", help="issuer folder (from `scanpoint issuer init`)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--serial", help="the credential serial, hex")
    g.add_argument("--text", help="the credential's QR text (its serial is read from it)")
    p.set_defaults(func=revoke)
    p = issuer.add_parser("publish", help="sign and write the lists as static files under DIR/lists")
    p.add_argument("dir", help="issuer folder (serve it with any static HTTP server)")
    p.add_argument("--validity", type=float, default=24.0,
                   help="revocation list validity in hours (default 24)")
    p.add_argument("--trust-validity", type=float, default=48.0,
                   help="trust list validity in hours (default 48)")
    p.add_argument("--keep-deltas", type=int, default=8,
                   help="publish deltas from this many previous versions (default 8)")
    p.set_defaults(func=publish)
