"""The event socket: what a decision document holds, and that publishing never waits.

Real Unix sockets in a temporary folder; no display process needed.
"""

from __future__ import annotations

import json
import socket
import tempfile
from pathlib import Path

import pytest

from terminal import config as config_mod
from terminal.clock import FixedClock
from terminal.display.events import (
    MAX_MESSAGE,
    MessageError,
    Totals,
    decision_document,
    decode,
    encode,
    screen_decision,
)
from terminal.display.publisher import Publisher, PublisherError
from terminal.errors import ConfigError
from terminal.interfaces import DecisionEvent
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result

SERIAL = bytes.fromhex("00112233445566778899aabbccddeeff")


def event(sequence: int = 1, *, name: str = "张*丰", fmt: str = "native",
          reason: Reason = Reason.OK, decision: Decision = Decision.PASS) -> DecisionEvent:
    credential = Credential(format=fmt, type="health", issuer="Demo", key_id="abcd", serial=SERIAL,
                            issued_at=1_700_000_000, not_before=1_700_000_000,
                            expires=1_700_000_120, status="green", masked_name=name,
                            holder_hash="ffeeddccbbaa99887766554433221100", id_tail="1234")
    return DecisionEvent(sequence=sequence, result=Result(decision, reason, fmt, credential),
                         terminal_id="gate-1", site="Gate", wall=1_700_000_010.5,
                         frame_arrived=1.0, decided=1.002, signalled=1.003, latency=0.003,
                         code_hash="c0de" * 8, source="camera")


@pytest.fixture
def folder():
    with tempfile.TemporaryDirectory(prefix="sp-pub-") as name:   # short: socket paths <= 107
        yield Path(name)


def connect(path: Path) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    client.connect(str(path))
    return client


def test_decision_document_holds_no_serial_hash_id_or_full_name():
    document = decision_document(event(name="张三丰"))          # a name that escaped masking
    text = json.dumps(document, ensure_ascii=False)
    assert document["name"] == "张*丰"
    for secret in ("张三丰", SERIAL.hex(), "c0de" * 8, "ffeeddcc", "1234", "abcd"):
        assert secret not in text
    assert set(document) == {"kind", "seq", "time", "decision", "reason", "format", "type",
                             "status", "name", "expires", "latency_ms", "source", "terminal",
                             "site"}
    assert (document["decision"], document["reason"], document["latency_ms"]) == ("pass", "OK", 3.0)


def test_screen_decision_keeps_known_fields_and_masks_again():
    document = decision_document(event(name="M*** D***", fmt="dcc"))
    document["payload"] = "HC1:SECRET"
    document["serial"] = SERIAL.hex()
    screen = screen_decision(document)
    assert screen is not None
    assert "payload" not in screen and "serial" not in screen
    assert screen["name"] == "M*** D***"
    assert (screen["word_zh"], screen["word_en"]) == ("通过", "PASS")
    assert screen["reason_zh"] == Reason.OK.zh and screen["reason_en"] == Reason.OK.text
    unmasked = dict(document, name="Maria Dolores")
    assert "Maria" not in json.dumps(screen_decision(unmasked))
    for broken in ({**document, "decision": "open-gate"}, {**document, "reason": "NOPE"},
                   {**document, "seq": "1"}, {**document, "time": float("nan")}):
        assert screen_decision(broken) is None


def test_messages_are_bounded_and_of_a_known_kind():
    with pytest.raises(MessageError):
        encode({"kind": "status", "blob": "x" * MAX_MESSAGE})
    for bad in (b"\xff", b"[]", b'{"kind": "command", "relay": 1}', b"{" * (MAX_MESSAGE + 1)):
        with pytest.raises(MessageError):
            decode(bad)


def test_totals_round_trip_and_refuse_malformed():
    totals = Totals()
    for latency in (0.002, 0.004, 0.3, None):
        totals.record("pass", "OK", "native", latency)
    totals.record("deny", "EXPIRED", None, 0.02)
    mirror = Totals()
    assert mirror.load(json.loads(json.dumps(totals.document())))
    assert mirror.counts == {("pass", "OK", "native"): 4, ("deny", "EXPIRED", "none"): 1}
    assert mirror.buckets == totals.buckets and sum(mirror.buckets) == 4
    assert not mirror.load({"counts": [["open", "OK", "native", 1]], "buckets": totals.buckets,
                            "sum": 0, "count": 0})
    assert mirror.decisions == 5


