"""Printed and pixel-font digits (and letters): fonts from the venv, bitmaps written here.

The fonts are matplotlib's (a dependency through captum), so they exist wherever the app
runs, CI included. NB: TRAIN_* and TEST_* never share a font or a bitmap design: the style
test set's printed and pixel-font digits are faces no model was trained on.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from explorer.inputs.pen import Placement, place_glyph

TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
               "DejaVuSans-BoldOblique.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
               "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
               "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
               "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmti10.ttf")
TEST_FONTS = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
              "DejaVuSerif-BoldItalic.ttf", "cmss10.ttf", "cmtt10.ttf")
GLYPH_PX = 160  # font size the glyphs are rendered at before they are placed


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("matplotlib is not installed: its fonts draw printed digits")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), size)


def text_glyph(char: str, font_name: str, bold_px: int = 0) -> np.ndarray:
    """One character in white on black, cropped to its ink, uint8 (h, w)."""
    side = GLYPH_PX * 2
    img = Image.new("L", (side, side), 0)
    ImageDraw.Draw(img).text((side / 2, side / 2), char, fill=255, anchor="mm",
                             font=_font(font_name, GLYPH_PX), stroke_width=bold_px,
                             stroke_fill=255)
    grey = np.asarray(img)
    rows, cols = np.flatnonzero(grey.any(1)), np.flatnonzero(grey.any(0))
    return grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] if rows.size else grey


def draw_text(char: str, font_name: str, placement: Placement, bold_px: int = 0) -> np.ndarray:
    """A printed character fitted into the placement's box -> (280, 280) uint8 grey."""
    return place_glyph(text_glyph(char, font_name, bold_px), placement)


def _bitmaps(rows_by_digit: dict[int, str]) -> dict[int, np.ndarray]:
    return {d: np.array([[c == "#" for c in row] for row in rows.split()], dtype=bool)
            for d, rows in rows_by_digit.items()}


# 3×5 and 5×7 (the classic LCD matrix): the training pixel fonts.
TRAIN_PIXEL_FONTS = (_bitmaps({
    0: "### #.# #.# #.# ###", 1: ".#. ##. .#. .#. ###", 2: "### ..# ### #.. ###",
    3: "### ..# ### ..# ###", 4: "#.# #.# ### ..# ..#", 5: "### #.. ### ..# ###",
    6: "### #.. ### #.# ###", 7: "### ..# ..# ..# ..#", 8: "### #.# ### #.# ###",
    9: "### #.# ### ..# ###"}), _bitmaps({
        0: ".###. #...# #..## #.#.# ##..# #...# .###.",
        1: "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        2: ".###. #...# ....# ...#. ..#.. .#... #####",
        3: "##### ...#. ..#.. ...#. ....# #...# .###.",
        4: "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        5: "##### #.... ####. ....# ....# #...# .###.",
        6: "..##. .#... #.... ####. #...# #...# .###.",
        7: "##### ....# ...#. ..#.. .#... .#... .#...",
        8: ".###. #...# #...# .###. #...# #...# .###.",
        9: ".###. #...# #...# .#### ....# ...#. .##.."}))
# 4×7, rounded corners, a foot on the 1 and an open 4: the test set's pixel font only.
TEST_PIXEL_FONTS = (_bitmaps({
    0: ".##. #..# #..# #..# #..# #..# .##.", 1: "..#. .##. #.#. ..#. ..#. ..#. .###",
    2: ".##. #..# ...# ..#. .#.. #... ####", 3: "###. ...# ...# .##. ...# ...# ###.",
    4: "#... #... #.#. #.#. #### ..#. ..#.", 5: "#### #... ###. ...# ...# #..# .##.",
    6: ".##. #... #... ###. #..# #..# .##.", 7: "#### ...# ..#. ..#. .#.. .#.. .#..",
    8: ".##. #..# #..# .##. #..# #..# .##.", 9: ".##. #..# #..# .### ...# ...# .##."}),)


def bitmap_glyph(bitmap: np.ndarray, cell_px: int = 20, dots: bool = False) -> np.ndarray:
    """A bitmap drawn as square cells (or round dots, like a dot-matrix display), uint8."""
    h, w = bitmap.shape
    img = Image.new("L", (w * cell_px, h * cell_px), 0)
    draw = ImageDraw.Draw(img)
    for r, c in zip(*np.nonzero(bitmap)):
        box = (c * cell_px, r * cell_px, (c + 1) * cell_px - 1, (r + 1) * cell_px - 1)
        (draw.ellipse if dots else draw.rectangle)(box, fill=255)
    return np.asarray(img)


def draw_bitmap(bitmap: np.ndarray, placement: Placement, dots: bool = False) -> np.ndarray:
    """A pixel-font digit fitted into the placement's box -> (280, 280) uint8 grey."""
    return place_glyph(bitmap_glyph(bitmap, dots=dots), placement)
