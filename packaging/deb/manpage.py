"""Print the scanpoint(1) manual page, made from the command line's own argparse definitions.

Run by ``tools/build-deb`` with the packaged venv's Python (``python3 manpage.py VERSION DATE``),
so the page lists exactly the commands and options of the build it ships with.
"""

from __future__ import annotations

import argparse
import sys


def roff(text: str) -> str:
    """Escape text for a roff line: backslashes, hyphens and a leading control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in the order they were added."""
    for action in parser._actions:   # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def usage(sub: argparse.ArgumentParser) -> str:
    return " ".join(sub.format_usage().replace("usage:", "", 1).split())


def exit_status() -> list[str]:
    """The exit table of ``scanpoint --help`` (terminal/cli/exits.py) as tagged paragraphs."""
    from terminal.cli.exits import HELP

    rows: list[list[str]] = []
    for line in HELP.splitlines()[1:]:
        words = line.split()
        if words and words[0].isdigit() and line.startswith("  ") and not line.startswith("    "):
            rows.append([words[0], " ".join(words[1:])])
        elif rows:
            rows[-1][1] += " " + " ".join(words)
    return [part for code, text in rows for part in (".TP", f"\\fB{code}\\fR", roff(text))]


def page(version: str, date: str) -> str:
    from terminal.cli.main import build_parser

    parser = build_parser()
    out = [
        f'.TH SCANPOINT 1 "{date}" "scanpoint {version}" "User Commands"',
        ".SH NAME",
        "scanpoint \\- offline QR\\-credential scanning terminal",
        ".SH SYNOPSIS",
        ".B scanpoint",
        "[\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        roff("scanpoint decodes QR codes shown to a camera, verifies SM2/SM3-signed credentials "
             "offline against cached issuer keys, checks a synced revocation list and the site's "
             "policy, and answers pass, deny or check with LEDs, a gate relay, a beep and, at a "
             "pharmacy, a printed slip."),
        ".PP",
        roff("After installing the package, run scanpoint setup once; the scanner unit waits "
             "until it has. Every command prints its options with --help."),
        ".SH COMMANDS",
    ]
    for _, text, sub in subcommands(parser):
        nested = subcommands(sub)
        if nested:
            for _, inner_text, inner_sub in nested:
                out += [".TP", f"\\fB{roff(usage(inner_sub))}\\fR", roff(inner_text)]
        else:
            out += [".TP", f"\\fB{roff(usage(sub))}\\fR", roff(text)]
    out += [
        ".SH EXIT STATUS",
        *exit_status(),
        ".SH FILES",
        ".TP", "/etc/scanpoint/scanpoint.toml",
        roff("the configuration: every setting with its default and what it does"),
        ".TP", "/var/lib/scanpoint",
        roff("state: revocation store, trust list, audit log, print queue, status"),
        ".TP", "/opt/scanpoint/venv",
        roff("the program, in a Python virtual environment that sees the system's packages"),
        ".TP", "/etc/pam.d/scanpoint\\-kiosk",
        roff("the PAM service of the kiosk unit (a logind session on tty1 for cage)"),
        ".SH SEE ALSO",
        "\\fBsystemctl\\fR(1): scanpoint.service, scanpoint\\-sync.timer, "
        "scanpoint\\-display.service (enabled), scanpoint\\-kiosk.service (enable it for a "
        "screen on tty1);",
        "/usr/share/doc/scanpoint/README.md.gz",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(page(sys.argv[1], sys.argv[2]))
