"""Hard scenes: a phone screen showing a native credential, as a gate camera sees it at its worst.

Each frame is 640×480 gray: a cluttered background, a phone (dark body, lit screen, the QR code on
the screen with its quiet zone) placed in 3-D — rolled, tilted up to 30° about both screen axes —
and projected through a pinhole camera. Light is integrated over each sensor pixel (the scene is
drawn at 3× and area-averaged down), so a code at 1.5 px per module looks the way a real sensor
sees one, not like point samples. Then the camera's faults: a dim screen (low level, low contrast),
a lamp's glare on the glass (added light that clips at white), focus blur, motion blur along the
hand's movement, and sensor noise.

:data:`CONDITIONS` names the hard cases (``dim``, ``glare``, ``tilt``, ``small``, ``blur`` and
``combo``, where two or three of them meet); :func:`hard_set` draws frames of one condition from a
seed. :func:`still_sequence` and :func:`moving_sequence` give frames as a camera delivers them: a
phone held still with fresh sensor noise in every frame, and a phone moving into view and stopping.
The QR texts are real ``SP1:`` credentials signed by a fixed test key (:func:`credential_texts`).
Everything random comes from seeded generators, so a seed always gives the same frames.

Used by the decoder tests and ``benchmarks/bench_hard_scenes.py``; the running terminal never
imports it (it uses OpenCV to draw).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

from hw_sim.render import HEIGHT, WIDTH, qr_modules

#: Supersampling factor: the scene is drawn this many times finer, then area-averaged.
SUPERSAMPLE = 3
#: Camera focal length in frame pixels (a 640-px wide sensor behind a ~65° lens).
FOCAL = 500.0
#: Texture resolution: pixels per QR module when the phone is drawn flat, before projection.
TEXTURE_PPM = 12


@dataclass(frozen=True)
class Scene:
    """How the phone appears in one frame.

    ``ppm``: the code's pixels per module on the sensor had the phone faced the camera squarely;
    ``x``/``y``: where the code's centre is, as a share of the frame's width/height (0.5 = middle);
    ``roll``: in-plane rotation, degrees; ``tilt_x``/``tilt_y``: rotation of the screen about its
    horizontal/vertical axis, degrees (the top or a side leaning away); ``screen``/``black``: gray
    levels of the light and dark modules; ``ambient``: the background's mean level; ``glare``:
    strength 0..1 of a lamp's reflection centred at ``glare_u``/``glare_v`` (code coordinates,
    0..1), ``glare_radius`` its size as a share of the code's side; ``focus``: Gaussian blur sigma;
    ``motion``/``motion_angle``: motion blur length in pixels and its direction in degrees;
    ``noise``: sensor noise sigma in gray levels.
    """

    ppm: float = 4.0
    x: float = 0.5
    y: float = 0.5
    roll: float = 0.0
    tilt_x: float = 0.0
    tilt_y: float = 0.0
    screen: int = 225
    black: int = 30
    ambient: int = 100
    glare: float = 0.0
    glare_u: float = 0.5
    glare_v: float = 0.5
    glare_radius: float = 0.3
    focus: float = 0.5
    motion: float = 0.0
    motion_angle: float = 0.0
    noise: float = 3.0


# ---------------------------------------------------------------------------------------------
# Credentials


#: Issue time of the first credential (2026-01-01T00:00:00Z); credential n is issued n s later.
ISSUED = 1_767_225_600
ISSUER_NAME = "Hard Scene Health Commission"


def _test_key(label: str) -> int:
    from terminal.crypto import sm2, sm3

    return int.from_bytes(sm3.sm3(b"scanpoint hard scenes " + label.encode()), "big") % (sm2.N - 2) + 1


def issuer_key() -> int:
    """The fixed private key that signs the hard scenes' credentials (a test key, never use it
    for anything else): tests put its public key in a trust list to verify what they decode."""
    return _test_key("issuer")


@lru_cache(maxsize=4)
def credential_texts(count: int = 6) -> tuple[str, ...]:
    """``count`` real native credentials (``SP1:…``, ~320 characters, QR version 11) signed by
    :func:`issuer_key` with fixed nonces, so the texts are the same on every run. Credential n is
    issued at ``ISSUED + n`` and lives 60 s."""
    from terminal.crypto import sm2, sm3
    from terminal.issuer import directory as iss
    from terminal.lists.signedlist import key_id

    issuer = issuer_key()
    kid = key_id(sm2.public_key_of(issuer))
    kinds = [("health", "green"), ("health", "yellow"), ("insurance", None),
             ("social-security", None), ("health", "red")]
    texts = []
    for n in range(count):
        type_, status = kinds[n % len(kinds)]
        claims = iss.credential_claims(
            issuer=ISSUER_NAME, kid=kid, type=type_, name="张三丰",
            holder_id=f"1101011990010{n:04d}X", holder_key=sm3.sm3(b"hard scenes holder"),
            now=ISSUED + n, ttl=60, status=status, serial=sm3.sm3(b"serial %d" % n)[:16])
        texts.append(iss.encode_credential(claims, issuer, k=_test_key(f"nonce {n}")))
    return tuple(texts)


# ---------------------------------------------------------------------------------------------
# Drawing


def _background(rng: np.random.Generator, ambient: int, width: int, height: int) -> np.ndarray:
    """A cluttered scene at ``ambient`` mean level: uneven light, a few edges and shapes."""
    small = rng.normal(0.0, 1.0, (6, 8)).astype(np.float32)
    light = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    frame = ambient * (1.0 + 0.18 * light)
    for _ in range(int(rng.integers(3, 8))):   # posters, a door frame, a sleeve
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 2)), y0 + int(rng.integers(20, height // 2))
        level = float(rng.uniform(0.4, 1.5)) * ambient
        cv2.rectangle(frame, (x0, y0), (x1, y1), level, -1 if rng.random() < 0.7 else 3)
    return frame


def _rotation(roll: float, tilt_x: float, tilt_y: float) -> np.ndarray:
    a, b, c = np.deg2rad([tilt_x, tilt_y, roll])
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def project(scene: Scene, points: np.ndarray, width: int = WIDTH,
            height: int = HEIGHT) -> np.ndarray:
    """Frame coordinates of ``points`` given in module units from the code's centre."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) * scene.ppm
    plane = np.column_stack([pts, np.zeros(len(pts))]) @ _rotation(scene.roll, scene.tilt_x,
                                                                   scene.tilt_y).T
    depth = FOCAL + plane[:, 2]
    cx, cy = scene.x * width, scene.y * height
    return np.column_stack([cx + FOCAL * plane[:, 0] / depth, cy + FOCAL * plane[:, 1] / depth])


