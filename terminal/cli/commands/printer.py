"""``scanpoint printer status|test``: check the receipt printer while installing a counter.

``status`` shows the slip queue (waiting, printed) and, with ``--ask``, asks the printer itself
for its paper status; ``test`` prints a sample slip with Chinese text and a QR code. Both open
the serial port directly: stop the scanner daemon first so the two do not share the port.
"""

from __future__ import annotations

import argparse
import json

from terminal.cli import args as types
from terminal.cli.args import DEFAULT_CONFIG, load_config
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM
from terminal.config import Config
from terminal.counter.printqueue import status_section
from terminal.counter.slip import build_slip
from terminal.errors import PrinterError
from terminal.interfaces import Printer, PrintOutcome
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint printer status`` and ``printer test``."""
    parser = commands.add_parser(
        "printer", help="receipt printer: queue and paper status, test slip",
        description="Check the slip printer configured in [printer]. Stop the daemon first "
                    "when using --ask or test: they open the serial port themselves.")
    sub = parser.add_subparsers(dest="printer_command", metavar="PRINTER_COMMAND",
                                title="printer commands")
    sub.required = True
    status = sub.add_parser(
        "status", help="slips waiting and printed; --ask queries the printer",
        description="Show the slip queue as JSON; with --ask also the printer's own paper and "
                    "online status. Exit 0, or 4 when --ask finds the printer offline.")
    status.add_argument("--ask", action="store_true", help="ask the printer (DLE EOT) too")
    test = sub.add_parser(
        "test", help="print a sample slip (Chinese text, QR code)",
        description="Print a sample slip with Chinese text and a QR code and show it as text. "
                    "Exit 0 when printed, 4 when the printer is not ready or did not print.")
    for p in (status, test):
        p.add_argument("--config", default=None, type=types.config_file, metavar="FILE",
                       help=f"terminal config file (default: {DEFAULT_CONFIG} if present)")
        p.add_argument("--url", default=None,
                       help="printer URL instead of [printer] url: a serial device such as "
                            "/dev/ttyUSB0 or any pyserial URL")
    status.set_defaults(func=handle_status)
    test.set_defaults(func=handle_test)



def _printer(config: Config, url: str | None) -> Printer:
    """The configured (or ``--url``) ESC/POS printer, opened by the driver."""
    from terminal.daemon.devices import open_printer

    return open_printer(config, url)


def handle_status(args: argparse.Namespace) -> int:
    """Print the queue (and the printer's answer with ``--ask``)."""
    config = load_config(args.config)
    report = status_section(config)
    if args.ask:
        printer = _printer(config, args.url)
        try:
            status = printer.status()
        finally:
            printer.close()
        report["printer_says"] = {"online": status.online, "paper": status.paper,
                                  "near_end": status.near_end, "detail": status.detail}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return Exit.OK if not args.ask or report["printer_says"]["online"] else Exit.FAILURE


def handle_test(args: argparse.Namespace) -> int:
    """Print a sample slip; 0 when the printer printed it."""
    config = load_config(args.config)
    sample = Credential(format="native", type="insurance", issuer="TEST", key_id="00",
                        serial=b"scanpoint-test-slip", issued_at=0, not_before=0, expires=0,
                        masked_name="测*试", id_tail="0000")
    slip = build_slip(Result(Decision.PASS, Reason.OK, "native", sample, "printer test"),
                      site=config.terminal.site_name + " (测试 TEST)",
                      terminal_id=config.terminal.id, secret=b"\0" * 32, at=SYSTEM.time(),
                      width=config.printer.width, qr=config.printer.qr)
    printer = _printer(config, args.url)
    try:
        status = printer.status()
        if not status.ready:
            raise PrinterError(f"printer not ready: {status.detail}")
        outcome = printer.print_slip(slip)
    finally:
        printer.close()
    print(slip.to_text())
    print(f"printer answered: {outcome.value}")
    return Exit.OK if outcome is PrintOutcome.PRINTED else Exit.FAILURE
