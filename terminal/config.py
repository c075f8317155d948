"""The terminal's one configuration file (TOML), with documented defaults and strict checking.

Each ``[section]`` is a dataclass below; every field has a default and a ``doc`` string, so
``scanpoint config`` style tooling and the README can print them. Unknown sections or keys, and
values of the wrong type, are :class:`~terminal.errors.ConfigError` naming the file, the key and
what is allowed — a typo must never be silently ignored on a security device.

To add a section: write a dataclass whose fields use :func:`~terminal.settings.setting`, then add
a field for it to :class:`Config` (the machinery is :mod:`terminal.settings`). Relative paths in
path-like settings are resolved against the config file's folder.

Every number is checked where the sections are built, not key by key: a float must be finite
(``nan`` compares false with everything, so ``issued_tolerance = nan`` would switch the clock guard
off) and every number within its setting's range — ``low``/``high`` given to :func:`setting`, else
:data:`~terminal.settings.DEFAULT_FLOAT_RANGE` for a float — or the load fails with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from terminal.counter.paper import WIDTH_CHARS
from terminal.errors import ConfigError
from terminal.settings import (
    bounds,
    build_section,
    setting,
    toml_value,
    value_range,
)

if TYPE_CHECKING:
    from terminal.verify.policy import Policy

@dataclass
class TerminalSection:
    """Who this terminal is and where it keeps its state."""

    id: str = setting("scanpoint-1", "terminal identifier, printed on slips and in the audit log")
    site_name: str = setting("scanpoint", "site name printed on slips")
    state_dir: str = setting("/var/lib/scanpoint", "folder for databases, status and secrets",
                             path=True)
    hardware: str = setting("sim", "device set: 'sim' (hw-sim, any machine) or 'pi' (real devices)")

    def __post_init__(self) -> None:
        if self.hardware not in ("sim", "pi"):
            raise ConfigError(f"[terminal] hardware must be 'sim' or 'pi', not {self.hardware!r}")


@dataclass
class TrustSection:
    """Native credentials: the pinned root key and the signed trust list of issuer keys."""

    root_key: str = setting("", "root public key, hex X||Y (128 hex digits) as printed by "
                                "'scanpoint issuer init'; empty: no native credential passes")
    list: str = setting("", "signed trust list file (from the issuer or sync); empty: "
                        "STATE_DIR/trust-list.cose, where `scanpoint sync` writes it", path=True)
    key_tables_mib: float = setting(64.0, "memory (MiB) for issuer keys' SM2 tables, built in "
                                    "the background: all keys get a small table (6 KB), the "
                                    "most used a full one (0.7 MB, fastest)", low=1.0, high=4096.0)

    def __post_init__(self) -> None:
        if self.root_key:
            try:
                key = bytes.fromhex(self.root_key)
            except ValueError:
                raise ConfigError("[trust] root_key must be hex digits") from None
            from terminal.crypto import sm2
            try:
                sm2.parse_public_key(key)
            except ValueError as exc:
                raise ConfigError(f"[trust] root_key is not a valid SM2 public key: {exc}") from None

    @property
    def root_public_key(self) -> bytes | None:
        """The pinned root public key as bytes, or None if not configured."""
        return bytes.fromhex(self.root_key) if self.root_key else None


@dataclass
class PolicySection:
    """Site policy: which credential types pass here and what a yellow health status means."""

    site: str = setting("checkpoint", "site preset: 'checkpoint' (health passes and EU DCCs, yellow -> check) "
                                      "or 'pharmacy' (insurance and social-security cards)")
    accept: list[str] = setting([], "credential types accepted; empty: the site preset's list")
    yellow: str = setting("", "yellow health status: 'check' or 'deny'; empty: the site preset's")
    skew: float = setting(30.0, "seconds of clock difference allowed at a credential's nbf/exp",
                          low=0.0, high=600.0)

    def __post_init__(self) -> None:
        try:
            self.to_policy()
        except ValueError as exc:
            raise ConfigError(f"[policy] {exc}") from None
        if not 0 <= self.skew <= 600:
            raise ConfigError("[policy] skew must be between 0 and 600 seconds")

    def to_policy(self) -> Policy:
        """The :class:`terminal.verify.policy.Policy` these settings describe."""
        from terminal.verify.policy import Policy

        return Policy.preset(self.site, self.accept or None, self.yellow or None)


@dataclass
class DccSection:
    """EU Digital COVID Certificates (HC1): where the document-signer certificates are."""

    dsc_dir: str = setting("", "folder of signer certificates (*.pem, *.crt, *.cer, *.der), or one "
                           "PEM/DER file; empty: no DCC can be verified", path=True)


@dataclass
class CameraSection:
    """The camera, and how the daemon supervises it (stall detection, retry backoff)."""

    source: str = setting("auto", "pi: 'auto', 'picamera2' or 'opencv'; sim: a scenario file, "
                          "image, folder or video to replay ('auto': an empty scene), relative "
                          "to this file's folder; 'none': no camera, codes come from the [reader] "
                          "only", path=True, words=("auto", "picamera2", "opencv", "none"))
    device: int = setting(0, "OpenCV camera index (USB/laptop cameras)")
    width: int = setting(640, "frame width in pixels")
    height: int = setting(480, "frame height in pixels")
    fps: int = setting(15, "frames per second requested from the camera")
    stall_s: float = setting(3.0, "no frame for this long counts as a camera failure")
    retry_initial_s: float = setting(0.5, "first wait before reopening a failed camera")
    retry_max_s: float = setting(30.0, "longest wait between camera retries (doubling up to it)")
    max_image_pixels: int = setting(16_000_000, "largest image (width × height) read from a file "
                                    "by verify, decode and replays; checked from the file's "
                                    "header before decoding", low=1, high=200_000_000)

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16 or self.fps < 1:
            raise ConfigError("[camera] width/height must be >= 16 and fps >= 1")
        if self.stall_s <= 0 or self.retry_initial_s <= 0 or self.retry_max_s < self.retry_initial_s:
            raise ConfigError("[camera] stall_s and retry_initial_s must be > 0 and "
                              "retry_max_s >= retry_initial_s")


READER_TERMINATORS = ("cr", "lf", "crlf", "timeout")
READER_LAYOUTS = ("us",)     # keyboard-wedge layouts drivers.readerframing can decode


@dataclass
class ReaderSection:
    """A 2D code reader (scanner gun, embedded scan module) beside or instead of the camera.

    Serial readers (USB-COM/CDC-ACM, RS-232, TTL) are opened with pyserial's ``serial_for_url``;
    keyboard-wedge (USB HID) readers through Linux evdev, grabbed so scans never reach a console.
    Codes go through the same decision path as camera codes; a code read again within
    ``debounce_ms`` of its previous read is the same presentation (readers in continuous mode
    resend many times a second).
    """

    url: str = setting("", "'' (no reader); a serial port or pyserial URL: /dev/ttyACM0, "
                       "/dev/serial/by-id/..., rfc2217://host:port, a pty path; "
                       "'evdev:/dev/input/by-id/...-event-kbd' for a keyboard-wedge reader; "
                       "'sim' starts the virtual reader (hardware = 'sim' only)")
    baudrate: int = setting(9600, "serial speed (RS-232/TTL readers; USB-COM ignores it)")
    terminator: str = setting("cr", "what ends a code: 'cr', 'lf', 'crlf' (the reader's suffix; "
                              "a wedge's Enter key is CR) or 'timeout' (no suffix: gap_ms of "
                              "silence ends it)")
    gap_ms: int = setting(100, "'timeout': silence that ends a code; otherwise bytes followed by "
                          "this much silence without a terminator are a half-sent code, dropped")
    prefix: str = setting("", "custom prefix the reader sends before each code, stripped")
    strip_aim: bool = setting(True, "strip a leading AIM symbology identifier (]Q1, ]d2, ...)")
    debounce_ms: int = setting(1500, "the same code again within this long is the same "
                               "presentation: one decision (keep above the reader's own "
                               "same-code reread delay)")
    layout: str = setting("us", "keyboard layout a wedge reader types in: only 'us' (set the "
                          "reader's keyboard country to USA)")
    retry_initial_s: float = setting(0.5, "first wait before reopening a reader that failed")
    retry_max_s: float = setting(30.0, "longest wait between reader retries (doubling up to it)")

    def __post_init__(self) -> None:
        if self.terminator not in READER_TERMINATORS:
            raise ConfigError(f"[reader] terminator must be one of "
                              f"{', '.join(READER_TERMINATORS)}, not {self.terminator!r}")
        if self.layout not in READER_LAYOUTS:
            raise ConfigError(f"[reader] layout {self.layout!r} is not supported: only the US "
                              "layout is decoded. Set the reader's keyboard country to USA (scan "
                              "its 'USA keyboard' programming code) and layout = 'us', or switch "
                              "it to USB-COM (serial) mode")
        if self.baudrate <= 0 or self.gap_ms <= 0 or self.debounce_ms < 0:
            raise ConfigError("[reader] baudrate and gap_ms must be > 0, debounce_ms >= 0")
        if self.retry_initial_s <= 0 or self.retry_max_s < self.retry_initial_s:
            raise ConfigError("[reader] retry_initial_s must be > 0 and retry_max_s >= "
                              "retry_initial_s")

    @property
    def kind(self) -> str:
        """'keyboard' for an evdev wedge, 'serial' for any other URL, '' when none."""
        if not self.url:
            return ""
        return "keyboard" if self.url.startswith("evdev:") else "serial"


@dataclass
class DecoderSection:
    """Which QR decoder reads the frames, and how much time its retries may take per frame."""

    backend: str = setting("zxing", "'zxing' (fastest, best read rate), 'pyzbar', or "
                           "'zxing+pyzbar' (pyzbar retried when zxing finds nothing)")
    budget_ms: float = setting(25.0, "most milliseconds zxing's retries (denoise, upscale, glare, "
                               "inverted, averaged frames) may add to one frame, and only to a "
                               "frame with something code-like in it; keeps the loop with the "
                               "camera (15 fps: 66 ms a frame); 0 turns retries off")
    average_frames: int = setting(4, "frames of a still, code-like scene averaged against sensor "
                                  "noise (dim screens); 1 turns averaging off")

    def __post_init__(self) -> None:
        if self.backend not in ("zxing", "pyzbar", "zxing+pyzbar"):
            raise ConfigError(f"[decoder] backend must be 'zxing', 'pyzbar' or 'zxing+pyzbar', "
                              f"not {self.backend!r}")
        if not 0 <= self.budget_ms <= 1000:
            raise ConfigError(f"[decoder] budget_ms must be between 0 (no retries) and 1000, "
                              f"not {self.budget_ms!r}")
        if not 1 <= self.average_frames <= 16:
            raise ConfigError(f"[decoder] average_frames must be between 1 (off) and 16, "
                              f"not {self.average_frames!r}")


@dataclass
class SignalsSection:
    """GPIO pins (BCM numbers) and the light/beep/relay pattern of each decision."""

    pin_factory: str = setting("", "gpiozero pin factory: '' (gpiozero's choice), 'lgpio' (Pi 5), "
                               "'rpigpio', 'native' or 'mock'")
    green_pin: int = setting(17, "green LED")
    red_pin: int = setting(27, "red LED")
    buzzer_pin: int = setting(22, "buzzer")
    relay_pin: int = setting(23, "gate relay")
    relay_active_high: bool = setting(True, "false for the common active-low relay boards")
    buzzer_active_high: bool = setting(True, "false for an active-low buzzer")
    patterns: dict[str, Any] = setting({}, "replace a decision's pattern (pass, deny, check, fault), "
                                       "e.g. { pass = { green = [2.0], relay = [0.5], buzzer = "
                                       "[0.1] } }; a blink is [on_s, off_s, times] (times 0: "
                                       "forever); defaults: pass = green 2 s + relay 0.5 s + short "
                                       "beep, deny = red 2 s + long beep, check = amber blink")

    def __post_init__(self) -> None:
        pins = [self.green_pin, self.red_pin, self.buzzer_pin, self.relay_pin]
        if len(set(pins)) != len(pins) or min(pins) < 0:
            raise ConfigError(f"[signals] pins must be distinct non-negative numbers, got {pins}")


@dataclass
class PipelineSection:
    """When a code counts as a new presentation, and anti-passback.

    A code counts as having *left the view* once it was missing from ``leave_frames`` consecutive
    frames and not seen for ``leave_ms``; only then is the same code decided again. ``rearm_s`` > 0
    also re-decides a code held in view that long (0: a held code gives exactly one decision).
    A credential serial that passed here within ``anti_passback_s`` is denied as ``REPLAYED``
    (0 disables); at most ``anti_passback_max`` serial hashes are kept, in memory only.
    Frames older than ``max_frame_age_ms`` when they reach the pipeline are dropped unread.
    The pipeline takes this section as its settings.
    """

    leave_frames: int = setting(3, "a code left the view after missing from this many frames ...")
    leave_ms: int = setting(300, "... and not seen for this many ms; only then it is decided again")
    rearm_s: float = setting(0.0, "re-decide a code held in view this long (0: never, one "
                             "decision per presentation)")
    anti_passback_s: float = setting(300.0, "deny a serial that passed here this recently as "
                                     "REPLAYED (0: off)")
    anti_passback_max: int = setting(100_000, "serial hashes kept in memory for anti-passback")
    max_frame_age_ms: int = setting(500, "frames older than this are dropped unread")

    def __post_init__(self) -> None:
        if self.leave_frames < 1 or self.anti_passback_max < 1:
            raise ConfigError("[pipeline] leave_frames and anti_passback_max must be >= 1")
        for name in ("leave_ms", "rearm_s", "anti_passback_s", "max_frame_age_ms"):
            if getattr(self, name) < 0:
                raise ConfigError(f"[pipeline] {name} must not be negative")


@dataclass
class SyncSection:
    """Where the terminal fetches its signed lists, and how hard it tries (``scanpoint sync``)."""

    source: str = setting("", "list source: an http(s):// URL, or a folder served by `issuer publish`",
                          path=False)
    interval: float = setting(3600.0, "seconds between syncs when `scanpoint sync` runs without --once")
    timeout: float = setting(30.0, "seconds before a stalled HTTP request is given up",
                             high=3600.0)
    deadline: float = setting(900.0, "seconds one file's download may take in all, retries "
                              "included, however slowly the server sends", high=86400.0)
    retries: int = setting(4, "extra attempts after a network failure or server error",
                           low=0, high=100)
    backoff: float = setting(2.0, "first retry delay in seconds; doubles each retry, with jitter")
    backoff_max: float = setting(300.0, "longest retry delay in seconds, also the longest "
                                 "Retry-After a server's answer is waited for")
    redirect_hosts: list[str] = setting([], "hosts (host or host:port) a redirect from the source "
                                        "may lead to; empty: only the source's own host")
    max_index_bytes: int = setting(65536, "byte cap on the signed index download")
    max_list_bytes: int = setting(268435456, "byte cap on any one list download (snapshot or delta)")
    ca_file: str = setting("", "PEM bundle to trust for https sources (empty: system CAs)", path=True)
    partial_dir: str = setting("", "folder for resumable partial downloads (empty: STATE_DIR/partial)",
                               path=True)

    def __post_init__(self) -> None:
        if self.retries < 0 or self.timeout <= 0 or self.backoff < 0 or self.interval <= 0:
            raise ConfigError("[sync] retries must be >= 0 and timeout, interval > 0")
        if self.deadline <= 0:
            raise ConfigError("[sync] deadline must be more than 0 seconds")


@dataclass
class ListsSection:
    """The terminal's revocation store and how it treats stale lists and an untrusted clock."""

    db: str = setting("", "revocation store (SQLite); empty: STATE_DIR/revocation.db", path=True)
    stale: str = setting("check", "decision when a list is past its valid-until: 'check' or 'deny'")
    untrusted_clock: str = setting("check", "decision when the clock is untrusted: 'check' or 'deny'")
    max_clock_offset: float = setting(7200.0, "seconds the clock may differ from the sync server's",
                                      low=1.0, high=7 * 86400.0)
    issued_tolerance: float = setting(600.0, "seconds the clock may read before a held list's "
                                      "issue time", high=86400.0)
    max_entries: int = setting(20000000, "most revocation entries accepted in one list")

    def __post_init__(self) -> None:
        for key in ("stale", "untrusted_clock"):
            if getattr(self, key) not in ("check", "deny"):
                raise ConfigError(f"[lists] {key} must be 'check' or 'deny', not {getattr(self, key)!r}")