def code_corners(scene: Scene, text: str, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The four corners of the code (with its quiet zone) in the frame, clockwise from top left."""
    side = qr_modules(text).shape[0] / 2.0
    square = np.array([[-side, -side], [side, -side], [side, side], [-side, side]])
    return project(scene, square, width, height)


def _phone_texture(text: str, scene: Scene) -> tuple[np.ndarray, tuple[float, float]]:
    """The flat phone at :data:`TEXTURE_PPM` px/module (body, screen, code) and the code's
    half-side in modules measured from the texture's centre."""
    modules = qr_modules(text)
    n = modules.shape[0]
    code = np.where(modules == 1, scene.black, scene.screen).astype(np.float32)
    # the screen: code with a wide light margin (an app page), taller than wide
    screen_w, screen_h = int(n * 1.5), int(n * 2.3)
    screen = np.full((screen_h, screen_w), float(scene.screen), np.float32)
    top, left = (screen_h - n) // 2, (screen_w - n) // 2
    screen[top:top + n, left:left + n] = code
    body = np.full((screen_h + 8, screen_w + 6), 22.0, np.float32)
    body[4:4 + screen_h, 3:3 + screen_w] = screen
    texture = cv2.resize(body, None, fx=TEXTURE_PPM, fy=TEXTURE_PPM, interpolation=cv2.INTER_NEAREST)
    # module units from the texture's top left to the code's centre
    centre = (3 + left + n / 2.0, 4 + top + n / 2.0)
    return np.asarray(texture), centre


def render_scene(text: str, scene: Scene, *, rng: np.random.Generator | None = None,
                 width: int = WIDTH, height: int = HEIGHT,
                 background: np.ndarray | None = None) -> np.ndarray:
    """A ``height``×``width`` uint8 frame of a phone showing the QR code of ``text`` as ``scene``
    says. ``background`` (float32, frame size) keeps the same surroundings across a sequence."""
    rng = rng or np.random.default_rng(0)
    ss = SUPERSAMPLE
    if background is None:
        background = _background(rng, scene.ambient, width, height)
    texture, (cu, cv) = _phone_texture(text, scene)
    th, tw = texture.shape
    # texture corners in module units relative to the code centre, projected into the frame
    corners_mod = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], np.float64) / TEXTURE_PPM
    corners_mod -= (cu, cv)
    target = project(scene, corners_mod, width, height) * ss
    source = np.array([[0, 0], [tw, 0], [tw, th], [0, th]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, np.asarray(target, dtype=np.float32))
    big_bg = cv2.resize(background, (width * ss, height * ss), interpolation=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones_like(texture), matrix, (width * ss, height * ss),
                               flags=cv2.INTER_LINEAR, borderValue=0.0)
    phone = cv2.warpPerspective(texture, matrix, (width * ss, height * ss), flags=cv2.INTER_LINEAR,
                                borderValue=0.0)
    big = big_bg * (1.0 - mask) + phone
    if scene.glare > 0:
        side = qr_modules(text).shape[0]
        gu, gv = (scene.glare_u - 0.5) * side, (scene.glare_v - 0.5) * side
        (gx, gy), = project(scene, np.array([[gu, gv]]), width, height) * ss
        radius = scene.glare_radius * side * scene.ppm * ss
        yy, xx = np.ogrid[0:height * ss, 0:width * ss]
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2.0 * radius * radius)).astype(np.float32)
        big = big + (scene.glare * 320.0) * spot * mask      # light reflected by the glass
    frame = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    if scene.focus > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), scene.focus)
    if scene.motion >= 1.0:
        frame = cv2.filter2D(frame, -1, _motion_kernel(scene.motion, scene.motion_angle),
                             borderType=cv2.BORDER_REPLICATE)
    frame = np.minimum(frame, 255.0)          # the sensor clips before it adds its noise
    if scene.noise > 0:
        frame = frame + rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(scene.noise)
    return np.ascontiguousarray(np.clip(frame + 0.5, 0, 255).astype(np.uint8))


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    size = int(math.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, int(length * 3))):
        kernel[int(round(c + t * dy)), int(round(c + t * dx))] += 1.0
    return kernel / kernel.sum()


