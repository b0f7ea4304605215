"""Turn an uploaded picture file (PNG, JPEG, …) into an MNIST-style 28x28 digit."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from explorer.errors import ExplainedError
from explorer.inputs.preprocess import canvas_to_mnist, has_ink

MAX_UPLOAD_BYTES = 20 * 2**20
MAX_UPLOAD_SIDE = 2000  # bigger pictures are shrunk first: ink detection needs no more
# Checked on the header's size before any decoding: a 25 Mpx photo decodes to 100 MB RGBA.
MAX_UPLOAD_PIXELS = 25_000_000
# All frames of an animation together: each is charged before it is decoded, so 60 blank
# 24 Mpx GIF frames cost one decode (0.5 s), not 60 (31 s of CPU, 340 MB).
MAX_DECODED_PIXELS = 25_000_000
MAX_UPLOAD_FRAMES = 50  # frames of an animation searched for the first one with ink
# Uploads decoding at once in this process: N sessions uploading together cost at most this
# many decodes' memory, the others wait their turn.
DECODE_SLOTS = threading.BoundedSemaphore(2)
# What the upload widget offers; Pillow is never asked to guess among its other formats.
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
UPLOAD_FORMATS_TEXT = "PNG, JPEG, GIF, BMP, WebP or TIFF"
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # convert() would clip these


class UploadError(ExplainedError, ValueError):
    """An uploaded file can't be used as a digit; the message says why, for the page."""


def _check_upload_pixels(image: Image.Image) -> None:
    """Raise UploadError when the (current frame of the) image has too many pixels."""
    width, height = image.size
    if width * height > MAX_UPLOAD_PIXELS:
        raise UploadError(f"The picture is {width}x{height} = {width * height:,} pixels; the "
                          f"limit is {MAX_UPLOAD_PIXELS:,} pixels. Upload a smaller picture.")


def eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit or float greyscale picture as 8-bit "L"; any other as it is.

    NB: Pillow's convert() clips 16-bit values to 255, so a dark digit on white 16-bit paper
    (values up to 65,535) became all white: "no ink". Floats are taken as 0..1.
    """
    if image.mode not in _HIGH_BIT_MODES:
        return image
    values = np.asarray(image)  # (H, W) uint16, int32 or float32
    if image.mode == "F":
        scaled = np.clip(np.nan_to_num(values) * 255.0, 0, 255)
    else:
        scaled = np.clip(values.astype(np.int64), 0, 65535) // 257
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _frame_rgba(image: Image.Image) -> np.ndarray:
    """The current frame, shrunk to MAX_UPLOAD_SIDE and turned upright, as (H, W, 4) uint8.

    NB: works on a new image, so an animation stays seekable; the EXIF orientation is read
    from the file, since a converted image carries none.
    """
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    frame = eight_bit(image)
    scale = min(1.0, MAX_UPLOAD_SIDE / max(frame.size))
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    frame = frame.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    # Phones store pictures sideways plus an EXIF Orientation tag that viewers obey.
    method = _EXIF_TRANSPOSE.get(orientation)
    frame = frame.transpose(method) if method is not None else frame
    return np.asarray(frame.convert("RGBA"))  # (H, W, 4)


_EXIF_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                   4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                   6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                   8: Image.Transpose.ROTATE_90}  # as ImageOps.exif_transpose reads the tag


def _decode_upload(image: Image.Image) -> np.ndarray:
    """The first frame with ink as (H, W, 4) uint8, within the pixel budget of all frames.

    NB: each frame is charged from its header before it is decoded; frames are never
    counted up front (n_frames would walk a file of a million tiny frames).
    """
    if not getattr(image, "is_animated", False):
        image.draft("RGB", (MAX_UPLOAD_SIDE, MAX_UPLOAD_SIDE))  # JPEGs decode smaller
        return _frame_rgba(image)
    budget, checked = MAX_DECODED_PIXELS, 0
    while checked < MAX_UPLOAD_FRAMES:
        try:
            image.seek(checked)  # reads the frame's header only
        except EOFError:
            break
        _check_upload_pixels(image)  # a TIFF's later pages can be bigger than its first
        budget -= image.width * image.height
        if budget < 0:
            break
        rgba = _frame_rgba(image)
        checked += 1
        if has_ink(rgba):
            return rgba
    raise UploadError(f"There is no ink in the first {checked} frame(s) of this animation "
                      f"(the page decodes at most {MAX_UPLOAD_FRAMES} frames and "
                      f"{MAX_DECODED_PIXELS:,} pixels of one). Upload a picture of one digit.")


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
        with DECODE_SLOTS, Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as image:
            _check_upload_pixels(image)
            return _decode_upload(image)
    except UploadError:
        raise
    except Image.DecompressionBombError as err:  # Pillow's own, far higher, limit
        raise UploadError(f"The picture has more pixels than Pillow allows; the limit is "
                          f"{MAX_UPLOAD_PIXELS:,} pixels.") from err
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
