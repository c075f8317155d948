"""The scanning pipeline: frame -> decode -> dedupe -> verify -> decide -> signal -> observers.

One :class:`Pipeline` turns frames into at most one decision per presentation of a code. It
never queues frames: it works on the frame it is given (the camera hands out only its newest) and
drops frames that are already too old. Everything after the camera is guarded, so a broken
decoder, verifier, signal or observer degrades that part and is counted — the loop goes on.

Codes from a 2D reader enter at :meth:`Pipeline.process_text` and take the same path after the
decoder: the same presentation tracking (a reader resending a code within its debounce window
is one presentation, and a code the camera already decided is not decided again by the reader),
anti-passback, signals and observers, with ``DecisionEvent.source = "reader"``.

Latency is measured from the frame's (or the reader text's) arrival to the return of
:meth:`Signals.show`, i.e. the moment the LED changed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from terminal.clock import Clock
from terminal.config import PipelineSection
from terminal.interfaces import DecisionEvent, Decoder, Frame, Observer, Signals, TextVerifier
from terminal.reasons import Decision, Reason
from terminal.result import Credential, Result, internal_error

log = logging.getLogger("scanpoint.pipeline")


class Outcome(str, Enum):
    """What one call of :meth:`Pipeline.process` did with its frame."""

    STALE = "stale"          # frame (or reader text) too old: dropped unread
    EMPTY = "empty"          # no code in the frame
    HELD = "held"            # only codes already decided and still in view
    DECIDED = "decided"      # a decision was taken and signalled


@dataclass
class PipelineStats:
    """Counters for ``scanpoint status`` and the benchmark."""

    frames: int = 0
    texts: int = 0                        # codes received from a reader
    stale: int = 0
    decisions: int = 0
    by_decision: dict[str, int] = field(default_factory=lambda: {d.value: 0 for d in Decision})
    decoder_errors: int = 0
    verifier_errors: int = 0
    signal_errors: int = 0
    observer_errors: int = 0
    last_frame: float | None = None       # monotonic arrival of the newest frame processed
    last_decision: DecisionEvent | None = None


def keyed_hash(key: bytes, data: bytes) -> bytes:
    """16 bytes of HMAC-SHA256(key, data): equal inputs, equal hash, under this process's key only."""
    return hmac.new(key, data, hashlib.sha256).digest()[:16]


class ReplayGuard:
    """Anti-passback: remembers keyed hashes of serials that passed, for ``window`` seconds.

    Only a hash under a random per-process key is kept, in memory, at most ``capacity`` entries
    (oldest forgotten first), so nothing identifying ever reaches the disk.
    """

    def __init__(self, window: float, capacity: int) -> None:
        self.window = window
        self.capacity = capacity
        self._key = os.urandom(32)
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def check_and_remember(self, serial: bytes, now: float) -> bool:
        """True if ``serial`` passed here less than ``window`` seconds before ``now``; otherwise
        remember it as passing at ``now`` and return False. The serial is hashed once."""
        if self.window <= 0:
            return False
        self._expire(now)
        digest = keyed_hash(self._key, serial)
        if digest in self._seen:
            return True
        self._seen[digest] = now
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False

    def _expire(self, now: float) -> None:
        while self._seen:
            digest, when = next(iter(self._seen.items()))
            if now - when < self.window:
                break
            del self._seen[digest]

    def __len__(self) -> int:
        return len(self._seen)


@dataclass
class _InView:
    last_seen: float
    last_frame: int
    decided: float
    hold_until: float = 0.0   # a reader's debounce window: in view at least until then


