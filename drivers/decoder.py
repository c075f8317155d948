"""QR decoders for grayscale frames: zxing-cpp first, pyzbar selectable or as a fallback.

Measured on this project's machine (DESIGN.md): zxing-cpp reads the most real photos and is the
fastest on empty frames; pyzbar (OS package ``libzbar0``) is the decoder that works everywhere.

A frame costs one lean zxing pass: QR only, no inverted pass, and — in the daemon, where one code
is expected — a single symbol (zxing stops looking once it has one). Only when that pass reads
nothing *and* something code-like is in view (zxing located a symbol it could not decode, or the
frame has code-scale texture) does :mod:`drivers.escalate` retry: denoise, upscale, glare
correction, an inverted pass, and the average of a still scene's frames, within a per-frame time
budget. So an empty scene costs about one lean pass plus a 0.1 ms look for texture.

Every decoder returns the texts of *valid* QR codes only (never micro QR, rMQR or linear codes, never
a result that failed its error correction) and an empty list for frames without a code. Nothing here
imports OpenCV: a Pi camera daemon reads frames with numpy and zxing-cpp alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from drivers.escalate import (
    DEFAULT_AVERAGE_FRAMES,
    DEFAULT_BUDGET_MS,
    Escalation,
    Region,
    find_code,
    region_around,
)
from terminal.errors import ConfigError, DecoderUnavailable

log = logging.getLogger("scanpoint.decoder")

#: Decoder names accepted by :func:`open_decoder` (and the ``decoder`` config setting).
DECODER_NAMES = ("zxing", "pyzbar", "zxing+pyzbar")

# ITU-R BT.601 weights in 14-bit fixed point, rounded: the same gray OpenCV's BGR2GRAY gives.
_B, _G, _R = 1868, 9617, 4899


def as_gray(image: Any) -> np.ndarray:
    """A C-contiguous 2-D uint8 array from a grayscale, BGR or BGRA frame (numpy only; a gray
    frame that is already contiguous is not copied)."""
    array = np.asarray(image)
    if array.ndim == 3:
        if array.shape[2] in (3, 4):
            if array.dtype != np.uint8:
                raise ValueError(f"a frame must hold uint8 pixels, got {array.dtype}")
            bgr = array[:, :, :3].astype(np.uint32)
            array = ((bgr[:, :, 0] * _B + bgr[:, :, 1] * _G + bgr[:, :, 2] * _R + 8192) >> 14
                     ).astype(np.uint8)
        elif array.shape[2] == 1:
            array = array[:, :, 0]
    if array.ndim != 2:
        raise ValueError(f"a frame must be a 2-D grayscale image, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"a frame must hold uint8 pixels, got {array.dtype}")
    return np.ascontiguousarray(array)


def _empty(gray: np.ndarray) -> bool:
    """An image without pixels holds no code (and would crash the decoding libraries)."""
    return gray.shape[0] == 0 or gray.shape[1] == 0


def looks_textured(gray: np.ndarray) -> bool:
    """True when some region of the frame has structure a QR code could be made of
    (:func:`drivers.escalate.find_code`, ≈0.1 ms at 640×480)."""
    gray = as_gray(gray)
    return not _empty(gray) and find_code(gray) is not None


class ZxingDecoder:
    """zxing-cpp, restricted to QR codes: one lean pass, then retries only where a code may be.

    ``single``: read at most one code per frame (the daemon; an image file may hold several).
    ``budget_ms``: the most time retries may add to one frame (0 or ``rescue=False``: none);
    ``average_frames``: frames of a still scene averaged against sensor noise (1: off);
    ``gate=False``: every unread image is worth the retries, whole (image files: no camera to
    keep up with). ``steps``: which retries, in which order (default: all of
    :data:`drivers.escalate.STEPS` and ``"average"``). ``timer`` is injectable for tests.
    """

    name = "zxing"

    def __init__(self, *, rescue: bool = True, single: bool = False,
                 budget_ms: float = DEFAULT_BUDGET_MS,
                 average_frames: int = DEFAULT_AVERAGE_FRAMES,
                 gate: bool = True,
                 steps: tuple[str, ...] | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        try:
            import zxingcpp
        except ImportError as exc:  # pragma: no cover - zxing-cpp is a dependency
            raise DecoderUnavailable(
                "decoder 'zxing' needs the Python package zxing-cpp: pip install zxing-cpp "
                "(or set decoder = \"pyzbar\")") from exc
        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self._qr = {zxingcpp.BarcodeFormat.QRCode}
        for extra in ("QRCodeModel1", "QRCodeModel2"):
            if hasattr(zxingcpp.BarcodeFormat, extra):
                self._qr.add(getattr(zxingcpp.BarcodeFormat, extra))
        self._text_mode = zxingcpp.TextMode.Plain  # raw text, not "<SOH>" or GS1 "(01)" renderings
        # Camera frames gain nothing from zxing's extra downscaled pass (same reads on every hard
        # scene and real photo, +45 % time on an empty frame); large image files may.
        self._lean: dict[str, Any] = {"formats": self._formats, "text_mode": self._text_mode, "return_errors": True,
                      "try_rotate": False, "try_invert": False, "try_downscale": not gate}
        self.rescue = rescue
        self.single = single
        self._timer = timer
        self.escalation = Escalation(self._retry_read, budget_ms=budget_ms if rescue else 0.0,
                                     average_frames=average_frames, gate=gate, steps=steps,
                                     timer=timer)
        #: Whether the last :meth:`decode` located a QR symbol it could not read (a fallback
        #: decoder is worth asking only then).
        self.last_located = False
        self._plain = 0
        self._all_symbols = 0

    @property
    def stats(self) -> dict[str, int]:
        """Frames read by the first pass (``plain``), by a full read after zxing stopped at an
        undecodable symbol (``all_symbols``) and by each retry; frames judged empty (``idle``),
        escalated, left alone (``given_up``), and retries the budget put off (``over_budget``)."""
        return {"plain": self._plain, "all_symbols": self._all_symbols, **self.escalation.stats}

    def _read(self, gray: np.ndarray, *, single: bool,
              binarizer: str | None = None) -> tuple[list[str], Region | None]:
        """One lean zxing pass: (texts of valid QR codes, where an undecodable symbol is)."""
        options = self._lean
        if binarizer is not None:
            options = {**options, "binarizer": getattr(self._zx.Binarizer, binarizer)}
        if single:
            barcode = self._zx.read_barcode(gray, **options)
            barcodes = [] if barcode is None else [barcode]
        else:
            barcodes = self._zx.read_barcodes(gray, **options)
        texts: list[str] = []
        located: Region | None = None
        for barcode in barcodes:
            if barcode.format not in self._qr:
                continue
            if barcode.valid:
                if barcode.text not in texts:
                    texts.append(barcode.text)
            elif located is None:
                p = barcode.position
                located = region_around([(q.x, q.y) for q in (p.top_left, p.top_right,
                                                               p.bottom_right, p.bottom_left)],
                                        gray.shape)
        return texts, located

    def _retry_read(self, image: np.ndarray, binarizer: str | None) -> tuple[list[str], Region | None]:
        return self._read(image, single=True, binarizer=binarizer)

    def decode(self, image: Any) -> list[str]:
        """Texts of the valid QR codes in a grayscale frame (empty list when none)."""
        started = self._timer()
        gray = as_gray(image)
        self.last_located = False
        if _empty(gray):
            self.escalation.reset()
            return []
        texts, located = self._read(gray, single=self.single)
        if texts:
            self._plain += 1
            self.escalation.reset()
            return texts
        self.last_located = located is not None
        if not self.rescue:
            return []
        if located is not None and self.single:
            # a single-symbol read stops at the first symbol, readable or not: another may be
            texts, _ = self._read(gray, single=False)
            if texts:
                self._all_symbols += 1
                self.escalation.reset()
                return texts
        return self.escalation.run(gray, located, started)


class PyzbarDecoder:
    """ZBar through pyzbar, QR only. Slower on empty frames (~15 ms) but available everywhere."""

    name = "pyzbar"

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:
            raise DecoderUnavailable(
                "decoder 'pyzbar' needs the ZBar library: install the OS package libzbar0 "
                f"(sudo apt install libzbar0) and pip install pyzbar ({exc})") from exc
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(self, image: Any) -> list[str]:
        """Texts of the QR codes ZBar reads in a grayscale frame (empty list when none)."""
        gray = as_gray(image)
        if _empty(gray):
            return []
        texts: list[str] = []
        for symbol in self._pyzbar.decode(gray, symbols=self._symbols):
            text = symbol.data.decode("utf-8", errors="replace")  # ZBar hands out UTF-8
            if text not in texts:
                texts.append(text)
        return texts


class FallbackDecoder:
    """Try zxing-cpp; when it finds nothing but located a QR symbol it could not read
    (``last_located``), ask pyzbar. So an empty scene costs about what zxing-cpp alone costs, and
    the slow secondary runs only on real attempts.
    """

    def __init__(self, primary: ZxingDecoder, secondary: PyzbarDecoder) -> None:
        self.primary = primary
        self.secondary = secondary
        self.name = f"{primary.name}+{secondary.name}"
        self.secondary_calls = 0

    def decode(self, image: Any) -> list[str]:
        """Texts from the primary decoder, else from the secondary one."""
        gray = as_gray(image)
        if _empty(gray):
            return []
        texts = self.primary.decode(gray)
        if texts:
            return texts
        if not self.primary.last_located:
            return []
        self.secondary_calls += 1
        return self.secondary.decode(gray)


#: Retry budget for image files (``images=True``): thorough, there is no camera to keep up with.
IMAGE_BUDGET_MS = 2000.0


def open_decoder(name: str = "zxing", *, single: bool = False,
                 budget_ms: float = DEFAULT_BUDGET_MS,
                 average_frames: int = DEFAULT_AVERAGE_FRAMES, images: bool = False
                 ) -> ZxingDecoder | PyzbarDecoder | FallbackDecoder:
    """The decoder called ``name``: ``"zxing"``, ``"pyzbar"`` or ``"zxing+pyzbar"``.

    For camera frames: ``single`` (the daemon: one code expected per frame), ``budget_ms`` and
    ``average_frames`` configure zxing's retries (``[decoder]`` section). ``images=True`` is for
    unrelated image files (``scanpoint decode``/``verify IMAGE``): every code in an image, retries
    on any image zxing cannot read at once, a budget of :data:`IMAGE_BUDGET_MS`, no averaging.

    Raises :class:`~terminal.errors.ConfigError` for an unknown name and
    :class:`~terminal.errors.DecoderUnavailable` when the library behind it is not installed.
    """
    key = name.strip().lower()
    options: dict[str, Any] = {"single": single, "budget_ms": budget_ms,
                               "average_frames": average_frames}
    if images:
        options = {"single": False, "budget_ms": IMAGE_BUDGET_MS, "average_frames": 1,
                   "gate": False}
    if key in ("zxing", "zxing-cpp", "zxingcpp"):
        return ZxingDecoder(**options)
    if key in ("pyzbar", "zbar"):
        return PyzbarDecoder()
    if key in ("zxing+pyzbar", "zxing+zbar"):
        return FallbackDecoder(ZxingDecoder(**options), PyzbarDecoder())
    raise ConfigError(f"unknown decoder {name!r}: choose one of {', '.join(DECODER_NAMES)}")
