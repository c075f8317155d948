"""``scanpoint verify``: decide one or more QR credentials from text or images, offline.

Exit status: 0 pass, 1 deny, 3 check (with several codes: any deny → 1, else any check → 3),
2 usage or configuration error, 4 an image held no readable QR code (or was no readable image).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.errors import ScanpointError, TrustListError, UsageError
from terminal.reasons import Decision
from terminal.result import Result
from terminal.timefmt import iso, parse_at


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint verify``."""
    p = commands.add_parser(
        "verify", help="verify QR credentials (text or image files) offline",
        description="Verify QR credentials against the terminal's trust list and site policy. "
                    "Exit status: 0 pass, 1 deny, 3 check, 2 usage or configuration error, "
                    "4 no QR code found in an image. With several codes: any deny gives 1, "
                    "else any check 3.")
    p.add_argument("--config", metavar="FILE", type=types.config_file,
                   help="terminal config (TOML); default: built-in defaults (checkpoint policy, "
                        "no trust list: only --dsc certificates can make a code pass)")
    p.add_argument("--at", metavar="ISO-8601", type=types.at_time,
                   help="verify as if at this time (e.g. 2026-01-01T08:00:00Z; no zone = UTC; "
                        "or Unix seconds); default: now")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per code: decision, reason, format, type, masked name, expiry")
    p.add_argument("--dsc", nargs="+", default=[], metavar="PATH", type=types.certificates,
                   help="EU DCC signer certificates (PEM/DER files or folders)")
    p.add_argument("--decoder", default="zxing", choices=("zxing", "pyzbar", "zxing+pyzbar"),
                   help="QR decoder for IMAGE files (default: zxing)")
    p.add_argument("--text", metavar="QR", help="the QR code's text")
    p.add_argument("images", nargs="*", metavar="IMAGE", type=types.image_file,
                   help="image files holding QR codes")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decide each code (from ``--text`` or the images) and print the decisions."""
    from terminal import config as config_mod
    from terminal.verify.verifier import Verifier

    if (args.text is None) == (not args.images):
        raise UsageError("give either --text QR or one or more IMAGE files")
    now = parse_at(None) if args.at is None else args.at
    cfg = types.read_config(args.config) if args.config else config_mod.Config()
    trust = None
    try:
        from terminal.lists.trust import load_configured
        trust = load_configured(cfg, one_shot=True)   # a check or two: no tables built
    except TrustListError as exc:
        print(f"scanpoint verify: warning: trust list refused ({exc}); native credentials will "
              "get 'check'", file=sys.stderr)
    dsc = None
    dsc_paths = ([cfg.dcc.dsc_dir] if cfg.dcc.dsc_dir else []) + list(args.dsc)
    if dsc_paths:
        from terminal.formats import dsc as dsc_mod
        try:
            dsc = dsc_mod.load_certificates(dsc_paths)
        except (ScanpointError, ValueError, OSError) as exc:
            raise UsageError(f"signer certificates refused: {exc}") from None
    from terminal.lists.revocation import RevocationCheck
    verifier = Verifier(trust, cfg.policy.to_policy(), skew=cfg.policy.skew, dsc=dsc,
                        revocation=RevocationCheck.from_config(cfg))

    if args.text is not None:
        texts: list[tuple[str, str | None]] = [("--text", args.text)]
    else:
        texts = _texts_from_images(args.images, args.decoder, cfg.camera.max_image_pixels)
    decisions: list[Decision | None] = []
    for source, text in texts:
        result = verifier.verify(text, now) if text is not None else None
        _emit(args.json, source, result)
        decisions.append(result.decision if result is not None else None)
    return exit_status(decisions)


def exit_status(decisions: list[Decision | None]) -> int:
    """Any deny → 1, else any check → 3, else any image without a code (None) → 4, else 0."""
    if Decision.DENY in decisions:
        return Exit.DENY
    if Decision.CHECK in decisions:
        return Exit.CHECK
    if None in decisions:
        return Exit.FAILURE
    return Exit.OK


def _texts_from_images(paths: list[str], decoder: str,
                       max_pixels: int) -> list[tuple[str, str | None]]:
    """(source, text) for each QR code found; (source, None) for an image without one, or one
    that cannot be decoded as an image or is over ``max_pixels`` (said on stderr, as ``decode``
    does)."""
    from drivers.images import ImageUnreadable

    decode, load = _image_decoder(decoder)
    out: list[tuple[str, str | None]] = []
    for path in paths:
        try:
            texts = decode(load(path, max_pixels=max_pixels))
        except ImageUnreadable as exc:
            print(f"scanpoint verify: {exc}", file=sys.stderr, flush=True)
            texts = []
        out += [(path, t) for t in texts] or [(path, None)]
    return out


def _image_decoder(name: str) -> tuple[Callable[..., list[str]], Callable[..., Any]]:
    """The project's QR decoder and image loader (drivers: the CLI is where devices are chosen)."""
    from drivers.decoder import open_decoder
    from drivers.images import load_gray

    return open_decoder(name, images=True).decode, load_gray


def _emit(as_json: bool, source: str, result: Result | None) -> None:
    if result is None:
        if as_json:
            print(json.dumps({"source": source, "decision": None, "error": "no QR code found"}))
        else:
            print(f"{source}: no QR code found")
        return
    c = result.credential
    expires = iso(c.expires) if c is not None else None
    record = {
        "source": source,
        "decision": result.decision.value,
        "reason": result.reason.value,
        "reason_text": result.reason.text,
        "format": result.format,
        "type": c.type if c else None,
        "status": c.status if c else None,
        "masked_name": c.masked_name if c else None,
        "issuer": c.issuer if c else None,
        "expires": expires,
    }
    if as_json:
        print(json.dumps(record, ensure_ascii=False))
        return
    line = f"{result.decision.value.upper():5} {result.reason.value}: {result.reason.text}"
    if c is not None:
        bits = [c.type, c.status or "", c.masked_name or "", f"expires {expires}"]
        line += "  [" + " ".join(b for b in bits if b) + "]"
    if source != "--text":
        line = f"{source}: {line}"
    print(line)
