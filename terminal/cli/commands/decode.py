"""``scanpoint decode [--json] [--decoder NAME] IMAGE...``: print the QR texts found in images.

A diagnostic for staff and installers ("does the terminal read this code?"). The decoder is the
one the daemon uses; the hardware libraries are imported here, inside the handler, because the
command line is the composition root and ``terminal`` itself never imports them.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK = 0
EXIT_FAILURE = 4


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint decode``."""
    parser = commands.add_parser(
        "decode", help="print the QR code texts found in image files",
        description="Decode QR codes in image files with the terminal's decoder. Exit status 0 "
                    "when every image could be read (with or without codes), 4 when one could not.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, WebP, ...)")
    parser.add_argument("--json", action="store_true",
                        help='one JSON line per image: {"image": ..., "texts": [...]}')
    parser.add_argument("--decoder", default="zxing", metavar="NAME",
                        help="zxing (default), pyzbar or zxing+pyzbar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Decode each image and print its texts; unreadable images are reported and skipped."""
    from drivers.decoder import open_decoder
    from drivers.images import ImageUnreadable, load_gray

    decoder = open_decoder(args.decoder, images=True)   # every code; thorough, no camera to keep up with
    status = EXIT_OK
    for image in args.images:
        record: dict[str, object] = {"image": image, "texts": []}
        try:
            record["texts"] = decoder.decode(load_gray(image))
        except ImageUnreadable as exc:
            record["error"] = str(exc)
            status = EXIT_FAILURE
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        elif "error" in record:
            print(f"scanpoint: {record['error']}", file=sys.stderr)
        elif not record["texts"]:
            print(f"{image}: no QR code found")
        else:
            for text in record["texts"]:
                print(f"{image}: {text}")
    return status
