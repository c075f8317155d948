"""A virtual ESC/POS receipt printer on a real pseudo-terminal.

``VirtualPrinter().port`` is the slave path of an ``os.openpty()`` pair; the driver opens it like a
serial port (``serial_for_url(port)``). A thread reads the master side, parses the ESC/POS stream
(init, text, GB18030 in Chinese mode, bold and size, alignment, feed, cut, QR store and print,
DLE EOT and GS r status requests) and renders each cut slip as text and, with Pillow, as a PNG.

Faults on command: :meth:`run_out_of_paper` (after N more whole slips, the paper ends inside the
next one, which is torn and not counted), :meth:`refill`, :meth:`go_offline` (stops answering and
drops what it receives, like a printer switched off), :meth:`come_online`, :meth:`hold` (after N
more slips, jammed at the next cut: its bytes are in, nothing is printed or answered until
:meth:`release`), and ``delay`` seconds of printing time per slip (a slow printer), and
``confirms=False`` for a model that prints but ignores the in-order status request (GS r).

PNG text uses a CJK font if one is installed (Droid Sans Fallback, Noto CJK, WenQuanYi); without
one, Chinese characters are drawn as ``?`` in the PNG (the .txt always has them) and
``png_note`` says so.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.counter.paper import align as pad_align
from terminal.counter.paper import char_width, spaced

log = logging.getLogger(__name__)

CJK_FONTS = [
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
]
LATIN_FONTS = [
    "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
]
# ESC t n code pages the virtual printer decodes. Deliberately NOT imported from
# drivers.printer.CODE_PAGES: an independent copy lets the simulator check the driver's table.
CODECS = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}
DOTS_PER_CHAR = 12       # Font A is 12x24 dots
LINE_DOTS = 24
QR_DOTS = 6              # dots per QR module (GS ( k module size 6)


@dataclass
class Segment:
    text: str
    bold: bool
    size: int


@dataclass
class PrintedLine:
    segments: list[Segment] = field(default_factory=list)
    align: str = "left"
    qr: str | None = None

    def text(self, width: int) -> str:
        if self.qr is not None:
            return pad_align(f"[QR {self.qr}]", width, "center").rstrip()
        body = "".join(spaced(s.text) if s.size >= 2 else s.text for s in self.segments)
        return pad_align(body, width, self.align).rstrip()


@dataclass
class PrintedSlip:
    """One cut slip: its lines, its text, and where its files went."""

    number: int
    lines: list[PrintedLine]
    text: str
    raw: bytes
    txt_path: Path | None = None
    png_path: Path | None = None


class EscPosParser:
    """Incremental ESC/POS parser: ``feed(bytes)`` returns the status answers to send back."""

    def __init__(self, printer: VirtualPrinter) -> None:
        self.p = printer
        self.buf = bytearray()
        self.reset()

    def reset(self) -> None:
        self.bold = False
        self.size = 1
        self.align = "left"
        self.chinese = False
        self.codec = "cp437"
        self.text = bytearray()

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = bytearray()
        while self.buf:
            used = self._one(out)
            if used == 0:            # incomplete command: wait for more bytes
                break
            del self.buf[:used]
        return bytes(out)

    def _flush_text(self) -> None:
        if self.text:
            decoded = bytes(self.text).decode("gb18030" if self.chinese else self.codec,
                                              errors="replace")
            self.p._content(Segment(decoded, self.bold, self.size))
            self.text.clear()

    def _one(self, out: bytearray) -> int:
        b = self.buf
        c = b[0]
        if c == 0x0A:
            self._flush_text()
            self.p._newline(self.align)
            return 1
        if c == 0x0D:
            return 1
        if c == 0x10:                                   # DLE
            if len(b) < 3:
                return 0
            if b[1] == 0x04:
                reply = self.p._realtime_status(b[2])
                if reply is not None:
                    out.append(reply)
                return 3
            return 3
        if c == 0x1B:                                   # ESC
            if len(b) < 2:
                return 0
            cmd = b[1]
            if cmd == ord("@"):
                self._flush_text()
                self.reset()
                return 2
            if len(b) < 3:
                return 0
            n = b[2]
            self._flush_text()
            if cmd == ord("E") or cmd == ord("G"):
                self.bold = bool(n & 1)
            elif cmd == ord("a"):
                self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                              50: "right"}.get(n, "left")
            elif cmd == ord("t"):
                self.codec = CODECS.get(n, "cp437")
            elif cmd == ord("!"):
                self.bold = bool(n & 0x08)
                self.size = 2 if n & 0x30 else 1
            elif cmd == ord("d"):
                for _ in range(n):
                    self.p._newline(self.align)
            elif cmd not in (ord("-"), ord("M"), ord("J"), ord("3"), ord("V"), ord("{")):
                log.debug("event=escpos_unknown cmd=ESC_0x%02x", cmd)
            return 3
        if c == 0x1D:                                   # GS
            if len(b) < 2:
                return 0
            cmd = b[1]
            if cmd == ord("("):
                if len(b) < 5:
                    return 0
                length = b[3] | (b[4] << 8)
                if len(b) < 5 + length:
                    return 0
                self._flush_text()
                if b[2] == ord("k"):
                    self._qr(bytes(b[5:5 + length]))
                return 5 + length
            if len(b) < 3:
                return 0
            n = b[2]
            if cmd == ord("!"):
                self._flush_text()
                self.size = max((n >> 4) & 0x07, n & 0x07) + 1
                return 3
            if cmd == ord("V"):
                if n in (65, 66):
                    if len(b) < 4:
                        return 0
                    used = 4
                else:
                    used = 3
                self._flush_text()
                self.p._cut()
                return used
            if cmd == ord("r"):
                reply = self.p._in_order_status(n)
                if reply is not None:
                    out.append(reply)
                return 3
            if cmd in (ord("L"), ord("W")):
                return 4 if len(b) >= 4 else 0
            return 3
        if c == 0x1C:                                   # FS
            if len(b) < 2:
                return 0
            cmd = b[1]
            if cmd in (ord("&"), ord(".")):
                self._flush_text()
                self.chinese = cmd == ord("&")
                return 2
            return 3 if len(b) >= 3 else 0
        self.text.append(c)
        return 1

    def _qr(self, block: bytes) -> None:
        if len(block) < 2 or block[0] != 0x31:
            return
        fn = block[1]
        if fn == 0x50:                                  # store data
            self.qr_data = block[3:].decode("ascii", errors="replace")
        elif fn == 0x51:                                # print stored data
            self.p._qr(getattr(self, "qr_data", ""), self.align)


class VirtualPrinter:
    """An ESC/POS printer on a pty. Use as a context manager; ``port`` is what the driver opens."""

    def __init__(self, out_dir: str | os.PathLike | None = None, *, width: int = 32,
                 paper: int | None = None, delay: float = 0.0, png: bool = True,
                 font: str | None = None, confirms: bool = True) -> None:
        self.out_dir = Path(out_dir) if out_dir else None
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.width = width
        self.delay = delay
        self.confirms = confirms                # False: a model that ignores GS r
        self.png = png
        self.paper_left: int | None = paper     # whole slips left; None = endless roll
        self.out_of_paper = False
        self.online = True
        self.slips: list[PrintedSlip] = []
        self.torn: list[PrintedSlip] = []
        self.received = bytearray()      # bytes since the last cut
        self._lines: list[PrintedLine] = []
        self._current = PrintedLine()
        self._torn = False
        self._cond = threading.Condition()
        self._hold_after: int | None = None      # slips still cut before jamming (None: no jam)
        self._released = threading.Event()
        self._released.set()
        self._held = threading.Event()           # set while a slip is stuck at the cut
        self._font_path = font if font is not None else next(
            (f for f in CJK_FONTS if os.path.exists(f)), None)
        self.png_note = "" if self._font_path else \
            "no CJK font found: Chinese characters drawn as '?' in PNGs (the .txt has them)"
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop_r, self._stop_w = os.pipe()
        self._parser = EscPosParser(self)
        self._thread = threading.Thread(target=self._run, name="virtual-printer", daemon=True)
        self._thread.start()

    # -- faults --------------------------------------------------------------------------------

    def run_out_of_paper(self, after: int = 0) -> None:
        """Print ``after`` more whole slips; the paper ends inside the next one."""
        with self._cond:
            self.paper_left = after
            if after == 0 and self._current_has_content():
                self.out_of_paper = True

    def refill(self) -> None:
        """Load a new roll."""
        with self._cond:
            self.paper_left = None
            self.out_of_paper = False

    def hold(self, after: int = 0) -> None:
        """Cut ``after`` more slips, then jam at the next cut: that slip's bytes are received but
        it is neither printed nor confirmed, and nothing else is answered, until :meth:`release`.
        For tests that need the printer (and so the driver waiting on it) stuck for certain."""
        with self._cond:
            self._hold_after = after
            self._released.clear()

    def release(self) -> None:
        """Clear the jam: the stuck slip is printed and confirmed, and printing goes on."""
        with self._cond:
            self._hold_after = None
            self._released.set()

    def wait_held(self, timeout: float = 10.0) -> bool:
        """Wait until a slip is stuck at the cut because of :meth:`hold` (True if it is)."""
        return self._held.wait(timeout)

    def go_offline(self) -> None:
        """Stop answering and drop everything received (switched off, cable pulled)."""
        self.online = False

    def come_online(self) -> None:
        self.online = True

    # -- results -------------------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` whole slips were printed."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.slips) >= count, timeout)

    # -- parser callbacks ----------------------------------------------------------------------

    def _current_has_content(self) -> bool:
        return bool(self._lines or self._current.segments or self._current.qr)

    def _printable(self) -> bool:
        """Called before printing anything: runs the paper out if it is due."""
        if self.paper_left == 0:
            self.out_of_paper = True
        if self.out_of_paper:
            self._torn = True
            return False
        return True

    def _content(self, segment: Segment) -> None:
        if self._printable():
            self._current.segments.append(segment)

    def _newline(self, how: str) -> None:
        if self._printable():
            self._current.align = how
            self._lines.append(self._current)
        self._current = PrintedLine()

    def _qr(self, data: str, how: str) -> None:
        if self._printable():
            self._lines.append(PrintedLine(align=how, qr=data))

    def _cut(self) -> None:
        with self._cond:
            jam = self._hold_after == 0
            if self._hold_after:
                self._hold_after -= 1
        if jam:
            self._held.set()
            self._released.wait()
            self._held.clear()
        if self.delay:
            threading.Event().wait(self.delay)
        raw = bytes(self.received)        # everything since the previous cut
        self.received.clear()
        lines = [line for line in self._lines]
        while lines and not lines[-1].segments and lines[-1].qr is None:
            lines.pop()                                  # the feed before the cut
        text = "\n".join(line.text(self.width) for line in lines) + "\n"
        with self._cond:
            if self._torn:
                self.torn.append(PrintedSlip(len(self.torn) + 1, lines, text, raw))
                log.info("event=virtual_printer_torn_slip")
            elif lines:
                slip = PrintedSlip(len(self.slips) + 1, lines, text, raw)
                self._write_files(slip)
                self.slips.append(slip)
                if self.paper_left is not None:
                    self.paper_left -= 1
            self._lines, self._current, self._torn = [], PrintedLine(), False
            self._cond.notify_all()

    def _realtime_status(self, n: int) -> int | None:
        out = self.out_of_paper
        near = self.paper_left is not None and self.paper_left <= 2
        if n == 1:
            return 0x12 | (0x08 if out else 0)
        if n == 2:
            return 0x12 | (0x20 if out else 0)
        if n == 3:
            return 0x12
        if n == 4:
            return 0x12 | (0x0C if near or out else 0) | (0x60 if out else 0)
        return None

    def _in_order_status(self, n: int) -> int | None:
        if not self.confirms:
            return None
        if n not in (1, 49):
            return 0x00
        near = self.paper_left is not None and self.paper_left <= 2
        return (0x03 if near or self.out_of_paper else 0) | (0x0C if self.out_of_paper else 0)

    # -- rendering -----------------------------------------------------------------------------

    def _write_files(self, slip: PrintedSlip) -> None:
        if not self.out_dir:
            return
        slip.txt_path = self.out_dir / f"slip-{slip.number:04d}.txt"
        slip.txt_path.write_text(slip.text, encoding="utf-8")
        if self.png:
            try:
                slip.png_path = self.out_dir / f"slip-{slip.number:04d}.png"
                render_png(slip.lines, self.width, self._font_path).save(slip.png_path)
            except Exception as exc:  # noqa: BLE001 - the .txt is the record, a PNG a convenience
                log.warning("event=virtual_printer_png_failed error=%s", exc)
                slip.png_path = None

    # -- the pty -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [], 0.5)
            if self._stop_r in ready:
                return
            if self._master not in ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            if not data or not self.online:
                continue
            self.received += data
            try:
                reply = self._parser.feed(data)
            except Exception:
                log.exception("event=virtual_printer_parse_error")
                continue
            if reply and self.online:
                os.write(self._master, reply)

    def close(self) -> None:
        """Stop the thread and close the pty."""
        self.release()                   # a jammed slip must not keep the thread from stopping
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> VirtualPrinter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render_png(lines: list[PrintedLine], width: int, font_path: str | None):
    """Draw slip lines on a receipt-width image (12 dots a column, 24 a line)."""
    import segno
    from PIL import Image, ImageDraw, ImageFont

    px = width * DOTS_PER_CHAR
    latin_path = next((f for f in LATIN_FONTS if os.path.exists(f)), None)
    fonts: dict[tuple[bool, int], object] = {}

    def font(wide: bool, scale: int):
        key = (wide, scale)
        if key not in fonts:
            path = font_path if wide else latin_path
            if path:
                fonts[key] = ImageFont.truetype(path, (22 if wide else 19) * scale)
            else:
                fonts[key] = ImageFont.load_default(size=19 * scale)
        return fonts[key]

    blocks: list[tuple[str, Any, int]] = []
    height = 8
    for line in lines:
        if line.qr is not None:
            matrix = segno.make(line.qr, error="m").matrix
            blocks.append(("qr", matrix, height))
            height += (len(matrix) + 8) * QR_DOTS
        else:
            scale = max((s.size for s in line.segments), default=1)
            blocks.append(("text", line, height))
            height += LINE_DOTS * scale + 4
    img = Image.new("L", (px, height + 8), 255)
    draw = ImageDraw.Draw(img)
    for kind, item, y in blocks:
        if kind == "qr":
            q = QR_DOTS
            x0 = (px - len(item) * q) // 2
            for r, row in enumerate(item):
                for c, dark in enumerate(row):
                    if dark:
                        draw.rectangle([x0 + c * q, y + 4 * q + r * q,
                                        x0 + c * q + q - 1, y + 4 * q + r * q + q - 1], 0)
            continue
        cols = sum(char_width(ch) * s.size for s in item.segments for ch in s.text)
        x = {"center": (px - cols * DOTS_PER_CHAR) // 2,
             "right": px - cols * DOTS_PER_CHAR}.get(item.align, 0)
        x = max(0, x)
        for seg in item.segments:
            for ch in seg.text:
                wide = char_width(ch) == 2
                glyph = ch if (font_path or not wide) else "?"
                draw.text((x, y), glyph, fill=0, font=font(wide and bool(font_path), seg.size),
                          stroke_width=1 if seg.bold else 0, stroke_fill=0)
                x += char_width(ch) * DOTS_PER_CHAR * seg.size
    return img


def main(argv: list[str] | None = None) -> int:
    """``python -m hw_sim.printer [--out DIR] [--width 32|48]``: a virtual printer to point a
    terminal at (``[printer] url = "<the printed pty path>"``); prints each slip as it is cut."""
    import argparse
    import time

    parser = argparse.ArgumentParser(prog="python -m hw_sim.printer", description=main.__doc__)
    parser.add_argument("--out", default="slips", help="folder for slip .txt and .png files")
    parser.add_argument("--width", type=int, choices=(32, 48), default=32)
    args = parser.parse_args(argv)
    with VirtualPrinter(args.out, width=args.width) as printer:
        print(f"virtual printer on {printer.port} (slips in {args.out}); Ctrl-C to stop",
              flush=True)
        if printer.png_note:
            print(printer.png_note, flush=True)
        shown = 0
        try:
            while True:
                printer.wait_for(shown + 1, 0.5)
                while shown < len(printer.slips):
                    print(printer.slips[shown].text, flush=True)
                    shown += 1
                time.sleep(0.05)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
