"""Drawing on the app's 280×280 canvas as a person does: where, how big, how bent, which pen.

Shared by the drawn test sets (explorer.inputs.drawn, styles), the synthetic training digits
(explorer.inputs.synth) and the doodles (explorer.inputs.doodles). Strokes are given in a unit
box (x right, y down, both in [0, 1]); a Placement maps that box onto the canvas in px.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280  # the app's drawing canvas side, px


@dataclass(frozen=True)
class Placement:
    """Where a unit box lands on the canvas: height and centre in canvas px, and its bend."""

    size: float  # the box's height, px
    centre: tuple[float, float]  # (x, y) of the box's centre, px
    aspect: float = 1.0  # width / height
    slant: float = 0.0  # shear: tan of the lean, positive leans the top to the right
    rotate_deg: float = 0.0  # clockwise on screen


@dataclass(frozen=True)
class Pen:
    """A brush: its diameter in canvas px, and how much a mouse hand wobbles (px)."""

    width: float
    jitter: float = 0.0


@dataclass(frozen=True)
class PlacementRanges:
    """Ranges a random Placement is drawn from; size is a fraction of the canvas side."""

    size: tuple[float, float] = (0.3, 0.85)
    aspect: tuple[float, float] = (0.7, 1.2)
    slant_deg: tuple[float, float] = (-20.0, 20.0)
    rotate_deg: tuple[float, float] = (0.0, 0.0)
    log_size: bool = False  # draw the size log-uniformly (many small ones)


def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float,
        n: int = 24) -> list[tuple[float, float]]:
    """Points on an ellipse from angle a0 to a1 (degrees; 0 is right, 90 down, 270 up)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip((cx + rx * np.cos(t)).tolist(), (cy + ry * np.sin(t)).tolist()))


def random_placement(rng: np.random.Generator, ranges: PlacementRanges = PlacementRanges(),
                     canvas: int = CANVAS) -> Placement:
    """A random size, aspect, slant and rotation, placed anywhere the box fits the canvas."""
    lo, hi = ranges.size
    frac = np.exp(rng.uniform(np.log(lo), np.log(hi))) if ranges.log_size else rng.uniform(lo, hi)
    size, aspect = float(frac * canvas), float(rng.uniform(*ranges.aspect))
    slant = float(np.tan(np.radians(rng.uniform(*ranges.slant_deg))))
    half_w = 0.5 * size * max(aspect + abs(slant), 1.0)  # rotation can swap width and height
    margin = 0.04 * canvas
    cx, cy = (rng.uniform(min(margin + half, canvas / 2), max(canvas - margin - half, canvas / 2))
              for half in (half_w, half_w))
    turn = float(rng.uniform(*ranges.rotate_deg))
    return Placement(size, (float(cx), float(cy)), aspect, slant, turn)


def to_canvas(points, placement: Placement) -> np.ndarray:
    """Unit-box points (n, 2) -> canvas px (n, 2) through the placement's scale, slant, turn."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2) - 0.5
    x = placement.size * placement.aspect * (pts[:, 0] - placement.slant * pts[:, 1])
    y = placement.size * pts[:, 1]
    a = np.radians(placement.rotate_deg)
    cx, cy = placement.centre
    return np.stack([cx + x * np.cos(a) - y * np.sin(a), cy + x * np.sin(a) + y * np.cos(a)], 1)


def densify(xy: np.ndarray, step: float = 3.0) -> np.ndarray:
    """The same polyline with points at most `step` px apart (so jitter follows the path)."""
    if len(xy) < 2:
        return xy
    seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    dist = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(int(np.ceil(dist[-1] / step)) + 1, 2)
    at = np.linspace(0.0, dist[-1], n)
    return np.stack([np.interp(at, dist, xy[:, 0]), np.interp(at, dist, xy[:, 1])], 1)


def wobble(xy: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Add a smooth random wobble of about `amount` px (a mouse hand), ends included."""
    if amount <= 0 or len(xy) < 2:
        return xy
    noise = rng.normal(0.0, 1.0, (len(xy) + 8, 2))
    kernel = np.ones(5) / 5.0  # smooth: a hand wobbles over a few px, not per pixel
    smooth = np.stack([np.convolve(noise[:, k], kernel, "same") for k in (0, 1)], 1)[4:-4]
    return xy + amount * smooth / max(float(smooth.std()), 1e-9)


