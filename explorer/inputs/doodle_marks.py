"""Doodles of marks: spirals, shapes, letters, scribbles, hatching, as unit-box strokes.

Each maker takes (rng, test) and returns strokes (x right, y down). TRAIN and TEST are
different drawings of the same kind (explorer.inputs.doodles says which). NB: no shape here
may be a digit: no circles or ovals (a 0), no single bars (a 1), no two-bar hatching (11).
"""
from __future__ import annotations

import numpy as np

from explorer.inputs.doodle_things import Strokes, _closed, _turned, _u
from explorer.inputs.pen import arc

# Capitals no reader takes for a digit, drawn as strokes: the TEST letters.
LETTER_STROKES: dict[str, Strokes] = {
    "A": [[(0.05, 0.98), (0.5, 0.02), (0.95, 0.98)], [(0.25, 0.6), (0.75, 0.6)]],
    "E": [[(0.85, 0.02), (0.15, 0.02), (0.15, 0.98), (0.85, 0.98)], [(0.15, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0.02), (0.15, 0.02), (0.15, 0.98)], [(0.15, 0.48), (0.7, 0.48)]],
    "H": [[(0.15, 0.02), (0.15, 0.98)], [(0.85, 0.02), (0.85, 0.98)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0.02), (0.2, 0.98)], [(0.85, 0.02), (0.2, 0.55)], [(0.38, 0.42), (0.88, 0.98)]],
    "M": [[(0.05, 0.98), (0.1, 0.02), (0.5, 0.6), (0.9, 0.02), (0.95, 0.98)]],
    "N": [[(0.15, 0.98), (0.15, 0.02), (0.85, 0.98), (0.85, 0.02)]],
    "R": [[(0.2, 0.98), (0.2, 0.02), (0.65, 0.02), (0.82, 0.15), (0.82, 0.35), (0.65, 0.5),
           (0.2, 0.5)], [(0.45, 0.5), (0.88, 0.98)]],
    "W": [[(0.02, 0.02), (0.25, 0.98), (0.5, 0.35), (0.75, 0.98), (0.98, 0.02)]],
    "X": [[(0.1, 0.02), (0.9, 0.98)], [(0.9, 0.02), (0.1, 0.98)]],
    "Y": [[(0.1, 0.02), (0.5, 0.5), (0.9, 0.02)], [(0.5, 0.5), (0.5, 0.98)]],
}
# The TRAIN letters: printed in explorer.inputs.printed.TRAIN_FONTS, or drawn from these
# other strokes of capitals (a round-top A, a straight-sided M, a one-stroke K...).
FONT_LETTERS = "AEFHKMNPRVWXYefhkmnrwx"
TRAIN_LETTER_STROKES: dict[str, Strokes] = {
    "A": [[(0.1, 0.98), (0.1, 0.4), (0.3, 0.06), (0.7, 0.06), (0.9, 0.4), (0.9, 0.98)],
          [(0.12, 0.58), (0.88, 0.58)]],
    "M": [[(0.1, 0.98), (0.1, 0.02), (0.5, 0.55), (0.9, 0.02), (0.9, 0.98)]],
    "W": [[(0.05, 0.02), (0.15, 0.98), (0.5, 0.45), (0.85, 0.98), (0.95, 0.02)]],
    "H": [[(0.1, 0.02), (0.15, 0.98)], [(0.85, 0.02), (0.9, 0.98)], [(0.12, 0.55), (0.88, 0.45)]],
    "K": [[(0.2, 0.02), (0.2, 0.98)], [(0.85, 0.05), (0.22, 0.5), (0.85, 0.98)]],
    "R": [[(0.15, 0.98), (0.15, 0.02), (0.6, 0.04), (0.78, 0.25), (0.6, 0.46), (0.15, 0.48),
           (0.85, 0.98)]],
    "Y": [[(0.1, 0.02), (0.5, 0.45)], [(0.9, 0.02), (0.25, 0.98)]],
    "E": [[(0.85, 0.05), (0.2, 0.05), (0.2, 0.95), (0.85, 0.95)], [(0.2, 0.45), (0.6, 0.45)]],
    "X": [[(0.05, 0.05), (0.95, 0.95)], [(0.95, 0.2), (0.05, 0.8)]],
    "V": [[(0.05, 0.02), (0.5, 0.98), (0.95, 0.02)]],
}


def _xy(x, y) -> list[tuple[float, float]]:
    return list(zip(np.asarray(x).tolist(), np.asarray(y).tolist()))


