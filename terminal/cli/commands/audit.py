"""``scanpoint audit export|find|purge``: read the privacy-preserving decision log.

``export --since 2026-11-24 [--format csv|jsonl]`` writes rows (hashes and reasons only) to stdout
or a file; ``find CODE`` looks up the verification code a clerk reads from a slip; ``purge``
applies the retention now (it also runs by itself).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from terminal.cli.commands.status import DEFAULT_CONFIG, load_config
from terminal.counter.audit import AUDIT_FILE, AuditLog, parse_since
from terminal.errors import ConfigError
from terminal.timefmt import iso



def register(commands, issuer) -> None:
    parser = commands.add_parser(
        "audit", help="export or search the decision audit log (hashes and reasons only)",
        description="Read the audit log in STATE_DIR/audit.db. It holds time, decision, reason, "
                    "format, type, key id and a keyed hash of the serial: never a payload, "
                    "name or ID.")
    sub = parser.add_subparsers(dest="audit_command", metavar="AUDIT_COMMAND")
    sub.required = True

    export = sub.add_parser("export", help="write rows since a time as CSV or JSON lines",
                            description="Write audit rows at or after --since, oldest first.")
    export.add_argument("--since", required=True,
                        help="ISO date/time (naive = UTC), e.g. 2026-11-24 or "
                             "2026-11-24T08:00:00+08:00, or a span: 7d, 12h, 30m")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv",
                        help="output format (default: csv)")
    export.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    _common(export)
    export.set_defaults(func=handle_export)

    find = sub.add_parser("find", help="find rows by the verification code printed on a slip",
                          description="Look up the 8-character code a clerk reads from a slip "
                                      "(dashes and case ignored).")
    find.add_argument("code", help="verification code, e.g. WQ2H-W7VO")
    _common(find)
    find.set_defaults(func=handle_find)

    purge = sub.add_parser("purge", help="delete rows older than the retention now",
                           description="Apply [audit] retention_days now (it also runs by itself).")
    _common(purge)
    purge.set_defaults(func=handle_purge)


def _common(parser) -> None:
    parser.add_argument("--config", default=None,
                        help=f"terminal config file (default: {DEFAULT_CONFIG} if present)")



def _open(args) -> AuditLog | None:
    config = load_config(args.config)
    state = Path(config.terminal.state_dir)
    if not (state / AUDIT_FILE).exists():
        print(f"scanpoint: no audit log in {state} (nothing decided yet, or [audit] disabled)",
              file=sys.stderr)
        return None
    return AuditLog(state, retention_days=config.audit.retention_days)


def handle_export(args) -> int:
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    audit = _open(args)
    if audit is None:
        return 4
    with audit:
        if args.output == "-":
            try:
                count = audit.export(sys.stdout, since, args.format)
                sys.stdout.flush()
            except BrokenPipeError:             # `... | head`: the reader has had enough
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
        else:
            with open(args.output, "w", encoding="utf-8", newline="") as out:
                count = audit.export(out, since, args.format)
    print(f"exported {count} rows since {iso(since)}", file=sys.stderr)
    return 0


def handle_find(args) -> int:
    code = args.code.replace("-", "").replace(" ", "").upper()
    audit = _open(args)
    if audit is None:
        return 4
    with audit:
        found = audit.find(code)
    for row in found:
        print(json.dumps({"time": iso(row["at"]), **row}, ensure_ascii=False))
    if not found:
        print(f"no audit row with code {code} within the retention period", file=sys.stderr)
        return 1
    return 0


def handle_purge(args) -> int:
    audit = _open(args)
    if audit is None:
        return 4
    with audit:
        removed = audit.purge()
    print(f"purged {removed} rows")
    return 0
