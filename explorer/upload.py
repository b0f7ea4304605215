"""Turn an uploaded picture file (PNG, JPEG, …) into an MNIST-style 28x28 digit."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from explorer.preprocess import canvas_to_mnist, has_ink

MAX_UPLOAD_BYTES = 20 * 2**20
MAX_UPLOAD_SIDE = 2000  # bigger pictures are shrunk first: ink detection needs no more
# Checked on the header's size before any decoding: a 25 Mpx photo decodes to 100 MB RGBA.
MAX_UPLOAD_PIXELS = 25_000_000
# What the upload widget offers; Pillow is never asked to guess among its other formats.
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
UPLOAD_FORMATS_TEXT = "PNG, JPEG, GIF, BMP, WebP or TIFF"
MAX_UPLOAD_FRAMES = 50  # frames of an animation searched for the first one with ink


class UploadError(ValueError):
    """An uploaded file can't be used as a digit; the message says why, for the page."""


def _check_upload_pixels(image: Image.Image) -> None:
    """Raise UploadError when the (current frame of the) image has too many pixels."""
    width, height = image.size
    if width * height > MAX_UPLOAD_PIXELS:
        raise UploadError(f"The picture is {width}x{height} = {width * height:,} pixels; the "
                          f"limit is {MAX_UPLOAD_PIXELS:,} pixels. Upload a smaller picture.")


def _frame_rgba(image: Image.Image, copy: bool) -> np.ndarray:
    """The current frame, shrunk to MAX_UPLOAD_SIDE and turned upright, as (H, W, 4) uint8."""
    _check_upload_pixels(image)  # a TIFF's later pages can be bigger than its first
    frame = image.copy() if copy else image  # thumbnail() works in place and breaks seek()
    frame.thumbnail((MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))
    # Phones store pictures sideways plus an EXIF Orientation tag that viewers obey.
    frame = ImageOps.exif_transpose(frame)
    return np.asarray(frame.convert("RGBA"))  # (H, W, 4)


def _decode_upload(image: Image.Image) -> np.ndarray:
    """The first frame with ink (of the first MAX_UPLOAD_FRAMES) as (H, W, 4) uint8."""
    n_frames = getattr(image, "n_frames", 1)
    if n_frames == 1:
        image.draft("RGB", (MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))  # JPEGs decode smaller
        return _frame_rgba(image, copy=False)
    for index in range(min(n_frames, MAX_UPLOAD_FRAMES)):
        image.seek(index)
        rgba = _frame_rgba(image, copy=True)
        if has_ink(rgba):
            return rgba
    raise UploadError(f"There is no ink in any frame of this animation (checked the first "
                      f"{min(n_frames, MAX_UPLOAD_FRAMES)}). Upload a picture of one digit.")


def upload_to_rgba(data: bytes) -> np.ndarray:
    """Decode an uploaded image file (PNG, JPEG, …) to (H, W, 4) uint8, or raise UploadError.

    NB: the pixel count is checked on the header, before anything is decoded; animations
    give their first frame with ink.
    """
    if not data:
        raise UploadError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is {len(data) / 2**20:.0f} MB; the limit is "
                          f"{MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        with Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as image:
            _check_upload_pixels(image)
            return _decode_upload(image)
    except UploadError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own, far higher, limit
        raise UploadError(f"The picture has more pixels than Pillow allows ({err}); the "
                          f"limit is {MAX_UPLOAD_PIXELS:,} pixels.") from err
    except UnidentifiedImageError as err:
        raise UploadError(f"This file is not an image the page can read: it is not a "
                          f"{UPLOAD_FORMATS_TEXT} image.") from err
    except Exception as err:  # Pillow's plugins raise struct.error, IndexError… on crafted files
        raise UploadError(f"This is not an image Pillow can read ({type(err).__name__}). "
                          f"Upload a {UPLOAD_FORMATS_TEXT} image of one digit.") from err


def upload_to_mnist(data: bytes) -> np.ndarray:
    """An uploaded picture of a digit as an MNIST-style (28, 28) image, or raise UploadError.

    NB: dark ink on light paper works too: ink is whatever differs from the border colour.
    """
    image28 = canvas_to_mnist(upload_to_rgba(data))
    if image28 is None:
        raise UploadError("No ink found in the picture: it is blank, or the mark is a "
                          "speck. Upload a picture of one digit that fills part of it.")
    return image28