# ---------------------------------------------------------------------------------------------
# The hard conditions


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _placed(rng: np.random.Generator, ppm: float) -> Scene:
    """A phone somewhere in view, slightly rolled, under ordinary light."""
    return Scene(ppm=ppm, x=_u(rng, 0.38, 0.62), y=_u(rng, 0.4, 0.6), roll=_u(rng, -25, 25),
                 tilt_x=_u(rng, -8, 8), tilt_y=_u(rng, -8, 8), screen=int(rng.integers(200, 240)),
                 black=int(rng.integers(20, 45)), ambient=int(rng.integers(70, 130)),
                 focus=_u(rng, 0.4, 0.8), noise=_u(rng, 2, 4))


def _dim(rng: np.random.Generator, s: Scene) -> Scene:
    screen = int(rng.integers(55, 95))
    return replace(s, screen=screen, black=int(screen * _u(rng, 0.45, 0.62)),
                   ambient=int(rng.integers(25, 55)), noise=_u(rng, 5, 9))


def _glare(rng: np.random.Generator, s: Scene) -> Scene:
    return replace(s, glare=_u(rng, 0.6, 1.0), glare_u=_u(rng, 0.25, 0.75),
                   glare_v=_u(rng, 0.25, 0.75), glare_radius=_u(rng, 0.14, 0.26))


