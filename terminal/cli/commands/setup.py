"""``scanpoint setup --source URL --root-key HEX [--site checkpoint|pharmacy]``: one-step terminal setup.

Run once after installing the package. It checks what the issuer publishes at ``URL`` against the
root key (the first sync, through the real :class:`~terminal.lists.sync.SyncClient`), and only if
that succeeds writes ``/etc/scanpoint/scanpoint.toml``: the settings it was given set, every other
setting kept as it was or listed as a commented-out default. Then it says in a few lines what is
left to do by hand (camera, pins, printer). Setup either completes or leaves the config untouched.

Run as root on a packaged terminal, the sync runs as the owner of the state folder (the
``scanpoint`` user), so the files it creates belong to the units that use them later.

``scanpoint setup --check`` exits 0 when a root key and a list source are configured and 1 when
setup has not been run (``scanpoint-sync.service`` uses it as its ``ExecCondition``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal import config as config_mod
from terminal.errors import ConfigError, ScanpointError

log = logging.getLogger("scanpoint.setup")

DEFAULT_CONFIG = "/etc/scanpoint/scanpoint.toml"
EXIT_OK, EXIT_NOT_CONFIGURED, EXIT_USAGE, EXIT_FAILURE = 0, 1, 2, 4

HEADER = """\
# scanpoint terminal configuration (/etc/scanpoint/scanpoint.toml).
# Every setting is listed with what it does; a line starting with '#key =' is a commented-out
# default. `scanpoint setup` sets the root key, the list source and the site; uncomment a line to
# change anything else, then: sudo systemctl restart scanpoint. A typo is an error that names it."""


class SetupError(ScanpointError):
    """Setup could not complete: the state folder, the first sync or writing the config failed."""


def conffile_text() -> str:
    """The packaged ``/etc/scanpoint/scanpoint.toml``: every setting a commented-out default."""
    return config_mod.documented_toml(header=HEADER)


def configured(cfg: config_mod.Config) -> bool:
    """True when ``cfg`` pins a root key and names a list source (what setup writes)."""
    return bool(cfg.trust.root_key and cfg.sync.source)


def settings_for(existing: dict[str, Any], *, source: str, root_key: str, site: str | None,
                 hardware: str | None) -> dict[str, dict[str, Any]]:
    """The config's set values: ``existing`` (parsed TOML) with setup's own settings laid over it."""
    values: dict[str, dict[str, Any]] = {}
    for name, section in existing.items():
        if not isinstance(section, dict):
            raise ConfigError(f"{name} = ... is not a [section]: settings belong in one")
        values[name] = dict(section)
    values.setdefault("trust", {})["root_key"] = root_key
    values.setdefault("sync", {})["source"] = source
    if site is not None:
        values.setdefault("policy", {})["site"] = site
    if hardware is not None:
        values.setdefault("terminal", {})["hardware"] = hardware
    else:
        values.setdefault("terminal", {}).setdefault("hardware", "pi")
    return values


def normalise_root_key(text: str) -> str:
    """The root key as lower-case hex without spaces; a :class:`ConfigError` if it is not one."""
    key = "".join(text.split()).lower()
    config_mod.TrustSection(root_key=key)   # validates: hex, and a point on the SM2 curve
    return key


def read_existing(path: Path) -> dict[str, Any]:
    """The settings already in the config file (empty if there is none); invalid TOML is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove it, then run setup "
                          "again") from None


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    tmp = path.with_name(f".{path.name}.setup-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def writable(path: Path) -> None:
    """Refuse early, with the reason, when the config file could not be written afterwards."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK) or (
            path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write {path} (no permission, or {folder} is not a folder); "
                          "run setup with sudo")


def first_sync(cfg: config_mod.Config) -> dict[str, Any]:
    """Run one real sync for ``cfg`` and return its result and what the trust list holds.

    As root with a state folder owned by someone else, the sync runs in a child process as that
    owner: the network-facing parser never runs as root, and the store it creates belongs to the
    units that update it later.
    """
    state = Path(cfg.terminal.state_dir)
    try:
        state.mkdir(parents=True, exist_ok=True, mode=0o750)
        owner = state.stat()
    except OSError as exc:
        raise SetupError(f"cannot create the state folder {state}: {exc.strerror}; "
                         "run setup with sudo") from None
    if os.geteuid() == 0 and owner.st_uid != 0:
        return _in_child_as(owner.st_uid, owner.st_gid, lambda: _sync_and_summarise(cfg))
    return _sync_and_summarise(cfg)


