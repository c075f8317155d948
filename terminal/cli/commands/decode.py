"""``scanpoint decode [--json] [--decoder NAME] IMAGE...``: print the QR texts found in images.

A diagnostic for staff and installers ("does the terminal read this code?"). The decoder is the
one the daemon uses; the hardware libraries are imported here, inside the handler, because the
command line is the composition root and ``terminal`` itself never imports them.
"""

from __future__ import annotations

import argparse
import json
import sys

from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.errors import ConfigError, UsageError


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint decode``."""
    parser = commands.add_parser(
        "decode", help="print the QR code texts found in image files",
        description="Decode QR codes in image files with the terminal's decoder. Exit status 0 "
                    "when every image could be read (with or without codes), 4 when one could "
                    "not be decoded as an image (the others are still decoded), 2 when a file is "
                    "missing or not readable.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", type=types.image_file,
                        help="image files (PNG, JPEG, WebP, ...)")
    parser.add_argument("--json", action="store_true",
                        help='one JSON line per image: {"image": ..., "texts": [...]}')
    parser.add_argument("--decoder", default="zxing", metavar="NAME",
                        help="zxing (default), pyzbar or zxing+pyzbar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decode each image and print its texts; images that cannot be decoded are reported (one
    line each) and skipped."""
    from drivers.decoder import open_decoder
    from drivers.images import ImageUnreadable, load_gray

    try:
        decoder = open_decoder(args.decoder, images=True)   # every code; thorough: no camera to keep up with
    except ConfigError as exc:
        raise UsageError(f"argument --decoder: {exc}") from None
    status = Exit.OK
    for image in args.images:
        texts: list[str] = []
        error = None
        try:
            texts = decoder.decode(load_gray(image))
        except ImageUnreadable as exc:
            error = str(exc)
            status = Exit.FAILURE
            print(f"scanpoint decode: {error}", file=sys.stderr, flush=True)
        if args.json:
            record: dict[str, object] = {"image": image, "texts": texts}
            if error is not None:
                record["error"] = error
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif error is None:
            for text in texts or ["no QR code found"]:
                print(f"{image}: {text}", flush=True)
    return status
