"""``scanpoint status [--config FILE] [--json]``: is the daemon running, is its camera healthy,
what did it decide last — plus the sync, audit and printer sections.

The daemon rewrites ``STATE_DIR/status.json`` atomically about once a second; a file that has not
been refreshed for a while, or whose process is gone, means the daemon is not running.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from terminal import config as config_mod
from terminal.cli import args as types
from terminal.cli.args import DEFAULT_CONFIG, load_config
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM
from terminal.daemon.service import read_status

log = logging.getLogger("scanpoint.status")


def sections() -> tuple[tuple[str, Callable[[config_mod.Config], dict[str, Any]]], ...]:
    """(label, ``status_section``) of each part the report shows under the label (the dict is
    the section itself, not wrapped in the label). Imported here, when the status is collected,
    so other commands do not load them."""
    from terminal.counter import audit, printqueue
    from terminal.daemon import readers
    from terminal.lists import status

    return (("sync", status.status_section), ("audit", audit.status_section),
            ("printer", printqueue.status_section), ("reader", readers.status_section))


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint status``."""
    parser = commands.add_parser(
        "status", help="show whether the scanner daemon runs, its camera and last decision",
        description="Show the scanner daemon's state from its status file, plus the list-sync, "
                    "audit-log and printer sections. Exit 0 when running and healthy, 4 "
                    "otherwise.")
    parser.add_argument("--config", default=None, type=types.config_file, metavar="FILE",
                        help=f"terminal config file (default: {DEFAULT_CONFIG} if present)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=handle)


def daemon_state(document: dict[str, Any] | None, *, now: float | None = None) -> str:
    """'running', 'camera-fault', 'reader-fault', 'stopped', 'not-running' (stale file / dead
    pid), 'never-started' or 'unreadable' (damaged status file)."""
    if document is None:
        return "never-started"
    state = str(document.get("state", "unknown"))
    if state in ("stopped", "unreadable"):
        return state
    now = SYSTEM.time() if now is None else now
    interval = float(document.get("status_interval_s", 1.0) or 1.0)
    age = now - float(document.get("updated_unix", 0) or 0)
    if age > max(10.0, 5 * interval) or not _alive(document.get("pid")):
        return "not-running"
    return state


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True          # exists, owned by the service user
    return True


def collect(config: config_mod.Config) -> dict[str, Any]:
    """The whole status document: daemon plus any part's ``status_section(config)``."""
    document = read_status(config.terminal.state_dir)
    report: dict[str, Any] = {"daemon": document or {}, "state": daemon_state(document)}
    for key, section in sections():
        try:
            value = section(config)
        except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
            value = {"error": f"{type(exc).__name__}: {exc}"}
        report[key] = value
    return report


def format_text(report: dict[str, Any]) -> str:
    daemon = report["daemon"]
    lines = [f"daemon:     {report['state']}"]
    if daemon:
        camera = daemon.get("camera", {})
        lines.append(f"terminal:   {daemon.get('terminal_id')} at {daemon.get('site') or '-'}")
        cam = camera.get("state", "?")
        if camera.get("error"):
            cam += f" — {camera['error']}"
            if camera.get("retry_in_s") is not None and report["state"] == "camera-fault":
                cam += f" (retry in {camera['retry_in_s']} s, {camera.get('failures')} failures)"
        lines.append(f"camera:     {cam}")
        reader = daemon.get("reader")
        if isinstance(reader, dict):
            line = f"{reader.get('state')} — {reader.get('kind')} {reader.get('url')}"
            if reader.get("error"):
                line += f" — {reader['error']}"
            dropped = {k: v for k, v in (reader.get("dropped") or {}).items() if v}
            if dropped:
                line += " (dropped " + ", ".join(f"{k} {v}" for k, v in dropped.items()) + ")"
            lines.append(f"reader:     {line}")
        lines.append(f"health:     {daemon.get('health')}")
        counts = daemon.get("by_decision", {})
        lines.append(f"decisions:  {daemon.get('decisions', 0)} (pass {counts.get('pass', 0)}, "
                     f"deny {counts.get('deny', 0)}, check {counts.get('check', 0)}); "
                     f"frames {daemon.get('frames', 0)}")
        last = daemon.get("last_decision")
        if last:
            lines.append(f"last:       {last['decision']} {last['reason']} — {last['reason_text']} "
                         f"({last['latency_ms']} ms)")
        errors = {k: v for k, v in daemon.get("errors", {}).items() if v}
        if errors:
            lines.append("errors:     " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    for key, section in report.items():
        if key in ("daemon", "state") or (key == "reader" and isinstance(daemon.get("reader"),
                                                                         dict)):
            continue                    # the reader line above already says it
        lines.append(f"{key}:")
        if isinstance(section, dict):
            lines += [f"  {k}: {_flat(v)}" for k, v in section.items()]
        else:
            lines.append(f"  {_flat(section)}")
    return "\n".join(lines)


def _flat(value: Any) -> str:
    """A nested value on one readable line: ``a 1, b: (c 2)``."""
    if isinstance(value, dict):
        if not value:
            return "-"
        return ", ".join(f"{k} {_flat(v)}" if not isinstance(v, dict) else f"{k}: ({_flat(v)})"
                         for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_flat(v) for v in value) or "-"
    return "-" if value is None else str(value)


def handle(args: argparse.Namespace) -> int:
    """Print the status; 0 when the daemon runs and is healthy, 4 otherwise."""
    config = load_config(args.config)
    report = collect(config)
    if args.json:
        print(json.dumps(report, sort_keys=True, default=str))
    else:
        print(format_text(report))
    return Exit.OK if report["state"] == "running" else Exit.FAILURE
