"""Doodles of things: faces, hearts, stars, houses, clouds, arrows, as unit-box strokes.

Each maker takes (rng, test) and returns strokes (x right, y down, in [0, 1]). The TRAIN and
TEST families are different drawings of the same kind (explorer.inputs.doodles says which);
NB: change one family only with the other in mind: the test set must stay held out.
"""
from __future__ import annotations

import numpy as np

from explorer.inputs.pen import arc

Strokes = list[list[tuple[float, float]]]


def _u(rng, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _closed(points) -> list[tuple[float, float]]:
    return list(points) + [points[0]]


def face(rng, test: bool) -> Strokes:
    """TRAIN: an oval head, ring eyes, a nose, a frown or a flat mouth.
    TEST: a round head, dot eyes, a smile, no nose (the smiley).
    """
    if test:
        r = _u(rng, 0.42, 0.48)
        head = arc(0.5, 0.5, r, r, 0, 360, 40)
        ey = _u(rng, 0.36, 0.42)
        eyes = [[(x, ey), (x + 0.005, ey + 0.005)] for x in (0.36, 0.64)]
        smile = arc(0.5, _u(rng, 0.5, 0.58), _u(rng, 0.18, 0.25), _u(rng, 0.1, 0.18), 20, 160)
        return [head, *eyes, smile]
    head = arc(0.5, 0.5, _u(rng, 0.3, 0.38), 0.48, 0, 360, 40)
    eyes = [arc(x, 0.36, 0.06, 0.05, 0, 360, 12) for x in (0.36, 0.64)]
    nose = [(0.5, 0.45), (0.46, 0.58), (0.53, 0.6)]
    mouth = (arc(0.5, 0.82, 0.16, 0.08, 200, 340) if rng.random() < 0.5
             else [(0.36, 0.74), (0.64, 0.74)])
    return [head, *eyes, nose, mouth]


def heart(rng, test: bool) -> Strokes:
    """TRAIN: two round lobes and straight sides to the tip. TEST: the curve
    x = 16 sin³t, y = 13 cos t − 5 cos 2t − 2 cos 3t − cos 4t, wider.
    """
    if test:
        t = np.linspace(0, 2 * np.pi, 60)
        x = 16 * np.sin(t) ** 3
        y = 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        x = 0.5 + x / 34 * _u(rng, 1.0, 1.2)
        y = 0.5 - (y + 2.5) / 34
        return [list(zip(x.tolist(), y.tolist()))]
    lobe = _u(rng, 0.18, 0.24)
    left = arc(0.5 - lobe, 0.3, lobe, 0.2, 160, 360)
    right = arc(0.5 + lobe, 0.3, lobe, 0.2, 180, 380)
    return [_closed(left + right + [(0.5, _u(rng, 0.88, 0.98))])]


def star(rng, test: bool) -> Strokes:
    """TRAIN: 4-, 6-, 7- or 8-pointed outlines, or a six-spoke asterisk.
    TEST: five points: a pentagram in one stroke, or a five-point outline.
    """
    turn = _u(rng, 0, 2 * np.pi)
    if test:
        k = 5
        if rng.random() < 0.5:
            a = turn + np.arange(6) * 4 * np.pi / 5
            return [list(zip((0.5 + 0.5 * np.cos(a)).tolist(),
                             (0.5 + 0.5 * np.sin(a)).tolist()))]
        inner = _u(rng, 0.3, 0.42)
    else:
        k = int(rng.choice([4, 6, 7, 8]))
        if rng.random() < 0.25:
            a = turn + np.arange(3) * np.pi / 3
            return [[(0.5 - 0.5 * np.cos(b), 0.5 - 0.5 * np.sin(b)),
                     (0.5 + 0.5 * np.cos(b), 0.5 + 0.5 * np.sin(b))] for b in a]
        inner = _u(rng, 0.2, 0.32)
    a = turn + np.arange(2 * k) * np.pi / k
    r = np.where(np.arange(2 * k) % 2 == 0, 0.5, inner)
    return [_closed(list(zip((0.5 + r * np.cos(a)).tolist(), (0.5 + r * np.sin(a)).tolist())))]


def _box(x0, y0, x1, y1) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def house(rng, test: bool) -> Strokes:
    """TRAIN: a square body, a tall roof, a chimney and a window.
    TEST: a wider body, a low roof and a door, with or without a window.
    """
    eave = _u(rng, 0.4, 0.5) if not test else _u(rng, 0.3, 0.38)
    left, right = (0.1, 0.9) if not test else (0.02, 0.98)
    body = _box(left, eave, right, 0.98)
    roof = [(left - 0.02, eave), (0.5, 0.02 if not test else _u(rng, 0.05, 0.15)),
            (right + 0.02, eave)]
    if test:
        door = [(0.42, 0.98), (0.42, 0.72), (0.58, 0.72), (0.58, 0.98)]
        window = [_box(0.7, eave + 0.1, 0.85, eave + 0.25)] if rng.random() < 0.5 else []
        return [body, roof, door, *window]
    chimney = [(0.7, 0.22), (0.7, 0.08), (0.8, 0.08), (0.8, 0.3)]
    return [body, roof, chimney, _box(0.3, eave + 0.15, 0.5, eave + 0.35)]


def cloud(rng, test: bool) -> Strokes:
    """TRAIN: three or four bumps on a flat base. TEST: five to seven bumps all round."""
    if test:
        n = int(rng.integers(5, 8))
        a = np.linspace(0, 2 * np.pi, n * 16 + 1)
        r = 0.36 + 0.1 * np.abs(np.sin(n * a / 2))
        x, y = 0.5 + 1.3 * r * np.cos(a), 0.5 + 0.8 * r * np.sin(a)
        return [list(zip(x.tolist(), y.tolist()))]
    n = int(rng.integers(3, 5))
    xs = np.linspace(0.05, 0.95, n + 1)
    points = [(0.05, 0.8)]
    for x0, x1 in zip(xs[:-1], xs[1:]):
        rx = (x1 - x0) / 2
        points += arc((x0 + x1) / 2, 0.62, rx, _u(rng, 0.25, 0.45), 180, 360, 14)
    return [points + [(0.95, 0.8), (0.05, 0.8)]]


def _turned(strokes: Strokes, degrees: float) -> Strokes:
    """The strokes turned about the box's centre (clockwise on screen)."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return [[(0.5 + (x - 0.5) * c - (y - 0.5) * s, 0.5 + (x - 0.5) * s + (y - 0.5) * c)
             for x, y in stroke] for stroke in strokes]


def arrow(rng, test: bool) -> Strokes:
    """TRAIN: up, down, diagonal or 30° off horizontal (never level), a closed triangle or a
    V head.
    TEST: left or right (or both ends), straight, an open V head.
    """
    if not test:
        shaft = [(0.5, 0.98), (0.5, 0.25)]
        head = ([(0.22, 0.35), (0.5, 0.02), (0.78, 0.35)] if rng.random() < 0.4
                else _closed([(0.25, 0.35), (0.5, 0.02), (0.75, 0.35)]))
        turn = rng.choice([0, 180, 45, 135, 225, 315, 60, 120, 240, 300])
        return _turned([shaft, head], float(turn))
    y = _u(rng, 0.45, 0.55)
    strokes = [[(0.02, y), (0.98, y)], [(0.7, y - 0.25), (0.98, y), (0.7, y + 0.25)]]
    if rng.random() < 0.3:
        strokes.append([(0.3, y - 0.25), (0.02, y), (0.3, y + 0.25)])
    if rng.random() < 0.5:
        strokes = [[(1 - x, yy) for x, yy in s] for s in strokes]
    return strokes
