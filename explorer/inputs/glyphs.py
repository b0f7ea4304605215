"""Stroke tables of the digits people write, for the synthetic TRAINING digits only.

Each glyph is (name, digit, strokes) in a unit box (x right, y down). NB: these are drawn
apart from the test tables in explorer.inputs.drawn and explorer.inputs.styles (other
control points, other variants of each form), so the drawn test sets stay held out.
"""
from __future__ import annotations

import numpy as np

from explorer.inputs.pen import arc

_T = np.linspace(0, 2 * np.pi, 48)
_FIGURE_EIGHT = list(zip((0.5 + 0.28 * np.sin(2 * _T)).tolist(),
                         (0.5 - 0.46 * np.cos(_T)).tolist()))
_OVAL = arc(0.5, 0.5, 0.3, 0.46, 270, 630)

ZEROS = [
    ("0 oval", 0, [arc(0.5, 0.5, 0.34, 0.47, 265, 625)]),
    ("0 counter-clockwise", 0, [arc(0.5, 0.5, 0.42, 0.46, 280, -80)]),
    ("0 slashed", 0, [_OVAL, [(0.8, 0.08), (0.2, 0.92)]]),
    ("0 slashed inside", 0, [_OVAL, [(0.68, 0.25), (0.32, 0.75)]]),
    ("0 dotted", 0, [_OVAL, [(0.49, 0.49), (0.51, 0.51)]]),
]
ONES = [
    ("1 bar", 1, [[(0.5, 0.02), (0.5, 0.98)]]),
    ("1 short flag", 1, [[(0.32, 0.2), (0.55, 0.02), (0.55, 0.98)]]),
    ("1 long flag", 1, [[(0.1, 0.38), (0.58, 0.02), (0.56, 0.98)]]),
    ("1 mid flag", 1, [[(0.2, 0.3), (0.6, 0.03), (0.6, 0.97)]]),
    ("1 serif", 1, [[(0.3, 0.22), (0.55, 0.02), (0.55, 0.98)], [(0.25, 0.98), (0.85, 0.98)]]),
    ("1 long flag serif", 1, [[(0.12, 0.35), (0.56, 0.02), (0.56, 0.98)],
                              [(0.3, 0.98), (0.82, 0.98)]]),
    ("1 foot", 1, [[(0.5, 0.02), (0.5, 0.98)], [(0.3, 0.98), (0.7, 0.98)]]),
]
TWOS = [
    ("2 plain", 2, [arc(0.5, 0.3, 0.32, 0.26, 190, 365) + [(0.12, 0.96), (0.9, 0.96)]]),
    ("2 curved neck", 2, [arc(0.48, 0.28, 0.3, 0.24, 180, 390)
                          + [(0.7, 0.55), (0.35, 0.8), (0.15, 0.95), (0.88, 0.94)]]),
    ("2 looped", 2, [arc(0.5, 0.28, 0.3, 0.25, 195, 375)
                     + [(0.45, 0.62), (0.25, 0.86), (0.12, 0.86), (0.16, 0.76), (0.27, 0.8),
                        (0.35, 0.92), (0.5, 0.96), (0.9, 0.94)]]),
    ("2 Z", 2, [[(0.15, 0.05), (0.85, 0.05), (0.15, 0.95), (0.88, 0.95)]]),
    ("2 Z bar", 2, [[(0.12, 0.06), (0.86, 0.06), (0.14, 0.94), (0.88, 0.94)],
                    [(0.3, 0.52), (0.72, 0.48)]]),
    ("2 round with bar", 2, [arc(0.5, 0.28, 0.3, 0.24, 190, 360) + [(0.15, 0.95), (0.88, 0.95)],
                             [(0.3, 0.62), (0.72, 0.6)]]),
]
THREES = [
    ("3 round", 3, [arc(0.5, 0.26, 0.3, 0.23, 200, 450) + arc(0.5, 0.73, 0.33, 0.25, 270, 520)]),
    ("3 flat top", 3, [[(0.15, 0.04), (0.85, 0.04), (0.42, 0.42)]
                       + arc(0.5, 0.7, 0.33, 0.28, 285, 520)]),
    ("3 pointy", 3, [[(0.15, 0.08), (0.75, 0.1), (0.45, 0.48), (0.8, 0.7), (0.5, 0.96),
                      (0.15, 0.88)]]),
]
FOURS = [
    ("4 closed", 4, [[(0.6, 0.02), (0.08, 0.66), (0.92, 0.66)], [(0.64, 0.25), (0.64, 0.98)]]),
    ("4 closed one stroke", 4, [[(0.7, 0.98), (0.7, 0.02), (0.1, 0.65), (0.92, 0.65)]]),
    ("4 open", 4, [[(0.22, 0.03), (0.16, 0.6), (0.9, 0.6)], [(0.7, 0.05), (0.7, 0.98)]]),
    ("4 open wide", 4, [[(0.15, 0.02), (0.1, 0.52), (0.88, 0.52)], [(0.62, 0.1), (0.66, 0.98)]]),
    ("4 open slanted", 4, [[(0.35, 0.02), (0.1, 0.6), (0.9, 0.6)], [(0.68, 0.15), (0.64, 0.98)]]),
]
FIVES = [
    ("5 flag last", 5, [[(0.28, 0.04), (0.24, 0.45)] + arc(0.5, 0.68, 0.32, 0.27, 215, 500),
                        [(0.28, 0.04), (0.85, 0.04)]]),
    ("5 one stroke", 5, [[(0.84, 0.05), (0.3, 0.05), (0.25, 0.44)]
                         + arc(0.5, 0.69, 0.33, 0.27, 220, 505)]),
    ("5 angular", 5, [[(0.85, 0.04), (0.25, 0.04), (0.2, 0.45), (0.7, 0.42), (0.85, 0.7),
                       (0.6, 0.96), (0.15, 0.9)]]),
]
SIXES = [
    ("6 round", 6, [[(0.72, 0.03), (0.42, 0.24), (0.25, 0.58)]
                    + arc(0.5, 0.72, 0.25, 0.24, 180, 545)]),
    ("6 straight", 6, [[(0.66, 0.02), (0.26, 0.64)] + arc(0.5, 0.73, 0.24, 0.23, 190, 555)]),
    ("6 big loop", 6, [[(0.8, 0.08), (0.35, 0.2), (0.2, 0.6)]
                       + arc(0.5, 0.68, 0.3, 0.29, 170, 535)]),
]
SEVENS = [
    ("7 plain", 7, [[(0.12, 0.06), (0.88, 0.06), (0.42, 0.98)]]),
    ("7 crossed", 7, [[(0.12, 0.06), (0.88, 0.06), (0.42, 0.98)], [(0.3, 0.52), (0.8, 0.5)]]),
    ("7 crossed long", 7, [[(0.1, 0.05), (0.9, 0.05), (0.5, 0.98)], [(0.2, 0.48), (0.95, 0.48)]]),
    ("7 hook", 7, [[(0.1, 0.22), (0.1, 0.05), (0.88, 0.06), (0.45, 0.97)]]),
    ("7 curved", 7, [[(0.12, 0.07), (0.88, 0.07), (0.6, 0.45), (0.48, 0.97)]]),
]
EIGHTS = [
    ("8 two loops", 8, [arc(0.5, 0.26, 0.24, 0.22, 0, 360), arc(0.5, 0.72, 0.29, 0.25, 0, 360)]),
    ("8 one stroke", 8, [_FIGURE_EIGHT]),
]
NINES = [
    ("9 closed", 9, [arc(0.5, 0.3, 0.29, 0.26, 0, 365), [(0.79, 0.3), (0.76, 0.98)]]),
    ("9 one stroke", 9, [arc(0.5, 0.3, 0.28, 0.26, 350, -10) + [(0.77, 0.7), (0.72, 0.98)]]),
    ("9 curved tail", 9, [arc(0.5, 0.28, 0.28, 0.25, 0, 360),
                          [(0.78, 0.28), (0.74, 0.78), (0.55, 0.97), (0.3, 0.9)]]),
]
TRAIN_GLYPHS: tuple[tuple[str, int, list], ...] = tuple(
    ZEROS + ONES + TWOS + THREES + FOURS + FIVES + SIXES + SEVENS + EIGHTS + NINES)


def glyphs_of(digit: int) -> list[tuple[str, int, list]]:
    """The training glyphs of one digit."""
    return [g for g in TRAIN_GLYPHS if g[1] == digit]


def nudge(strokes, rng: np.random.Generator, amount: float = 0.04) -> list[np.ndarray]:
    """The strokes bent by a smooth random warp of about `amount` of the box, each stroke
    also shifted a little: no two drawings of a glyph alike, and no per-point noise.
    """
    warp = rng.normal(0.0, amount, (2, 3))  # (x, y) displacement from three smooth bases
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        x, y = pts[:, 0], pts[:, 1]
        bases = np.stack([np.sin(np.pi * x), np.sin(np.pi * y), 4 * (x - 0.5) * (y - 0.5)])
        out.append(pts + (warp @ bases).T + rng.normal(0.0, amount / 2, 2))
    return out
