"""Synthetic TRAINING digits in the hands MNIST has few of: strokes, fonts, pixel fonts.

Every sample is drawn on the app's 280×280 canvas and goes through the app's own
preprocessing (canvas_to_mnist), as a drawing does. NB: only training glyphs
(explorer.inputs.glyphs), TRAIN_FONTS and TRAIN_PIXEL_FONTS are used, with seeds of the
training run: the drawn and style test sets are drawn from other tables, fonts and seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.inputs.glyphs import TRAIN_GLYPHS, nudge
from explorer.inputs.pen import (
    Pen,
    PlacementRanges,
    blocky,
    draw_strokes,
    low_resolution,
    random_placement,
    to_rgba,
)
from explorer.inputs.preprocess import canvas_to_mnist
from explorer.inputs.printed import TRAIN_FONTS, TRAIN_PIXEL_FONTS, draw_bitmap, draw_text

WIDE_PLACEMENT = PlacementRanges(size=(0.07, 0.98), aspect=(0.65, 1.3), slant_deg=(-30, 30),
                                 rotate_deg=(-25, 25), log_size=True)


@dataclass(frozen=True)
class SynthConfig:
    """How the synthetic training digits are drawn: sources, pens, geometry, degradations."""

    share_strokes: float = 0.6  # stroke glyphs; then fonts; the rest pixel fonts
    share_fonts: float = 0.28
    placement: PlacementRanges = field(default_factory=lambda: WIDE_PLACEMENT)
    brush_px: tuple[float, float] = (6.0, 40.0)  # the Explorer's brush slider
    max_brush_of_size: float = 0.22 # a brush wider than this share of the digit is a blob
    p_thin_pen: float = 0.15  # a 2-5 px pen (a scan, an upload): faint once preprocessed
    p_jitter: float = 0.5
    jitter_px: tuple[float, float] = (0.5, 5.0)
    max_jitter_of_size: float = 0.035  # more wobble than this and nobody could read it
    p_low_res: float = 0.12
    low_res_cells: tuple[int, int] = (7, 14)
    p_blocky: float = 0.06
    blocky_cells: tuple[int, int] = (7, 14)


def random_pen(rng: np.random.Generator, size_px: float, cfg: SynthConfig) -> Pen:
    """A brush from the app's slider (or a thin pen), no wider than a share of the digit."""
    if rng.random() < cfg.p_thin_pen:
        width = rng.uniform(2.0, 5.0)
    else:
        width = np.exp(rng.uniform(*np.log(cfg.brush_px)))
    width = max(min(width, cfg.max_brush_of_size * size_px), 2.0)
    jitter = rng.uniform(*cfg.jitter_px) if rng.random() < cfg.p_jitter else 0.0
    return Pen(float(width), float(min(jitter, cfg.max_jitter_of_size * size_px)))


def _strokes(rng: np.random.Generator, cfg: SynthConfig, digit: int) -> np.ndarray:
    choices = [g for g in TRAIN_GLYPHS if g[1] == digit]
    _, _, strokes = choices[rng.integers(len(choices))]
    placement = random_placement(rng, cfg.placement)
    return draw_strokes(nudge(strokes, rng), placement, random_pen(rng, placement.size, cfg),
                        rng)


def _font(rng: np.random.Generator, cfg: SynthConfig, digit: int) -> np.ndarray:
    bold = int(rng.integers(0, 7)) if rng.random() < 0.4 else 0
    font = TRAIN_FONTS[rng.integers(len(TRAIN_FONTS))]
    return draw_text(str(digit), font, random_placement(rng, cfg.placement), bold)


def _pixels(rng: np.random.Generator, cfg: SynthConfig, digit: int) -> np.ndarray:
    bitmap = TRAIN_PIXEL_FONTS[rng.integers(len(TRAIN_PIXEL_FONTS))][digit]
    return draw_bitmap(bitmap, random_placement(rng, cfg.placement), dots=rng.random() < 0.3)


def synth_canvas(rng: np.random.Generator, digit: int,
                 cfg: SynthConfig = SynthConfig()) -> np.ndarray:
    """One synthetic drawing of `digit` on the canvas -> (280, 280, 4) uint8 RGBA."""
    u = rng.random()
    maker = _strokes if u < cfg.share_strokes else (
        _font if u < cfg.share_strokes + cfg.share_fonts else _pixels)
    grey = maker(rng, cfg, digit)
    v = rng.random()
    if v < cfg.p_low_res:
        grey = low_resolution(grey, int(rng.integers(*cfg.low_res_cells, endpoint=True)),
                              smooth=rng.random() < 0.5)
    elif v < cfg.p_low_res + cfg.p_blocky:
        grey = blocky(grey, int(rng.integers(*cfg.blocky_cells, endpoint=True)))
    return to_rgba(grey)


def synth_digits(n: int, seed: int, cfg: SynthConfig = SynthConfig()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic digits, preprocessed as drawings: (uint8 (n, 28, 28), int64 labels (n,)).

    Labels cycle 0-9. NB: a drawing that preprocesses to nothing (a speck) is drawn again.
    """
    rng = np.random.default_rng([seed, 22])  # NB: a stream of its own, apart from the test sets'
    images = np.zeros((n, 28, 28), np.uint8)
    labels = np.arange(n, dtype=np.int64) % 10
    for i, digit in enumerate(labels):
        image28 = None
        while image28 is None:
            image28 = canvas_to_mnist(synth_canvas(rng, int(digit), cfg))
        images[i] = np.round(np.clip(image28, 0, 1) * 255).astype(np.uint8)
    return images, labels
