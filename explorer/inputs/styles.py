"""The style TEST set: the hands MNIST has few of, one kind at a time, never trained on.

Forms (a European or serif 1, a crossed 7, a Z-bar, looped or plain 2, slashed and dotted
zeros, open and closed 4s, a closed 9) are drawn from this module's own stroke tables in a
mouse brush; printed digits in explorer.inputs.printed's TEST_FONTS; pixel-font digits in
its TEST_PIXEL_FONTS; pens and geometry (thin, thick, jitter, slant and rotation, off-centre,
very small, very large, low resolution, blocky) over the plain digits and the forms.
NB: none of these tables, fonts or bitmaps feeds the synthetic training digits
(explorer.inputs.synth), and the random stream is seeded apart from training's.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from explorer.inputs.pen import (
    CANVAS,
    Pen,
    Placement,
    PlacementRanges,
    arc,
    blocky,
    draw_strokes,
    low_resolution,
    random_placement,
    to_rgba,
)
from explorer.inputs.printed import TEST_FONTS, TEST_PIXEL_FONTS, draw_bitmap, draw_text

# The test set's plain digits, as a person draws them with a mouse (also drawn.py's "strokes").
STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [arc(0.5, 0.5, 0.3, 0.45, 260, 620)],
    1: [[(0.38, 0.2), (0.56, 0.05), (0.52, 0.95)]],
    2: [arc(0.5, 0.3, 0.3, 0.25, 190, 380) + [(0.18, 0.95), (0.86, 0.93)]],
    3: [arc(0.5, 0.27, 0.28, 0.22, 200, 450) + arc(0.5, 0.72, 0.31, 0.23, 270, 510)],
    4: [[(0.6, 0.05), (0.14, 0.64), (0.9, 0.64)], [(0.66, 0.25), (0.64, 0.97)]],
    5: [[(0.82, 0.06), (0.3, 0.06), (0.25, 0.45)] + arc(0.5, 0.68, 0.32, 0.27, 220, 510)],
    6: [[(0.72, 0.04), (0.45, 0.22), (0.27, 0.55)] + arc(0.5, 0.72, 0.23, 0.23, 180, 545)],
    7: [[(0.14, 0.08), (0.86, 0.08), (0.42, 0.96)]],
    8: [arc(0.5, 0.26, 0.22, 0.21, 0, 360), arc(0.5, 0.71, 0.27, 0.24, 0, 360)],
    9: [arc(0.5, 0.3, 0.27, 0.25, 0, 365), [(0.77, 0.3), (0.72, 0.96)]],
}
_ZERO = arc(0.5, 0.5, 0.3, 0.45, 260, 620)
# Forms MNIST has few of: name -> (digit, strokes).
FORMS: dict[str, tuple[int, list]] = {
    "European 1": (1, [[(0.18, 0.42), (0.6, 0.04), (0.58, 0.96)]]),
    "serif 1": (1, [[(0.35, 0.18), (0.58, 0.03), (0.58, 0.96)], [(0.32, 0.96), (0.82, 0.96)]]),
    "crossed 7": (7, STROKES[7] + [[(0.3, 0.52), (0.78, 0.52)]]),
    "Z-bar 2": (2, [[(0.18, 0.08), (0.82, 0.08), (0.2, 0.92), (0.84, 0.92)],
                    [(0.32, 0.5), (0.68, 0.5)]]),
    "looped 2": (2, [arc(0.5, 0.3, 0.3, 0.25, 190, 380)
                     + [(0.4, 0.65), (0.2, 0.88), (0.14, 0.8), (0.22, 0.74), (0.3, 0.84),
                        (0.38, 0.94), (0.86, 0.93)]]),
    "plain 2": (2, STROKES[2]),
    "slashed 0": (0, [_ZERO, [(0.72, 0.15), (0.28, 0.85)]]),
    "dotted 0": (0, [_ZERO, [(0.5, 0.5), (0.505, 0.505)]]),
    "open 4": (4, [[(0.22, 0.05), (0.18, 0.6), (0.88, 0.6)], [(0.68, 0.08), (0.68, 0.97)]]),
    "closed 4": (4, STROKES[4]),
    "closed 9": (9, STROKES[9]),
}
PLAIN = PlacementRanges()  # 30-85 % of the canvas, slant ±20°: the drawn set's own
GEOMETRY = {
    "slant and rotation": PlacementRanges(slant_deg=(-35, 35), rotate_deg=(-30, 30)),
    "very small": PlacementRanges(size=(0.06, 0.12)),
    "very large": PlacementRanges(size=(0.9, 0.97), aspect=(0.6, 0.95)),
}
PENS = ("thin", "thick", "mouse jitter")


def _glyph(j: int) -> tuple[int, list]:
    """The j-th of the plain digits and the forms, in turn."""
    glyphs = [(d, s) for d, s in STROKES.items()] + list(FORMS.values())
    return glyphs[j % len(glyphs)]


def _mouse(rng, size_px: float) -> Pen:
    """The Explorer's brush (6-40 px), no wider than a quarter of the digit."""
    return Pen(float(min(rng.uniform(6, 40), 0.25 * size_px)))


