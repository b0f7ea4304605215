"""Tests for explorer.inputs.preprocess: canvas -> MNIST-style 28x28 image, model-free."""

from __future__ import annotations

import base64
import io
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw

from explorer.inputs.preprocess import (
    MAX_CANVAS_PIXELS,
    PNG_SIGNATURE,
    CanvasTooLarge,
    canvas_to_mnist,
    center_of_mass,
    check_canvas_size,
    has_ink,
    ink_mask,
    naive_resize,
    png_data_url_size,
)
from tests.imagefiles import bilevel_png, encode

BLACK = (0, 0, 0, 255)
WHITE = (255, 255, 255, 255)
TRANSPARENT = (0, 0, 0, 0)
SEVEN = [(0.1, 0.15), (0.75, 0.15), (0.35, 0.9)]  # polyline in canvas fractions (x, y)


def draw_seven(
    size_wh=(280, 280),
    *,
    background=BLACK,
    ink=WHITE,
    box=(0.0, 0.0, 1.0, 1.0),
    width=18,
) -> np.ndarray:
    """An (H, W, 4) uint8 canvas with a '7' polyline inside box=(x0, y0, x1, y1) fractions."""
    canvas = Image.new("RGBA", size_wh, background)
    x0, y0, x1, y1 = box
    w, h = size_wh
    points = [
        ((x0 + fx * (x1 - x0)) * w, (y0 + fy * (y1 - y0)) * h) for fx, fy in SEVEN
    ]
    ImageDraw.Draw(canvas).line(points, fill=ink, width=width, joint="curve")
    return np.asarray(canvas).copy()


def draw_rectangle(
    w_px: int, h_px: int, *, at=(60, 50), size_wh=(280, 280)
) -> np.ndarray:
    """Return a black (H, W, 4) canvas with a filled white w_px x h_px rectangle at `at`."""
    canvas = Image.new("RGBA", size_wh, BLACK)
    x, y = at
    ImageDraw.Draw(canvas).rectangle([x, y, x + w_px - 1, y + h_px - 1], fill=WHITE)
    return np.asarray(canvas).copy()


