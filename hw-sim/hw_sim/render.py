"""Drawing camera-like frames of QR codes: realistic size, tilt, rotation, contrast, blur and noise.

A phone or a paper slip held to a checkpoint camera gives a code that fills a good part of the
frame, is slightly rotated and tilted, a little out of focus, and carries sensor noise; a phone
screen may also be dim (low contrast) or show glare. These frames feed the simulated camera and the
decoder tests. Everything random comes from a seeded ``numpy`` generator, so frames are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import segno

WIDTH = 640
HEIGHT = 480


@dataclass(frozen=True)
class Look:
    """How a code appears to the camera.

    ``fill`` is the share of the frame's area the code (with its quiet zone) covers; ``angle`` the
    in-plane rotation in degrees; ``tilt`` a perspective keystone (0 = square on, 0.1 = one edge 20%
    longer than the other); ``dark``/``light`` the gray levels of modules and paper (0/255 is a
    crisp print, 100/140 a dim phone screen); ``blur`` a Gaussian sigma in pixels; ``noise`` the
    standard deviation of sensor noise in gray levels.
    """

    fill: float = 0.4
    angle: float = 0.0
    tilt: float = 0.0
    dark: int = 20
    light: int = 230
    blur: float = 0.8
    noise: float = 4.0
    background: int = 90


CRISP = Look(blur=0.0, noise=0.0)


def qr_modules(text: str, error: str = "m") -> np.ndarray:
    """The QR symbol for ``text`` as a 2-D array, 1 = dark module, with a 4-module quiet zone."""
    return _modules(text, error).copy()


@lru_cache(maxsize=128)
def _modules(text: str, error: str) -> np.ndarray:
    qr = segno.make(text, error=error, micro=False)
    matrix = np.array(qr.matrix, dtype=np.uint8)
    return np.pad(matrix, 4, constant_values=0)


def blank(width: int = WIDTH, height: int = HEIGHT, *, look: Look = Look(),
          rng: np.random.Generator | None = None) -> np.ndarray:
    """A frame with nothing in view: the background with the same noise as a code frame."""
    frame = np.full((height, width), look.background, np.uint8)
    return _finish(frame, look, rng)


def draw(text: str, *, look: Look = Look(), width: int = WIDTH, height: int = HEIGHT,
         rng: np.random.Generator | None = None) -> np.ndarray:
    """A ``height``×``width`` grayscale frame showing the QR code of ``text`` as ``look`` says."""
    modules = _modules(text, "m")
    side = int(min(np.sqrt(look.fill * width * height), 0.95 * min(width, height)))
    code = np.where(modules == 1, look.dark, look.light).astype(np.uint8)
    code = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST)
    corners = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    centred = corners - side / 2.0
    angle = np.deg2rad(look.angle)
    cos, sin = np.cos(angle), np.sin(angle)
    keystone = (1 - look.tilt, 1 + look.tilt, 1 + look.tilt, 1 - look.tilt)
    target = [[width / 2 + (x * cos - y * sin) * k, height / 2 + (x * sin + y * cos) * k]
              for (x, y), k in zip(centred, keystone)]
    matrix = cv2.getPerspectiveTransform(corners, np.float32(target))
    frame = cv2.warpPerspective(code, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderValue=int(look.background))
    return _finish(frame, look, rng)


def glare(frame: np.ndarray, *, strength: float = 1.0, radius: float = 0.35,
          rng: np.random.Generator | None = None) -> np.ndarray:
    """``frame`` with a bright reflection (a lamp on a phone screen) washing out a round patch."""
    rng = rng or np.random.default_rng(0)
    height, width = frame.shape
    cx = width * rng.uniform(0.35, 0.65)
    cy = height * rng.uniform(0.35, 0.65)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = radius * min(width, height)
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * strength
    out = frame.astype(np.float32) * (1 - spot) + 255.0 * spot
    return np.clip(out, 0, 255).astype(np.uint8)


def _finish(frame: np.ndarray, look: Look, rng: np.random.Generator | None) -> np.ndarray:
    if look.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), look.blur)
    if look.noise > 0:
        rng = rng or np.random.default_rng(0)
        noise = rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(look.noise)
        noisy = frame.astype(np.float32) + noise
        frame = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)
