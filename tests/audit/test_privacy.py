"""Privacy: after a scenario with known names, holder IDs and QR texts, none of them is on disk
or in the logs — only masked names and ID tails on the paper slips.

The first test drives the parts directly (audit log, slip observer, print queue, virtual printer,
log redaction) with credentials whose QR text embeds the full name and ID; the second runs the
real daemon on simulated devices over codes issued for known people.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path

from drivers.printer import EscPosPrinter
from hw_sim.printer import VirtualPrinter
from terminal.counter.audit import AuditLog
from terminal.counter.printqueue import PrintQueue, SlipObserver
from terminal.counter.secret import load_or_create_secret
from terminal.daemon.redaction import install_redaction
from terminal.formats import base45
from terminal.formats.names import mask_name
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result
from tests.support.configs import demo_terminal
from tests.support.observers import Recorder
from tests.support.results import AT, CST, decision_event

PEOPLE = [("张小三", "110101199003071234"), ("欧阳明月", "44030519851212567X"),
          ("Wei Li", "E12345678")]


def encodings(text: str) -> list[bytes]:
    out = [text.encode("utf-8"), text.encode("utf-16-le")]
    try:
        out.append(text.encode("gb18030"))
    except UnicodeEncodeError:
        pass
    return out


def every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_name_id_or_payload_on_disk_or_in_logs(tmp_path):
    state = tmp_path / "state"
    slips_dir = tmp_path / "paper"
    log_file = tmp_path / "scanpoint.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    install_redaction()
    log = logging.getLogger("scanpoint.pipeline")
    forbidden: list[tuple[str, bytes]] = []
    try:
        secret = load_or_create_secret(state)
        with VirtualPrinter(slips_dir) as vp, \
                AuditLog(state) as audit, \
                PrintQueue(state / "printqueue.db",
                           EscPosPrinter.from_url(vp.port, reply_timeout=0.5),
                           retry_interval=0.05) as queue:
            queue.start()
            slip_observer = SlipObserver(queue, secret=secret, tz=CST)
            for i, (name, holder_id) in enumerate(PEOPLE * 2):
                serial = secrets.token_bytes(16)
                claims = json.dumps({"name": name, "id": holder_id, "serial": serial.hex()},
                                    ensure_ascii=False).encode()
                qr_text = "SP1:" + base45.encode(claims)
                forbidden += [("name " + name, e) for e in encodings(name)]
                forbidden += [("id " + holder_id, e) for e in encodings(holder_id)]
                forbidden += [("qr", qr_text.encode()), ("qr body", qr_text[4:40].encode()),
                              ("serial", serial), ("serial hex", serial.hex().encode())]
                cred = Credential(format="native", type="insurance", issuer="CN-HI",
                                  key_id="a1b2c3d4", serial=serial, issued_at=int(AT),
                                  not_before=int(AT), expires=int(AT) + 60,
                                  masked_name=mask_name(name), id_tail=holder_id[-4:])
                decision = [Decision.PASS, Decision.DENY, Decision.CHECK][i % 3]
                reason = [Reason.OK, Reason.REVOKED, Reason.LIST_STALE][i % 3]
                result = Result(decision, reason, "native", cred)
                # what a careless pipeline might log, and what ours does log
                log.debug("decoded text=%s", qr_text)
                log.info("decision seq=%d decision=%s reason=%s", i, decision.value, reason.value)
                event = decision_event(result, wall=AT + i, sequence=i + 1,
                                       site="Renhe Pharmacy")
                audit.on_decision(event)
                slip_observer.on_decision(event)
            assert vp.wait_for(len(PEOPLE) * 2, 20)
            assert queue.wait_idle(5)
            assert len(list(audit.rows())) == len(PEOPLE) * 2
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)

    stored = every_file(state)
    assert {p.name for p in stored} >= {"audit.db", "printqueue.db", "terminal.key"}
    log_text = log_file.read_bytes()
    assert b"decoded text=SP1:<redacted" in log_text      # the scenario really logged
    for path in stored + [log_file]:
        data = path.read_bytes()
        found = [label for label, needle in forbidden if needle in data]
        assert not found, f"{path.name} holds {found}"
    # paper slips: masked names and ID tails only (that is what a slip is for)
    paper = every_file(slips_dir)
    assert paper and any("张*三" in p.read_text("utf-8") for p in paper if p.suffix == ".txt")
    for path in paper:
        data = path.read_bytes()
        found = [label for label, needle in forbidden
                 if not label.startswith(("serial",)) and needle in data]
        assert not found, f"slip {path.name} shows {found}"


def test_real_daemon_scenario_leaves_no_name_id_or_payload(tmp_path):
    """The real daemon (sim camera, zxing-cpp, SM2 verifier, pipeline, audit log, slip printer on
    the virtual printer) scans codes issued for known people; then every file under the state
    directory and the captured DEBUG log is searched for their names, IDs and QR texts."""
    from terminal.daemon.compose import build_service
    from terminal.daemon.devices import open_devices

    # as the demo does: an issuer, its lists published and synced into the terminal (a terminal
    # with no revocation list answers check LIST_STALE, rightly)
    config, home = demo_terminal(tmp_path, "pharmacy")
    now = int(time.time())
    people = [("张小三", "110101199003071234", "insurance"),
              ("欧阳明月", "44030519851212567X", "social-security"),
              ("王小明", "110101198805051111", "health")]           # a health code: denied here
    texts = [home.issue(kind, name, holder_id, now=now,
                        status="green" if kind == "health" else None)
             for name, holder_id, kind in people]
    assert config.printer.enabled and config.printer.url == "sim" and config.audit.enabled

    log_file = tmp_path / "daemon.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        script = []
        for text in texts:
            script += [(text, 0.5), (None, 0.6)]
        devices = open_devices(config, scenario=script, scale=0.2)
        service = build_service(config, devices=devices)
        seen = Recorder()
        service.pipeline.add_observer(seen)
        # a careless line of the kind redaction exists for, through the daemon's own logger
        logging.getLogger("scanpoint.pipeline").debug("decoded text=%s", texts[0])
        service.run(install_signal_handlers=False, until=devices.sim.finished)
        devices.close()
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)

    assert seen.decisions() == [
        ("pass", "OK"), ("pass", "OK"), ("deny", "TYPE_NOT_ACCEPTED")]
    state = Path(config.terminal.state_dir)
    stored = every_file(state)
    assert {"audit.db", "printqueue.db", "terminal.key"} <= {p.name for p in stored}
    log_bytes = log_file.read_bytes()
    assert b"decision" in log_bytes and b"<redacted" in log_bytes     # it did log, and redacted
    forbidden = []
    for (name, holder_id, _), text in zip(people, texts):
        forbidden += [("name " + name, e) for e in encodings(name)]
        forbidden += [("id " + holder_id, e) for e in encodings(holder_id)]
        forbidden += [("qr text", text.encode()), ("qr body", text[4:44].encode())]
    for path in stored + [log_file]:
        data = path.read_bytes()
        found = [label for label, needle in forbidden if needle in data]
        assert not found, f"{path.relative_to(tmp_path)} holds {found}"
    slips = [p.read_text("utf-8") for p in (state / "slips").glob("*.txt")]
    assert len(slips) == 3 and any("张*三" in s and "****1234" in s for s in slips)
