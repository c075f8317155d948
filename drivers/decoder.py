"""QR decoders for grayscale frames: zxing-cpp first, pyzbar selectable or as a fallback.

Measured on this project's machine (DESIGN.md): zxing-cpp reads the most real photos and is the
fastest on empty frames; pyzbar (OS package ``libzbar0``) is the decoder that works everywhere.
zxing-cpp is weak on low contrast plus sensor noise, where a light blur before a second try rescues
the frame. That retry runs only when something code-like was seen, so empty frames stay cheap.

Every decoder returns the texts of *valid* QR codes only (never micro QR, rMQR or linear codes, never
a result that failed its error correction) and an empty list for frames without a code.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from terminal.errors import ConfigError, DecoderUnavailable

log = logging.getLogger("scanpoint.decoder")

#: Decoder names accepted by :func:`open_decoder` (and the ``decoder`` config setting).
DECODER_NAMES = ("zxing", "pyzbar", "zxing+pyzbar")

#: Frames whose strongest 32×32-pixel block varies less than this (gray levels, at 1/4 scale)
#: hold nothing code-like: sensor noise averages away at that scale, a printed or displayed code
#: does not. Used only to decide whether a retry is worth its cost.
TEXTURE_THRESHOLD = 10.0


def as_gray(image: Any) -> np.ndarray:
    """A C-contiguous 2-D uint8 array from a grayscale, BGR or BGRA frame."""
    array = np.asarray(image)
    if array.ndim == 3:
        import cv2  # drivers may use OpenCV; only colour input needs it

        if array.shape[2] == 4:
            array = cv2.cvtColor(array, cv2.COLOR_BGRA2GRAY)
        elif array.shape[2] == 3:
            array = cv2.cvtColor(array, cv2.COLOR_BGR2GRAY)
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


def looks_textured(gray: np.ndarray, threshold: float = TEXTURE_THRESHOLD) -> bool:
    """True when some region of the frame has structure a QR code could be made of.

    Cheap (≈0.15 ms at 640×480): shrink to 1/4 with area averaging (which removes most sensor
    noise) and take the largest standard deviation over 8×8 blocks of the small image.
    """
    import cv2

    h, w = gray.shape
    if h < 32 or w < 32:
        return bool(gray.std() >= threshold)
    small = cv2.resize(gray, (w // 4, h // 4), interpolation=cv2.INTER_AREA).astype(np.float32)
    hh, ww = (small.shape[0] // 8) * 8, (small.shape[1] // 8) * 8
    blocks = small[:hh, :ww].reshape(hh // 8, 8, ww // 8, 8)
    return bool(blocks.std(axis=(1, 3)).max() >= threshold)


class ZxingDecoder:
    """zxing-cpp, restricted to QR codes, with a cheap blur retry for low-contrast noisy frames.

    Pass 1 reads the frame as it is. If it finds no valid QR code but saw something code-like —
    zxing located a QR symbol it could not decode, or the frame has code-scale structure
    (:func:`looks_textured`) — the frame is retried after a 3×3 box blur and a 3×3 median blur
    (each ≈0.03 ms, the lean zxing pass ≤0.6 ms), and, if a symbol was located, once more with
    zxing's global-histogram binarizer. The first retry that reads a code wins.
    """

    name = "zxing"

    def __init__(self, *, rescue: bool = True) -> None:
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
        self.rescue = rescue
        #: Whether the last :meth:`decode` located a QR symbol it could not read (a fallback
        #: decoder is worth asking only then).
        self.last_located = False
        #: How often each pass found the code (for benchmarks and status); keys are pass names.
        self.stats: dict[str, int] = {"plain": 0, "box3": 0, "median3": 0, "histogram": 0, "retries": 0}

    def _read(self, gray: np.ndarray, *, lean: bool = False, binarizer: Any = None) -> tuple[list[str], bool]:
        """One zxing pass: (texts of valid QR codes, whether an undecodable QR symbol was located)."""
        kwargs: dict[str, Any] = {"formats": self._formats, "text_mode": self._text_mode,
                                  "return_errors": True}
        if lean:
            kwargs.update(try_rotate=False, try_downscale=False, try_invert=False)
        if binarizer is not None:
            kwargs["binarizer"] = binarizer
        texts: list[str] = []
        located = False
        for barcode in self._zx.read_barcodes(gray, **kwargs):
            if barcode.format not in self._qr:
                continue
            if barcode.valid:
                if barcode.text not in texts:
                    texts.append(barcode.text)
            else:
                located = True
        return texts, located

    def decode(self, image: Any) -> list[str]:
        """Texts of the valid QR codes in a grayscale frame (empty list when none)."""
        import cv2

        gray = as_gray(image)
        self.last_located = False
        if _empty(gray):
            return []
        texts, located = self._read(gray)
        self.last_located = located
        if texts:
            self.stats["plain"] += 1
            return texts
        if not self.rescue or not (located or looks_textured(gray)):
            return []
        self.stats["retries"] += 1
        for name, filtered in (("box3", lambda: cv2.blur(gray, (3, 3))),
                               ("median3", lambda: cv2.medianBlur(gray, 3))):
            texts, seen = self._read(filtered(), lean=True)
            located = located or seen
            self.last_located = located
            if texts:
                self.stats[name] += 1
                log.debug("decoder=zxing rescued_by=%s", name)
                return texts
        if located:
            texts, _ = self._read(gray, binarizer=self._zx.Binarizer.GlobalHistogram)
            if texts:
                self.stats["histogram"] += 1
                log.debug("decoder=zxing rescued_by=histogram")
                return texts
        return []


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
    """Try ``primary``; when it finds nothing but something code-like was there, ask ``secondary``.

    "Code-like" is the primary's own judgement when it has one (zxing-cpp located a QR symbol it
    could not read: ``last_located``), else ``gate`` (:func:`looks_textured`). So an empty scene
    costs about what the primary alone costs, and the slow secondary runs only on real attempts.
    """

    def __init__(self, primary: Any, secondary: Any,
                 gate: Callable[[np.ndarray], bool] = looks_textured) -> None:
        self.primary = primary
        self.secondary = secondary
        self.gate = gate
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
        located = getattr(self.primary, "last_located", None)
        if not (located if located is not None else self.gate(gray)):
            return []
        self.secondary_calls += 1
        return self.secondary.decode(gray)


def open_decoder(name: str = "zxing") -> ZxingDecoder | PyzbarDecoder | FallbackDecoder:
    """The decoder called ``name``: ``"zxing"``, ``"pyzbar"`` or ``"zxing+pyzbar"``.

    Raises :class:`~terminal.errors.ConfigError` for an unknown name and
    :class:`~terminal.errors.DecoderUnavailable` when the library behind it is not installed.
    """
    key = name.strip().lower()
    if key in ("zxing", "zxing-cpp", "zxingcpp"):
        return ZxingDecoder()
    if key in ("pyzbar", "zbar"):
        return PyzbarDecoder()
    if key in ("zxing+pyzbar", "zxing+zbar"):
        return FallbackDecoder(ZxingDecoder(), PyzbarDecoder())
    raise ConfigError(f"unknown decoder {name!r}: choose one of {', '.join(DECODER_NAMES)}")
