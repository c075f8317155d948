"""``scanpoint issuer init`` and ``scanpoint issuer issue``: a demo issuer for native credentials.

Private keys are written mode 0600 and never printed; only public keys and key ids are shown.
"""

from __future__ import annotations

import argparse
import sys

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.errors import UsageError
from terminal.timefmt import iso, parse_at


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint issuer init`` and ``scanpoint issuer issue``."""
    from terminal.formats import native
    from terminal.issuer import directory as iss
    from terminal.issuer.credentials import DEFAULT_TTL
    from terminal.verify.policy import PRESETS

    p = issuer.add_parser(
        "init", help="create an issuer directory: keys, signed lists, terminal config",
        description="Create DIR with a root key, one issuer key, a signed trust list, a signed "
                    "empty revocation list and DIR/terminal.toml, a terminal config that trusts "
                    "this root and syncs the lists published under DIR/public.")
    p.add_argument("dir", metavar="DIR", type=types.new_issuer_dir,
                   help="issuer folder to create (or to fill, if it exists)")
    p.add_argument("--issuer", default="Scanpoint Demo Issuer",
                   help="issuer name in credentials (default: Scanpoint Demo Issuer)")
    p.add_argument("--site", default="checkpoint", choices=sorted(PRESETS),
                   help="site preset written into terminal.toml (default: checkpoint)")
    p.add_argument("--force", action="store_true",
                   help="replace existing keys (terminals trusting the old root stop passing)")
    p.add_argument("--url", metavar="URL", type=types.list_source,
                   help="where DIR/public will be served (any static HTTP server; never serve "
                        "DIR itself, it holds the private keys); terminal.toml syncs from it "
                        "(default: from the folder DIR/public)")
    p.set_defaults(func=run_init)

    p = issuer.add_parser(
        "issue", help="issue a native credential and print its QR text",
        description="Sign a short-lived credential with DIR's issuer key and print its QR text. "
                    "The name is masked and the holder ID hashed before signing; neither is "
                    "stored or printed.")
    p.add_argument("dir", metavar="DIR", type=types.issuer_dir,
                   help="issuer folder (from 'scanpoint issuer init')")
    p.add_argument("--type", required=True, choices=iss.TYPES, help="credential type")
    p.add_argument("--status", choices=native.STATUSES, help="health status (health type only)")
    p.add_argument("--name", required=True, help="holder's display name (masked: 张三丰 → 张*丰)")
    p.add_argument("--holder-id", required=True, metavar="ID",
                   help="holder's ID number (only a keyed hash is signed); '-' reads it from "
                        "standard input, keeping it out of shell history")
    p.add_argument("--ttl", type=types.int_range(iss.MIN_TTL, iss.MAX_TTL, "seconds"),
                   default=DEFAULT_TTL, metavar="SECONDS",
                   help=f"lifetime, {iss.MIN_TTL}-{iss.MAX_TTL} s (default {DEFAULT_TTL})")
    p.add_argument("--at", metavar="ISO-8601", type=types.at_time,
                   help="issue as if at this time (ISO-8601 or Unix seconds; default: now)")
    p.add_argument("--png", metavar="FILE", type=types.png_file,
                   help="also write the QR code as a PNG image")
    p.set_defaults(func=run_issue)


def run_init(args: argparse.Namespace) -> int:
    """Create the folder, publish its lists and prime the terminal state beside its config."""
    from terminal.cli.commands.publish import after_init
    from terminal.issuer import directory as iss
    from terminal.lists.signedlist import key_id

    d = iss.init(args.dir, issuer=args.issuer, site=args.site, force=args.force)
    root_pub = d.root_public_key()
    key = d.issuer_key()
    print(f"issuer directory: {d.path}")
    print(f"root key id:      {key_id(root_pub).hex()}  (public key in {iss.ROOT_PUB})")
    print(f"issuer key id:    {key.kid.hex()}  ({key.issuer}: {', '.join(key.types)})")
    print(f"trust list:       {d.trust_list_path.name} (version 1)")
    print(f"revocation list:  {d.revocation_list_path.name} (version 1, empty)")
    print(f"terminal config:  {d.config_path}")
    print(after_init(d.path, args.url))
    return Exit.OK


def run_issue(args: argparse.Namespace) -> int:
    """Print a new credential's QR text (and write it as a PNG with ``--png``)."""
    from terminal.issuer import directory as iss

    holder_id = sys.stdin.readline().strip() if args.holder_id == "-" else args.holder_id
    now = int(parse_at(None) if args.at is None else args.at)
    try:
        text = iss.IssuerDir(args.dir).issue(args.type, args.name, holder_id, status=args.status,
                                             ttl=args.ttl, now=now)
    except ValueError as exc:      # a combination argparse cannot see: type and status, name
        raise UsageError(str(exc)) from None
    print(text)
    if args.png:
        with types.writing(args.png):
            write_png(text, args.png)
        print(f"wrote {args.png} (valid until {iso(now + args.ttl)})", file=sys.stderr)
    return Exit.OK


def write_png(text: str, path: str) -> None:
    """Render ``text`` as a QR code PNG (alphanumeric mode, error correction M)."""
    import segno

    segno.make_qr(text, error="m", boost_error=False).save(path, kind="png", scale=6, border=4)
