"""The audit log: what a row holds, retention, export, counters, the secret, log redaction."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import stat

import pytest

from terminal.cli.main import main
from terminal.clock import FixedClock
from terminal.counter.audit import AuditLog, parse_since, status_section
from terminal.counter.secret import keyed_serial_hash, load_or_create_secret, verification_code
from terminal.counter.slip import build_slip
from terminal.daemon.redaction import install_redaction, redact
from terminal.reasons import Decision, Reason
from terminal.result import Result
from tests.support.configs import load_config, write_config
from tests.support.results import AT, credential, decision_event, sample_results
from tests.support.waiting import wait_until


def export_text(audit: AuditLog, since: float, fmt: str) -> str:
    buf = io.StringIO()
    audit.export(buf, since, fmt)
    return buf.getvalue()


@pytest.fixture
def audit(tmp_path):
    with AuditLog(tmp_path, clock=FixedClock(AT)) as log_:
        yield log_


def test_row_holds_hash_and_code_not_the_serial(tmp_path, audit):
    result = sample_results()["pass"]
    audit.record(result, at=AT, latency=0.0123)
    (row,) = list(audit.rows())
    secret = (tmp_path / "terminal.key").read_bytes()
    digest = keyed_serial_hash(secret, result.credential.serial)
    assert row == {"at": AT, "decision": "pass", "reason": "OK", "format": "native",
                   "type": "insurance", "key_id": "a1b2c3d4", "serial_hash": digest.hex(),
                   "code": verification_code(digest), "latency_ms": 12.3}
    # the slip printed with the same secret carries the same code: a clerk's code finds the row
    slip = build_slip(result, site="s", terminal_id="t", secret=secret, at=AT)
    assert audit.find(slip.code) == [row]


def test_nothing_identifying_in_the_database_file(tmp_path, audit):
    result = sample_results()["pass"]
    audit.record(result)
    audit.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("audit.db"))
    assert result.credential.serial not in blob
    assert "张*三".encode() not in blob and b"1234" not in blob.replace(b"a1b2c3d4", b"")


def test_no_credential_decisions_are_recorded_too(audit):
    audit.record(Result(Decision.DENY, Reason.BASE45_INVALID, "native"))
    (row,) = list(audit.rows())
    assert row["reason"] == "BASE45_INVALID" and row["serial_hash"] is None and row["type"] is None


def test_retention_purges_on_open_and_on_schedule(tmp_path):
    clock = FixedClock(AT)
    with AuditLog(tmp_path, clock=clock, retention_days=7) as audit:
        audit.record(sample_results()["pass"], at=AT - 8 * 86400)
        audit.record(sample_results()["deny"], at=AT - 6 * 86400)
        assert audit.purge() == 1
        assert [r["decision"] for r in audit.rows()] == ["deny"]
        audit.record(sample_results()["deny"], at=AT - 30 * 86400)
    with AuditLog(tmp_path, clock=clock, retention_days=7) as audit:   # purge on open
        assert len(list(audit.rows())) == 1
    clock.set(AT + 2 * 86400)
    with AuditLog(tmp_path, clock=clock, retention_days=7, purge_interval=0) as audit:
        audit.record(sample_results()["check"])                       # periodic purge ran
        assert [r["decision"] for r in audit.rows()] == ["check"]


def test_background_purge_runs_while_idle(tmp_path):
    clock = FixedClock(AT)
    with AuditLog(tmp_path, clock=clock, purge_interval=0.05) as audit:
        audit.record(sample_results()["pass"], at=AT - 86400)
        audit.start()
        clock.set(AT + 7 * 86400)
        assert wait_until(lambda: list(audit.rows()) == [])


def test_purged_rows_do_not_linger_in_the_file(tmp_path):
    with AuditLog(tmp_path, clock=FixedClock(AT)) as audit:
        for i in range(200):
            audit.record(Result(Decision.PASS, Reason.OK, "native", credential(bytes([i]) * 16)),
                         at=AT - 10 * 86400)
        codes = [r["code"] for r in audit.rows()]
        assert audit.purge() == 200
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("audit.db"))
    assert not any(code.encode() in blob for code in codes)


def test_export_csv_and_jsonl(audit):
    for i, result in enumerate(sample_results().values()):
        audit.record(result, at=AT + i)
    rows = list(csv.DictReader(io.StringIO(export_text(audit, AT + 1, "csv"))))
    assert [r["decision"] for r in rows] == ["deny", "check"]
    assert rows[0]["time"] == "2027-01-15T08:00:01Z" and rows[0]["reason"] == "REVOKED"
    lines = [json.loads(line) for line in export_text(audit, 0, "jsonl").splitlines()]
    assert [row["reason"] for row in lines] == ["OK", "REVOKED", "STATUS_YELLOW"]
    with pytest.raises(ValueError):
        export_text(audit, 0, "xml")


def test_counters_and_status_section(tmp_path):
    with AuditLog(tmp_path, clock=FixedClock(AT)) as audit:
        for result in list(sample_results().values()) + [sample_results()["deny"]]:
            audit.record(result)
        counters = audit.counters()
    assert counters["by_decision"] == {"pass": 1, "deny": 2, "check": 1}
    assert counters["by_reason"] == {"REVOKED": 2, "OK": 1, "STATUS_YELLOW": 1}
    config = load_config(tmp_path, "[audit]\nretention_days = 3\n")
    section = status_section(config)
    assert section["events"] == 4 and section["retention_days"] == 3
    assert section["by_decision"]["deny"] == 2 and section["by_reason"]["OK"] == 1


def test_cli_export_and_find(tmp_path, capsys):
    with AuditLog(tmp_path) as audit:
        audit.record(sample_results()["pass"], at=AT)
        audit.record(sample_results()["deny"], at=AT + 3600)
        code = list(audit.rows())[1]["code"]
    cfg = write_config(tmp_path, "[audit]\nretention_days = 100000\n", state_dir=str(tmp_path))
    assert main(["audit", "export", "--config", str(cfg), "--since", "2027-01-15T08:30:00Z",
                 "--format", "jsonl"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and json.loads(out[0])["reason"] == "REVOKED"
    assert main(["audit", "export", "--config", str(cfg), "--since", "2027-01-15"]) == 0
    assert capsys.readouterr().out.count("\n") == 3       # header + 2 rows
    assert main(["audit", "find", "--config", str(cfg), f"{code[:4]}-{code[4:].lower()}"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "deny"
    assert main(["audit", "find", "--config", str(cfg), "AAAAAAAA"]) == 1
    assert main(["audit", "export", "--config", str(cfg), "--since", "yesterday"]) == 2


def test_parse_since():
    assert parse_since("2027-01-15T16:00:00+08:00") == AT
    assert parse_since("2027-01-15T08:00:00") == AT
    assert parse_since("7d", now=AT) == AT - 7 * 86400
    with pytest.raises(ValueError, match="not an ISO"):
        parse_since("last week")


def test_secret_is_created_0600_and_stable(tmp_path):
    key = load_or_create_secret(tmp_path / "state")
    path = tmp_path / "state" / "terminal.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path / "state") == key
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="expected 32"):
        load_or_create_secret(tmp_path / "state")
    assert path.read_bytes() == b"short"              # a damaged key is refused, not replaced


def test_secret_readable_by_others_is_refused_not_quietly_tightened(tmp_path):
    key = load_or_create_secret(tmp_path)
    path = tmp_path / "terminal.key"
    os.chmod(path, 0o640)
    with pytest.raises(ValueError, match="chmod 600"):
        load_or_create_secret(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    os.chmod(path, 0o600)
    assert load_or_create_secret(tmp_path) == key


def test_crash_while_creating_the_secret_leaves_no_partial_key(tmp_path, monkeypatch):
    import terminal.counter.secret as secret_module

    class Crash(Exception):
        pass

    def crash(n):
        raise Crash("power cut")

    with monkeypatch.context() as m:
        m.setattr(secret_module.secrets, "token_bytes", crash)
        with pytest.raises(Crash):
            load_or_create_secret(tmp_path)
    assert not (tmp_path / "terminal.key").exists()
    key = load_or_create_secret(tmp_path)               # the next start simply creates it
    assert len(key) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["terminal.key"]   # no temp file left


def test_empty_secret_left_by_an_old_crash_is_regenerated(tmp_path):
    path = tmp_path / "terminal.key"
    path.touch(mode=0o600)
    key = load_or_create_secret(tmp_path)
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == key


def test_concurrent_starters_all_get_the_one_key(tmp_path):
    import threading
    barrier = threading.Barrier(8)
    keys, errors = [], []

    def start():
        barrier.wait()
        try:
            keys.append(load_or_create_secret(tmp_path / "state"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(keys) == 8 and len(set(keys)) == 1
    assert (tmp_path / "state" / "terminal.key").read_bytes() == keys[0]
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["terminal.key"]


def test_observer_records_the_pipelines_event_and_never_raises(tmp_path):
    audit = AuditLog(tmp_path)
    audit.on_decision(decision_event(sample_results()["deny"], wall=AT, latency=0.0123))
    (row,) = list(audit.rows())
    assert (row["at"], row["decision"], row["reason"], row["latency_ms"]) == (
        AT, "deny", "REVOKED", 12.3)
    audit.close()
    audit.on_decision(decision_event(sample_results()["pass"]))   # closed: counted, not raised
    assert audit.errors == 1


QR = "SP1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3"


def test_redact_payloads():
    assert QR not in redact(f"decoded text={QR} ok")
    assert redact(f"decoded text={QR} ok").startswith("decoded text=SP1:<redacted")
    assert "HC1:NCF" not in redact("x HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH")
    assert redact("decision=pass reason=OK") == "decision=pass reason=OK"
    assert "<redacted" in redact("sp1:6bfoxn*ts0bi$zd.p9uol97o4") and "SP2:" in redact(f"SP2{QR[3:]}")
    assert QR[4:] not in redact(f"SP2{QR[3:]}")
    assert "<redacted" in redact("raw " + "6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTLRR+%3" * 2)


def test_installed_redaction_covers_child_loggers_and_tracebacks(tmp_path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_redaction()
        child = logging.getLogger("scanpoint.somewhere.deep")
        child.warning("read %s from camera", QR)
        try:
            raise ValueError(f"cannot parse {QR}")
        except ValueError:
            child.exception("failed")
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "read SP1:<redacted" in text and "ValueError: cannot parse SP1:<redacted" in text
    assert QR not in text and QR[4:20] not in text
