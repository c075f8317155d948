"""Drawing camera-like frames of QR codes: realistic size, tilt, rotation, contrast, blur and noise.

A phone or a paper slip held to a checkpoint camera gives a code that fills a good part of the
frame, is slightly rotated and tilted, a little out of focus, and carries sensor noise; a phone
screen may also be dim (low contrast) or show glare. These frames feed the simulated camera and the
decoder tests. Everything random comes from a seeded ``numpy`` generator, so frames are reproducible.

Drawing is numpy only (the perspective warp, bilinear sampling and Gaussian blur that OpenCV would
do, to within a gray level): the simulated daemon, like a Pi camera daemon, never loads OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    picks = (np.arange(side) * modules.shape[0]) // side          # nearest-neighbour resize
    code = code[picks[:, None], picks[None, :]]
    corners = np.array([[0, 0], [side, 0], [side, side], [0, side]], dtype=np.float64)
    centred = corners - side / 2.0
    angle = np.deg2rad(look.angle)
    cos, sin = np.cos(angle), np.sin(angle)
    keystone = (1 - look.tilt, 1 + look.tilt, 1 + look.tilt, 1 - look.tilt)
    target = [[width / 2 + (x * cos - y * sin) * k, height / 2 + (x * sin + y * cos) * k]
              for (x, y), k in zip(centred, keystone)]
    matrix = perspective_transform(corners, np.array(target, dtype=np.float64))
    frame = warp_perspective(code, matrix, width, height, border=float(look.background))
    return _finish(np.clip(frame + 0.5, 0, 255).astype(np.uint8), look, rng)


def perspective_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3×3 homography taking four ``source`` points to four ``target`` points."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(np.asarray(source, float), np.asarray(target, float)):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(h, 1.0).reshape(3, 3)


def warp_perspective(image: np.ndarray, matrix: np.ndarray, width: int, height: int, *,
                     border: float = 0.0) -> np.ndarray:
    """``image`` seen through the homography ``matrix`` in a ``height``×``width`` float32 frame:
    bilinear sampling at pixel centres, ``border`` outside the image (as OpenCV's
    ``warpPerspective`` with ``INTER_LINEAR`` and a constant border)."""
    out = np.full((height, width), border, np.float32)
    corners = np.array([[0, 0, 1], [image.shape[1], 0, 1], [image.shape[1], image.shape[0], 1],
                        [0, image.shape[0], 1]], float) @ np.asarray(matrix, float).T
    xy = corners[:, :2] / corners[:, 2:]
    x0, y0 = np.maximum(np.floor(xy.min(axis=0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(xy.max(axis=0)).astype(int) + 2, (width, height))
    if x0 >= x1 or y0 >= y1:
        return out                                     # the image falls outside the frame
    inv = np.linalg.inv(matrix).astype(np.float32)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    den = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    u = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / den + 1.0   # +1: the padded border
    v = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / den + 1.0
    padded = np.pad(image.astype(np.float32), 1, constant_values=border)
    h, w = padded.shape
    inside = (u >= 0) & (v >= 0) & (u <= w - 1) & (v <= h - 1)
    np.clip(u, 0, w - 1.001, out=u)
    np.clip(v, 0, h - 1.001, out=v)
    u0 = u.astype(np.int32)
    v0 = v.astype(np.int32)
    fu = u - u0
    fv = v - v0
    flat = padded.ravel()
    index = v0 * w + u0
    top = flat.take(index)
    top += (flat.take(index + 1) - top) * fu
    bottom = flat.take(index + w)
    bottom += (flat.take(index + w + 1) - bottom) * fu
    top += (bottom - top) * fv
    out[y0:y1, x0:x1] = np.where(inside, top, np.float32(border))
    return out


def gaussian_blur(frame: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur of a 2-D array with mirrored borders (float32 result); the kernel
    spans ±3 sigma like OpenCV's for 8-bit images."""
    half = max(1, int(round(sigma * 3)))
    x = np.arange(-half, half + 1, dtype=np.float64)
    kernel = np.exp(-x * x / (2.0 * sigma * sigma))
    kernel = (kernel / kernel.sum()).astype(np.float32)
    a = frame.astype(np.float32)
    h, w = a.shape
    p = np.pad(a, ((half, half), (0, 0)), mode="reflect")
    a = sum(k * p[i:i + h] for i, k in enumerate(kernel))
    p = np.pad(a, ((0, 0), (half, half)), mode="reflect")
    return sum(k * p[:, i:i + w] for i, k in enumerate(kernel))


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
        frame = np.clip(gaussian_blur(frame, look.blur) + 0.5, 0, 255).astype(np.uint8)
    if look.noise > 0:
        rng = rng or np.random.default_rng(0)
        noise = rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(look.noise)
        noisy = frame.astype(np.float32) + noise
        frame = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)
