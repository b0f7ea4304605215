"""Drawings that are not digits, in two families: TRAIN (for a detector) and TEST (held out).

Eleven kinds: faces, hearts, stars, houses, clouds, arrows, spirals, shapes, letters,
scribbles, hatching. Each kind's TEST family is another drawing of it than TRAIN's (the
makers' docstrings in doodle_things and doodle_marks say how: a smiley against an oval
face, five-point stars against 4/6/7/8, stroke-drawn capitals against printed letters...),
drawn with its own random stream. Every doodle is drawn on the app's canvas with the
Explorer's brush and goes through canvas_to_mnist, as a drawing does.
"""
from __future__ import annotations

import numpy as np

from explorer.inputs import doodle_marks, doodle_things
from explorer.inputs.pen import Pen, PlacementRanges, draw_strokes, random_placement, to_rgba
from explorer.inputs.preprocess import canvas_to_mnist
from explorer.inputs.printed import TRAIN_FONTS, draw_text
from explorer.inputs.synth import SynthConfig, random_pen

DOODLE_KINDS = ("face", "heart", "star", "house", "cloud", "arrow", "spiral", "shape",
                "letter", "scribble", "hatching")
FAMILIES = ("train", "test")
_MAKERS = {"face": doodle_things.face, "heart": doodle_things.heart,
           "star": doodle_things.star, "house": doodle_things.house,
           "cloud": doodle_things.cloud, "arrow": doodle_things.arrow,
           "spiral": doodle_marks.spiral, "shape": doodle_marks.shape,
           "scribble": doodle_marks.scribble, "hatching": doodle_marks.hatching}
PLACEMENT = PlacementRanges(size=(0.3, 0.95), aspect=(0.75, 1.3), slant_deg=(-15, 15),
                            rotate_deg=(-15, 15))
# NB: TRAIN doodles get the detector's digits' pens (explorer.lab.detector.DIGIT_PENS: as
# many faint thin pens; brushes a little finer, or a face is a blob): a detector must never
# learn "thin strokes mean a doodle".
TRAIN_PENS = SynthConfig(p_thin_pen=0.3, max_brush_of_size=0.2)
# NB: each family has its own stream: a TEST doodle never shares a seed with a TRAIN one.
_STREAM = {"train": 33, "test": 44}
MAX_TRIES = 20


def doodle_grey(kind: str, rng: np.random.Generator, family: str) -> np.ndarray:
    """One doodle of `kind` from `family` -> (280, 280) uint8 grey, ink 255."""
    placement = random_placement(rng, PLACEMENT)
    test = family == "test"
    if kind == "letter" and not test and rng.random() < 0.6:
        font = TRAIN_FONTS[rng.integers(len(TRAIN_FONTS))]
        char = doodle_marks.FONT_LETTERS[rng.integers(len(doodle_marks.FONT_LETTERS))]
        return draw_text(char, font, placement, int(rng.integers(0, 6)))
    strokes = (doodle_marks.letter_strokes(rng, test) if kind == "letter"
               else _MAKERS[kind](rng, test))
    if not test:
        return draw_strokes(strokes, placement, random_pen(rng, placement.size, TRAIN_PENS), rng)
    width = min(rng.uniform(6, 40), 0.1 * placement.size)  # fine enough for a face's eyes
    jitter = rng.uniform(0.5, 3.0) if rng.random() < 0.5 else 0.0
    return draw_strokes(strokes, placement, Pen(max(float(width), 3.0), float(jitter)), rng)


def make_doodles(n: int, seed: int = 0, family: str = "test",
                 kinds: tuple[str, ...] = DOODLE_KINDS) -> tuple[np.ndarray, np.ndarray]:
    """n doodles (n, 28, 28) float32 in [0, 1] after canvas_to_mnist, and their kinds (n,).

    Kinds cycle through `kinds`. Same seed and family, same doodles.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if int(n) < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    rng = np.random.default_rng([seed, _STREAM[family]])
    images = np.zeros((int(n), 28, 28), np.float32)
    names = np.array([kinds[i % len(kinds)] for i in range(int(n))], dtype="<U8")
    for i, kind in enumerate(names):
        images[i] = first_inked(
            lambda k=str(kind): canvas_to_mnist(to_rgba(doodle_grey(k, rng, family))), str(kind))
    return images, names


def first_inked(draw, what: str, tries: int = MAX_TRIES) -> np.ndarray:
    """The first of `draw()`'s 28×28 images that preprocessing kept (not None), in [0, 1].

    NB: a drawing that preprocesses to nothing (a speck) is drawn again, up to `tries` times.
    """
    for _ in range(tries):
        image28 = draw()
        if image28 is not None:
            return np.clip(image28, 0.0, 1.0)
    raise RuntimeError(f"could not draw a {what!r} that survives preprocessing")