@dataclass
class PrinterSection:
    """The receipt printer at a pharmacy counter (ESC/POS over a serial URL)."""

    enabled: bool = setting(False, "print a slip for decisions listed in print_on")
    url: str = setting("", "serial URL: /dev/ttyUSB0, rfc2217://host:port, loop://, a pty path; "
                           "'sim' starts the virtual printer (hardware = 'sim' only)")
    baudrate: int = setting(19200, "serial speed of the printer")
    paper_mm: int = setting(58, "paper width in mm: 58 (32 characters a line) or 80 (48)")
    code_page: int = setting(0, "ESC t code page for non-Chinese text (0 = PC437, 16 = WPC1252)")
    chinese: bool = setting(True, "send Chinese text as GB18030 in the printer's Chinese mode")
    qr: bool = setting(True, "print the verification code as a QR symbol too")
    print_on: list[str] = setting(["pass", "deny", "check"],
                                  "decisions that print a slip (any of pass, deny, check)")
    timezone: str = setting("", "time zone for slip times, e.g. 'Asia/Shanghai' (empty: system)")
    reply_timeout_s: float = setting(0.5, "seconds to wait for a status answer before 'offline'")
    print_timeout_s: float = setting(15.0, "seconds to wait for a slip's print confirmation")
    retry_s: float = setting(2.0, "seconds between attempts while the printer is offline or empty")
    max_pending: int = setting(1000, "most slips kept waiting for the printer; more are refused")
    max_attempts: int = setting(3, "unanswered sends of one slip before it is marked failed")

    def __post_init__(self) -> None:
        if self.paper_mm not in (58, 80):
            raise ConfigError(f"[printer] paper_mm must be 58 or 80, not {self.paper_mm}")
        bad = sorted(set(self.print_on) - {"pass", "deny", "check"})
        if bad:
            raise ConfigError(f"[printer] print_on has {bad}; allowed: pass, deny, check")
        if not 0 <= self.code_page <= 255:
            raise ConfigError(f"[printer] code_page must be 0..255, not {self.code_page}")
        if self.reply_timeout_s <= 0 or self.print_timeout_s <= 0 or self.retry_s <= 0:
            raise ConfigError("[printer] timeouts and retry_s must be positive")
        if self.max_pending < 1 or self.max_attempts < 1:
            raise ConfigError("[printer] max_pending and max_attempts must be at least 1")
        if self.timezone:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(self.timezone)
            except (ValueError, OSError, LookupError):
                raise ConfigError(f"[printer] timezone {self.timezone!r} is not a known time zone "
                                  "(e.g. 'Asia/Shanghai')") from None

    @property
    def width(self) -> int:
        """Characters a line for this paper."""
        return WIDTH_CHARS[self.paper_mm]


