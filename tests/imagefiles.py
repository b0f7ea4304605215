"""Picture files built in memory, shared by the preprocess and upload tests."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from explorer.inputs.preprocess import PNG_SIGNATURE


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    """The image saved as a `fmt` file, as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of any size in a few KB, written without a pixel buffer."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    row = bytes(1 + (width + 7) // 8)  # filter byte + 8 pixels per byte
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