def spiral(rng, test: bool) -> Strokes:
    """TRAIN: clockwise, 2-3 turns, round or square. TEST: round, counter-clockwise,
    2.5-4 turns.
    """
    turns = _u(rng, 2.5, 4.0) if test else _u(rng, 2.0, 3.0)
    if not test and rng.random() < 0.4:  # square: legs of 1, 1, 2, 2, 3, 3... units
        points, x, y = [(0.0, 0.0)], 0.0, 0.0
        for i in range(int(round(turns * 4))):
            dx, dy = [(1, 0), (0, 1), (-1, 0), (0, -1)][i % 4]
            x, y = x + dx * (i // 2 + 1), y + dy * (i // 2 + 1)
            points.append((x, y))
        xy = np.asarray(points, dtype=np.float64)
        xy = (xy - xy.min(0)) / (xy.max(0) - xy.min(0)).max()
        return [_xy(xy[:, 0], xy[:, 1])]
    theta = np.linspace(0, 2 * np.pi * turns, int(60 * turns))
    r = 0.48 * theta / theta[-1]
    sign = -1.0 if test else 1.0
    return [_xy(0.5 + r * np.cos(theta), 0.5 + sign * r * np.sin(theta))]


def _polygon(k: int, turn: float, aspect: float = 1.0) -> list[tuple[float, float]]:
    a = turn + np.arange(k) * 2 * np.pi / k
    return _closed(_xy(0.5 + 0.5 * aspect * np.cos(a), 0.5 + 0.5 * np.sin(a)))


def shape(rng, test: bool) -> Strokes:
    """TRAIN: a hexagon, a pentagon, a diamond, a wide rectangle, a tall narrow triangle,
    a plus or an ×. TEST: an equilateral triangle, a square or a trapezoid.
    """
    turn = _u(rng, 0, 2 * np.pi)
    if test:
        pick = rng.integers(3)
        if pick == 0:
            return [_polygon(3, turn)]
        if pick == 1:
            s = _u(rng, 0.9, 1.1)
            return [_closed([(0.05, 0.05), (0.05 + 0.9 * s, 0.05), (0.05 + 0.9 * s, 0.95),
                             (0.05, 0.95)])]
        top = _u(rng, 0.2, 0.35)
        return [_closed([(top, 0.15), (1 - top, 0.15), (0.98, 0.85), (0.02, 0.85)])]
    pick = rng.integers(7)
    if pick == 0:
        return [_polygon(6, turn)]
    if pick == 5:
        return [_polygon(5, turn)]
    if pick == 6:
        half = _u(rng, 0.22, 0.32)
        return _turned([_closed([(0.5, 0.02), (0.5 + half, 0.98), (0.5 - half, 0.98)])],
                       _u(rng, 0, 360))
    if pick == 1:
        return [_polygon(4, np.pi / 2, _u(rng, 0.6, 1.4))]
    if pick == 2:
        h = 1 / _u(rng, 1.6, 2.6)
        return [_closed([(0.0, 0.5 - h / 2), (1.0, 0.5 - h / 2), (1.0, 0.5 + h / 2),
                         (0.0, 0.5 + h / 2)])]
    arms = [[(0.5, 0.02), (0.5, 0.98)], [(0.02, 0.5), (0.98, 0.5)]]
    if pick == 3:
        return arms
    return [[(0.1, 0.1), (0.9, 0.9)], [(0.9, 0.1), (0.1, 0.9)]]


def letter_strokes(rng, test: bool = True) -> Strokes:
    """A letter from LETTER_STROKES (TEST) or TRAIN_LETTER_STROKES (TRAIN)."""
    table = LETTER_STROKES if test else TRAIN_LETTER_STROKES
    keys = sorted(table)
    return table[keys[rng.integers(len(keys))]]


def scribble(rng, test: bool) -> Strokes:
    """TRAIN: a tangled random walk with momentum, a ball of overlapping loops, or a chain
    of 8-12 Bézier curves. TEST: a chain of 4-7 Bézier curves, or a coil of loops along a line.
    """
    if not test and rng.random() < 0.3:
        return [arc(*rng.uniform(0.3, 0.7, 2), *rng.uniform(0.15, 0.35, 2), a0, a0 + 360, 20)
                for a0 in rng.uniform(0, 360, int(rng.integers(4, 8)))]
    if not test and rng.random() < 0.5:
        point, heading, points = rng.uniform(0.2, 0.8, 2), _u(rng, 0, 2 * np.pi), []
        for _ in range(rng.integers(10, 31)):
            heading += rng.normal(0, 1.2)
            point = np.clip(point + _u(rng, 0.1, 0.22) * np.array([np.cos(heading),
                                                                    np.sin(heading)]), 0, 1)
            points.append(tuple(point.tolist()))
        return [points]
    if rng.random() < 0.4:
        t = np.linspace(0, 1, 160)
        loops, r = int(rng.integers(4, 8)), _u(rng, 0.12, 0.2)
        w = 2 * np.pi * loops
        return [_xy(0.1 + 0.8 * t + r * np.cos(w * t), 0.5 + 1.6 * r * np.sin(w * t))]
    t = np.linspace(0, 1, 30)[:, None]
    start, points = rng.uniform(0, 1, 2), []
    for _ in range(rng.integers(4, 8) if test else rng.integers(8, 13)):
        c1, c2, end = rng.uniform(0, 1, (3, 2))
        curve = ((1 - t) ** 3 * start + 3 * (1 - t) ** 2 * t * c1 + 3 * (1 - t) * t ** 2 * c2
                 + t ** 3 * end)
        points += [tuple(p) for p in curve.tolist()]
        start = end
    return [points]


def _parallel(n: int, angle: float, spread: float = 0.45) -> Strokes:
    """n parallel lines across the box at `angle` (radians)."""
    c, s = np.cos(angle), np.sin(angle)
    lines = []
    for o in np.linspace(-spread, spread, n):
        ends = [(-0.45, o), (0.45, o)]
        lines.append([(0.5 + x * c - y * s, 0.5 + x * s + y * c) for x, y in ends])
    return lines


def hatching(rng, test: bool) -> Strokes:
    """TRAIN: 4-8 separate parallel lines, one time in five crossed by 4-6 more.
    TEST: a zig-zag of 5-9 legs, or two crossing sets of 3-5 lines.
    """
    angle = _u(rng, 0, np.pi)
    if not test:
        lines = _parallel(int(rng.integers(4, 9)), angle)
        if rng.random() < 0.2:
            lines += _parallel(int(rng.integers(4, 7)), angle + _u(rng, 0.8, 2.3))
        return lines
    if rng.random() < 0.5:
        return (_parallel(int(rng.integers(3, 6)), angle)
                + _parallel(int(rng.integers(3, 6)), angle + np.pi / 2))
    legs = _parallel(int(rng.integers(5, 10)), angle)
    zigzag = [legs[0][0]]
    for i, (a, b) in enumerate(legs):
        zigzag += [a, b] if i % 2 == 0 else [b, a]
    return [zigzag[1:]]
