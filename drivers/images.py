"""Reading image files as grayscale frames (for ``scanpoint decode``, replays and tests).

OpenCV reads most files; Pillow covers what this OpenCV build cannot (tiny or lossless WebP).
Transparent pixels are laid over white, the way a viewer or a phone screen shows them — reading the
raw gray channel would turn a transparent background black and hide a code drawn on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from terminal.errors import ScanpointError


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


def load_gray(path: str | Path) -> np.ndarray:
    """The image at ``path`` as a 2-D uint8 array; raises :class:`ImageUnreadable` (also for a
    file name that is not UTF-8, which must never reach OpenCV)."""
    import cv2

    path = Path(path)
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # OpenCV crashes the process (SIGSEGV) on a str it cannot encode as UTF-8
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        raise ImageUnreadable(f"image file name is not valid UTF-8: '{shown}'") from None
    if not path.is_file():
        raise ImageUnreadable(f"image not found: {path}")
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