def _sync_and_summarise(cfg: config_mod.Config) -> dict[str, Any]:
    from terminal.cli.commands.sync import settings_from
    from terminal.lists.sync import SyncClient
    from terminal.lists.trust import TrustList, list_path

    result = SyncClient(settings_from(cfg)).run_once()
    out: dict[str, Any] = {"ok": result.ok, "line": result.line(),
                           "revocation": result.revocation_version, "trust": result.trust_version,
                           "keys": 0, "types": []}
    if result.ok:
        try:
            trust = TrustList.load(list_path(cfg), cfg.trust.root_public_key)
        except (ScanpointError, OSError) as exc:
            out.update(ok=False, line=f"sync ok but the trust list is unusable: {exc}")
            return out
        out["keys"] = len(trust.keys)
        out["types"] = sorted({t for key in trust.keys.values() for t in key.types})
    return out


def _in_child_as(uid: int, gid: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child with ``uid``/``gid`` and no other groups; its result as JSON."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: drop privileges for good, work, report, exit without cleanup handlers
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            data = json.dumps(work()).encode()
            with os.fdopen(write_end, "wb") as fh:
                fh.write(data)
        except BaseException as exc:   # noqa: BLE001 - anything must end the child, not escape it
            try:
                os.write(2, f"scanpoint setup: first sync failed: {exc!r}\n".encode())
            finally:
                code = 4
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read(1 << 20)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not data:
        raise SetupError(f"the first sync (run as uid {uid}) did not finish; nothing was written")
    return json.loads(data)


def devices(dev: Path) -> dict[str, list[str]]:
    """GPIO chips and USB serial ports (where receipt printers appear) present under ``dev``.

    Cameras are not looked for: on a Pi the codec and ISP have video and media nodes with or
    without a camera, so their presence would say nothing.
    """
    def found(*patterns: str) -> list[str]:
        return sorted({str(p) for pattern in patterns for p in dev.glob(pattern)})

    return {"gpio": found("gpiochip*"), "serial": found("ttyUSB*", "ttyACM*")}


def left_to_do(cfg: config_mod.Config, trust_types: list[str], dev: Path) -> list[str]:
    """The few lines that say what setup could not do: camera, pins, printer, accepted types."""
    found = devices(dev)
    lines = []
    from terminal.verify.policy import DCC_TYPES  # DCCs are checked against [dcc], not the trust list
    accepted = sorted(cfg.policy.to_policy().accept)
    missing = [t for t in accepted if t not in trust_types and t not in DCC_TYPES]
    if cfg.terminal.hardware == "pi":
        lines.append("camera:  connect it; `scanpoint status` shows whether the scanner gets frames "
                     "(CSI cameras: rpicam-hello --list-cameras)")
        s = cfg.signals
        lines.append(f"pins:    BCM green {s.green_pin}, red {s.red_pin}, buzzer {s.buzzer_pin}, relay "
                     f"{s.relay_pin} ([signals]; Pi 5: pin_factory = \"lgpio\")"
                     + ("" if found["gpio"] else "; no /dev/gpiochip* found"))
    else:
        lines.append("camera, pins: hardware = \"sim\": the simulator stands in for them")
    if cfg.policy.site == "pharmacy":
        if cfg.printer.enabled and cfg.printer.url:
            lines.append(f"printer: {cfg.printer.url}; try it: scanpoint printer test")
        else:
            port = found["serial"][0] if found["serial"] else "/dev/ttyUSB0"
            seen = f" (found {', '.join(found['serial'])})" if found["serial"] else ""
            lines.append(f"printer: set [printer] enabled = true, url = \"{port}\"{seen}; "
                         "then: scanpoint printer test")
    if missing:
        lines.append(f"trust:   no issuer key for {', '.join(missing)} in the trust list: those "
                     "credentials cannot pass here until the issuer adds one")
    return lines


def run_setup(args: argparse.Namespace, *, out=None, dev: Path = Path("/dev")) -> int:
    """Verify the published lists with the root key, write the config, say what is left."""
    out = out or sys.stdout
    path = Path(args.config)
    root_key = normalise_root_key(args.root_key)
    existing = read_existing(path)
    try:
        values = settings_for(existing, source=args.source, root_key=root_key, site=args.site,
                              hardware=args.hardware)
        text = config_mod.documented_toml(values, header=HEADER)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}; fix it, then run setup again") from None
    cfg = config_mod.loads(text, where=str(path), base=path.resolve().parent)
    cfg.source = path
    old_key = str(existing.get("trust", {}).get("root_key", "")).lower()
    from terminal.lists.revocation import store_path
    if old_key and old_key != root_key and store_path(cfg).exists():
        raise ConfigError(f"{store_path(cfg)} holds lists synced under a different root key; to "
                          f"start over, stop the units and empty {cfg.terminal.state_dir} first")
    writable(path)
    synced = first_sync(cfg)
    if not synced["ok"]:
        print(f"scanpoint setup: {synced['line']}", file=sys.stderr)
        print(f"scanpoint setup: {path} was not changed; check the URL and the root key with the "
              "issuer, then run setup again", file=sys.stderr)
        return EXIT_FAILURE
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise SetupError(f"the lists verified, but {path} could not be written: {exc.strerror}") \
            from None
    log.info("event=setup_written config=%s site=%s", path, cfg.policy.site)
    types = ", ".join(synced["types"]) or "none"
    print(f"lists:   verified with root key {root_key[:8]}...: revocation list v{synced['revocation']}, "
          f"trust list v{synced['trust']} ({synced['keys']} issuer key(s) for {types})", file=out)
    print(f"config:  wrote {path} (site {cfg.policy.site}, hardware {cfg.terminal.hardware}, "
          f"lists from {cfg.sync.source})", file=out)
    for line in left_to_do(cfg, synced["types"], dev):
        print(line, file=out)
    print("then:    sudo systemctl restart scanpoint (a waiting scanner starts by itself)", file=out)
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """0 when a root key and a list source are set; 1 (one line why) when setup is still to run.

    A config that does not load is left to the command that follows to report (0 here), so the
    unit fails with the real error instead of being skipped.
    """
    try:
        cfg = config_mod.load(args.config)
    except ConfigError:
        return EXIT_OK
    if configured(cfg):
        return EXIT_OK
    print(f"scanpoint: not set up yet ({args.config} has no [trust] root_key or [sync] source); "
          "run: sudo scanpoint setup --source URL --root-key HEX", file=sys.stderr)
    return EXIT_NOT_CONFIGURED


