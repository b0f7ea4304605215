"""A test set of *drawn* digits: MNIST digits re-drawn canvas-style, and hand-made strokes.

Each sample is rendered on a 280×280 white-on-black canvas, as the app's canvas makes it,
then goes through the app's own preprocessing (canvas_to_mnist).
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from explorer.inputs.data import load_test_split
from explorer.inputs.preprocess import canvas_to_mnist

CANVAS = 280


def _arc(cx, cy, rx, ry, a0, a1, n=24):
    """Points on an ellipse from angle a0 to a1 (degrees; 270 is up, y grows downward)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Strokes for each digit in a unit box, as a person draws them with a mouse.
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, 260, 620)],
    1: [[(0.38, 0.2), (0.56, 0.05), (0.52, 0.95)]],
    2: [_arc(0.5, 0.3, 0.3, 0.25, 190, 380) + [(0.18, 0.95), (0.86, 0.93)]],
    3: [_arc(0.5, 0.27, 0.28, 0.22, 200, 450) + _arc(0.5, 0.72, 0.31, 0.23, 270, 510)],
    4: [[(0.6, 0.05), (0.14, 0.64), (0.9, 0.64)], [(0.66, 0.25), (0.64, 0.97)]],
    5: [[(0.82, 0.06), (0.3, 0.06), (0.25, 0.45)] + _arc(0.5, 0.68, 0.32, 0.27, 220, 510)],
    6: [[(0.72, 0.04), (0.45, 0.22), (0.27, 0.55)] + _arc(0.5, 0.72, 0.23, 0.23, 180, 545)],
    7: [[(0.14, 0.08), (0.86, 0.08), (0.42, 0.96)]],
    8: [_arc(0.5, 0.26, 0.22, 0.21, 0, 360), _arc(0.5, 0.71, 0.27, 0.24, 0, 360)],
    9: [_arc(0.5, 0.3, 0.27, 0.25, 0, 365), [(0.77, 0.3), (0.72, 0.96)]],
}


# Styles MNIST has few of, drawn the way people draw them: (digit, strokes).
VARIANTS: dict[str, tuple[int, list]] = {
    "open 4": (4, [[(0.22, 0.05), (0.18, 0.6), (0.88, 0.6)], [(0.68, 0.08), (0.68, 0.97)]]),
    "closed 4": (4, STROKES[4]),
    "crossed 7": (7, STROKES[7] + [[(0.3, 0.52), (0.78, 0.52)]]),
    "European 1": (1, [[(0.18, 0.42), (0.6, 0.04), (0.58, 0.96)]]),
}
STYLES = ("thin", "thick", "blocky")  # each variant and each plain digit in each style


def render_strokes(strokes, rng: np.random.Generator, canvas: int = CANVAS,
                   style: str = "") -> np.ndarray:
    """Draw unit-box strokes at a random size, place, slant and brush width -> (H, W, 4) uint8.

    `style`: "thin" (a 3 px pen), "thick" (a brush a quarter of the digit's size), "blocky"
    (drawn on a 10×10 grid and blown up, like pixel art), or "" (a mouse brush).
    """
    size = rng.uniform(0.3, 0.85) * canvas
    slant = math.tan(math.radians(rng.uniform(-20, 20)))
    aspect = rng.uniform(0.7, 1.2)
    x0 = rng.uniform(0.05 * canvas, max(0.05 * canvas + 1, canvas - 1.3 * aspect * size))
    y0 = rng.uniform(0.05 * canvas, max(0.05 * canvas + 1, canvas - 1.05 * size))
    width = {"thin": 3, "thick": int(0.25 * size) + 4}.get(
        style, int(rng.uniform(0.06, 0.16) * size) + 4)
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
    if style == "blocky":  # 10 blocks across the digit, each one solid
        block = max(int(size / 10), 1)
        small = img.resize((canvas // block, canvas // block), Image.BOX).point(
            lambda v: 255 if v > 60 else 0)
        img = small.resize((canvas // block * block,) * 2, Image.NEAREST).crop(
            (0, 0, canvas, canvas))
    return _to_rgba(np.asarray(img))


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
    return _to_rgba(np.asarray(out))


def _to_rgba(grey: np.ndarray) -> np.ndarray:
    """White-on-black opaque RGBA, as the app's canvas returns it."""
    rgba = np.empty(grey.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = 255
    return rgba


def _style_digits() -> list[tuple[str, int, list]]:
    """(name, digit, strokes): the ten plain digits and the VARIANTS."""
    return [(str(d), d, s) for d, s in STROKES.items()] + \
        [(name, d, s) for name, (d, s) in VARIANTS.items()]


def drawn_canvases(n_mnist: int = 2000, n_strokes: int = 1000, seed: int = 0,
                   n_styles: int = 0):
    """Yield (canvas_rgba, label, kind) for the drawn test set.

    kind: "mnist", "strokes", or for the n_styles style digits "style: NAME" (thin, thick,
    blocky, or a variant: open 4, closed 4, crossed 7, European 1, in a plain brush).
    """
    rng = np.random.default_rng(seed)
    images, labels = load_test_split()
    for i in rng.choice(len(images), n_mnist, replace=False):
        yield render_mnist(images[i], rng), int(labels[i]), "mnist"
    for j in range(n_strokes):
        digit = j % 10
        yield render_strokes(STROKES[digit], rng), digit, "strokes"
    digits, variants = _style_digits(), list(VARIANTS.items())
    for j in range(n_styles):
        if j % 4 < 3:  # thin, thick, blocky: over the plain digits and the variants
            name, digit, strokes = digits[(j // 4) % len(digits)]
            yield render_strokes(strokes, rng, style=STYLES[j % 4]), digit, \
                f"style: {STYLES[j % 4]}"
        else:
            name, (digit, strokes) = variants[(j // 4) % len(variants)]
            yield render_strokes(strokes, rng), digit, f"style: {name}"


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