class Pipeline:
    """Turns frames into decisions and signals them; see the module docstring for the rules.

    ``clock`` must be the clock the camera stamps ``Frame.arrived`` with (monotonic seconds).
    """

    MAX_IN_VIEW = 64   # distinct codes tracked at once; more means garbage, oldest are forgotten

    def __init__(self, decoder: Decoder, verifier: TextVerifier, signals: Signals, *,
                 clock: Clock, settings: PipelineSection | None = None,
                 observers: Sequence[Observer] = (),
                 terminal_id: str = "", site: str = "") -> None:
        self.decoder = decoder
        self.verifier = verifier
        self.signals = signals
        self.clock = clock
        self.settings = settings or PipelineSection()
        self.observers: list[Observer] = list(observers)
        self.terminal_id = terminal_id
        self.site = site
        self.stats = PipelineStats()
        self.replay = ReplayGuard(self.settings.anti_passback_s, self.settings.anti_passback_max)
        self._in_view: OrderedDict[bytes, _InView] = OrderedDict()
        self._frame_index = 0
        self._key = os.urandom(32)
        self._error_log_at: dict[str, float] = {}

    # -- the one entry point ------------------------------------------------------------------
    def process(self, frame: Frame) -> Outcome:
        """Run one frame through the pipeline. Never raises for a failing stage."""
        now = self.clock.monotonic()
        age = now - frame.arrived
        # a frame whose age is not a finite number (a broken stamp or clock) is never read
        if not (math.isfinite(frame.arrived) and age * 1000.0 <= self.settings.max_frame_age_ms):
            self.stats.stale += 1
            return Outcome.STALE
        self.stats.frames += 1
        self.stats.last_frame = frame.arrived
        self._frame_index += 1
        texts = self._decode(frame)
        keys = [self._code_key(text) for text in texts]
        self._forget_left(set(keys), frame.arrived)
        chosen: tuple[str, bytes] | None = None
        for text, key in zip(texts, keys):
            entry = self._in_view.get(key)
            if entry is not None:
                entry.last_seen = frame.arrived
                entry.last_frame = self._frame_index
                rearm = self.settings.rearm_s
                if not (rearm > 0 and frame.arrived - entry.decided >= rearm):
                    continue
            if chosen is None:
                chosen = (text, key)
        if chosen is not None:
            # a new presentation: decide it; other new codes in this frame wait for the next one
            text, key = chosen
            self._track(key, frame.arrived)
            self._decide(text, key, frame.arrived, "camera")
            return Outcome.DECIDED
        return Outcome.HELD if texts else Outcome.EMPTY

    def process_text(self, text: str, arrived: float, *, source: str = "reader",
                     hold_s: float = 0.0) -> Outcome:
        """Decide one code text a reader delivered at ``arrived`` (monotonic s); never raises.

        The same code again less than ``hold_s`` after its previous sighting (by the reader or
        the camera) belongs to the same presentation and is HELD; so is a code still in the
        camera's view. ``rearm_s`` and ``max_frame_age_ms`` apply as to frames.
        """
        now = self.clock.monotonic()
        if (now - arrived) * 1000.0 > self.settings.max_frame_age_ms:
            self.stats.stale += 1
            return Outcome.STALE
        if not isinstance(text, str) or not text:
            return Outcome.EMPTY
        self.stats.texts += 1
        key = self._code_key(text)
        entry = self._in_view.get(key)
        if entry is not None and (arrived - entry.last_seen < hold_s or arrived < entry.hold_until):
            entry.last_seen = max(entry.last_seen, arrived)
            entry.hold_until = max(entry.hold_until, arrived + hold_s)
            rearm = self.settings.rearm_s
            if not (rearm > 0 and arrived - entry.decided >= rearm):
                return Outcome.HELD
        self._track(key, arrived, hold_until=arrived + hold_s)
        self._decide(text, key, arrived, source)
        return Outcome.DECIDED

    def warm_up(self) -> None:
        """Run the verifier once on a non-credential text so its lazy imports and tables are
        loaded before the first person waits on them (the first call costs ~40 ms, later ones
        well under 1 ms). Touches no counter, no signal and no anti-passback state."""
        try:
            self.verifier.verify("SCANPOINT-WARM-UP", self.clock.time())
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            self._log_error("verifier", exc)

    def add_observer(self, observer: Observer) -> None:
        self.observers.append(observer)

    # -- stages -------------------------------------------------------------------------------
    def _decode(self, frame: Frame) -> list[str]:
        try:
            texts = self.decoder.decode(frame.image)
        except Exception as exc:  # noqa: BLE001 - a garbage frame must not stop the terminal
            self.stats.decoder_errors += 1
            self._log_error("decoder", exc)
            return []
        seen: set[str] = set()
        unique = []
        for text in texts or ():
            if isinstance(text, str) and text and text not in seen:
                seen.add(text)
                unique.append(text)
        return unique

    def _code_key(self, text: str) -> bytes:
        return keyed_hash(self._key, text.encode("utf-8", "surrogatepass"))

    def _forget_left(self, present: set[bytes], now: float) -> None:
        leave_s = self.settings.leave_ms / 1000.0
        for key in [k for k in self._in_view if k not in present]:
            entry = self._in_view[key]
            if (self._frame_index - entry.last_frame >= self.settings.leave_frames
                    and now - entry.last_seen >= leave_s and now >= entry.hold_until):
                del self._in_view[key]

    def _track(self, key: bytes, now: float, *, hold_until: float = 0.0) -> None:
        self._in_view.pop(key, None)
        self._in_view[key] = _InView(last_seen=now, last_frame=self._frame_index, decided=now,
                                     hold_until=hold_until)
        while len(self._in_view) > self.MAX_IN_VIEW:
            self._in_view.popitem(last=False)

    def _verify(self, text: str) -> Result:
        try:
            result = self.verifier.verify(text, self.clock.time())
            if not isinstance(result, Result):
                raise TypeError(f"verifier returned {type(result).__name__}, not Result")
        except Exception as exc:  # noqa: BLE001 - the internal-error rule (terminal.result): check, by hand
            self.stats.verifier_errors += 1
            return internal_error("verifier", exc)
        return result

    def _apply_replay(self, result: Result, now: float) -> Result:
        credential: Credential | None = result.credential
        if result.decision is not Decision.PASS or credential is None or not credential.serial:
            return result
        if not math.isfinite(now):      # no replay memory can be judged at an unknown time
            return internal_error("anti-passback", ValueError(f"monotonic clock reads {now!r}"),
                                  result.format)
        if self.replay.check_and_remember(credential.serial, now):
            return Result(Decision.DENY, Reason.REPLAYED, result.format, credential,
                          detail=f"serial passed here within the last {self.settings.anti_passback_s:g} s")
        return result

    def _decide(self, text: str, key: bytes, arrived: float, source: str) -> None:
        result = self._verify(text)
        decided = self.clock.monotonic()
        result = self._apply_replay(result, decided)
        signalled: float | None
        try:
            self.signals.show(result.decision)
            signalled = self.clock.monotonic()
        except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
            self.stats.signal_errors += 1
            self._log_error("signals", exc)
            signalled = None
        self.stats.decisions += 1
        self.stats.by_decision[result.decision.value] += 1
        event = DecisionEvent(
            sequence=self.stats.decisions, result=result, terminal_id=self.terminal_id,
            site=self.site, wall=self.clock.time(), frame_arrived=arrived, decided=decided,
            signalled=signalled,
            latency=None if signalled is None else max(0.0, signalled - arrived),
            code_hash=key.hex(), source=source)
        self.stats.last_decision = event
        log.info("decision seq=%d decision=%s reason=%s format=%s source=%s latency_ms=%s",
                 event.sequence, result.decision.value, result.reason.value, result.format, source,
                 "-" if event.latency is None else f"{event.latency * 1000:.1f}")
        for observer in list(self.observers):
            try:
                observer.on_decision(event)
            except Exception as exc:  # noqa: BLE001 - a failing part is counted and logged; the loop goes on
                self.stats.observer_errors += 1
                self._log_error(f"observer {type(observer).__name__}", exc)

    def _log_error(self, stage: str, exc: BaseException) -> None:
        # at most one line per stage every 10 s: a broken part must not flood the journal
        now = self.clock.monotonic()
        if now - self._error_log_at.get(stage, -1e9) >= 10.0:
            self._error_log_at[stage] = now
            log.error("stage failed stage=%r error=%s: %s", stage, type(exc).__name__, exc)


def summarize(event: DecisionEvent) -> dict[str, Any]:
    """A JSON-safe summary of a decision for the status file: no serial, name or payload."""
    result = event.result
    credential = result.credential
    return {
        "sequence": event.sequence,
        "decision": result.decision.value,
        "reason": result.reason.value,
        "reason_text": result.reason.text,
        "format": result.format,
        "source": event.source,
        "type": credential.type if credential else None,
        "wall": round(event.wall, 3),
        "latency_ms": None if event.latency is None else round(event.latency * 1000, 2),
    }
