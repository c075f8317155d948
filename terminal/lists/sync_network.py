"""What ``scanpoint-sync.service`` may reach: the list server and the name servers, as a drop-in.

The packaged sync unit denies every address but localhost (``IPAddressDeny=any``), so a site's
list server has to be named. ``scanpoint setup`` resolves the source's host (and any
``[sync] redirect_hosts``) once, adds the name servers of ``/etc/resolv.conf`` (a Raspberry Pi
usually asks its router directly, not a local stub), and writes them to
``/etc/systemd/system/scanpoint-sync.service.d/list-server.conf``. Loopback addresses are
already allowed and left out; a folder source needs no network at all.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from terminal.storage import atomic_write

log = logging.getLogger("scanpoint.sync_network")

UNIT = "scanpoint-sync.service"
#: where an admin's own unit settings go; the package's unit lives in /lib/systemd/system
UNIT_DIR = Path("/etc/systemd/system")
#: the drop-in setup owns (an admin's ``systemctl edit`` writes override.conf beside it)
DROPIN_NAME = "list-server.conf"
RESOLV_CONF = Path("/etc/resolv.conf")
#: a name resolving to more addresses than this is not a list server we can pin
MAX_ADDRESSES = 32


@dataclass(frozen=True)
class System:
    """Where this machine keeps units and name servers (tests point these at a temporary folder)."""

    unit_dir: Path = UNIT_DIR
    #: the folders a unit may be installed in (the package's, then an admin's)
    search: tuple[Path, ...] = (Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"),
                                UNIT_DIR)
    resolv_conf: Path = RESOLV_CONF

    def unit_installed(self) -> bool:
        """True when the sync unit is installed here."""
        return any((folder / UNIT).exists() for folder in self.search)


@dataclass(frozen=True)
class Allowance:
    """The addresses the sync unit needs beyond localhost, and where each group came from."""

    hosts: tuple[str, ...]              # the names resolved (no paths, no credentials)
    server: tuple[str, ...]             # their addresses
    nameservers: tuple[str, ...]        # from resolv.conf

    @property
    def needed(self) -> bool:
        """True when the unit would be refused something without a drop-in."""
        return bool(self.server or self.nameservers)


def _host_port(entry: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` (the shapes of ``redirect_hosts``) split."""
    parts = urllib.parse.urlsplit("//" + entry)
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    return parts.hostname or "", port


def _outside_loopback(addresses: Iterable[str]) -> list[str]:
    kept = set()
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if not address.is_loopback:
            kept.add(str(address))
    return sorted(kept, key=lambda a: (":" in a, a))


class AddressLookupFailed(OSError):
    """A host that setup's own sync just reached does not resolve any more (or resolves to too
    many addresses to pin)."""


def resolve_hosts(entries: Sequence[tuple[str, int]]) -> list[str]:
    """Every address of every ``(host, port)``, loopback left out."""
    found: list[str] = []
    for host, port in entries:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise AddressLookupFailed(f"cannot look up {host}: {exc}") from None
        found += [str(info[4][0]) for info in infos]
    addresses = _outside_loopback(found)
    if len(addresses) > MAX_ADDRESSES:
        raise AddressLookupFailed(f"{', '.join(h for h, _ in entries)} resolve to {len(addresses)} "
                                  f"addresses (more than {MAX_ADDRESSES} to pin)")
    return addresses


def nameservers(resolv_conf: Path = RESOLV_CONF) -> list[str]:
    """The ``nameserver`` addresses of ``resolv_conf`` outside loopback ([] if it is unreadable)."""
    try:
        text = resolv_conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    named = [line.split()[1] for line in text.splitlines()
             if line.startswith("nameserver") and len(line.split()) >= 2]
    return _outside_loopback(named)


def allowance(source: str, redirect_hosts: Sequence[str] = (), *,
              resolv_conf: Path = RESOLV_CONF) -> Allowance:
    """What the sync unit must reach to fetch from ``source``; nothing for a folder source."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return Allowance((), (), ())
    default_port = 443 if parts.scheme == "https" else 80
    entries = [(parts.hostname or "", parts.port or default_port)]
    entries += [_host_port(entry, default_port) for entry in redirect_hosts]
    server = resolve_hosts(entries)
    names = tuple(sorted({host for host, _ in entries}))
    # address literals need no name server, nor does a server on this machine (/etc/hosts)
    lookups = server and not all(_is_literal(host) for host in names)
    return Allowance(names, tuple(server), tuple(nameservers(resolv_conf)) if lookups else ())


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def dropin_text(allow: Allowance, *, when: float) -> str:
    """The drop-in: a comment saying what wrote it (``when``, Unix seconds) and why, then the
    ``IPAddressAllow=`` lines."""
    stamp = time.strftime("%Y-%m-%d", time.gmtime(when))
    lines = [f"# Written by `scanpoint setup` on {stamp}: what {UNIT} may reach besides localhost.",
             f"# The list server ({', '.join(allow.hosts)}) as it resolved then; run setup again "
             "after it moves",
             "# (`scanpoint sync --once` names the new addresses when a connection is refused).",
             "# Your own settings belong in override.conf (`systemctl edit scanpoint-sync`).",
             "[Service]"]
    if allow.server:
        lines.append(f"IPAddressAllow={' '.join(allow.server)}")
    if allow.nameservers:
        lines.append("# the name servers of /etc/resolv.conf")
        lines.append(f"IPAddressAllow={' '.join(allow.nameservers)}")
    return "\n".join(lines) + "\n"


def write_dropin(allow: Allowance, *, when: float, unit_dir: Path = UNIT_DIR) -> Path:
    """Write setup's drop-in (replacing the one an earlier setup wrote); returns its path.

    Raises :class:`OSError` when ``unit_dir`` cannot be written (setup is not root).
    """
    folder = unit_dir / f"{UNIT}.d"
    path = folder / DROPIN_NAME
    folder.mkdir(mode=0o755, exist_ok=True)
    atomic_write(path, dropin_text(allow, when=when), mode=0o644)
    log.info("event=sync_dropin_written path=%s server_addresses=%d nameservers=%d", path,
             len(allow.server), len(allow.nameservers))
    return path


def reload_systemd(unit_dir: Path = UNIT_DIR) -> bool:
    """``systemctl daemon-reload`` so the drop-in applies to the next sync; only for the real
    unit folder on a machine booted with systemd. False when it was not done."""
    systemctl = shutil.which("systemctl")
    if unit_dir != UNIT_DIR or systemctl is None or not Path("/run/systemd/system").is_dir():
        return False
    try:
        subprocess.run([systemctl, "daemon-reload"], check=True, timeout=60, capture_output=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("event=daemon_reload_failed error=%s", exc.__class__.__name__)
        return False
    return True


__all__ = ["DROPIN_NAME", "UNIT_DIR", "AddressLookupFailed", "Allowance", "System", "allowance",
           "dropin_text", "nameservers", "reload_systemd", "resolve_hosts", "write_dropin"]
