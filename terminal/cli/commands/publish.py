"""``scanpoint issuer revoke DIR --serial S | --text QR`` and ``scanpoint issuer publish DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM
from terminal.errors import UsageError

if TYPE_CHECKING:
    from terminal.lists.publish import Published


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
        raise UsageError(f"argument --text: no serial could be read from that code "
                         f"({result.reason}: {result.reason.text}); nothing revoked")
    return result.credential.serial


def publish_dir(directory: Path, *, url: str | None = None, revocation_validity: int = 24 * 3600,
                trust_validity: int = 48 * 3600, keep_deltas: int = 8) -> Published:
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
                 " served at (never DIR: it holds the private keys), or a folder\n"
                 f"source = {json.dumps(source, ensure_ascii=False)}\n")
    # prime the terminal state beside the config from the folder, so the config works at once
    from terminal import config as config_mod
    from terminal.lists.sync import SyncClient, SyncSettings
    settings = SyncSettings.for_terminal(config_mod.load(cfg))
    settings.source = str(listfiles.public_root(directory).resolve())
    result = SyncClient(settings).run_once()
    return (f"published public/lists/ (index {res.index_version}); terminal.toml syncs from {source}; "
            f"{result.line()}")


def revoke(args: argparse.Namespace) -> int:
    """Add a serial to the pending revocations (``--serial`` or read from ``--text``)."""
    from terminal.lists.publish import Publisher
    directory = Path(args.dir)
    serial = args.serial if args.serial is not None else serial_from_text(args.text.strip(),
                                                                          directory)
    with Publisher(directory) as pub:
        new = pub.revoke_serial(serial)
        pending = pub.pending()
    print(f"{'revoked' if new else 'already revoked'}; {pending} pending until "
          f"`scanpoint issuer publish {directory}`")
    return Exit.OK


def publish(args: argparse.Namespace) -> int:
    """Sign and write the lists under DIR/public/lists."""
    res = publish_dir(Path(args.dir), revocation_validity=int(args.validity * 3600),
                      trust_validity=int(args.trust_validity * 3600),
                      keep_deltas=args.keep_deltas)
    print(f"published index {res.index_version}: revocation list {res.revocation_version} "
          f"({res.entries} entries, {res.added} new, deltas from {res.deltas or 'none'})"
          + (f", trust list {res.trust_version}" if res.trust_version else ""))
    return Exit.OK


#: the longest list validity ``issuer publish`` signs: lists are meant to be refreshed daily
MAX_VALIDITY_HOURS = 24 * 366
#: deltas kept from older versions (each is a file under DIR/public/lists)
MAX_KEEP_DELTAS = 1000


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint issuer revoke`` and ``scanpoint issuer publish``."""
    from terminal.formats.native import SERIAL_LENGTH

    p = issuer.add_parser(
        "revoke", help="revoke a credential (pending until 'scanpoint issuer publish')",
        description="Add a credential's serial to DIR's pending revocations. A code given with "
                    "--text must verify against DIR's own trust list (an expired one still "
                    "yields its serial). Terminals learn of it after 'scanpoint issuer publish "
                    "DIR' and their next sync.")
    p.add_argument("dir", metavar="DIR", type=types.issuer_dir,
                   help="issuer folder (from 'scanpoint issuer init')")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--serial", type=types.serial_hex(SERIAL_LENGTH), metavar="HEX",
                   help=f"the credential serial, {2 * SERIAL_LENGTH} hex digits")
    g.add_argument("--text", metavar="QR",
                   help="the credential's QR text (its serial is read from it)")
    p.set_defaults(func=revoke)
    p = issuer.add_parser(
        "publish", help="sign and write the lists as static files under DIR/public/lists",
        description="Sign DIR's trust list and revocation list (with the pending revocations) "
                    "as a new version and write them, with an index and deltas, under "
                    "DIR/public/lists. Serve DIR/public with any static HTTP server, never DIR.")
    p.add_argument("dir", metavar="DIR", type=types.issuer_dir,
                   help="issuer folder (serve DIR/public with any static HTTP server)")
    p.add_argument("--validity", type=types.hours(MAX_VALIDITY_HOURS), default=24.0,
                   metavar="HOURS",
                   help=f"revocation list validity in hours (default 24, at most "
                        f"{MAX_VALIDITY_HOURS})")
    p.add_argument("--trust-validity", type=types.hours(MAX_VALIDITY_HOURS), default=48.0,
                   metavar="HOURS",
                   help=f"trust list validity in hours (default 48, at most "
                        f"{MAX_VALIDITY_HOURS})")
    p.add_argument("--keep-deltas", type=types.int_range(0, MAX_KEEP_DELTAS), default=8,
                   metavar="N",
                   help=f"publish deltas from this many previous versions (default 8, at most "
                        f"{MAX_KEEP_DELTAS})")
    p.set_defaults(func=publish)
