"""``scanpoint status`` reads the daemon's atomic status file; ``scanpoint run`` refuses bad configs."""

from __future__ import annotations

import json
import os
import time

from terminal.cli.commands.status import daemon_state
from terminal.cli.main import main
from terminal.daemon.service import write_status_file
from tests.support import configs


def write_config(tmp_path, extra=""):
    (tmp_path / "state").mkdir(exist_ok=True)
    return configs.write_config(tmp_path, extra, id="gate-7")


def status_doc(**over):
    doc = {"state": "running", "pid": os.getpid(), "terminal_id": "gate-7", "site": "north",
           "updated_unix": time.time(), "status_interval_s": 1.0, "health": "ok",
           "camera": {"state": "ok", "error": None, "failures": 0, "retry_in_s": None},
           "frames": 120, "decisions": 2, "by_decision": {"pass": 1, "deny": 1, "check": 0},
           "errors": {"decoder": 0}, "last_decision": {
               "decision": "deny", "reason": "EXPIRED", "reason_text": "Credential has expired",
               "latency_ms": 4.2}}
    doc.update(over)
    return doc


def test_running_daemon_reported_with_exit_0(tmp_path, capsys):
    cfg = write_config(tmp_path)
    write_status_file(tmp_path / "state", status_doc())
    assert main(["status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "daemon:     running" in out and "gate-7" in out and "EXPIRED" in out
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["state"] == "running" and report["daemon"]["decisions"] == 2


def test_camera_fault_is_shown_and_exit_4(tmp_path, capsys):
    cfg = write_config(tmp_path)
    write_status_file(tmp_path / "state", status_doc(
        state="camera-fault", camera={"state": "backoff", "error": "CameraMissing: no camera",
                                      "failures": 3, "retry_in_s": 2.0}))
    assert main(["status", "--config", str(cfg)]) == 4
    out = capsys.readouterr().out
    assert "camera-fault" in out and "CameraMissing: no camera (retry in 2.0 s, 3 failures)" in out


def test_stale_file_or_dead_pid_means_not_running(tmp_path):
    assert daemon_state(None) == "never-started"
    assert daemon_state(status_doc(updated_unix=time.time() - 600)) == "not-running"
    assert daemon_state(status_doc(pid=2**22 + 12345)) == "not-running"
    assert daemon_state(status_doc(state="stopped")) == "stopped"
    assert daemon_state(status_doc()) == "running"


def test_never_started_exit_4(tmp_path, capsys):
    cfg = write_config(tmp_path)
    assert main(["status", "--config", str(cfg)]) == 4
    assert "never-started" in capsys.readouterr().out


def test_unknown_config_key_is_a_clear_error(tmp_path, capsys):
    cfg = write_config(tmp_path, "\n[pipeline]\nleave_frame = 3\n")
    assert main(["run", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) leave_frame in [pipeline]" in err and "leave_frames" in err


def test_bad_config_value_is_a_clear_error(tmp_path, capsys):
    cfg = write_config(tmp_path, "\n[camera]\nretry_initial_s = 5.0\nretry_max_s = 1.0\n")
    assert main(["run", "--config", str(cfg)]) == 2
    assert "retry_max_s" in capsys.readouterr().err


def test_atomic_write_leaves_no_temp_files(tmp_path):
    for i in range(5):
        write_status_file(tmp_path, {"i": i})
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
    assert json.loads((tmp_path / "status.json").read_text()) == {"i": 4}


def test_part_sections_are_shown_and_a_broken_part_hides_nothing(tmp_path, capsys):
    cfg = write_config(tmp_path, '[printer]\nenabled = true\nurl = "/dev/ttyUSB9"\n')
    write_status_file(tmp_path / "state", status_doc())
    (tmp_path / "state" / "audit.db").write_bytes(b"not a database, but a damaged file" * 40)
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["printer"] == {"enabled": True, "url": "/dev/ttyUSB9", "pending": 0, "printed": 0}
    assert report["audit"]["error"].startswith("DatabaseError: ")
    assert "no revocation store yet" in report["sync"]["error"]
    assert report["state"] == "running"


def test_revocation_store_that_cannot_be_opened_fails_closed(tmp_path):
    """The daemon's hook on a store it cannot open answers LIST_STALE, and the site's
    [lists] stale = "deny" still applies to it."""
    from terminal import config
    from terminal.lists.revocation import RevocationCheck
    from terminal.reasons import Reason
    from terminal.result import Credential
    from tests.support import credentials as kit

    (tmp_path / "not-a-db").mkdir()                         # a folder where the store should be
    cfg = config.loads(f'[trust]\nroot_key = "{kit.ROOT_PUB.hex()}"\n'
                       f'[lists]\ndb = "{tmp_path / "not-a-db"}"\nstale = "deny"\n')
    hook = RevocationCheck.from_config(cfg)
    credential = Credential("native", "health", "issuer", "00", b"\x01" * 16, 0, 0, 60)
    assert hook.check(credential, now=0.0) is Reason.LIST_STALE
    assert Reason.LIST_STALE in hook.deny_reasons


def test_damaged_status_file_is_reported_not_a_crash(tmp_path, capsys):
    cfg = write_config(tmp_path)
    (tmp_path / "state" / "status.json").write_text("")      # power cut before the rename
    assert main(["status", "--config", str(cfg)]) == 4
    assert "daemon:     unreadable" in capsys.readouterr().out
