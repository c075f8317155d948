"""``scanpoint setup --source URL --root-key HEX [--site checkpoint|pharmacy]``: one-step terminal setup.

Run once after installing the package. It checks what the issuer publishes at ``URL`` against the
root key (the first sync, through the real :class:`~terminal.lists.sync.SyncClient`), and only if
that succeeds writes ``/etc/scanpoint/scanpoint.toml``: the settings it was given set, every other
setting kept as it was or listed as a commented-out default. Then it says in a few lines what is
left to do by hand (camera, pins, printer). Setup either completes or leaves the config untouched.

Run as root on a packaged terminal, the sync runs as the owner of the state folder (the
``scanpoint`` user), so the files it creates belong to the units that use them later.

``scanpoint setup --check`` exits 0 when a root key and a list source are configured and 6
(:attr:`~terminal.cli.exits.Exit.NOT_SET_UP`) when setup has not been run
(``scanpoint-sync.service`` uses it as its ``ExecCondition``). Every failure is one line through
:mod:`terminal.cli.main`, like any command's.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import sys
import tomllib
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from terminal import config as config_mod
from terminal.cli import args as types
from terminal.cli.exits import Exit
from terminal.clock import SYSTEM, Clock
from terminal.errors import ConfigError, ScanpointError, UsageError
from terminal.lists import sync_network
from terminal.settings import toml_value

log = logging.getLogger("scanpoint.setup")

#: a config setup creates: readable by the service users, who never write it
NEW_CONFIG_MODE = 0o644
#: the child that runs the first sync as the state folder's owner answers in at most this much JSON
MAX_CHILD_ANSWER = 1 << 20

HEADER = """\
# scanpoint terminal configuration (/etc/scanpoint/scanpoint.toml).
# Every setting is listed with what it does; a line starting with '#key =' is a commented-out
# default. `scanpoint setup` sets the root key, the list source and the site; uncomment a line to
# change anything else, then: sudo systemctl restart scanpoint. A typo is an error that names it."""


class SetupError(ScanpointError):
    """Setup could not complete: the state folder, the first sync or writing the config failed."""


def documented_toml(values: dict[str, dict[str, Any]] | None = None, *, header: str = "") -> str:
    """Every section and key with its description: keys in ``values`` are set, every other key is
    a commented-out default (so a later release's new defaults still apply to it).

    This is the shape of ``/etc/scanpoint/scanpoint.toml`` as packaged and as ``scanpoint setup``
    writes it. Raises :class:`ConfigError` for a section or key that does not exist. (The values
    are written the way :func:`terminal.config.defaults_toml` writes them.)
    """
    values = values or {}
    sections = config_mod.Config().sections()
    unknown = sorted(set(values) - set(sections))
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(unknown)}")
    lines = [header.rstrip("\n"), ""] if header else []
    for name, section in sections.items():
        chosen = values.get(name, {})
        keys = {f.name for f in dataclasses.fields(section)}
        if set(chosen) - keys:
            raise ConfigError(f"unknown key(s) {', '.join(sorted(set(chosen) - keys))} in [{name}]")
        doc = (type(section).__doc__ or "").strip().splitlines()[0]
        lines += [f"# {doc}", f"[{name}]"]
        for f in dataclasses.fields(section):
            lines.append(f"# {f.metadata.get('doc', '')}")
            if f.name in chosen:
                lines.append(f"{f.name} = {toml_value(chosen[f.name])}")
            else:
                lines.append(f"#{f.name} = {toml_value(getattr(section, f.name))}")
        lines.append("")
    return "\n".join(lines)


def conffile_text() -> str:
    """The packaged ``/etc/scanpoint/scanpoint.toml``: every setting a commented-out default."""
    return documented_toml(header=HEADER)


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
    try:
        mode = path.stat().st_mode & 0o777          # keep the mode an admin gave it
    except FileNotFoundError:
        mode = NEW_CONFIG_MODE
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