@dataclass
class AuditSection:
    """The privacy-preserving decision log (hashes and reasons, never payloads, names or IDs)."""

    enabled: bool = setting(True, "record one row per decision in STATE_DIR/audit.db")
    retention_days: float = setting(7.0, "days a row is kept; older rows are purged automatically")
    purge_interval_s: float = setting(3600.0, "seconds between automatic purges while running")

    def __post_init__(self) -> None:
        if self.retention_days <= 0:
            raise ConfigError(f"[audit] retention_days must be positive, not {self.retention_days}")
        if self.purge_interval_s <= 0:
            raise ConfigError("[audit] purge_interval_s must be positive")


LISTEN_DEFAULT = "127.0.0.1:8080"


@dataclass
class DisplaySection:
    """The staff screen: the scanner's event socket and ``scanpoint display`` (kiosk, status, metrics).

    The scanner publishes each decision (masked, never a payload, serial or ID) and its status on
    ``socket``; ``scanpoint display`` reads it and serves the kiosk page, ``/status`` and
    ``/metrics`` on ``listen``. Loopback only unless ``allow`` names the LAN clients.
    """

    publish: bool = setting(True, "the scanner publishes decisions and status on socket (drops them, "
                            "counted, when no screen reads fast enough; a decision never waits)")
    socket: str = setting("", "Unix socket the scanner publishes on and `scanpoint display` reads; "
                          "empty: STATE_DIR/events.sock (on a Pi: /run/scanpoint/events.sock, the "
                          "scanner unit's runtime folder)", path=True)
    listen: str = setting(LISTEN_DEFAULT, "HOST:PORT `scanpoint display` serves on; an address "
                          "beyond loopback needs allow")
    allow: list[str] = setting([], "addresses or networks (CIDR) that may connect besides loopback, "
                               "e.g. [\"192.168.10.0/24\"]; required to listen beyond loopback")
    idle_s: float = setting(8.0, "seconds a decision stays on the kiosk screen before it shows "
                            "'Show your code' again")

    def __post_init__(self) -> None:
        if len(str(self.socket).encode()) > 107:
            raise ConfigError(f"[display] socket path is longer than 107 bytes: {self.socket}")
        if not 0.5 <= self.idle_s <= 3600:
            raise ConfigError("[display] idle_s must be between 0.5 and 3600 seconds")
        for entry in self.allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"[display] allow entry {entry!r} is not an address or network "
                                  "such as 192.168.10.0/24") from None
        check_listen(self.listen, self.allow, "[display] listen")

    @property
    def address(self) -> tuple[str, int]:
        """``listen`` as (host, port)."""
        return parse_listen(self.listen)

    def socket_path(self, state_dir: str) -> Path:
        """The event socket: ``socket``, or ``events.sock`` in ``state_dir`` when empty."""
        return Path(self.socket) if self.socket else Path(state_dir) / "events.sock"


