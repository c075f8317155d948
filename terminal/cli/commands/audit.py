"""``scanpoint audit export|find|purge``: read the privacy-preserving decision log.

``export --since 2026-11-24 [--format csv|jsonl]`` writes rows (hashes and reasons only) to stdout
or a file; ``find CODE`` looks up the verification code a clerk reads from a slip; ``purge``
applies the retention now (it also runs by itself).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from terminal.cli import args as types
from terminal.cli.args import DEFAULT_CONFIG, load_config
from terminal.cli.exits import Exit
from terminal.cli.output import stdout_gone
from terminal.counter.audit import AUDIT_FILE, AuditLog
from terminal.errors import ScanpointError
from terminal.timefmt import iso


class NoAuditLog(ScanpointError):
    """STATE_DIR holds no audit log yet: nothing decided, or ``[audit]`` disabled."""


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint audit export``, ``audit find`` and ``audit purge``."""
    parser = commands.add_parser(
        "audit", help="export or search the decision audit log (hashes and reasons only)",
        description="Read the audit log in STATE_DIR/audit.db. It holds time, decision, reason, "
                    "format, type, key id and a keyed hash of the serial: never a payload, "
                    "name or ID.")
    sub = parser.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND",
                                title="audit commands")
    sub.required = True

    export = sub.add_parser("export", help="write rows since a time as CSV or JSON lines",
                            description="Write audit rows at or after --since, oldest first. "
                                        "Exit 0 when written, 4 when there is no audit log.")
    export.add_argument("--since", required=True, type=types.since_time, metavar="WHEN",
                        help="ISO date/time (naive = UTC), e.g. 2026-11-24 or "
                             "2026-11-24T08:00:00+08:00, or a span: 7d, 12h, 30m")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv",
                        help="output format (default: csv)")
    export.add_argument("--output", "-o", default="-", type=types.export_file, metavar="FILE",
                        help="file to write (default: - for standard output)")
    _common(export)
    export.set_defaults(func=handle_export)

    find = sub.add_parser("find", help="find rows by the verification code printed on a slip",
                          description="Look up the 8-character code a clerk reads from a slip "
                                      "(dashes and case ignored). Exit 0 when found, 1 when no "
                                      "row has it, 4 when there is no audit log.")
    find.add_argument("code", type=types.verification_code, metavar="CODE",
                      help="verification code, e.g. WQ2H-W7VO")
    _common(find)
    find.set_defaults(func=handle_find)

    purge = sub.add_parser("purge", help="delete rows older than the retention now",
                           description="Apply [audit] retention_days now (it also runs by itself).")
    _common(purge)
    purge.set_defaults(func=handle_purge)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, type=types.config_file, metavar="FILE",
                        help=f"terminal config file (default: {DEFAULT_CONFIG} if present)")


def _open(args: argparse.Namespace) -> AuditLog:
    config = load_config(args.config)
    state = Path(config.terminal.state_dir)
    if not (state / AUDIT_FILE).exists():
        raise NoAuditLog(f"no audit log in {state} (nothing decided yet, or [audit] disabled)")
    return AuditLog(state, retention_days=config.audit.retention_days)


def handle_export(args: argparse.Namespace) -> int:
    """Write the rows since ``--since``; a reader that stops early (``| head``) is fine."""
    with _open(args) as audit:
        if args.output == "-":
            count = audit.export(sys.stdout, args.since, args.format)
            sys.stdout.flush()
        else:
            with types.writing(args.output), \
                    open(args.output, "w", encoding="utf-8", newline="") as out:
                count = audit.export(out, args.since, args.format)
    if not stdout_gone():         # a reader that left early (| head) wants no summary
        print(f"exported {count} rows since {iso(args.since)}", file=sys.stderr)
    return Exit.OK


def handle_find(args: argparse.Namespace) -> int:
    """Print the rows with ``CODE`` as JSON lines; 1 when there is none."""
    with _open(args) as audit:
        found = audit.find(args.code)
    for row in found:
        print(json.dumps({"time": iso(row["at"]), **row}, ensure_ascii=False))
    if not found:
        print(f"no audit row with code {args.code} within the retention period", file=sys.stderr)
        return Exit.DENY
    return Exit.OK


def handle_purge(args: argparse.Namespace) -> int:
    """Delete rows past the retention."""
    with _open(args) as audit:
        removed = audit.purge()
    print(f"purged {removed} rows")
    return Exit.OK
