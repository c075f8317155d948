"""``scanpoint setup`` lets the hardened sync unit reach the list server: a systemd drop-in.

The unit denies every address but localhost, so setup resolves the source (and ``redirect_hosts``)
and writes ``IPAddressAllow=`` lines, plus the name servers a Pi asks directly. Here the "system"
(unit folders, resolv.conf) is a temporary folder; the sync is a real one over loopback.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from terminal.cli.commands import setup
from terminal.clock import FixedClock
from terminal.lists import sync_network
from terminal.lists.sync_network import Allowance, System, allowance
from tests.commands.test_setup_command import packaged_config, root_key
from tests.support.systemd import UNITS, parse_unit

NOV_30 = 1_795_996_800.0   # 2026-11-30 UTC


def fake_system(root: Path, *, installed: bool = True, nameservers: str = "nameserver 192.0.2.53\n"
                ) -> System:
    package = root / "lib" / "systemd" / "system"
    package.mkdir(parents=True)
    if installed:
        (package / sync_network.UNIT).write_text((UNITS / sync_network.UNIT).read_text())
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    resolv = root / "etc" / "resolv.conf"
    resolv.write_text("# from the DHCP lease\nsearch lan\n" + nameservers)
    return System(unit_dir=root / "etc" / "systemd" / "system", search=(package,), resolv_conf=resolv)


def run(cfg: Path, source: str, key: str, system: System) -> tuple[int, list[str]]:
    from io import StringIO
    out = StringIO()
    args = argparse.Namespace(config=str(cfg), source=source, root_key=key, site=None,
                              hardware="sim")
    code = setup.run_setup(args, out=out, clock=FixedClock(NOV_30), system=system)
    return code, out.getvalue().splitlines()


def test_setup_allows_the_list_server_and_the_name_servers(served, tmp_path):
    d, server = served
    system = fake_system(tmp_path / "sys")
    # reached by name (so a name server is needed), and a redirect host elsewhere
    source = server.url.replace("127.0.0.1", "localhost")
    cfg = packaged_config(tmp_path / "etc" / "scanpoint.toml", tmp_path / "state",
                          sync={"redirect_hosts": ["198.51.100.7:8443", "[2001:db8::7]"]})
    code, lines = run(cfg, source, root_key(d), system)
    assert code == 0, lines

    dropin = system.unit_dir / "scanpoint-sync.service.d" / "list-server.conf"
    assert dropin.stat().st_mode & 0o777 == 0o644
    service = parse_unit(dropin)["Service"]
    # loopback is left out (the unit allows localhost already); IPv4 first
    assert service["IPAddressAllow"] == ["198.51.100.7 2001:db8::7", "192.0.2.53"]
    text = dropin.read_text()
    assert "2026-11-30" in text and "localhost" in text and server.url not in text
    network = [line for line in lines if line.startswith("network:")]
    assert network == [f"network: scanpoint-sync may reach 198.51.100.7 2001:db8::7 192.0.2.53 "
                       f"({dropin}; then: sudo systemctl daemon-reload)"]
    # the drop-in adds to the packaged unit, which still denies everything else
    assert parse_unit(system.search[0] / sync_network.UNIT)["Service"]["IPAddressDeny"] == ["any"]
    assert tomllib.loads(cfg.read_text())["sync"]["source"] == source

    # run again after the server moved: the drop-in is replaced, not appended to
    cfg2 = tmp_path / "etc" / "scanpoint.toml"
    text = cfg2.read_text().replace('"198.51.100.7:8443", ', "")
    cfg2.write_text(text)
    assert run(cfg2, source, root_key(d), system)[0] == 0
    assert parse_unit(dropin)["Service"]["IPAddressAllow"] == ["2001:db8::7", "192.0.2.53"]


def test_a_local_server_or_no_unit_writes_no_dropin(served, tmp_path):
    d, server = served
    system = fake_system(tmp_path / "sys")
    cfg = packaged_config(tmp_path / "etc" / "scanpoint.toml", tmp_path / "state")
    code, lines = run(cfg, server.url, root_key(d), system)     # 127.0.0.1: already allowed
    assert code == 0 and not any(line.startswith("network:") for line in lines)
    assert not (system.unit_dir / "scanpoint-sync.service.d").exists()

    bare = fake_system(tmp_path / "laptop", installed=False)
    cfg = packaged_config(tmp_path / "etc2" / "scanpoint.toml", tmp_path / "state2",
                          sync={"redirect_hosts": ["198.51.100.7"]})
    code, lines = run(cfg, server.url, root_key(d), bare)
    assert code == 0 and not (bare.unit_dir / "scanpoint-sync.service.d").exists()


def test_a_dropin_that_cannot_be_written_leaves_the_config_untouched(served, tmp_path):
    d, server = served
    system = fake_system(tmp_path / "sys")
    (system.unit_dir / "scanpoint-sync.service.d").write_text("a file where a folder belongs")
    cfg = packaged_config(tmp_path / "etc" / "scanpoint.toml", tmp_path / "state",
                          sync={"redirect_hosts": ["198.51.100.7"]})
    before = cfg.read_bytes()
    refused = r"drop-in could not be written \(.*File exists\); .*scanpoint.toml was not changed"
    with pytest.raises(setup.SetupError, match=refused):
        run(cfg, server.url, root_key(d), system)
    assert cfg.read_bytes() == before


def test_allowance_for_each_kind_of_source(tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
                      "nameserver\n")
    # a folder needs no network
    assert allowance(str(tmp_path), resolv_conf=resolv) == Allowance((), (), ())
    # address literals need no name server
    literal = allowance("https://203.0.113.9:8443/lists", ["[2001:db8::7]:443"], resolv_conf=resolv)
    assert literal == Allowance(("2001:db8::7", "203.0.113.9"), ("203.0.113.9", "2001:db8::7"), ())
    # a name: its name servers too, loopback stubs left out, a zone index dropped
    named = allowance("http://localhost:1/", ["203.0.113.9"], resolv_conf=resolv)
    assert named.server == ("203.0.113.9",) and named.nameservers == ("192.0.2.53", "fe80::1")
    # a name that does not resolve is a clear failure, not an empty allow list
    with pytest.raises(sync_network.AddressLookupFailed, match="cannot look up nonexistent.invalid"):
        allowance("https://nonexistent.invalid/lists", resolv_conf=resolv)