def _pen(kind: str, rng, size_px: float) -> Pen:
    return {"thin": Pen(3.0), "thick": Pen(0.25 * size_px + 4),
            "mouse jitter": Pen(_mouse(rng, size_px).width, rng.uniform(2.5, 5.0))}[kind]


def _off_centre(rng) -> Placement:
    """A digit a fifth to a third of the canvas high, pushed into a corner."""
    size = rng.uniform(0.2, 0.35) * CANVAS
    corner = rng.integers(0, 2, 2) * (CANVAS - size - 20) + 10 + size / 2
    return Placement(float(size), (float(corner[0]), float(corner[1])),
                     float(rng.uniform(0.7, 1.1)), float(np.tan(np.radians(rng.uniform(-15, 15)))))


def draw_style(kind: str, j: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The j-th drawing of a style kind -> ((280, 280) uint8 grey, digit)."""
    if kind in FORMS:
        digit, strokes = FORMS[kind]
    elif kind == "printed":
        digit = j % 10
        font = TEST_FONTS[(j // 10) % len(TEST_FONTS)]
        return draw_text(str(digit), font, random_placement(rng, PLAIN)), digit
    elif kind == "pixel font":
        digit = j % 10
        bitmap = TEST_PIXEL_FONTS[0][digit]
        return draw_bitmap(bitmap, random_placement(rng, PLAIN)), digit
    else:
        digit, strokes = _glyph(j)
    placement = (_off_centre(rng) if kind == "off-centre"
                 else random_placement(rng, GEOMETRY.get(kind, PLAIN)))
    pen = _pen(kind, rng, placement.size) if kind in PENS else _mouse(rng, placement.size)
    grey = draw_strokes(strokes, placement, pen, rng)
    return _DEGRADE.get(kind, lambda g, r: g)(grey, rng), digit


_DEGRADE: dict[str, Callable] = {
    "low resolution": lambda g, rng: low_resolution(g, 8, smooth=bool(rng.random() < 0.5)),
    "blocky": lambda g, rng: blocky(g, 10),
}
STYLE_KINDS = (*FORMS, "printed", "pixel font", *PENS, *GEOMETRY, "off-centre",
               "low resolution", "blocky")


def style_canvases(n: int, seed: int = 0):
    """Yield (canvas_rgba, digit, "style: KIND") for n style drawings, kinds in turn."""
    rng = np.random.default_rng([seed, 7])  # NB: its own stream: not training's [seed, 22]
    for j in range(n):
        kind = STYLE_KINDS[j % len(STYLE_KINDS)]
        grey, digit = draw_style(kind, j // len(STYLE_KINDS), rng)
        yield to_rgba(grey), digit, f"style: {kind}"
