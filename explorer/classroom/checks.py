"""What the class store accepts: each part of a submission checked before it is written.

NB: everything here may come from a browser, so nothing is trusted: a label is an int 0..9,
the image is (28, 28) finite in [0, 1], the canvas a real PNG under a byte and pixel limit,
and the logits must be the server's own (store.py recomputes them and compares).
"""
from __future__ import annotations

import io
import json
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from explorer.classroom.api import CODE_ALPHABET, CODE_LENGTH, BadSubmission
from explorer.inputs.preprocess import PNG_SIGNATURE

SIDE = 28
STUDENT_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")  # anonymous per-browser token, never a name
N_CLASSES = 10
# The server's recomputed logits against the caller's: float32 noise and another device's
# kernels differ by ~1e-5; a forged value moved by more than this is refused.
LOGIT_ATOL, LOGIT_RTOL = 1e-3, 1e-3


@dataclass(frozen=True)
class Limits:
    """How much the store takes: per student, per class, per canvas."""

    per_student_per_minute: int = 30  # a student tapping fast draws maybe 10 a minute
    per_class_per_minute: int = 600  # bounds a client that makes up new student tokens
    per_class: int = 5000  # drawings a class may hold in all
    canvas_png_bytes: int = 2_000_000  # a 280×280 canvas is ~5-30 kB
    canvas_png_pixels: int = 2048 * 2048  # a phone's 3× canvas is 840×840


def normal_code(text) -> str | None:
    """A class code as typed (any case, spaces around), or None when it can't be one."""
    code = str(text if text is not None else "").strip().upper()
    ok = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
    return code if ok else None


def checked_student(student) -> str:
    if not (isinstance(student, str) and STUDENT_TOKEN.fullmatch(student)):
        raise BadSubmission("This browser's student token is not one the class made "
                            "(8 to 64 letters, digits, - or _). Reload the page.")
    return student


def checked_label(label) -> int:
    """The digit the student tapped, 0..9; a bool, a float or a string is refused."""
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) \
            or not 0 <= int(label) <= 9:
        raise BadSubmission("The label must be one digit, 0 to 9: tap the digit you drew.")
    return int(label)


def image_bytes(image28) -> bytes:
    """(28, 28) float image in [0, 1] -> its 784 stored bytes (0..255); BadSubmission if not."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            image = np.asarray(image28, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise BadSubmission("The drawing must be a 28×28 image of numbers.") from err
    if image.shape != (SIDE, SIDE):
        raise BadSubmission(f"The drawing must be a 28×28 image, got shape {image.shape}.")
    if not np.isfinite(image).all() or image.min() < 0 or image.max() > 1:
        raise BadSubmission("The drawing's pixels must be finite numbers in [0, 1].")
    return np.rint(image * 255).astype(np.uint8).tobytes()


def image_from_bytes(raw: bytes) -> np.ndarray:
    """784 stored bytes -> (28, 28) float32 in [0, 1]."""
    return np.frombuffer(raw, np.uint8).reshape(SIDE, SIDE).astype(np.float32) / 255


def quantized(image28) -> np.ndarray:
    """The image as the store keeps it: what the server's logits are computed on.

    NB: scoring on the quantized image makes the stored logits exactly those of the stored
    image, so an export reproduces them.
    """
    return image_from_bytes(image_bytes(image28))


def _png_size(png: bytes) -> tuple[int, int] | None:
    """(width, height) from the IHDR chunk, read before any pixel is decoded."""
    if len(png) < 24 or png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", png[16:24])


def checked_canvas_png(png, limits: Limits) -> bytes:
    """The canvas as drawn: a real PNG under the byte and pixel limits, decoded in full."""
    if not isinstance(png, (bytes, bytearray)) or len(png) > limits.canvas_png_bytes:
        raise BadSubmission(f"The canvas must be a PNG of at most "
                            f"{limits.canvas_png_bytes // 1_000_000} MB.")
    size = _png_size(bytes(png))
    if size is None:
        raise BadSubmission("The canvas is not a PNG image.")
    if not 0 < size[0] * size[1] <= limits.canvas_png_pixels:
        raise BadSubmission(f"The canvas is {size[0]}×{size[1]} pixels; at most "
                            f"{limits.canvas_png_pixels:,} are taken.")
    try:
        with Image.open(io.BytesIO(png)) as image:
            image.load()  # NB: verify() alone misses truncated pixel data
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise BadSubmission("The canvas PNG is damaged and can't be read.") from err
    return bytes(png)


def _ten_floats(name: str, values) -> list[float]:
    try:
        row = [float(v) for v in values if not isinstance(v, (bool, str, bytes))]
        whole = len(row) == len(values)  # nothing was left out
    except (TypeError, ValueError):
        row, whole = [], False
    if not whole or len(row) != N_CLASSES or not all(map(math.isfinite, row)):
        raise BadSubmission(f"The logits of {name} must be {N_CLASSES} finite numbers.")
    return row


def checked_logits(logits, server: Mapping[str, list[float]]) -> str:
    """The caller's logits, if they are the server's own (same models, same numbers): JSON.

    NB: the server's recomputation is what is stored; the caller's must only agree with it,
    so a forged value (or a caller that took logits from the browser) is refused.
    """
    if not isinstance(logits, Mapping) or set(logits) != set(server):
        raise BadSubmission(f"The logits must come from exactly the shipped models "
                            f"({', '.join(sorted(server))}), recomputed on the server.")
    for name in sorted(server):
        given = np.asarray(_ten_floats(name, logits[name]))
        if not np.allclose(given, server[name], rtol=LOGIT_RTOL, atol=LOGIT_ATOL):
            raise BadSubmission(f"The logits of {name} are not what the server computes for "
                                f"this drawing: they must be recomputed on the server.")
    return json.dumps({name: [float(v) for v in server[name]] for name in sorted(server)})
