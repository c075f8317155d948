"""Hostile image files: a pixel bomb is refused from its header, before any decoding; a file name
that is not UTF-8 in a replay folder is skipped, never handed to OpenCV (which crashes on one)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import segno

from drivers import images
from drivers.images import ImageUnreadable, load_gray
from terminal import config
from terminal.cli.exits import Exit
from terminal.cli.main import main


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid gray PNG of ``width`` × ``height`` zero pixels: tiny on disk, huge decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" * (width + 1)              # filter byte + one byte a pixel
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def qr_png(path: Path, text: str = "HELLO") -> Path:
    segno.make(text, micro=False).save(str(path), scale=4)
    return path


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png", 5000, 4000)      # 20 MP, ~20 KB on disk
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ImageUnreadable) as info:
        load_gray(bomb)
    message = str(info.value)
    assert "5000" in message and "4000" in message and "16" in message, message


def test_the_cap_is_a_parameter_and_a_small_image_passes(tmp_path):
    small = qr_png(tmp_path / "code.png")
    assert load_gray(small).ndim == 2
    with pytest.raises(ImageUnreadable, match="pixel"):
        load_gray(small, max_pixels=100)


def test_the_documented_config_cap_is_the_loader_default():
    assert config.Config().camera.max_image_pixels == images.MAX_PIXELS == 16_000_000


@pytest.mark.parametrize("command", [["verify"], ["decode"]])
def test_verify_and_decode_refuse_a_bomb_in_one_line(tmp_path, capsys, command):
    bomb = png_bomb(tmp_path / "bomb.png", 5000, 4000)
    code = main([*command, str(bomb)])
    captured = capsys.readouterr()
    assert code == Exit.FAILURE
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "pixel" in lines[0] and "Traceback" not in captured.err, lines


def test_a_replay_folder_with_a_name_that_is_not_utf8_skips_it(tmp_path):
    """Run in a child process: before the fix OpenCV could take the whole process down."""
    folder = tmp_path / "replay"
    folder.mkdir()
    qr_png(folder / "a-good.png", "GOOD")
    bad = os.fsencode(folder) + b"/b-\xff\xfe.png"
    with open(bad, "wb") as fh:
        fh.write((folder / "a-good.png").read_bytes())
    script = (
        "import sys\n"
        "from hw_sim.camera import source_for\n"
        "from drivers.decoder import open_decoder\n"
        f"source = source_for({str(folder)!r})\n"
        "texts = set()\n"
        "for i in range(4):\n"
        "    texts.update(open_decoder('zxing').decode(source.frame_at(i * 1.0, i)))\n"
        "print(sorted(texts))\n")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": f"{repo}:{repo / 'hw-sim'}"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['GOOD']"
    assert "\\xff\\xfe" in proc.stderr and "UTF-8" in proc.stderr      # said, with the name shown


def test_a_replay_folder_of_only_bad_names_is_a_config_error(tmp_path):
    from hw_sim.camera import ImageSource
    from terminal.errors import ConfigError

    folder = tmp_path / "replay"
    folder.mkdir()
    with open(os.fsencode(folder) + b"/\xff.png", "wb") as fh:
        fh.write(b"x")
    with pytest.raises(ConfigError, match="UTF-8"):
        ImageSource.from_directory(folder)


def test_a_gray_array_is_what_comes_back(tmp_path):
    image = load_gray(qr_png(tmp_path / "c.png"))
    assert image.dtype == np.uint8 and image.ndim == 2
