"""The list store over its life: a stale source, a deleted store, a full disk, the sync unit's
sandbox. Each runs the real command line (``scanpoint sync --once``, ``scanpoint status``) on a
real SQLite store; the disk and sandbox cases run it in a mount namespace (``unshare``) with a
small tmpfs or a ``/proc`` mounted the way the hardened unit sees it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terminal.cli.exits import Exit
from terminal.cli.main import main
from terminal.clock import SYSTEM
from terminal.crypto import sm2
from terminal.lists import listfiles, timeguard
from terminal.lists.publish import Publisher
from terminal.lists.revocation import RevocationCheck, read_lists
from terminal.lists.timeguard import TimeGuard
from terminal.reasons import Reason
from terminal.result import Credential
from tests.support.listserver import ListServer
from tests.support.systemd import parse_unit

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "scanpoint-sync.service"
SCANPOINT = Path(sys.executable).with_name("scanpoint")
ROOT = sm2.generate_private_key()
ROOT_PUB = sm2.public_key_of(ROOT)
HOUR = 3600


def cred(serial: bytes) -> Credential:
    return Credential("native", "health", "issuer", "00", serial, 0, 0, 0)


class Site:
    """An issuer folder publishing signed lists and a terminal config that syncs from it."""

    def __init__(self, tmp: Path, source: str | None = None) -> None:
        self.issuer = tmp / "issuer"
        self.issuer.mkdir()
        self.config = tmp / "terminal.toml"
        self.state = tmp / "state"
        self.write_config(source or str(listfiles.public_root(self.issuer)))

    def write_config(self, source: str, extra: str = "") -> None:
        self.config.write_text(
            f'[terminal]\nstate_dir = "{self.state}"\n\n[trust]\nroot_key = "{ROOT_PUB.hex()}"\n\n'
            f'[sync]\nsource = "{source}"\nretries = 0\n{extra}')

    def publish(self, *serials: bytes, now: float | None = None, validity: int = 24 * HOUR,
                hashes: list[bytes] = ()) -> None:
        with Publisher(self.issuer) as pub:
            for s in serials:
                pub.revoke_serial(s)
            if hashes:
                pub.revoke_hashes(hashes)
            pub.publish(ROOT, now=None if now is None else int(now), trust_body={"keys": []},
                        revocation_validity=validity, trust_validity=validity)

    @property
    def db(self) -> Path:
        return self.state / "revocation.db"

    def status(self, capsys) -> dict:
        main(["status", "--json", "--config", str(self.config)])
        return json.loads(capsys.readouterr().out)["sync"]


def sync(site: Site, capsys) -> tuple[int, str, str]:
    code = main(["sync", "--once", "--config", str(site.config)])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- a source that serves lists already past their valid-until ------------------------------------

def test_a_stale_source_is_applied_but_the_run_exits_stale_source(tmp_path, capsys):
    site = Site(tmp_path)
    revoked = os.urandom(16)
    site.publish(revoked, now=time.time() - 3 * 24 * HOUR, validity=HOUR)
    code, out, err = sync(site, capsys)
    assert code == Exit.STALE_SOURCE, (code, out, err)
    assert err.count("\n") == 1 and "stale-source" in err and "Traceback" not in err
    # the newer revocations were applied all the same: they only add safety
    check = RevocationCheck(site.db, TimeGuard())
    try:
        assert check.check(cred(revoked), SYSTEM.time()) is Reason.REVOKED
    finally:
        check.close()
    status = site.status(capsys)
    assert status["last_sync"]["code"] == "stale-source" and not status["last_sync"]["ok"]
    assert "stale-source" in status["summary"]


def test_a_fresh_source_exits_ok(tmp_path, capsys):
    site = Site(tmp_path)
    site.publish(os.urandom(16))
    code, out, err = sync(site, capsys)
    assert code == Exit.OK and out.startswith("sync ok"), err


# -- a deleted store recovers by itself -----------------------------------------------------------

def test_a_deleted_store_recovers_at_the_next_sync(tmp_path, capsys):
    site = Site(tmp_path)
    revoked = os.urandom(16)
    site.publish(revoked)
    assert sync(site, capsys)[0] == Exit.OK
    trust_file = site.state / "trust-list.cose"
    held = trust_file.read_bytes()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{site.db}{suffix}").unlink(missing_ok=True)

    code, out, err = sync(site, capsys)
    assert code == Exit.OK, (out, err)
    meta, _ = read_lists(site.db)
    assert {"revocation", "trust", "index"} <= set(meta)
    assert trust_file.read_bytes() == held              # the held file was kept, not replaced
    check = RevocationCheck(site.db, TimeGuard())
    try:
        assert check.check(cred(revoked), SYSTEM.time()) is Reason.REVOKED
    finally:
        check.close()
    assert "trust: none held" not in site.status(capsys)["summary"]


def test_after_a_reset_the_held_trust_file_is_still_the_version_floor(tmp_path, capsys):
    site = Site(tmp_path)
    site.publish(os.urandom(16))
    site.publish(os.urandom(16))                        # trust list v2 held after the sync
    assert sync(site, capsys)[0] == Exit.OK
    trust_file = site.state / "trust-list.cose"
    held = trust_file.read_bytes()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{site.db}{suffix}").unlink(missing_ok=True)
    older = tmp_path / "older"                          # a source serving trust list v1
    older.mkdir()
    with Publisher(older) as pub:
        pub.publish(ROOT, trust_body={"keys": []})
    site.write_config(str(listfiles.public_root(older)))
    code, out, err = sync(site, capsys)
    assert code == Exit.FAILURE and "rollback" in err, (out, err)
    assert trust_file.read_bytes() == held


# -- a full disk during an apply ------------------------------------------------------------------

def in_namespace(script: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``script`` with sh in new mount and PID namespaces (skip where that is not allowed)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) not installed")
    probe = subprocess.run(["unshare", "-m", "-p", "-f", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make mount namespaces here: {probe.stderr.decode().strip()}")
    return subprocess.run(["unshare", "-m", "-p", "-f", "sh", "-ec", script], capture_output=True,
                          text=True, timeout=300, env=env)


def test_disk_full_during_apply_is_one_line_and_status_says_so(tmp_path):
    site = Site(tmp_path)
    site.publish(os.urandom(16))                        # index v1: small, fits
    big = tmp_path / "big"                              # index v2: ~1 MB of entries
    big.mkdir()
    with Publisher(big) as pub:
        pub.publish(ROOT, trust_body={"keys": []})
        pub.revoke_hashes(sorted(os.urandom(16) for _ in range(60_000)))
        pub.publish(ROOT, trust_body={"keys": []})
    small_cfg = site.config
    big_cfg = tmp_path / "big.toml"
    big_cfg.write_text(small_cfg.read_text().replace(
        str(listfiles.public_root(site.issuer)), str(listfiles.public_root(big))))
    site.state.mkdir()
    script = f"""
