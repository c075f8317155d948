"""The hard-scene generator: reproducible frames of real credentials under the stated conditions."""

from __future__ import annotations

import numpy as np
import pytest

from hw_sim.render import qr_modules
from hw_sim.scenes import (
    CONDITIONS,
    ISSUED,
    ISSUER_NAME,
    Scene,
    code_corners,
    credential_texts,
    empty_set,
    hard_set,
    issuer_key,
    moving_sequence,
    render_scene,
    sequence_set,
    still_sequence,
)
from terminal.crypto import sm2
from terminal.issuer import directory as iss
from terminal.lists.trust import TrustList
from terminal.reasons import Decision, Reason
from terminal.verify.verifier import Verifier

ROOT = 0x1D5E1B3A6F0C2E4D8A9B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C8D7E6F


def test_credentials_are_real_native_credentials_that_verify():
    texts = credential_texts()
    assert len(set(texts)) == len(texts) == 6
    entry = iss.trust_entry(sm2.public_key_of(issuer_key()), ISSUER_NAME, ISSUED - 86400,
                            ISSUED + 86400, ["health", "insurance", "social-security"])
    trust = TrustList.from_bytes(iss.sign_trust_list([entry], 1, ISSUED - 3600, ISSUED + 86400, ROOT),
                                 sm2.public_key_of(ROOT))
    verifier = Verifier(trust)
    for n, text in enumerate(texts):
        assert text.startswith("SP1:")
        result = verifier.verify(text, ISSUED + n + 1)
        # the signature and claims check out; what remains is the site's policy on type/status
        assert result.reason in (Reason.OK, Reason.STATUS_YELLOW, Reason.STATUS_RED,
                                 Reason.TYPE_NOT_ACCEPTED), result.reason
        assert result.credential is not None and result.credential.masked_name == "张*丰"
    assert verifier.verify(texts[0], ISSUED + 1).decision is Decision.PASS
    assert credential_texts() == texts           # fixed keys and nonces: the same on every call


@pytest.mark.parametrize("condition", CONDITIONS)
def test_hard_sets_are_reproducible_gray_frames(condition):
    first = hard_set(condition, 3, seed=5)
    again = hard_set(condition, 3, seed=5)
    other = hard_set(condition, 3, seed=6)
    for a, b, c in zip(first, again, other):
        assert a.frame.shape == (480, 640) and a.frame.dtype == np.uint8
        assert np.array_equal(a.frame, b.frame) and a.scene == b.scene
        assert not np.array_equal(a.frame, c.frame)
        assert a.text in credential_texts() and a.condition == condition


def test_conditions_hold_what_they_name():
    for sample in hard_set("small", 12):
        assert 1.5 <= sample.scene.ppm <= 2.5
    for sample in hard_set("tilt", 12):
        assert max(abs(sample.scene.tilt_x), abs(sample.scene.tilt_y)) >= 22
        assert max(abs(sample.scene.tilt_x), abs(sample.scene.tilt_y)) <= 30
    for sample in hard_set("dim", 12):
        assert sample.scene.screen < 100 and sample.scene.screen - sample.scene.black < 55
        assert sample.scene.noise >= 5
    for sample in hard_set("glare", 12):
        assert sample.scene.glare >= 0.6
    for sample in hard_set("blur", 12):
        assert sample.scene.motion >= 1.3 * sample.scene.ppm
    with pytest.raises(ValueError, match="unknown condition"):
        hard_set("fog", 1)


def test_the_code_is_drawn_where_the_scene_puts_it_and_sized_by_ppm():
    text = credential_texts()[0]
    scene = Scene(ppm=3.0, x=0.5, y=0.5, noise=0.0, focus=0.0)
    frame = render_scene(text, scene, rng=np.random.default_rng(1))
    corners = code_corners(scene, text)
    side = corners[:, 0].max() - corners[:, 0].min()
    modules = qr_modules(text).shape[0]                # the symbol and its quiet zone
    assert modules == 61 + 8                           # ~316 alphanumeric characters: version 11
    assert side == pytest.approx(3.0 * modules, rel=0.01)
    x0, y0 = corners.min(axis=0).astype(int) + 14       # inside the quiet zone: the code's pixels
    x1, y1 = corners.max(axis=0).astype(int) - 14
    code = frame[y0:y1, x0:x1]
    assert code.min() < 60 and code.max() > 180        # dark and light modules


def test_glare_clips_white_and_dim_scenes_are_dark():
    text = credential_texts()[0]
    base = Scene(ppm=4.0, noise=0.0)
    plain = render_scene(text, base, rng=np.random.default_rng(2))
    glared = render_scene(text, Scene(ppm=4.0, noise=0.0, glare=1.0, glare_radius=0.25),
                          rng=np.random.default_rng(2))
    assert np.count_nonzero(glared == 255) > np.count_nonzero(plain == 255) + 1000
    dim = render_scene(text, Scene(ppm=4.0, screen=70, black=40, ambient=35, noise=0.0),
                       rng=np.random.default_rng(2))
    assert dim.mean() < plain.mean() / 2


def test_still_sequence_changes_only_by_noise_and_moving_sequence_enters_the_view():
    text = credential_texts()[1]
    scene = Scene(ppm=3.0, screen=80, black=45, ambient=40, noise=7.0)
    still = still_sequence(text, scene, 4, seed=3)
    assert still.in_view == 0 and len(still.frames) == 4
    diff = np.abs(still.frames[0].astype(int) - still.frames[1].astype(int))
    assert 4 < diff.mean() < 15                      # fresh noise in every frame, same scene
    moving = moving_sequence(text, Scene(ppm=3.0), 8, seed=3, entry_frames=5)
    assert 0 < moving.in_view <= 5
    early = np.abs(moving.frames[0].astype(int) - moving.frames[-1].astype(int)).mean()
    late = np.abs(moving.frames[-2].astype(int) - moving.frames[-1].astype(int)).mean()
    assert early > 3 * late                           # it moved, then it stopped


def test_sequence_sets_and_empty_frames():
    seqs = sequence_set("still", 2, frames=3)
    assert [len(s.frames) for s in seqs] == [3, 3] and seqs[0].text != seqs[1].text
    assert len(sequence_set("moving", 1, frames=6)[0].frames) == 6
    with pytest.raises(ValueError, match="unknown sequence kind"):
        sequence_set("spinning", 1)
    empties = empty_set(3) + empty_set(3, dim=True)
    assert all(f.shape == (480, 640) and f.dtype == np.uint8 for f in empties)
    assert np.mean(empties[3:]) < np.mean(empties[:3])