def test_publisher_without_a_screen_counts_and_never_raises(folder):
    with Publisher(folder / "events.sock", clock=FixedClock(1e9)) as publisher:
        for n in range(50):
            publisher.on_decision(event(n))
        publisher.publish_status({"state": "running"})
        assert publisher.totals.decisions == 50
        assert publisher.counters()["sent"] == 0
    assert not (folder / "events.sock").exists()


def test_a_screen_receives_decisions_and_status_in_order(folder):
    with Publisher(folder / "events.sock") as publisher:
        client = connect(folder / "events.sock")
        publisher.publish_status({"state": "running"})      # accepts the new screen, then sends
        publisher.on_decision(event(7))
        first, second = (decode(client.recv(MAX_MESSAGE + 1)) for _ in range(2))
        assert first["kind"] == "status" and first["daemon"] == {"state": "running"}
        assert second["kind"] == "decision" and second["seq"] == 7
        mirror = Totals()
        assert mirror.load(first["totals"]) and mirror.decisions == 0
        client.close()


def test_the_socket_is_one_way_a_screen_cannot_send(folder):
    with Publisher(folder / "events.sock") as publisher:
        client = connect(folder / "events.sock")
        publisher.publish_status({"state": "running"})
        with pytest.raises(BrokenPipeError):
            client.send(b'{"kind": "command", "relay": true}')
        client.close()


def test_a_stuck_screen_loses_documents_and_the_scanner_never_waits(folder):
    with Publisher(folder / "events.sock") as publisher:
        stuck = connect(folder / "events.sock")          # connected, never reads
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader = connect(folder / "events.sock")
        n = 0
        while publisher.dropped == 0:
            publisher.on_decision(event(n))
            n += 1
            while True:                                   # the healthy screen keeps up
                try:
                    reader.recv(MAX_MESSAGE + 1, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    break
            assert n < 100_000, "the stuck screen never filled up"
        more = 200
        for extra in range(more):
            publisher.on_decision(event(n + extra))
            try:
                while True:
                    reader.recv(MAX_MESSAGE + 1, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass
        assert publisher.dropped >= more                 # every later document to it dropped
        assert publisher.totals.decisions == n + more    # and every decision counted
        assert publisher.clients == 2
        stuck.close()
        publisher.on_decision(event(0))
        assert publisher.clients == 1 and publisher.disconnected == 1
        reader.close()


def test_screens_beyond_the_limit_are_refused(folder):
    with Publisher(folder / "events.sock", max_clients=2) as publisher:
        clients = [connect(folder / "events.sock") for _ in range(3)]
        publisher.publish_status({"state": "running"})
        assert publisher.clients == 2 and publisher.refused == 1
        for client in clients:
            client.close()


def test_a_stale_socket_is_replaced_and_a_foreign_file_is_an_error(folder):
    path = folder / "events.sock"
    old = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old.bind(str(path))
    old.close()                                           # a killed scanner leaves this behind
    Publisher(path).start().close()
    path.write_text("not a socket")
    with pytest.raises(PublisherError, match="cannot create the event socket"):
        Publisher(path).start()


@pytest.mark.parametrize("text, message", [
    ('[display]\nlisten = "0.0.0.0:8080"\n', "listening on the LAN is opt-in"),
    ('[display]\nlisten = "localhost:8080"\n', "must be HOST:PORT with a numeric address"),
    ('[display]\nlisten = "127.0.0.1:99999"\n', "port must be 0..65535"),
    ('[display]\nallow = ["192.168.1.300"]\n', "is not an address or network"),
    ('[display]\nidle_s = 0.1\n', "idle_s must be between"),
])
def test_display_config_errors_are_clear(text, message):
    with pytest.raises(ConfigError, match=message):
        config_mod.loads(text)


def test_display_config_lan_listen_with_an_allowlist():
    section = config_mod.loads('[display]\nlisten = "0.0.0.0:8080"\nallow = ["192.168.10.0/24"]\n'
                               ).display
    assert section.address == ("0.0.0.0", 8080)
    assert section.socket_path("/var/lib/scanpoint") == Path("/var/lib/scanpoint/events.sock")