mount -t tmpfs -o size=400k tmpfs {site.state}
{SCANPOINT} sync --once --config {small_cfg} >first.txt 2>&1
set +e
{SCANPOINT} sync --once --config {big_cfg} >out.txt 2>err.txt
echo $? >rc.txt
{SCANPOINT} status --json --config {big_cfg} >status.json 2>status.err
true
"""
    os.chdir(tmp_path)
    proc = in_namespace(script)
    assert proc.returncode == 0, proc.stderr + (tmp_path / "first.txt").read_text()
    assert (tmp_path / "first.txt").read_text().startswith("sync ok")
    err = (tmp_path / "err.txt").read_text()
    assert int((tmp_path / "rc.txt").read_text()) == Exit.FAILURE, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "disk-full" in err and "full" in err.lower()
    status = json.loads((tmp_path / "status.json").read_text())["sync"]
    assert status["last_sync"]["ok"] is False, status
    assert status["last_sync"]["code"] == "disk-full", status
    assert "last sync FAILED disk-full" in status["summary"]
    assert status["lists"]["revocation"]["version"] == 1     # the held list stays in use


# -- the sync unit's sandbox: ProcSubset=pid hides /proc/sys --------------------------------------

def unit_service() -> dict[str, list[str]]:
    return parse_unit(UNIT)["Service"]


def unit_environment(boot: str) -> dict[str, str]:
    """The unit's Environment= settings with systemd's %b (boot id) filled in."""
    env = {}
    for item in unit_service().get("Environment", []):
        for word in item.split():
            key, _, value = word.partition("=")
            env[key] = value.replace("%b", boot.replace("-", ""))
    return env


def test_the_sync_unit_records_the_boot_id_and_a_clock_set_back_is_caught(tmp_path):
    real_boot = timeguard.boot_id()
    if real_boot is None:
        pytest.skip("this system has no /proc/sys/kernel/random/boot_id")
    service = unit_service()
    options = []
    if service.get("ProcSubset", ["all"])[-1] == "pid":
        options.append("subset=pid")
    if service.get("ProtectProc", ["default"])[-1] in ("invisible", "noaccess"):
        options.append("hidepid=" + service["ProtectProc"][-1])
    server = ListServer(tmp_path / "issuer" / "public")
    try:
        site = Site(tmp_path, server.url)
        site.publish(os.urandom(16), now=time.time() - 10 * HOUR, validity=48 * HOUR)
        words = service["ExecStart"][-1].split()
        words[0] = str(SCANPOINT)
        words[words.index("--config") + 1] = str(site.config)
        env = {**os.environ, **unit_environment(real_boot)}
        proc = in_namespace(
            f"mount -t proc -o {','.join(options) or 'defaults'} proc /proc\n"
            "test ! -e /proc/sys/kernel/random/boot_id || { echo boot_id visible >&2; exit 9; }\n"
            f"exec {' '.join(words)}", env=env)
        assert proc.returncode == 0, proc.stderr
    finally:
        server.close()
    obs = read_lists(site.db)[1][timeguard.CLOCK_STATE]
    assert obs["boot_id"].replace("-", "") == real_boot.replace("-", "")
    check = RevocationCheck(site.db, TimeGuard(clock=SYSTEM))
    try:
        assert check.check(cred(os.urandom(16)), SYSTEM.time()) is None
        # the wall clock set back 3 hours (within the lists' issue times): the monotonic
        # projection from the recorded observation sees it
        assert check.check(cred(os.urandom(16)), SYSTEM.time() - 3 * HOUR) is Reason.CLOCK_UNTRUSTED
    finally:
        check.close()
