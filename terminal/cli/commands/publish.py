"""``scanpoint issuer revoke DIR --serial S | --text QR`` and ``scanpoint issuer publish DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from terminal.clock import SYSTEM
from terminal.errors import TrustListError


def serial_from_text(text: str, directory: Path) -> bytes:
    """Read a QR text through the verification chain and return its credential's serial.

    The signature must verify against the folder's own trust list (so no one revokes by a typo or
    a forged code); an expired credential still yields its serial.
    """
    from terminal.issuer.directory import IssuerDir
    from terminal.lists.trust import TrustList
    from terminal.verify.verifier import Verifier
    d = IssuerDir(directory)
    trust = TrustList.load(d.trust_list_path, d.root_public_key())
    result = Verifier(trust, skew=0.0).verify(text, SYSTEM.time())
    if result.credential is None or not result.credential.serial:
        raise TrustListError(f"no serial could be read from that code ({result.reason}: "
                             f"{result.reason.text})")
    return result.credential.serial


def publish_dir(directory: Path, *, url: str | None = None, revocation_validity: int = 24 * 3600,
                trust_validity: int = 48 * 3600, keep_deltas: int = 8):
    """Publish the lists of an issuer folder (``issuer init``'s layout) under DIR/public/lists.

    The trust list is republished from the folder's signed ``trust-list.cose`` with a higher
    version; revocation versions continue above the folder's ``revocation-list.cose``.
    """
    from terminal.issuer.directory import IssuerDir
    from terminal.lists.publish import Publisher
    from terminal.lists.signedlist import verify_list
    d = IssuerDir(directory)
    root, root_pub = d.root_private_key(), d.root_public_key()
    trust = verify_list(d.trust_list_path.read_bytes(), root_pub, "trust")
    min_rev = 0
    if d.revocation_list_path.exists():
        min_rev = verify_list(d.revocation_list_path.read_bytes(), root_pub, "revocation").version
    with Publisher(directory, keep_deltas=keep_deltas) as pub:
        return pub.publish(root, revocation_validity=revocation_validity,
                           trust_validity=trust_validity, trust_body=trust.body,
                           min_revocation_version=min_rev, min_trust_version=trust.version)


def after_init(directory: Path, url: str | None) -> str:
    """``issuer init`` hook: publish DIR/public/lists and point DIR/terminal.toml's [sync] at it."""
    from terminal.issuer.directory import IssuerDir
    res = publish_dir(directory)
    from terminal.lists import listfiles
    source = url or listfiles.PUBLIC_DIR
    cfg = IssuerDir(directory).config_path
    with open(cfg, "a", encoding="utf-8") as fh:
        fh.write("\n[sync]\n# where `scanpoint sync` fetches the signed lists: the URL DIR/public is"
                 " served at (never DIR: it holds the private keys), or a folder\n" f'source = "{source}"\n')
    # prime the terminal state beside the config from the folder, so the config works at once
    from terminal import config as config_mod
    from terminal.cli.commands.sync import settings_from
    from terminal.lists.sync import SyncClient
    settings = settings_from(config_mod.load(cfg))
    settings.source = str(listfiles.public_root(directory).resolve())
    result = SyncClient(settings).run_once()
    return (f"published public/lists/ (index {res.index_version}); terminal.toml syncs from {source}; "
            f"{result.line()}")


def revoke(args: argparse.Namespace) -> int:
    from terminal.lists.publish import Publisher
    directory = Path(args.dir)
    if args.serial:
        from terminal.formats.native import SERIAL_LENGTH
        try:
            serial = bytes.fromhex(args.serial)
        except ValueError:
            serial = b""
        if len(serial) != SERIAL_LENGTH:
            # a typo must not print "revoked" while revoking a serial no credential has
            print(f"scanpoint issuer revoke: --serial must be the credential's {SERIAL_LENGTH}-byte "
                  f"serial as {2 * SERIAL_LENGTH} hex digits, got {args.serial!r}; nothing revoked",
                  file=sys.stderr)
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
    from terminal.errors import IssuerError
    try:
        res = publish_dir(Path(args.dir), revocation_validity=int(args.validity * 3600),
                          trust_validity=int(args.trust_validity * 3600),
                          keep_deltas=args.keep_deltas)
    except (IssuerError, OSError) as exc:
        print(f"scanpoint issuer publish: {exc}", file=sys.stderr)
        return 2
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
    p = issuer.add_parser("publish", help="sign and write the lists as static files under DIR/public/lists")
    p.add_argument("dir", help="issuer folder (serve it with any static HTTP server)")
    p.add_argument("--validity", type=float, default=24.0,
                   help="revocation list validity in hours (default 24)")
    p.add_argument("--trust-validity", type=float, default=48.0,
                   help="trust list validity in hours (default 48)")
    p.add_argument("--keep-deltas", type=int, default=8,
                   help="publish deltas from this many previous versions (default 8)")
    p.set_defaults(func=publish)
