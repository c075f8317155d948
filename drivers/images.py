"""Reading image files as grayscale frames (for ``scanpoint decode``, replays and tests).

OpenCV reads most files; Pillow covers what this OpenCV build cannot (tiny or lossless WebP).
Transparent pixels are laid over white, the way a viewer or a phone screen shows them — reading the
raw gray channel would turn a transparent background black and hide a code drawn on it.

An image file is untrusted input: its width and height are read from its header first (Pillow
opens lazily) and a file over :data:`MAX_PIXELS` (``[camera] max_image_pixels``) is refused
before anything is decoded — a 20000×20000 PNG is 1.2 MB on disk and 2.4 GB decoded. A file name
that is not UTF-8 is refused before it reaches OpenCV, which crashes the process on one.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from terminal.errors import ScanpointError

MAX_PIXELS = 16_000_000
"""The largest image (width × height) read: 16 MP holds any phone photo (12 MP is 4000×3000)."""


class ImageUnreadable(ScanpointError, ValueError):
    """An image file is missing, empty or in a format neither OpenCV nor Pillow can read."""


def _to_gray(array: np.ndarray) -> np.ndarray:
    import cv2

    if array.dtype == np.uint16:
        array = (array >> 8).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return np.ascontiguousarray(array)
    channels = array.shape[2]
    if channels == 1:
        return np.ascontiguousarray(array[:, :, 0])
    if channels == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        colour = array[:, :, :3].astype(np.float32)
        array = (colour * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return cv2.cvtColor(array, cv2.COLOR_BGR2GRAY)


def utf8_name_problem(path: str | Path) -> str | None:
    """Why ``path`` must not reach OpenCV (its name is not UTF-8), or None."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        return f"image file name is not valid UTF-8: '{shown}' (rename it)"
    return None


def check_size(path: Path, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse ``path`` (:class:`ImageUnreadable`) if its header says it is over ``max_pixels``
    or no header can be read; nothing is decoded."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # Pillow's own bomb warning: judged here
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        width = height = -1
    except Exception as exc:  # noqa: BLE001 - Pillow plugins raise many types on a hostile header
        raise ImageUnreadable(f"cannot read image {path}: not an image file Pillow knows "
                              f"({type(exc).__name__})") from None
    if width < 0 or width * height > max_pixels:
        size = "far more" if width < 0 else f"{width}×{height} = {width * height / 1e6:.1f} MP"
        raise ImageUnreadable(f"image {path} is {size} pixels, over the cap of "
                              f"{max_pixels / 1e6:g} MP ([camera] max_image_pixels): refused "
                              "unread")


def load_gray(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as a 2-D uint8 array; raises :class:`ImageUnreadable` (also for a
    file name that is not UTF-8, which must never reach OpenCV, and for an image whose header
    says it has more than ``max_pixels`` pixels, before it is decoded)."""
    import cv2

    path = Path(path)
    name = str(path)
    problem = utf8_name_problem(name)
    if problem is not None:
        # OpenCV crashes the process (SIGSEGV) on a str it cannot encode as UTF-8
        raise ImageUnreadable(problem)
    if not path.is_file():
        raise ImageUnreadable(f"image not found: {path}")
    check_size(path, max_pixels)
    array = cv2.imread(name, cv2.IMREAD_UNCHANGED)
    if array is not None and array.size:
        return _to_gray(array)
    try:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = np.asarray(image.convert("RGBA"))
                return _to_gray(rgba[:, :, [2, 1, 0, 3]])
            return np.ascontiguousarray(np.asarray(image.convert("L")))
    except Exception as exc:  # Pillow raises many types for bad files
        raise ImageUnreadable(f"cannot read image {path}: {exc}") from exc
