"""Synthetic training digits, the style test set and the doodles: drawn as drawings are, and
the test sets held out from what training draws."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.inputs import doodle_marks, glyphs, printed, styles
from explorer.inputs.doodles import DOODLE_KINDS, make_doodles
from explorer.inputs.pen import Pen, Placement, draw_strokes, low_resolution
from explorer.inputs.preprocess import DIGIT_BOX, center_of_mass
from explorer.inputs.synth import synth_digits


def test_synthetic_digits_are_preprocessed_like_drawings_and_deterministic():
    images, labels = synth_digits(40, seed=3)
    assert images.shape == (40, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [i % 10 for i in range(40)]
    for image in images:  # canvas_to_mnist's mark: a 20 px box, centred by mass
        rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= DIGIT_BOX + 2
        assert np.allclose(center_of_mass(image / 255), (14, 14), atol=1.0)
    assert np.array_equal(images, synth_digits(40, seed=3)[0])
    assert not np.array_equal(images, synth_digits(40, seed=4)[0])


def test_training_never_draws_with_the_test_sets_tables_fonts_or_bitmaps():
    assert not set(printed.TRAIN_FONTS) & set(printed.TEST_FONTS)
    train_bitmaps = {b.tobytes() for font in printed.TRAIN_PIXEL_FONTS for b in font.values()}
    assert not train_bitmaps & {b.tobytes() for b in printed.TEST_PIXEL_FONTS[0].values()}
    test_strokes = [np.asarray(s) for _, strokes in styles.FORMS.values() for s in strokes]
    test_strokes += [np.asarray(s) for strokes in styles.STROKES.values() for s in strokes]
    for name, _, strokes in glyphs.TRAIN_GLYPHS:
        for stroke in strokes:
            assert not any(np.asarray(stroke).shape == t.shape and np.allclose(stroke, t)
                           for t in test_strokes), name
    for letter, strokes in doodle_marks.TRAIN_LETTER_STROKES.items():
        assert strokes != doodle_marks.LETTER_STROKES.get(letter), letter


def test_every_training_glyph_and_font_draws_every_digit():
    assert {d for _, d, _ in glyphs.TRAIN_GLYPHS} == set(range(10))
    for font in printed.TRAIN_FONTS + printed.TEST_FONTS:
        widths = {printed.text_glyph(str(d), font).shape[1] for d in range(10)}
        assert len(widths) > 1 or "Mono" in font, font  # real glyphs, not ten tofu boxes


def test_style_set_covers_every_kind_in_turn_with_right_labels():
    items = list(styles.style_canvases(2 * len(styles.STYLE_KINDS), seed=0))
    kinds = [k for _, _, k in items]
    assert kinds[:len(styles.STYLE_KINDS)] == [f"style: {k}" for k in styles.STYLE_KINDS]
    for (_, digit, kind) in items:
        name = kind.removeprefix("style: ")
        if name in styles.FORMS:
            assert digit == styles.FORMS[name][0]
    again = list(styles.style_canvases(6, seed=0))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(items, again))


def test_pens_and_low_resolution_change_what_is_drawn():
    place = Placement(200.0, (140.0, 140.0))
    strokes = styles.STROKES[8]
    rng = np.random.default_rng(0)
    thin = draw_strokes(strokes, place, Pen(3.0), rng)
    thick = draw_strokes(strokes, place, Pen(30.0), rng)
    assert (thick > 0).sum() > 4 * (thin > 0).sum()
    wobbly = draw_strokes(strokes, place, Pen(3.0, jitter=4.0), np.random.default_rng(0))
    assert not np.array_equal(wobbly, thin)
    coarse = low_resolution(thick, 8)
    assert len(np.unique(coarse[coarse > 0])) <= 17  # at most 17 grey levels, like a scan


@pytest.mark.parametrize("family", ["train", "test"])
def test_doodles_cycle_kinds_have_ink_and_repeat_with_the_seed(family):
    images, kinds = make_doodles(2 * len(DOODLE_KINDS), seed=5, family=family)
    assert images.shape == (22, 28, 28) and images.dtype == np.float32
    assert kinds.tolist() == list(DOODLE_KINDS) * 2
    # NB: a thin pen's line is faint once preprocessed (a 2 px pen at 28×28), never blank.
    assert (images.reshape(22, -1).max(1) > 0.25).all()
    assert np.array_equal(images, make_doodles(22, seed=5, family=family)[0])


def test_test_doodles_are_not_the_training_doodles():
    train, _ = make_doodles(len(DOODLE_KINDS), seed=0, family="train")
    test, _ = make_doodles(len(DOODLE_KINDS), seed=0, family="test")
    assert not any(np.abs(a - b).max() < 0.05 for a in train for b in test)
    with pytest.raises(ValueError, match="family"):
        make_doodles(1, family="validation")
    with pytest.raises(ValueError, match="n must be"):
        make_doodles(-1)
