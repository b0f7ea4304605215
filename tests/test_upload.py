"""Tests for explorer.inputs.upload: an uploaded picture file -> MNIST-style 28x28 image."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageDraw

from explorer.inputs import upload
from explorer.inputs.data import load_test_split
from explorer.inputs.preprocess import center_of_mass
from explorer.inputs.upload import MAX_UPLOAD_SIDE, UploadError, upload_to_mnist, upload_to_rgba
from explorer.model.checkpoints import load_model
from explorer.model.inference import predict_logits
from scripts.bench import upload_cost
from tests.imagefiles import bilevel_png, encode

EXPLORER_DIR = Path(upload.__file__).parents[1]  # explorer/, for a bare package


# --- pictures of a digit, blank pictures, broken files --------------------------------------


def _paper_digit(size=(640, 480)) -> Image.Image:
    """A dark '7' on light paper, like a photo or scan."""
    img = Image.new("RGB", size, (235, 232, 220))
    w, h = size
    ImageDraw.Draw(img).line([(0.3 * w, 0.2 * h), (0.7 * w, 0.2 * h), (0.45 * w, 0.85 * h)],
                             fill=(30, 30, 40), width=max(4, w // 40))
    return img


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_upload_of_a_digit_on_paper_becomes_an_mnist_image(fmt):
    image28 = upload_to_mnist(encode(_paper_digit(), fmt))
    assert image28.shape == (28, 28) and image28.dtype == np.float32
    assert image28.max() > 0.8 and image28[0].max() < 0.05  # ink white, background black
    rows, cols = np.nonzero(image28 > 0.1)
    assert abs(center_of_mass(image28)[0] - 14) <= 1 and 18 <= np.ptp(rows) + 1 <= 21


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"this is not a picture", "not an image"),
    (None, "not an image"),  # a truncated PNG, built below
    (b"\0" * (21 * 2**20), "limit"),
])
def test_bad_uploads_say_why(data, reason):
    if data is None:
        data = encode(_paper_digit())[:200]
    with pytest.raises(UploadError, match=reason):
        upload_to_mnist(data)


def test_blank_or_huge_uploads():
    with pytest.raises(UploadError, match="No ink"):
        upload_to_mnist(encode(Image.new("RGB", (300, 200), "white")))
    big = encode(_paper_digit((3000, 2400)))
    assert max(upload_to_rgba(big).shape[:2]) <= MAX_UPLOAD_SIDE
    assert upload_to_mnist(big).shape == (28, 28)


# --- size limits: pixel bombs, formats the page does not offer ------------------------------


def test_pixel_bomb_upload_is_rejected_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bilevel_png(14_000, 12_700))  # 177.8 Mpx in ~25 KB
    assert bomb.stat().st_size < 100_000
    # NB: Pillow allocates pixels with C malloc, which tracemalloc does not see, so a child
    # process measures its peak RSS around the call. A bare package object skips
    # explorer/__init__.py: importing torch would lift the peak RSS and hide a decode under it.
    script = f"""
import resource, sys, types
package = types.ModuleType("explorer"); package.__path__ = [{str(EXPLORER_DIR)!r}]
sys.modules["explorer"] = package
from explorer.inputs import upload
assert "torch" not in sys.modules
data = open({str(bomb)!r}, "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    upload.upload_to_rgba(data)
except upload.UploadError as err:
    print(err)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)  # KiB on Linux
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    *message, grown_kib = result.stdout.strip().splitlines()
    assert message == ["The picture is 14000x12700 = 177,800,000 pixels; the limit is "
                       "25,000,000 pixels. Upload a smaller picture."]
    assert int(grown_kib) < 50 * 1024  # decoding would take >= 177 MB


def test_upload_over_the_pixel_limit_names_the_limit():
    with pytest.raises(UploadError, match=r"5001x5000 = 25,005,000 pixels; the limit is "
                                          r"25,000,000 pixels"):
        upload_to_rgba(bilevel_png(5001, 5000))
    assert upload_to_rgba(bilevel_png(5000, 5000)).shape == (2000, 2000, 4)  # at the limit


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "PCX"])
def test_upload_in_a_format_the_page_does_not_offer_is_rejected(fmt):
    data = encode(_paper_digit((200, 160)), fmt)  # as if renamed to digit.png
    assert Image.open(io.BytesIO(data)).format == fmt  # Pillow alone would decode it
    with pytest.raises(UploadError, match="not a PNG, JPEG, GIF, BMP, WebP or TIFF image"):
        upload_to_rgba(data)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "TIFF"])
def test_offered_formats_are_read(fmt):
    expected = upload_to_mnist(encode(_paper_digit()))
    got = upload_to_mnist(encode(_paper_digit(), fmt))
    assert np.abs(got - expected).mean() < 0.02  # WebP is lossy


# --- orientation and animations -------------------------------------------------------------


def mnist_seven_on_paper() -> Image.Image:
    """The first shipped test '7', dark on light, 280 x 280, like a scan."""
    images, labels = load_test_split()
    digit = images[int(np.flatnonzero(labels == 7)[0])]  # (28, 28), white on black
    return Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)