def draw_strokes(strokes, placement: Placement, pen: Pen, rng: np.random.Generator,
                 canvas: int = CANVAS) -> np.ndarray:
    """Unit-box strokes drawn with a round brush -> (canvas, canvas) uint8 grey, ink 255."""
    img = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(img)
    r = pen.width / 2
    for stroke in strokes:
        xy = wobble(densify(to_canvas(stroke, placement)), pen.jitter, rng)
        points = [tuple(p) for p in xy.tolist()]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(int(round(pen.width)), 1), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps, like the canvas brush
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img)


def place_glyph(glyph, placement: Placement, canvas: int = CANVAS) -> np.ndarray:
    """A grey glyph image (ink > 0) fitted into the placement's box -> (canvas, canvas) uint8.

    NB: the glyph's own aspect is kept and multiplied by the placement's.
    """
    glyph = np.asarray(glyph, dtype=np.uint8)
    rows, cols = np.flatnonzero(glyph.any(1)), np.flatnonzero(glyph.any(0))
    if rows.size == 0:
        return np.zeros((canvas, canvas), np.uint8)
    glyph = glyph[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    gh, gw = glyph.shape
    s = placement.size / gh
    a = np.radians(placement.rotate_deg)
    cx, cy = placement.centre
    # forward: glyph px -> centred -> scale -> slant -> rotate -> canvas px (3×3, homogeneous)
    centre = np.array([[1, 0, -gw / 2], [0, 1, -gh / 2], [0, 0, 1]])
    scale = np.diag([s * placement.aspect, s, 1.0])
    shear = np.array([[1, -placement.slant, 0], [0, 1, 0], [0, 0, 1]])
    turn = np.array([[np.cos(a), -np.sin(a), cx], [np.sin(a), np.cos(a), cy], [0, 0, 1]])
    inverse = np.linalg.inv(turn @ shear @ scale @ centre)
    out = Image.fromarray(glyph).transform((canvas, canvas), Image.Transform.AFFINE,
                                           tuple(inverse[:2].reshape(-1)),
                                           resample=Image.Resampling.BILINEAR)
    return np.asarray(out)


def _ink_square(grey: np.ndarray) -> tuple[int, int, int] | None:
    """(top, left, side) of the smallest square around the ink that fits the canvas."""
    rows, cols = np.flatnonzero(grey.any(1)), np.flatnonzero(grey.any(0))
    if rows.size == 0:
        return None
    side = int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)
    side = min(side, grey.shape[0], grey.shape[1])
    top = int(np.clip((rows[0] + rows[-1] - side) // 2, 0, grey.shape[0] - side))
    left = int(np.clip((cols[0] + cols[-1] - side) // 2, 0, grey.shape[1] - side))
    return top, left, side


def low_resolution(grey: np.ndarray, cells: int, levels: int = 17,
                   smooth: bool = False) -> np.ndarray:
    """The ink seen through a cells×cells grid (grey levels kept, like an 8×8 scan), blown up.

    `smooth`: enlarge with bilinear blur instead of hard blocks. NB: this is what a photo or
    an old scanner gives; the app's preprocessing then makes 28×28 of it.
    """
    box = _ink_square(grey)
    if box is None:
        return grey
    top, left, side = box
    patch = Image.fromarray(grey[top:top + side, left:left + side])
    small = np.asarray(patch.resize((cells, cells), Image.Resampling.BOX), dtype=np.float64)
    small = np.round(small / 255 * (levels - 1)) / (levels - 1) * 255
    small = small / max(float(small.max()), 1.0) * 255
    resample = Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST
    big = Image.fromarray(small.astype(np.uint8)).resize((side, side), resample)
    out = np.zeros_like(grey)
    out[top:top + side, left:left + side] = np.asarray(big)
    return out


def blocky(grey: np.ndarray, cells: int) -> np.ndarray:
    """Pixel art: the ink on a cells×cells grid over its box, each block on or off."""
    box = _ink_square(grey)
    if box is None:
        return grey
    top, left, side = box
    patch = Image.fromarray(grey[top:top + side, left:left + side])
    small = patch.resize((cells, cells), Image.Resampling.BOX).point(lambda v: 255 if v > 60 else 0)
    out = np.zeros_like(grey)
    out[top:top + side, left:left + side] = np.asarray(small.resize((side, side),
                                                                     Image.Resampling.NEAREST))
    return out


def to_rgba(grey: np.ndarray) -> np.ndarray:
    """White-on-black opaque RGBA, as the app's canvas returns it."""
    rgba = np.empty(grey.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = 255
    return rgba
