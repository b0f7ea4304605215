"""Plain non-digits, the first "not a digit" test: noise, soft blobs, scribbles, letters, dots.

Kept beside the doodles (explorer.inputs.doodles) so the old figures stay comparable; the
doodle kinds are what the verdict is held to.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.inputs.doodles import first_inked
from explorer.inputs.preprocess import canvas_to_mnist

NON_DIGIT_KINDS = ("noise", "blobs", "scribble", "letter", "dot")
# Capitals that no reasonable reader would take for a digit.
LETTERS = "AEFHKMNRWXY"
CANVAS = 280  # the app's drawing canvas side, px
FALLBACK_FONT = Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
MAX_TRIES = 50


def _noise(rng: np.random.Generator) -> np.ndarray:
    """Uniform noise, sometimes sparse like salt, at a random brightness."""
    density = rng.uniform(0.05, 1.0)
    keep = rng.random((28, 28)) < density
    return rng.random((28, 28)) * keep * rng.uniform(0.3, 1.0)


def _blobs(rng: np.random.Generator) -> np.ndarray:
    """One to three soft Gaussian blobs, scaled so the brightest pixel is 1."""
    rows, cols = np.mgrid[0:28, 0:28]
    image = np.zeros((28, 28))
    for _ in range(rng.integers(1, 4)):
        r, c = rng.uniform(4, 24, size=2)
        sigma = rng.uniform(1.5, 6.0)
        image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma ** 2))
    return image / image.max()


def _walk_points(rng: np.random.Generator) -> list[tuple[float, float]]:
    """A tangled random walk with some momentum, kept on the canvas."""
    point, heading = rng.uniform(40, CANVAS - 40, size=2), rng.uniform(0, 2 * np.pi)
    points = [tuple(point)]
    for _ in range(rng.integers(8, 26)):
        heading += rng.normal(0, 1.2)
        point = np.clip(point + rng.uniform(25, 60) * np.array([np.cos(heading), np.sin(heading)]),
                        10, CANVAS - 10)
        points.append(tuple(point))
    return points


def _bezier_points(rng: np.random.Generator) -> list[tuple[float, float]]:
    """Two to four chained cubic Bézier segments through random control points."""
    t = np.linspace(0, 1, 40)[:, None]
    start = rng.uniform(20, CANVAS - 20, size=2)
    points = []
    for _ in range(rng.integers(2, 5)):
        c1, c2, end = rng.uniform(20, CANVAS - 20, size=(3, 2))
        curve = ((1 - t) ** 3 * start + 3 * (1 - t) ** 2 * t * c1
                 + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * end)  # (40, 2)
        points += [tuple(p) for p in curve]
        start = end
    return points


def _scribble(rng: np.random.Generator) -> np.ndarray | None:
    """A random walk or Bézier scribble drawn like a pen on the canvas, then preprocessed.

    NB: a few scribbles will happen to look like a 1, 2 or 7; that is part of the test.
    """
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    points = _walk_points(rng) if rng.random() < 0.5 else _bezier_points(rng)
    ImageDraw.Draw(canvas).line(points, fill=255, width=int(rng.integers(14, 27)), joint="curve")
    return canvas_to_mnist(np.asarray(canvas))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's scalable default font (Pillow ≥ 10.1), else Liberation Sans."""
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):
        return ImageFont.truetype(str(FALLBACK_FONT), size)


def _letter(rng: np.random.Generator) -> np.ndarray | None:
    """A capital letter in a random size, weight, place and tilt, then preprocessed."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    centre = tuple(rng.uniform(CANVAS * 0.4, CANVAS * 0.6, size=2))
    ImageDraw.Draw(canvas).text(
        centre, str(rng.choice(list(LETTERS))), fill=255, anchor="mm",
        font=_font(int(rng.integers(120, 200))), stroke_width=int(rng.integers(0, 7)),
        stroke_fill=255)
    canvas = canvas.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR)
    return canvas_to_mnist(np.asarray(canvas))


def _dot(rng: np.random.Generator) -> np.ndarray | None:
    """One to three brush taps: the smallest marks that survive preprocessing."""
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(1, 4)):
        x, y = rng.uniform(20, CANVAS - 20, size=2)
        r = rng.uniform(6, 14)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return canvas_to_mnist(np.asarray(canvas))


_MAKERS = {"noise": _noise, "blobs": _blobs, "scribble": _scribble, "letter": _letter,
           "dot": _dot}


def make_non_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n plainly-not-digit images (n, 28, 28) float32 in [0, 1] and their kinds (n,) str.

    Kinds cycle through NON_DIGIT_KINDS. Canvas kinds are drawn on a 280×280 canvas and
    go through canvas_to_mnist like a user's drawing; one it rejects as a speck is redrawn.
    Same seed, same images.
    """
    if int(n) < 0:
        raise ValueError(f"n must be ≥ 0, got {n}")
    rng = np.random.default_rng(seed)
    images = np.zeros((int(n), 28, 28), dtype=np.float32)
    kinds = np.array([NON_DIGIT_KINDS[i % len(NON_DIGIT_KINDS)] for i in range(int(n))],
                     dtype=f"<U{max(map(len, NON_DIGIT_KINDS))}")
    for i, kind in enumerate(kinds):
        images[i] = first_inked(lambda k=str(kind): _MAKERS[k](rng), str(kind), MAX_TRIES)
    return images, kinds
