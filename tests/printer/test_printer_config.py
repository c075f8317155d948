"""The [printer] and [audit] config sections and the daemon hooks built from them."""

from __future__ import annotations

import pytest

from hw_sim.printer import VirtualPrinter
from terminal import config as config_mod
from terminal.counter import audit, printqueue
from terminal.daemon.compose import audit_observer, slip_observer
from terminal.daemon.devices import open_devices
from terminal.errors import ConfigError
from tests.support.configs import load_config, write_config
from tests.support.results import decision_event, sample_results


def load(tmp_path, extra: str):
    return load_config(tmp_path, extra, site_name="Renhe", id="T09")


def test_defaults_and_width():
    config = config_mod.Config()
    assert not config.printer.enabled and config.printer.width == 32
    assert config.printer.print_on == ["pass", "deny", "check"]
    assert config.audit.enabled and config.audit.retention_days == 7.0
    assert "[printer]" in config_mod.defaults_toml() and "[audit]" in config_mod.defaults_toml()


@pytest.mark.parametrize("text,message", [
    ("[printer]\npaper_mm = 70\n", "58 or 80"),
    ("[printer]\nprint_on = [\"pass\", \"maybe\"]\n", "print_on"),
    ("[printer]\ntimezone = \"Mars/Olympus\"\n", "time zone"),
    ("[printer]\ncolour = true\n", "unknown key"),
    ("[audit]\nretention_days = 0\n", "retention_days"),
])
def test_bad_settings_are_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text)


def test_disabled_parts_build_no_observer(tmp_path):
    config = load(tmp_path, "[audit]\nenabled = false\n")
    assert slip_observer(config, None) is None
    assert audit_observer(config) is None
    with pytest.raises(ConfigError, match="needs url"):
        open_devices(load(tmp_path, "[printer]\nenabled = true\n"))


def test_sim_url_prints_through_the_virtual_printer(tmp_path):
    config = load(tmp_path, '[printer]\nenabled = true\nurl = "sim"\npaper_mm = 80\n'
                            'print_on = ["deny", "check"]\ntimezone = "Asia/Shanghai"\n')
    devices = open_devices(config)
    observer = slip_observer(config, devices.printer)
    try:
        virtual = devices.sim.printer
        assert isinstance(virtual, VirtualPrinter)
        for result in sample_results().values():
            observer.on_decision(decision_event(result, site="ignored", terminal_id="ignored"))
        assert virtual.wait_for(2, 10)
        texts = [s.text for s in virtual.slips]
        assert "D E N Y" in texts[0] and "C H E C K" in texts[1]
        assert "Renhe" in texts[0] and "T09" in texts[0] and "2027-01-15 16:00:00" in texts[0]
        assert texts[0].splitlines()[0] == "=" * 48
        assert (tmp_path / "slips" / "slip-0001.png").exists()
        assert observer.queue.wait_idle(5)
        assert printqueue.status_section(config)["printed"] == 2
    finally:
        observer.close()
        devices.close()


def test_real_url_opens_the_driver_on_that_port(tmp_path):
    with VirtualPrinter(tmp_path / "paper") as vp:
        config = load(tmp_path, f'[printer]\nenabled = true\nurl = "{vp.port}"\n')
        with open_devices(config) as devices:
            observer = slip_observer(config, devices.printer)
            try:
                assert devices.sim.printer is None and devices.printer is not None
                observer.on_decision(decision_event(sample_results()["pass"]))
                assert vp.wait_for(1, 10)
            finally:
                observer.close()


def test_audit_hook_records_and_reports(tmp_path):
    config = load(tmp_path, "[audit]\nretention_days = 30\n")
    log = audit_observer(config)
    try:
        log.on_decision(decision_event(sample_results()["deny"]))
    finally:
        log.close()
    section = audit.status_section(config)
    assert section["events"] == 1 and section["by_reason"] == {"REVOKED": 1}


def test_cli_printer_test_and_status(tmp_path, capsys):
    from terminal.cli.main import main

    with VirtualPrinter(tmp_path / "paper") as vp:
        cfg = write_config(tmp_path, f'[printer]\nenabled = true\nurl = "{vp.port}"\n',
                           state_dir=str(tmp_path))
        assert main(["printer", "test", "--config", str(cfg)]) == 0
        assert vp.wait_for(1, 5) and "测*试" in vp.slips[0].text
        assert "printed" in capsys.readouterr().out
        assert main(["printer", "status", "--ask", "--config", str(cfg)]) == 0
        assert '"detail": "ok"' in capsys.readouterr().out
        vp.run_out_of_paper()
        vp.go_offline()
        assert main(["printer", "test", "--config", str(cfg)]) == 4
        assert "not ready: no answer" in capsys.readouterr().err