def _may(path: Path, mode: int) -> bool:
    """``os.access`` for the effective user, the one the write will run as."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def writable(path: Path) -> None:
    """Refuse early, naming ``--config``, when the config could not be written after the sync:
    the file is replaced through a new file beside it, so its folder must be writable too."""
    if (os.path.exists(path) and not _may(path, os.W_OK)) or \
            not _may(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"argument --config: cannot write config file {types.quoted(str(path))}: "
                         "permission denied; run setup with sudo")


def first_sync(cfg: config_mod.Config, clock: Clock = SYSTEM) -> dict[str, Any]:
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
        return _in_child_as(owner.st_uid, owner.st_gid, lambda: _sync_and_summarise(cfg, clock))
    return _sync_and_summarise(cfg, clock)


def _sync_and_summarise(cfg: config_mod.Config, clock: Clock) -> dict[str, Any]:
    from terminal.lists.sync import SyncClient, SyncSettings
    from terminal.lists.trust import TrustList, list_path

    settings = SyncSettings.for_terminal(cfg)
    result = SyncClient(settings, clock=clock).run_once()
    out: dict[str, Any] = {"ok": result.ok, "line": result.line(),
                           "revocation": result.revocation_version, "trust": result.trust_version,
                           "keys": 0, "types": []}
    if result.ok:
        try:
            trust = TrustList.load(list_path(cfg), settings.root_public_key)
        except (ScanpointError, OSError) as exc:
            out.update(ok=False, line=f"sync ok but the trust list is unusable: {exc}")
            return out
        out["keys"] = len(trust.keys)
        out["types"] = sorted({t for key in trust.keys.values() for t in key.types})
    return out


def _in_child_as(uid: int, gid: int, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in a forked child with ``uid``/``gid`` and no other groups; its result as JSON.

    The child reports a failure as ``{"error": ...}`` over the pipe and the parent raises it, so
    the command still ends with one line.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: drop privileges for good, work, report, exit without cleanup handlers
        code = 0
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                answer: dict[str, Any] = {"result": work()}
            except Exception as exc:   # noqa: BLE001 - reported to the parent, which says it
                answer = {"error": str(exc) or type(exc).__name__}
            with os.fdopen(write_end, "wb") as fh:
                fh.write(json.dumps(answer).encode())
        except BaseException:   # noqa: BLE001 - anything must end the child, not escape it
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read(MAX_CHILD_ANSWER)
    _, status = os.waitpid(pid, 0)
    try:
        answer = json.loads(data) if os.waitstatus_to_exitcode(status) == 0 else {}
    except ValueError:
        answer = {}
    if "error" in answer:
        raise SetupError(f"the first sync (run as uid {uid}) failed: {answer['error']}; nothing "
                         "was written")
    if not isinstance(answer.get("result"), dict):
        raise SetupError(f"the first sync (run as uid {uid}) did not finish; nothing was written")
    return answer["result"]


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
    # DCCs are checked against [dcc], not the trust list
    from terminal.verify.policy import DCC_TYPES

    found = devices(dev)
    lines = []
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


def allow_network(cfg: config_mod.Config, system: sync_network.System, clock: Clock) -> str | None:
    """Let the installed sync unit reach the list server (a drop-in); the line that says so, or
    None when there is no unit here or it needs nothing beyond localhost."""
    if not system.unit_installed():
        return None
    try:
        allow = sync_network.allowance(cfg.sync.source, cfg.sync.redirect_hosts,
                                       resolv_conf=system.resolv_conf)
    except sync_network.AddressLookupFailed as exc:
        raise SetupError(f"the lists verified, but {exc}; {cfg.source} was not changed") from None
    if not allow.needed:
        return None
    try:
        path = sync_network.write_dropin(allow, when=clock.time(), unit_dir=system.unit_dir)
    except OSError as exc:
        hint = "run setup as root" if exc.errno in (errno.EACCES, errno.EPERM) else "fix it"
        raise SetupError(f"the lists verified, but the sync unit's network drop-in could not be "
                         f"written ({exc.filename or system.unit_dir}: {exc.strerror}); "
                         f"{cfg.source} was not changed: {hint}, then run setup again") from None
    reloaded = sync_network.reload_systemd(system.unit_dir)
    allowed = " ".join(allow.server + allow.nameservers)
    return (f"network: scanpoint-sync may reach {allowed} ({path}"
            + ("" if reloaded else "; then: sudo systemctl daemon-reload") + ")")


def run_setup(args: argparse.Namespace, *, out: TextIO | None = None, dev: Path = Path("/dev"),
              clock: Clock = SYSTEM, system: sync_network.System | None = None) -> Exit:
    """Verify the published lists with the root key, write the config, say what is left."""
    out = out or sys.stdout
    path = Path(args.config)
    root_key = args.root_key            # lower-case hex, checked by the parser
    source = args.source
    if not urllib.parse.urlsplit(source).scheme:
        # a folder named on the command line is relative to here; in the config it would be
        # read relative to the config's own folder
        source = os.path.abspath(source)
    existing = read_existing(path)
    try:
        values = settings_for(existing, source=source, root_key=root_key, site=args.site,
                              hardware=args.hardware)
        text = documented_toml(values, header=HEADER)
        cfg = config_mod.loads(text, where=str(path), base=path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}; fix it, then run setup again") from None
    cfg.source = path
    old_key = str(existing.get("trust", {}).get("root_key", "")).lower()
    from terminal.lists.revocation import store_path
    if old_key and old_key != root_key and store_path(cfg).exists():
        raise UsageError(f"argument --root-key: a different root key than {path} pins, and "
                         f"{store_path(cfg)} holds lists synced under that one; to start over, "
                         f"stop the units and empty {cfg.terminal.state_dir} first")
    writable(path)
    synced = first_sync(cfg, clock)
    if not synced["ok"]:
        raise SetupError(f"{synced['line']}; {path} was not changed: check the URL and the root "
                         "key with the issuer, then run setup again")
    network = allow_network(cfg, system or sync_network.System(), clock)
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise SetupError(f"the lists verified, but {path} could not be written: {exc.strerror}") \
            from None
    log.info("event=setup_written config=%s site=%s", path, cfg.policy.site)
    types_held = ", ".join(synced["types"]) or "none"
    print(f"lists:   verified with root key {root_key[:8]}...: revocation list v{synced['revocation']}, "
          f"trust list v{synced['trust']} ({synced['keys']} issuer key(s) for {types_held})", file=out)
    print(f"config:  wrote {path} (site {cfg.policy.site}, hardware {cfg.terminal.hardware}, "
          f"lists from {cfg.sync.source})", file=out)
    if network:
        print(network, file=out)
    for line in left_to_do(cfg, synced["types"], dev):
        print(line, file=out)
    print("then:    sudo systemctl restart scanpoint (a waiting scanner starts by itself)", file=out)
    return Exit.OK


def run_check(args: argparse.Namespace) -> Exit:
    """OK when a root key and a list source are set; NOT_SET_UP (one line why) when setup is
    still to run.

    A config that does not load is left to the command that follows to report (OK here), so the
    unit fails with the real error instead of being skipped.
    """
    try:
        cfg = config_mod.load(args.config)
    except ConfigError:
        return Exit.OK
    if configured(cfg):
        return Exit.OK
    print(f"scanpoint setup: not set up yet ({args.config} has no [trust] root_key or [sync] "
          "source); run: sudo scanpoint setup --source URL --root-key HEX", file=sys.stderr)
    return Exit.NOT_SET_UP


def config_path(given: str | None) -> str:
    """``--config`` as given (checked by the parser), else the system config, checked the same
    way here: argparse would check a default even when another argument is the mistake."""
    if given is not None:
        return given
    try:
        return types.config_to_update(types.DEFAULT_CONFIG)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"argument --config: {exc}") from None


def handle(args: argparse.Namespace) -> Exit:
    """``--check``, or setup itself once both ``--source`` and ``--root-key`` are given."""
    args.config = config_path(args.config)
    if args.check:
        given = [flag for flag, value in (("--source", args.source), ("--root-key", args.root_key),
                                          ("--site", args.site), ("--hardware", args.hardware))
                 if value is not None]
        if given:
            raise UsageError(f"argument --check: only reports whether setup has run; it takes no "
                             f"{' or '.join(given)}")
        return run_check(args)
    missing = [flag for flag, value in (("--source", args.source), ("--root-key", args.root_key))
               if value is None]
    if missing:
        raise UsageError(f"the following arguments are required: {', '.join(missing)} (or --check)")
    return run_setup(args)


def register(commands: argparse._SubParsersAction, issuer: argparse._SubParsersAction) -> None:
    """Add ``scanpoint setup``."""
    p = commands.add_parser(
        "setup", help="set this terminal up: verify the issuer's lists, write the config, first sync",
        description="Check what the issuer publishes at --source against --root-key with a first "
                    "sync, then write the config (the settings given set, every other one kept or "
                    "a commented-out default) and say what is left to do by hand. Nothing is "
                    "written when the sync fails. Exit 0 done, 2 bad arguments or config, 4 the "
                    "sync failed; with --check: 0 set up, 6 not yet.")
    p.add_argument("--source", type=types.list_source, metavar="URL",
                   help="URL the issuer's lists are published at (the folder holding "
                        "lists/index.sl), or a local folder")
    p.add_argument("--root-key", type=types.root_key, metavar="HEX",
                   help="the issuer's root public key, hex (from 'scanpoint issuer init': root.pub)")
    p.add_argument("--site", choices=("checkpoint", "pharmacy"), default=None,
                   help="site policy (default: keep the config's, else checkpoint)")
    p.add_argument("--hardware", choices=("pi", "sim"), default=None,
                   help="device set (default: keep the config's, else pi)")
    p.add_argument("--config", default=None, type=types.config_to_update,
                   metavar="FILE",
                   help=f"config file to update; its folder must exist (default: "
                        f"{types.DEFAULT_CONFIG})")
    p.add_argument("--check", action="store_true",
                   help="only report whether setup has run: exit 0 yes, 6 no")
    p.set_defaults(func=handle)
