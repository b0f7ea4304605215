"""What a hostile upload costs the server: CPU seconds and peak memory, one and N at once.

    python -m scripts.bench.upload_cost   # the audit's GIF and TIFF, a 25 Mpx PNG: 1, 3 at once
    python -m scripts.bench.upload_cost --at-once 1 5

Each case runs in a fresh child process (without torch, so its memory is the decoder's), and
`--at-once N` decodes N copies in N threads, as N sessions uploading together would.
"""
from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

from PIL import Image

EXPLORER_DIR = Path(__file__).resolve().parents[2] / "explorer"


def _lzw_blank(pixels: int) -> bytes:
    """GIF LZW data (2-bit palette) of `pixels` zeros, in 255-byte sub-blocks.

    NB: each code after the first is the newest table entry (runs of 1, 2, 3, … pixels), so
    a 24 Mpx frame is about 12,000 codes: 18 kB. Pillow's encoder would crop repeats away.
    """
    clear, end, first = 4, 5, 6
    out, bits, nbits = bytearray(), 0, 0
    width, added, run = 3, first, 0  # added: the entry the decoder makes next; run: last length

    def emit(code: int) -> None:
        nonlocal bits, nbits
        bits |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits, nbits = bits >> 8, nbits - 8

    emit(clear)
    while pixels > 0:
        if added >= 4093:  # the table is nearly full: start it again
            emit(clear)
            width, added, run = 3, first, 0
        take = min(run + 1, pixels)
        emit(0 if take == 1 else first + take - 2)
        pixels -= take
        if run:  # every code but the first after a clear makes a new entry
            added += 1
            width += added == 1 << width and width < 12
        run = take
    emit(end)
    if nbits:
        out.append(bits & 0xFF)
    return b"".join(bytes([len(out[i:i + 255])]) + out[i:i + 255]
                    for i in range(0, len(out), 255)) + b"\0"


def blank_gif(frames: int = 60, side: int = 4900) -> bytes:
    """An animated GIF of `frames` blank side×side frames: about 1.1 MB for the defaults."""
    header = b"GIF89a" + struct.pack("<HHBBB", side, side, 0xF1, 0, 0) + bytes(12)
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\0\0\0"
    frame = (b"!\xf9\x04\0\x0a\0\0\0" + b"," + struct.pack("<HHHHB", 0, 0, side, side, 0)
             + b"\x02" + _lzw_blank(side * side))
    return header + loop + frame * frames + b";"


def blank_tiff(pages: int = 60, side: int = 4900) -> bytes:
    """A multi-page TIFF of `pages` blank 1-bit side×side pages (CCITT G4): about 130 kB."""
    page = Image.new("1", (side, side), 1)
    buffer = io.BytesIO()
    page.save(buffer, "TIFF", save_all=True, append_images=[page] * (pages - 1),
              compression="group4")
    return buffer.getvalue()


def blank_png(side: int = 5000) -> bytes:
    """One blank 1-bit side×side PNG: a legal picture at the pixel limit, for comparison."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, "PNG")
    return buffer.getvalue()


CHILD = """
import json, resource, sys, threading, time, types
package = types.ModuleType("explorer"); package.__path__ = [sys.argv[1]]
sys.modules["explorer"] = package  # a bare package: explorer/__init__ would import torch
from explorer.inputs import upload
data, n = open(sys.argv[2], "rb").read(), int(sys.argv[3])
said = []
def one():
    try:
        upload.upload_to_rgba(data); said.append("decoded")
    except upload.UploadError as err:
        said.append(str(err))
before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
wall = time.perf_counter()
threads = [threading.Thread(target=one) for _ in range(n)]
[t.start() for t in threads]; [t.join() for t in threads]
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                  "peak_mb": (after.ru_maxrss - before.ru_maxrss) / 1024, "said": said[0]}))
"""


def measure(data: bytes, at_once: int, scratch: Path) -> dict:
    """CPU seconds, wall seconds, peak RSS growth (MB) and the answer, in a fresh process."""
    path = scratch / "upload.bin"
    path.write_bytes(data)
    result = subprocess.run([sys.executable, "-c", CHILD, str(EXPLORER_DIR), str(path),
                             str(at_once)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--at-once", type=int, nargs="+", default=[1, 3],
                   help="how many copies decode together, one run each")
    p.add_argument("--frames", type=int, default=60, help="frames or pages of each file")
    p.add_argument("--side", type=int, default=4900, help="each frame's side in px")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    import tempfile

    args = parse_args(argv)
    cases = {"GIF": blank_gif(args.frames, args.side), "TIFF": blank_tiff(args.frames, args.side),
             "PNG": blank_png()}
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in cases.items():
            for n in args.at_once:
                row = measure(data, n, Path(scratch))
                rows[f"{name} x{n}"] = row
                print(f"{name:5} {len(data) / 1e3:7.0f} kB  x{n}: CPU {row['cpu_s']:6.2f} s, "
                      f"wall {row['wall_s']:6.2f} s, peak +{row['peak_mb']:6.0f} MB  "
                      f"({row['said'][:70]})", flush=True)
    return rows


if __name__ == "__main__":
    main()