def _tilt(rng: np.random.Generator, s: Scene) -> Scene:
    s = replace(s, ppm=min(s.ppm, _u(rng, 2.0, 3.0)))    # tilted and held a little further away
    big = _u(rng, 22, 30) * (1 if rng.random() < 0.5 else -1)
    other = _u(rng, -15, 15)
    tx, ty = (big, other) if rng.random() < 0.5 else (other, big)
    return replace(s, tilt_x=tx, tilt_y=ty, roll=_u(rng, -45, 45))


def _small(rng: np.random.Generator, s: Scene) -> Scene:
    return replace(s, ppm=_u(rng, 1.5, 2.5))


def _blur(rng: np.random.Generator, s: Scene) -> Scene:
    return replace(s, motion=_u(rng, 1.3, 2.2) * s.ppm, motion_angle=_u(rng, 0, 180))


_FAULTS: dict[str, Callable[[np.random.Generator, Scene], Scene]] = {
    "dim": _dim, "glare": _glare, "tilt": _tilt, "small": _small, "blur": _blur}


def _combo(rng: np.random.Generator, s: Scene) -> Scene:
    names = list(rng.choice(sorted(_FAULTS), size=2, replace=False))
    if "small" not in names:
        s = replace(s, ppm=_u(rng, 3.0, 4.5))
    for name in sorted(names, key=lambda n: n != "small"):   # size first: blur scales with it
        s = _FAULTS[name](rng, s)
    return s


def _scene(condition: str, rng: np.random.Generator) -> Scene:
    base = _placed(rng, _u(rng, 2.5, 4.0))
    if condition == "combo":
        return _combo(rng, base)
    return _FAULTS[condition](rng, base)


#: The hard conditions, in the order benchmarks report them.
CONDITIONS = ("dim", "glare", "tilt", "small", "blur", "combo")


@dataclass(frozen=True)
class Sample:
    """One hard frame: the image, the text its code holds, and how it was made."""

    frame: np.ndarray
    text: str
    scene: Scene
    condition: str