def ink_bbox_hw(image28: np.ndarray, threshold: float = 0.05) -> tuple[int, int]:
    """Return (height, width) of the pixels above threshold."""
    rows = np.flatnonzero((image28 > threshold).any(axis=1))
    cols = np.flatnonzero((image28 > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def assert_valid_image28(image28) -> None:
    assert image28 is not None
    assert image28.shape == (28, 28)
    assert image28.dtype == np.float32
    assert np.isfinite(image28).all()
    assert image28.min() >= 0.0 and image28.max() <= 1.0
    assert image28.max() > 0.0


# --- centring and scaling -------------------------------------------------------------------


def test_offcentre_small_digit_is_centred_by_mass():
    canvas = draw_seven(box=(0.0, 0.0, 0.3, 0.3), width=8)  # small, top-left corner
    image28 = canvas_to_mnist(canvas)
    assert_valid_image28(image28)
    com_row, com_col = center_of_mass(image28)
    assert abs(com_row - 14.0) <= 0.5
    assert abs(com_col - 14.0) <= 0.5


def test_longest_side_is_scaled_to_20_px():
    image28 = canvas_to_mnist(draw_seven())
    assert max(ink_bbox_hw(image28)) in (19, 20, 21)
    assert image28.max() > 0.9  # thick strokes stay saturated like MNIST's


def test_tall_rectangle_keeps_aspect_ratio():
    image28 = canvas_to_mnist(draw_rectangle(40, 160))
    height, width = ink_bbox_hw(image28)
    assert height in (19, 20, 21)
    assert 4 <= width <= 6  # 40/160 * 20 = 5


def test_wide_rectangle_keeps_aspect_ratio():
    image28 = canvas_to_mnist(draw_rectangle(160, 40))
    height, width = ink_bbox_hw(image28)
    assert width in (19, 20, 21)
    assert 4 <= height <= 6


def test_rectangle_is_centred():
    image28 = canvas_to_mnist(draw_rectangle(40, 160, at=(200, 100)))
    com_row, com_col = center_of_mass(image28)
    assert abs(com_row - 14.0) <= 0.5 and abs(com_col - 14.0) <= 0.5


@pytest.mark.parametrize("size_wh", [(100, 100), (600, 400), (280, 500), (28, 28)])
def test_other_canvas_sizes_give_centred_20px_digits(size_wh):
    width = max(2, round(18 * min(size_wh) / 280))
    image28 = canvas_to_mnist(
        draw_seven(size_wh, box=(0.5, 0.4, 1.0, 1.0), width=width)
    )
    assert_valid_image28(image28)
    com_row, com_col = center_of_mass(image28)
    assert abs(com_row - 14.0) <= 0.5 and abs(com_col - 14.0) <= 0.5
    assert max(ink_bbox_hw(image28)) in (19, 20, 21)


# --- no ink, specks and dots ----------------------------------------------------------------


@pytest.mark.parametrize("background", [BLACK, WHITE, TRANSPARENT, (30, 120, 200, 255)])
def test_blank_canvas_is_none(background):
    canvas = np.asarray(Image.new("RGBA", (280, 280), background))
    assert canvas_to_mnist(canvas) is None
    assert naive_resize(canvas) is None
    assert not has_ink(canvas)


@pytest.mark.parametrize("side", [1, 2, 3])
def test_speck_is_none(side):
    canvas = draw_rectangle(side, side, at=(140, 140))
    assert ink_mask(canvas).max() == 1.0  # the speck IS detected as ink ...
    # ... but rejected as too small to be a digit.
    assert canvas_to_mnist(canvas) is None
    assert naive_resize(canvas) is None
    assert not has_ink(canvas)


def test_brush_dot_gives_an_image():
    # NB: a 20 px brush tap is a plausible input; the model's confidence flags it, not us.
    canvas = Image.new("RGBA", (280, 280), BLACK)
    ImageDraw.Draw(canvas).ellipse([130, 130, 150, 150], fill=WHITE)
    image28 = canvas_to_mnist(np.asarray(canvas))
    assert_valid_image28(image28)
    assert has_ink(np.asarray(canvas))


def test_faint_noise_is_not_ink():
    rng = np.random.default_rng(0)
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[..., :3] = rng.integers(0, 20, size=(280, 280, 3))  # < 0.1 contrast
    assert ink_mask(canvas).max() == 0.0
    assert canvas_to_mnist(canvas) is None


def test_min_ink_pixels_rejects_thin_short_stroke():
    canvas = draw_rectangle(1, 30)  # 30 pixels, long enough to pass the extent rule
    assert canvas_to_mnist(canvas) is not None
    assert canvas_to_mnist(canvas, min_ink_pixels=31) is None
    assert not has_ink(canvas, min_ink_pixels=31)


# --- backgrounds, ink colours, input formats ------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    return canvas_to_mnist(draw_seven(box=(0.1, 0.2, 0.6, 0.7)))


@pytest.mark.parametrize(
    ("background", "ink"),
    [
        (TRANSPARENT, WHITE),
        (TRANSPARENT, (0, 0, 0, 255)),  # black ink on transparent: alpha alone decides
        (TRANSPARENT, (200, 30, 90, 255)),
        (WHITE, BLACK),
        (BLACK, (255, 0, 0, 255)),
        (WHITE, (0, 0, 255, 255)),
        ((128, 128, 128, 255), (255, 0, 255, 255)),  # colour ink on mid-grey background
        ((120, 120, 120, 255), (240, 0, 120, 255)),  # same mean brightness as bg
    ],
)
def test_background_and_ink_colour_do_not_matter(reference, background, ink):
    canvas = draw_seven(box=(0.1, 0.2, 0.6, 0.7), background=background, ink=ink)
    np.testing.assert_allclose(canvas_to_mnist(canvas), reference, atol=1e-3)


def test_rgb_grey_and_float_inputs_match_rgba(reference):
    canvas = draw_seven(box=(0.1, 0.2, 0.6, 0.7))
    np.testing.assert_allclose(canvas_to_mnist(canvas[..., :3]), reference, atol=1e-3)
    np.testing.assert_allclose(canvas_to_mnist(canvas[..., 0]), reference, atol=1e-3)
    np.testing.assert_allclose(canvas_to_mnist(canvas / 255.0), reference, atol=1e-3)
    np.testing.assert_allclose(
        canvas_to_mnist(canvas.astype(np.float32)), reference, atol=1e-3
    )


def test_ink_mask_shape_range_and_peak():
    canvas = draw_seven((300, 200), background=WHITE, ink=(40, 40, 40, 255))
    ink = ink_mask(canvas)
    assert ink.shape == (200, 300) and ink.dtype == np.float32
    assert ink.min() == 0.0
    assert ink.max() == pytest.approx(1.0)  # grey ink is normalised to full strength
    assert ink[0, 0] == 0.0  # background corner


# --- naive resize ---------------------------------------------------------------------------


def test_naive_resize_is_valid_and_not_centred():
    canvas = draw_seven(box=(0.0, 0.0, 0.3, 0.3), width=8)
    naive = naive_resize(canvas)
    assert_valid_image28(naive)
    com_row, com_col = center_of_mass(naive)
    assert com_row < 7 and com_col < 7  # stays in the corner, tiny
    assert max(ink_bbox_hw(naive)) < 12
    ours_row, ours_col = center_of_mass(canvas_to_mnist(canvas))
    assert abs(ours_row - 14) <= 0.5 and abs(ours_col - 14) <= 0.5


# --- degenerate and invalid inputs ----------------------------------------------------------


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((1, 1, 4), np.uint8),
        np.full((1, 1, 4), 255, np.uint8),
        np.zeros((280, 280, 4), np.uint8),
        np.full((280, 280, 4), 255, np.uint8),
        np.zeros((0, 10, 4), np.uint8),
        np.full((5, 5), np.nan),
        np.full((5, 5, 3), np.inf),
    ],
)
def test_degenerate_inputs_give_none(canvas):
    assert canvas_to_mnist(canvas) is None
    assert naive_resize(canvas) is None


