"""A test set of *drawn* digits: MNIST digits re-drawn canvas-style, and hand-made strokes.

Each sample is rendered on a 280×280 white-on-black canvas, as the app's canvas makes it,
then goes through the app's own preprocessing (canvas_to_mnist).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from explorer.inputs.data import load_test_split
from explorer.inputs.pen import CANVAS, to_rgba
from explorer.inputs.preprocess import canvas_to_mnist
from explorer.inputs.styles import FORMS, STROKES, STYLE_KINDS, style_canvases

__all__ = ["FORMS", "STROKES", "STYLE_KINDS", "drawn_canvases", "drawn_test_set",
           "render_mnist", "render_strokes"]


def render_strokes(strokes, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """Draw unit-box strokes at a random size, place, slant and brush width -> (H, W, 4) uint8.

    NB: the "strokes" test set's own drawing, kept as it was so its figures stay comparable.
    """
    size = rng.uniform(0.3, 0.85) * canvas
    slant = math.tan(math.radians(rng.uniform(-20, 20)))
    aspect = rng.uniform(0.7, 1.2)
    x0 = rng.uniform(0.05 * canvas, max(0.05 * canvas + 1, canvas - 1.3 * aspect * size))
    y0 = rng.uniform(0.05 * canvas, max(0.05 * canvas + 1, canvas - 1.05 * size))
    width = int(rng.uniform(0.06, 0.16) * size) + 4
    img = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(img)
    for stroke in strokes:
        pts = np.asarray(stroke) + rng.normal(0, 0.012, (len(stroke), 2))
        xs = x0 + size * aspect * (pts[:, 0] + slant * (0.5 - pts[:, 1]))
        ys = y0 + size * pts[:, 1]
        xy = list(zip(xs.tolist(), ys.tolist()))
        draw.line(xy, fill=255, width=width, joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps, like the canvas brush
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return to_rgba(np.asarray(img))


def render_mnist(image_u8: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS):
    """Redraw a 28×28 MNIST digit on a canvas at a random size, place, slant and thickness."""
    size = int(rng.uniform(0.25, 0.95) * canvas)
    slant = rng.uniform(-0.3, 0.3)
    img = Image.fromarray(image_u8).resize((size, size), Image.BILINEAR)
    img = img.transform(img.size, Image.AFFINE, (1, slant, -slant * size / 2, 0, 1, 0),
                        resample=Image.BILINEAR)
    grow = int(rng.integers(0, 4)) * 2 + 1  # thicker strokes, as with a wide brush
    if grow > 1:
        img = img.filter(ImageFilter.MaxFilter(grow))
    out = Image.new("L", (canvas, canvas), 0)
    out.paste(img, (int(rng.integers(0, canvas - size + 1)),
                    int(rng.integers(0, canvas - size + 1))))
    return to_rgba(np.asarray(out))


def drawn_canvases(n_mnist: int = 2000, n_strokes: int = 1000, seed: int = 0,
                   n_styles: int = 0):
    """Yield (canvas_rgba, label, kind) for the drawn test set.

    kind: "mnist", "strokes", or for the n_styles style drawings "style: KIND"
    (explorer.inputs.styles.STYLE_KINDS, in turn; their own random stream from `seed`).
    """
    rng = np.random.default_rng(seed)
    images, labels = load_test_split()
    for i in rng.choice(len(images), n_mnist, replace=False):
        yield render_mnist(images[i], rng), int(labels[i]), "mnist"
    for j in range(n_strokes):
        digit = j % 10
        yield render_strokes(STROKES[digit], rng), digit, "strokes"
    yield from style_canvases(n_styles, seed)


def drawn_test_set(n_mnist: int = 2000, n_strokes: int = 1000, seed: int = 0,
                   preprocess=canvas_to_mnist, n_styles: int = 0):
    """(images28 (N, 28, 28) float32, labels (N,), kinds (N,)) after `preprocess`.

    NB: canvases that preprocess to None (no ink) are dropped; none do at these sizes.
    """
    images, labels, kinds = [], [], []
    for canvas_rgba, label, kind in drawn_canvases(n_mnist, n_strokes, seed, n_styles):
        image28 = preprocess(canvas_rgba)
        if image28 is not None:
            images.append(image28)
            labels.append(label)
            kinds.append(kind)
    return np.stack(images).astype(np.float32), np.array(labels), np.array(kinds)