def handle(args: argparse.Namespace) -> int:
    if args.check:
        return run_check(args)
    missing = [flag for flag, value in (("--source", args.source), ("--root-key", args.root_key))
               if not value]
    if missing:
        print(f"scanpoint setup: {' and '.join(missing)} required (or --check)", file=sys.stderr)
        return EXIT_USAGE
    return run_setup(args)


def register(commands, issuer) -> None:
    p = commands.add_parser(
        "setup", help="set this terminal up: verify the issuer's lists, write the config, first sync",
        description="Check what the issuer publishes at --source against --root-key with a first "
                    "sync, then write the config (the settings given set, every other one kept or "
                    "a commented-out default) and say what is left to do by hand. Nothing is "
                    "written when the sync fails. Exit 0 done, 2 bad arguments or config, 4 the "
                    "sync failed; with --check: 0 set up, 1 not yet.")
    p.add_argument("--source", help="URL the issuer's lists are published at (the folder holding "
                                    "lists/index.sl), or a local folder")
    p.add_argument("--root-key", help="the issuer's root public key, hex (from 'scanpoint issuer "
                                      "init': root.pub)")
    p.add_argument("--site", choices=("checkpoint", "pharmacy"), default=None,
                   help="site policy (default: keep the config's, else checkpoint)")
    p.add_argument("--hardware", choices=("pi", "sim"), default=None,
                   help="device set (default: keep the config's, else pi)")
    p.add_argument("--config", default=DEFAULT_CONFIG,
                   help=f"config file to write (default: {DEFAULT_CONFIG})")
    p.add_argument("--check", action="store_true",
                   help="only report whether setup has run: exit 0 yes, 1 no")
    p.set_defaults(func=handle)