def test_extreme_aspect_canvas_gives_valid_image():
    canvas = np.zeros((5000, 10, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[1000:4000, 3:7, :3] = 255  # a long vertical stroke
    assert_valid_image28(canvas_to_mnist(canvas))
    assert_valid_image28(naive_resize(canvas))


@pytest.mark.parametrize(
    "shape", [(280, 280, 5), (280,), (280, 280, 4, 1), (), (10, 10, 0)]
)
def test_invalid_shapes_raise_value_error(shape):
    canvas = np.zeros(shape, np.uint8)
    with pytest.raises(ValueError, match="shape"):
        canvas_to_mnist(canvas)
    with pytest.raises(ValueError, match="shape"):
        naive_resize(canvas)


def test_non_numeric_dtype_raises_value_error():
    with pytest.raises(ValueError, match="dtype"):
        canvas_to_mnist(np.full((4, 4, 4), "a"))


def test_center_of_mass_known_values():
    image = np.zeros((28, 28), np.float32)
    image[3, 5] = 1.0
    image[7, 5] = 3.0
    assert center_of_mass(image) == pytest.approx((6.0, 5.0))
    assert center_of_mass(np.zeros((28, 28))) == pytest.approx((13.5, 13.5))


# --- properties -----------------------------------------------------------------------------


def check_output(image28) -> None:
    """None or a valid image; test_any_canvas_with_a_digit_sized_stroke... rules out None."""
    if image28 is None:
        return
    assert image28.shape == (28, 28)
    assert image28.dtype == np.float32
    assert np.isfinite(image28).all()
    assert image28.min() >= 0.0 and image28.max() <= 1.0


@settings(max_examples=100, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64), st.just(4))))
def test_any_rgba_canvas_gives_none_or_valid_image(canvas):
    check_output(canvas_to_mnist(canvas))
    check_output(naive_resize(canvas))
    ink = ink_mask(canvas)
    assert ink.shape == canvas.shape[:2] and np.isfinite(ink).all()