def sideways_with_exif(upright: Image.Image, fmt: str, orientation: int | None) -> bytes:
    """The picture as a phone stores it: pixels turned 90° left, EXIF says turn right."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, fmt, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_6_shows_the_seven_upright(fmt):
    upright = mnist_seven_on_paper()
    expected = upload_to_mnist(encode(upright, fmt))
    got = upload_to_mnist(sideways_with_exif(upright, fmt, 6))
    sideways = upload_to_mnist(sideways_with_exif(upright, fmt, None))
    assert np.abs(got - expected).mean() < 0.01  # exact for PNG; JPEG re-encodes
    assert np.abs(sideways - expected).mean() > 0.05  # so the tag is what made the difference
    loaded = load_model("cnn", device="cpu")
    assert predict_logits(loaded, np.stack([expected, got])).argmax(1).tolist() == [7, 7]


def animation(frames: list[Image.Image], fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_animation_gives_its_first_frame_with_ink(fmt):
    blank = Image.new("RGB", (640, 480), (235, 232, 220))
    data = animation([blank, _paper_digit(), blank], fmt)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    expected = upload_to_mnist(encode(_paper_digit()))
    np.testing.assert_allclose(upload_to_mnist(data), expected, atol=1e-3)
    # A shade apart (< INK_THRESHOLD), since GIF merges identical frames into one.
    blanks = animation([blank, Image.new("RGB", (640, 480), (228, 226, 214))], fmt)
    assert Image.open(io.BytesIO(blanks)).n_frames == 2
    with pytest.raises(UploadError, match=r"no ink in the first 2 frame\(s\)"):
        upload_to_rgba(blanks)


# --- hostile animations: one pixel budget for all frames --------------------------------------


def count_decoded_frames(monkeypatch) -> list:
    """Record each frame upload decodes (its size), by wrapping the one decoding function."""
    decoded, real = [], upload._frame_rgba
    monkeypatch.setattr(upload, "_frame_rgba", lambda image: decoded.append(image.size)
                        or real(image))
    return decoded


@pytest.mark.parametrize("build", [upload_cost.blank_gif, upload_cost.blank_tiff])
def test_sixty_blank_huge_frames_cost_one_decode(build, monkeypatch):
    data = build(60, 4900)  # 60 × 24 Mpx: the audit's 1.1 MB GIF and 357 kB TIFF
    decoded = count_decoded_frames(monkeypatch)
    with pytest.raises(UploadError, match=r"no ink in the first 1 frame\(s\).*25,000,000 pix"):
        upload_to_rgba(data)
    assert decoded == [(4900, 4900)]  # was 50 decodes: 31 s of CPU for the GIF


def test_frames_are_decoded_while_the_budget_lasts(monkeypatch):
    blank = Image.new("RGB", (3000, 3000), (235, 232, 220))  # 9 Mpx each: two fit in 25 Mpx
    inked = blank.copy()
    ImageDraw.Draw(inked).line([(900, 600), (2100, 600), (1300, 2500)], fill=(30, 30, 40),
                               width=90)
    decoded = count_decoded_frames(monkeypatch)
    with pytest.raises(UploadError, match=r"first 2 frame\(s\)"):
        upload_to_rgba(animation([blank, blank, inked], "TIFF", compression="tiff_deflate"))
    assert len(decoded) == 2  # the third would pass 25 Mpx: never decoded
    decoded.clear()
    pages = animation([blank, inked], "TIFF", compression="tiff_deflate")
    assert upload_to_mnist(pages).max() > 0.5  # within the budget: the inked page is found
    assert len(decoded) == 2


def test_small_animations_are_searched_up_to_the_frame_cap(monkeypatch):
    decoded = count_decoded_frames(monkeypatch)
    with pytest.raises(UploadError, match=r"first 50 frame\(s\)"):
        upload_to_rgba(upload_cost.blank_gif(80, 64))
    assert len(decoded) == upload.MAX_UPLOAD_FRAMES


def test_a_later_page_over_the_pixel_limit_is_refused_from_its_header(monkeypatch):
    blank = Image.new("1", (100, 100), 1)
    decoded = count_decoded_frames(monkeypatch)
    with pytest.raises(UploadError, match="5001x5000 = 25,005,000 pixels"):
        upload_to_rgba(animation([blank, Image.new("1", (5001, 5000), 1)], "TIFF"))
    assert decoded == [(100, 100)]


# --- pictures with more than 8 bits per sample ---------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_a_16_bit_greyscale_seven_on_white_is_read(fmt):
    eight = np.asarray(mnist_seven_on_paper().convert("L"))
    sixteen = Image.fromarray(eight.astype(np.uint16) * 257)  # the same picture, 16 bits
    data = encode(sixteen, fmt)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    got = upload_to_mnist(data)  # was "No ink found": convert() clipped 65,535 to 255
    np.testing.assert_allclose(got, upload_to_mnist(encode(Image.fromarray(eight), fmt)),
                               atol=1e-6)
    assert predict_logits(load_model("cnn", device="cpu"), got[None]).argmax() == 7


@pytest.mark.parametrize("mode,values,expected", [
    ("I;16", [0, 257, 65535], [0, 1, 255]),
    ("I", [-5, 65535, 99_999], [0, 255, 255]),
    ("F", [0.0, 0.5, 2.0], [0, 127, 255]),
])
def test_high_bit_depths_scale_to_8_bits(mode, values, expected):
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    image = Image.fromarray(np.array([values], dtype))
    assert image.mode == mode
    assert np.asarray(upload.eight_bit(image)).tolist() == [expected]