def parse_listen(text: str, what: str = "listen address") -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as (host, port); :class:`ConfigError` if malformed."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        raise ConfigError(f"{what} {text!r} must be HOST:PORT with a numeric address, "
                          "e.g. 127.0.0.1:8080") from None
    if not sep or not 0 <= number <= 65535:
        raise ConfigError(f"{what} {text!r}: port must be 0..65535")
    return host, number


def check_listen(text: str, allow: list[str], what: str = "listen address") -> tuple[str, int]:
    """Parse ``text``; an address beyond loopback is refused unless ``allow`` names LAN clients."""
    host, port = parse_listen(text, what)
    if not ipaddress.ip_address(host).is_loopback and not allow:
        raise ConfigError(f"{what} {text!r} is not loopback: listening on the LAN is opt-in, set "
                          "[display] allow to the addresses or networks that may connect")
    return host, port


@dataclass
class Config:
    """The whole terminal configuration. ``source`` is the file it came from (None: defaults)."""

    terminal: TerminalSection = field(default_factory=TerminalSection)
    trust: TrustSection = field(default_factory=TrustSection)
    policy: PolicySection = field(default_factory=PolicySection)
    dcc: DccSection = field(default_factory=DccSection)
    camera: CameraSection = field(default_factory=CameraSection)
    reader: ReaderSection = field(default_factory=ReaderSection)
    decoder: DecoderSection = field(default_factory=DecoderSection)
    signals: SignalsSection = field(default_factory=SignalsSection)
    pipeline: PipelineSection = field(default_factory=PipelineSection)
    sync: SyncSection = field(default_factory=SyncSection)
    lists: ListsSection = field(default_factory=ListsSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    audit: AuditSection = field(default_factory=AuditSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    source: Path | None = field(default=None, metadata={"internal": True})

    def sections(self) -> dict[str, Any]:
        """Section name → section object."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not f.metadata.get("internal")}


def from_dict(data: dict[str, Any], *, where: str = "<config>", base: Path | None = None) -> Config:
    """Build a :class:`Config` from parsed TOML, checking every section and key."""
    hints = typing.get_type_hints(Config)
    known = {f.name: f for f in dataclasses.fields(Config) if not f.metadata.get("internal")}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(unknown)}; "
                          f"known sections: {', '.join(sorted(known))}")
    sections = {name: build_section(hints[name], name, raw, where, base)
                for name, raw in data.items()}
    return Config(**sections)


def loads(text: str, *, where: str = "<config>", base: Path | None = None) -> Config:
    """Parse TOML text into a :class:`Config`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    return from_dict(data, where=where, base=base)


def load(path: str | Path) -> Config:
    """Read and check the config file at ``path``; relative paths in it are taken from its folder."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise ConfigError(f"config file '{shown}' is not UTF-8 text (byte {exc.start} on line "
                          f"{line}): save it as UTF-8") from None
    config = loads(text, where=str(path), base=path.resolve().parent)
    config.source = path
    return config


def defaults_toml() -> str:
    """Every section and key with its default and description, as a commented TOML document."""
    lines = ["# scanpoint terminal configuration: every setting with its default", ""]
    for name, section in Config().sections().items():
        doc = (type(section).__doc__ or "").strip().splitlines()[0]
        lines += [f"# {doc}", f"[{name}]"]
        hints = typing.get_type_hints(type(section))
        for f in dataclasses.fields(section):
            low, high = value_range(section, f.name)
            if hints[f.name] in (int, float) and (low is not None or high is not None):
                lines.append(f"# ({bounds(low, high)})")
            lines.append(f"# {f.metadata.get('doc', '')}")
            lines.append(f"{f.name} = {toml_value(getattr(section, f.name))}")
        lines.append("")
    return "\n".join(lines)