@st.composite
def canvases_with_a_stroke(draw):
    """An (H, W, 4) uint8 canvas, plain background, one opaque bar along its longest side."""
    height, width = draw(st.integers(28, 160)), draw(st.integers(28, 160))
    opaque = draw(st.booleans())
    colour = st.tuples(*[st.integers(0, 255)] * 3)
    background = draw(colour) + ((255,) if opaque else (0,))
    # Opaque: some channel must differ by >= 26 (0.1 contrast); transparent: alpha decides.
    ink = draw(colour.filter(lambda c: not opaque or max(
        abs(a - b) for a, b in zip(c, background[:3], strict=True)) >= 26)) + (255,)
    long_side, short_side = max(height, width), min(height, width)
    length = draw(st.integers(-(-long_side // 4), long_side - 2))  # >= 25%: never a speck
    thickness = draw(st.integers(2, short_side // 4))
    start = draw(st.integers(1, long_side - 1 - length))
    offset = draw(st.integers(1, short_side - 1 - thickness))
    along, across = slice(start, start + length), slice(offset, offset + thickness)
    canvas = np.empty((height, width, 4), np.uint8)
    canvas[...] = background
    canvas[(along, across) if height >= width else (across, along)] = ink
    return canvas


@settings(max_examples=100, deadline=None)
@given(canvases_with_a_stroke())
def test_any_canvas_with_a_digit_sized_stroke_gives_an_image(canvas):
    # The counterpart of the "None or valid" properties: None is not a safe answer here.
    assert_valid_image28(canvas_to_mnist(canvas))
    assert_valid_image28(naive_resize(canvas))
    assert has_ink(canvas)


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 32), st.integers(1, 32), st.sampled_from([1, 3, 4])),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    )
)
def test_any_float_canvas_gives_none_or_valid_image(canvas):
    check_output(canvas_to_mnist(canvas))
    check_output(naive_resize(canvas))


def _disc_canvas(radius, size=280):
    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    ImageDraw.Draw(img).ellipse((size / 2 - radius, size / 2 - radius, size / 2 + radius,
                                 size / 2 + radius), fill=(255, 255, 255, 255))
    return np.asarray(img)


@pytest.mark.parametrize("radius", [5, 10, 40, 120])
def test_a_dot_or_filled_blob_is_a_blob(radius):
    from explorer.inputs.preprocess import is_blob
    image28 = canvas_to_mnist(_disc_canvas(radius))
    assert image28 is not None and is_blob(image28)


def test_mnist_digits_and_strokes_are_not_blobs():
    from explorer.inputs.data import load_test_float
    from explorer.inputs.preprocess import is_blob
    images, _ = load_test_float()
    assert sum(is_blob(im) for im in images[:2000]) <= 2
    ring = np.asarray(Image.new("RGBA", (280, 280), (0, 0, 0, 255)))
    img = Image.fromarray(ring.copy())
    ImageDraw.Draw(img).ellipse((60, 30, 220, 250), outline=(255, 255, 255, 255), width=20)
    assert not is_blob(canvas_to_mnist(np.asarray(img)))
    assert not is_blob(np.zeros((28, 28), np.float32))


# --- size limits: forged canvases -----------------------------------------------------------


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def test_forged_canvas_size_is_rejected():
    forged = bilevel_png(9000, 9000)
    assert len(forged) < 50_000 and Image.open(io.BytesIO(forged)).size == (9000, 9000)
    assert png_data_url_size(data_url(forged)) == (9000, 9000)
    with pytest.raises(CanvasTooLarge, match="9000x9000 = 81,000,000 pixels"):
        check_canvas_size(9000, 9000)
    # A read-only view of 400 MB that takes no memory; converting it would take 3.2 GB.
    canvas = np.broadcast_to(np.zeros(4, np.uint8), (10_000, 10_000, 4))
    tracemalloc.start()
    try:
        for convert in (canvas_to_mnist, naive_resize, ink_mask, has_ink):
            with pytest.raises(CanvasTooLarge, match=r"10000x10000 = 100,000,000 pixels; "
                                                     r"the limit is 16,777,216 pixels"):
                convert(canvas)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20
    assert issubclass(CanvasTooLarge, ValueError)  # callers that catch ValueError keep working


def test_canvas_size_limit_is_inclusive():
    check_canvas_size(4096, 4096)
    check_canvas_size(MAX_CANVAS_PIXELS, 1)
    with pytest.raises(CanvasTooLarge):
        check_canvas_size(4096, 4097)


def test_png_data_url_size_of_a_real_canvas_value():
    png = encode(Image.new("RGBA", (280, 140), TRANSPARENT))
    assert png_data_url_size(data_url(png)) == (280, 140)
    assert png_data_url_size("DATA:image/png;charset=utf-8;base64," + data_url(png)[22:]) == (
        280, 140)


@pytest.mark.parametrize("value", [
    None, 42, "", "junk", "x" * 100_000,
    "data:image/png;base64,",
    "data:image/png;base64,!!!!" + "A" * 60,
    "data:image/png," + "A" * 60,  # not base64
    "data:image/jpeg;base64," + base64.b64encode(bilevel_png(8, 8)).decode(),
    data_url(bilevel_png(8, 8))[:40],  # cut inside the IHDR
    data_url(b"GIF89a" + bytes(40)),
    data_url(PNG_SIGNATURE + bytes(4) + b"IDAT" + bytes(20)),  # first chunk not IHDR
    data_url(bilevel_png(8, 8)[:16] + bytes(8) + bilevel_png(8, 8)[24:]),  # 0x0
])
def test_png_data_url_size_of_junk_is_none(value):
    assert png_data_url_size(value) is None