def hard_set(condition: str, count: int, *, seed: int = 0) -> list[Sample]:
    """``count`` frames of ``condition`` (one of :data:`CONDITIONS`), the same for a given seed."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}: choose one of {', '.join(CONDITIONS)}")
    texts = credential_texts()
    out = []
    for n in range(count):
        rng = np.random.default_rng([seed, CONDITIONS.index(condition), n])
        scene = _scene(condition, rng)
        text = texts[n % len(texts)]
        out.append(Sample(render_scene(text, scene, rng=rng), text, scene, condition))
    return out


def empty_set(count: int, *, seed: int = 0, dim: bool = False) -> list[np.ndarray]:
    """Frames with no phone in view: the same cluttered backgrounds and noise as the hard set."""
    out = []
    for n in range(count):
        rng = np.random.default_rng([seed, 99, n, int(dim)])
        ambient = int(rng.integers(25, 55)) if dim else int(rng.integers(70, 130))
        frame = _background(rng, ambient, WIDTH, HEIGHT)
        frame = cv2.GaussianBlur(frame, (0, 0), 0.6)
        frame = frame + rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(7 if dim else 3)
        out.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return out


# ---------------------------------------------------------------------------------------------
# Sequences as a camera delivers them


@dataclass(frozen=True)
class Sequence:
    """Frames in camera order; ``in_view`` is the index of the first frame showing the whole code
    (a decision is counted from there)."""

    frames: list[np.ndarray]
    text: str
    in_view: int
    kind: str


def still_sequence(text: str, scene: Scene, frames: int, *, seed: int = 0) -> Sequence:
    """A phone held still: the same scene (a hand's tremor of ±0.15 px) with fresh sensor noise
    in every frame."""
    rng = np.random.default_rng([seed, 7])
    background = _background(rng, scene.ambient, WIDTH, HEIGHT)
    out = []
    for _ in range(frames):
        jitter = replace(scene, x=scene.x + _u(rng, -0.15, 0.15) / WIDTH,
                         y=scene.y + _u(rng, -0.15, 0.15) / HEIGHT)
        out.append(render_scene(text, jitter, rng=rng, background=background))
    return Sequence(out, text, 0, "still")


def moving_sequence(text: str, scene: Scene, frames: int, *, seed: int = 0,
                    entry_frames: int = 4, exposure: float = 0.5) -> Sequence:
    """A phone brought into view from the frame's edge, slowing down and stopping at ``scene``'s
    place after ``entry_frames`` frames, then held still. Each moving frame is blurred along the
    path by the distance covered while the shutter was open (``exposure`` of the frame time)."""
    rng = np.random.default_rng([seed, 8])
    background = _background(rng, scene.ambient, WIDTH, HEIGHT)
    angle = _u(rng, 0, 2 * math.pi)
    start = (scene.x + 0.9 * math.cos(angle), scene.y + 0.9 * math.sin(angle))
    positions = []
    for k in range(frames):
        f = min(1.0, k / entry_frames)
        ease = 1 - (1 - f) ** 2                   # decelerating
        positions.append((start[0] + (scene.x - start[0]) * ease,
                          start[1] + (scene.y - start[1]) * ease))
    out, in_view = [], None
    for k, (x, y) in enumerate(positions):
        px, py = positions[k - 1] if k else (x, y)
        travel = math.hypot((x - px) * WIDTH, (y - py) * HEIGHT) * exposure
        direction = math.degrees(math.atan2((y - py) * HEIGHT, (x - px) * WIDTH))
        shown = replace(scene, x=x + _u(rng, -0.15, 0.15) / WIDTH, y=y + _u(rng, -0.15, 0.15) / HEIGHT,
                        motion=max(scene.motion, travel), motion_angle=direction if travel >= 1 else scene.motion_angle)
        corners = code_corners(shown, text)
        if in_view is None and (corners.min() >= 0 and corners[:, 0].max() < WIDTH
                                and corners[:, 1].max() < HEIGHT):
            in_view = k
        out.append(render_scene(text, shown, rng=rng, background=background))
    return Sequence(out, text, in_view if in_view is not None else frames, "moving")


def sequence_set(kind: str, count: int, *, frames: int = 6, seed: int = 0) -> list[Sequence]:
    """``count`` sequences of ``kind`` — ``"still"`` (a dim or small code held still) or
    ``"moving"`` (a phone brought into view) — with hard but readable scenes."""
    texts = credential_texts()
    out = []
    for n in range(count):
        rng = np.random.default_rng([seed, 11, n, kind == "moving"])
        scene = _placed(rng, _u(rng, 2.0, 4.0))
        if kind == "still":
            scene = _dim(rng, scene) if n % 2 == 0 else _small(rng, scene)
            out.append(still_sequence(texts[n % len(texts)], scene, frames, seed=seed * 1000 + n))
        elif kind == "moving":
            scene = _dim(rng, scene) if n % 3 == 0 else scene
            out.append(moving_sequence(texts[n % len(texts)], scene, frames, seed=seed * 1000 + n,
                                       entry_frames=int(rng.integers(3, 7))))
        else:
            raise ValueError(f"unknown sequence kind {kind!r}: 'still' or 'moving'")
    return out


__all__ = [
    "CONDITIONS",
    "Sample",
    "Scene",
    "Sequence",
    "code_corners",
    "credential_texts",
    "empty_set",
    "hard_set",
    "issuer_key",
    "moving_sequence",
    "project",
    "render_scene",
    "sequence_set",
    "still_sequence",
]
