"""``scanpoint decode``: texts per image, JSON lines, decoder choice, errors and exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hw_sim.render import CRISP, draw
from terminal.cli.main import main
from tests.support.programs import REPO, python_env


@pytest.fixture
def images(tmp_path):
    one = tmp_path / "one.png"
    cv2.imwrite(str(one), draw("SP1:ONE", look=CRISP))
    empty = tmp_path / "empty.jpg"
    cv2.imwrite(str(empty), np.full((480, 640), 120, np.uint8))
    return one, empty


def test_json_lines(images, capsys):
    one, empty = images
    assert main(["decode", "--json", str(one), str(empty)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"image": str(one), "texts": ["SP1:ONE"]}, {"image": str(empty), "texts": []}]


@pytest.mark.parametrize("decoder", ["zxing", "pyzbar", "zxing+pyzbar"])
def test_plain_output_with_each_decoder(images, capsys, decoder):
    one, empty = images
    assert main(["decode", "--decoder", decoder, str(one), str(empty)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{one}: SP1:ONE", f"{empty}: no QR code found"]


def test_unreadable_image_is_reported_and_the_rest_still_decoded(images, tmp_path, capsys):
    one, _ = images
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert main(["decode", "--json", str(broken), str(one)]) == 4
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert out[0]["texts"] == [] and "cannot read image" in out[0]["error"]
    assert out[1]["texts"] == ["SP1:ONE"]
    assert captured.err.count("\n") == 1 and str(broken) in captured.err


def test_missing_image_is_a_usage_error_before_any_output(images, tmp_path, capsys):
    # a file named on the command line that is not there: exit 2 like every command (was 4
    # while the other images were still decoded; `verify` said 2 for the same file)
    one, _ = images
    missing = tmp_path / "missing.png"
    assert main(["decode", "--json", str(one), str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not found" in captured.err and str(missing) in captured.err


def test_unknown_decoder_is_a_usage_error(images, capsys):
    one, _ = images
    assert main(["decode", "--decoder", "quirc", str(one)]) == 2
    assert "unknown decoder 'quirc'" in capsys.readouterr().err


def test_real_photo_through_the_command(testdata, capsys):
    photo = testdata / "qr" / "zxing-cpp" / "qrcode-2" / "33.png"   # control characters, kanji
    assert main(["decode", "--json", str(photo)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["texts"] == [photo.with_suffix(".txt").read_text(encoding="utf-8")]


def test_runs_as_a_program(images):
    one, _ = images
    result = subprocess.run([sys.executable, "-m", "terminal", "decode", "--json", str(one)],
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            env=python_env({"PATH": "/usr/bin:/bin"}))   # nothing else inherited
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["texts"] == ["SP1:ONE"]
